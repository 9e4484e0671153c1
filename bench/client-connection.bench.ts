// The SDK's Connection (client/connection.ts: node:net, correlation matching, in-flight slots, per-request
// timers, coalesced writes) against the raw test client (test/e2e/raw-client.ts: Bun.connect, one write per
// request, no bookkeeping) as the baseline, both talking to one in-process broker on 127.0.0.1. What it shows:
// the price of the SDK's bookkeeping on small requests, and what pipelining depth buys.
//
//   metadata x100  100 pipelined Metadata(brokers only) requests, all answers awaited
//   produce x16    16 pipelined Produce requests, acks=1, one 64 KiB batch each
//
// Run: `npx bun bench/client-connection.bench.ts`. Prints mitata's table, then ratios (baseline time / row time,
// so above 1x is faster than the baseline) from the medians and the minimums of this same run.
import { bench, do_not_optimize, group, run } from "mitata";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Broker } from "../core/engine/broker.ts";
import { MetadataApi } from "../core/formats/protocol/metadata.ts";
import { ApiVersionsApi } from "../core/formats/protocol/api-versions.ts";
import { ProduceApi } from "../core/formats/protocol/produce.ts";
import { CreateTopicsApi } from "../core/formats/protocol/create-topics.ts";
import { encodeRecordBatch } from "../core/formats/record-batch.ts";
import { startBrokerServer } from "../server/broker-server.ts";
import { Connection } from "../client/connection.ts";
import { RawClient } from "../test/e2e/raw-client.ts";
import { rowStats } from "./mitata-stats.ts";

const METADATA_REQUESTS = 100;
const PRODUCE_REQUESTS = 16;
const BATCH_BYTES_TARGET = 64 * 1024;

const dataDir = mkdtempSync(join(tmpdir(), "rivulet-bench-connection-"));
const broker = await Broker.open({ dataDir, retentionCheckIntervalMs: 0, cleanerIntervalMs: 0, flushCheckIntervalMs: 0 });
const server = await startBrokerServer(broker, { host: "127.0.0.1", port: 0 });

const raw = await RawClient.connect(server.port);
await raw.request(ApiVersionsApi, { clientSoftwareName: "bench", clientSoftwareVersion: "0" });
const open = (maxInFlightRequests: number) =>
  Connection.open({ host: "127.0.0.1", port: server.port, clientId: "bench", connectTimeoutMs: 10_000, requestTimeoutMs: 30_000, maxInFlightRequests });
const connections = { 1: await open(1), 5: await open(5), 100: await open(100) } as const;

const topic = "bench-connection";
await connections[5].request(CreateTopicsApi, { topics: [{ name: topic, numPartitions: 1, replicationFactor: -1, configs: [] }], timeoutMs: 10_000, validateOnly: false });
const recordCount = Math.floor(BATCH_BYTES_TARGET / 128);
const batch = encodeRecordBatch({ records: Array.from({ length: recordCount }, (_, i) => ({ value: "v".repeat(100) + i, timestamp: 1_763_700_000_000 + i })) });
const produce = { transactionalId: null, acks: 1, timeoutMs: 30_000, topics: [{ name: topic, partitions: [{ index: 0, records: batch }] }] };
const metadata = { topics: [] as string[], allowAutoTopicCreation: false };

async function rawPipelined(count: number, send: () => number): Promise<void> {
  const ids: number[] = [];
  for (let i = 0; i < count; i++) ids.push(send());
  for (let i = 0; i < count; i++) await raw.nextResponse();
  do_not_optimize(ids);
}

// Row names carry their group ("group/row") so the ratio table can pair each row with its group's baseline.
group(`metadata x${METADATA_REQUESTS}`, () => {
  bench("metadata x100/raw client", () => rawPipelined(METADATA_REQUESTS, () => raw.send(MetadataApi, metadata)));
  for (const depth of [1, 5, 100] as const) {
    bench(`metadata x100/Connection in-flight ${depth}`, () => Promise.all(Array.from({ length: METADATA_REQUESTS }, () => connections[depth].request(MetadataApi, metadata))));
  }
});

group(`produce 64KiB x${PRODUCE_REQUESTS}`, () => {
  bench("produce 64KiB x16/raw client (parts joined)", () => rawPipelined(PRODUCE_REQUESTS, () => raw.send(ProduceApi, produce, { parts: true })));
  for (const depth of [1, 5] as const) {
    bench(`produce 64KiB x16/Connection in-flight ${depth}`, () => Promise.all(Array.from({ length: PRODUCE_REQUESTS }, () => connections[depth].request(ProduceApi, produce))));
  }
});

const result = await run();

const { medians, minimums } = rowStats(result);
const ratio = (stats: Map<string, number>, row: string, baseline: string) => {
  const a = stats.get(row);
  const b = stats.get(baseline);
  return a === undefined || b === undefined ? "n/a" : `${(b / a).toFixed(2)}x`;
};
const micros = (stats: Map<string, number>, row: string) => ((stats.get(row) ?? Number.NaN) / 1000).toFixed(1);
console.log("\n| case | median µs | vs raw (median) | min µs | vs raw (min) |");
console.log("|---|---|---|---|---|");
for (const key of medians.keys()) {
  const groupName = key.slice(0, key.indexOf("/"));
  const baseline = groupName.startsWith("metadata") ? `${groupName}/raw client` : `${groupName}/raw client (parts joined)`;
  console.log(`| ${key} | ${micros(medians, key)} | ${ratio(medians, key, baseline)} | ${micros(minimums, key)} | ${ratio(minimums, key, baseline)} |`);
}

raw.close();
for (const connection of Object.values(connections)) await connection.close();
await server.close();
await broker.close();
rmSync(dataDir, { recursive: true, force: true });
