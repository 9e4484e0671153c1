// What the broker server costs on top of the transport, over loopback, in one process (client and server share
// the event loop, so every figure includes both sides).
//
//   pipelined small requests: 256 ApiVersions requests written at once, then all 256 answers awaited. Baselines: a
//     bare Bun server that frames the same requests and answers each with a canned frame of the same size, once
//     with one socket.write per answer and once coalesced into one write per data callback (what the broker's
//     OutboundQueue does). The broker adds decoding, dispatch, ordering and encoding.
//   produce acks=1: 64 pipelined Produce requests of one 1 KiB batch each. Baseline: the same batches validated and
//     appended in-process (validateRecordBatch + PartitionLog.append), i.e. the engine's share of the work.
//
// Run: `npx bun bench/broker-server.bench.ts` (after `node scripts/build-wasm.mjs`). Prints mitata's table, then
// ratios from the medians and minimums of this same run.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bench, group, run } from "mitata";
import { Broker } from "../core/engine/broker.ts";
import { ApiVersionsApi, apiVersionsResponse } from "../core/formats/protocol/api-versions.ts";
import { encodeRequest, encodeResponse } from "../core/formats/protocol/envelope.ts";
import { FrameReader, concatFrameParts } from "../core/formats/protocol/frame.ts";
import { ProduceApi } from "../core/formats/protocol/produce.ts";
import { encodeRecordBatch, validateRecordBatch } from "../core/formats/record-batch.ts";
import { startBrokerServer } from "../server/broker-server.ts";
import { RawClient } from "../test/e2e/raw-client.ts";
import { rowStats } from "./mitata-stats.ts";

const BURST = 256;
const PRODUCES = 64;

const versionsBurst = concatFrameParts(
  Array.from({ length: BURST }, (_, i) => encodeRequest(ApiVersionsApi, { apiVersion: 0, correlationId: i, clientId: "bench" }, { clientSoftwareName: null, clientSoftwareVersion: null })),
);
const cannedAnswer = encodeResponse(ApiVersionsApi, 0, 0, apiVersionsResponse(0));

// A bare framing server: answers every frame with the canned ApiVersions answer.
function bareServer(coalesce: boolean) {
  return Bun.listen<{ reader: FrameReader }>({
    hostname: "127.0.0.1",
    port: 0,
    data: { reader: new FrameReader() },
    socket: {
      open(socket) {
        socket.data = { reader: new FrameReader() };
      },
      data(socket, chunk) {
        socket.data.reader.push(chunk);
        const answers: Uint8Array[] = [];
        for (let next = socket.data.reader.next(); next.ok; next = socket.data.reader.next()) {
          if (coalesce) answers.push(cannedAnswer);
          else socket.write(cannedAnswer);
        }
        if (answers.length > 0) socket.write(concatFrameParts(answers));
      },
    },
  });
}

async function burst(client: RawClient): Promise<void> {
  client.sendBytes(versionsBurst);
  for (let i = 0; i < BURST; i++) await client.nextFrame();
}

const dataDir = mkdtempSync(join(tmpdir(), "rivulet-bench-server-"));
const broker = await Broker.open({ dataDir, retentionCheckIntervalMs: 0, cleanerIntervalMs: 0, flushCheckIntervalMs: 0 });
await broker.createTopic("bench-produce");
await broker.createTopic("bench-inprocess");
const server = await startBrokerServer(broker, { host: "127.0.0.1", port: 0 });
const perAnswer = bareServer(false);
const coalesced = bareServer(true);
const brokerClient = await RawClient.connect(server.port);
const perAnswerClient = await RawClient.connect(perAnswer.port);
const coalescedClient = await RawClient.connect(coalesced.port);
await brokerClient.request(ApiVersionsApi, { clientSoftwareName: "bench", clientSoftwareVersion: "1" });

const batch = encodeRecordBatch({ records: Array.from({ length: 8 }, (_, i) => ({ key: `k${i}`, value: "v".repeat(110), timestamp: 1_763_700_000_000 + i })) });
const producesBurst = concatFrameParts(
  Array.from({ length: PRODUCES }, (_, i) =>
    encodeRequest(ProduceApi, { apiVersion: 0, correlationId: i, clientId: "bench" }, {
      transactionalId: null,
      acks: 1,
      timeoutMs: 5000,
      topics: [{ name: "bench-produce", partitions: [{ index: 0, records: batch }] }],
    }),
  ),
);
const inProcessLog = broker.partition("bench-inprocess", 0);
if (!inProcessLog.ok) throw new Error("no partition");

group(`pipelined small requests (${BURST} ApiVersions per burst)`, () => {
  bench("bare server, one write per answer", () => burst(perAnswerClient));
  bench("bare server, coalesced", () => burst(coalescedClient));
  bench("broker server", () => burst(brokerClient));
});

group(`produce acks=1 (${PRODUCES} requests of one ${batch.byteLength}-byte batch)`, () => {
  bench("engine in-process (validate + append)", () => {
    for (let i = 0; i < PRODUCES; i++) {
      const copy = batch.slice();
      if (!validateRecordBatch(copy).ok) throw new Error("invalid");
      inProcessLog.value.append(copy);
    }
  });
  bench("broker server over loopback", async () => {
    brokerClient.sendBytes(producesBurst);
    for (let i = 0; i < PRODUCES; i++) await brokerClient.nextFrame();
  });
});

const result = await run();

const { medians, minimums } = rowStats(result);
const times = (stats: Map<string, number>, row: string, baseline: string) => {
  const a = stats.get(row);
  const b = stats.get(baseline);
  return a === undefined || b === undefined ? "n/a" : `${(a / b).toFixed(2)}x`;
};
const micros = (stats: Map<string, number>, row: string) => ((stats.get(row) ?? Number.NaN) / 1000).toFixed(1);
console.log("\n| case | median µs | time vs baseline (median) | min µs | time vs baseline (min) |");
console.log("|---|---|---|---|---|");
for (const [row, baseline] of [
  ["bare server, coalesced", "bare server, coalesced"],
  ["bare server, one write per answer", "bare server, coalesced"],
  ["broker server", "bare server, coalesced"],
  ["engine in-process (validate + append)", "engine in-process (validate + append)"],
  ["broker server over loopback", "engine in-process (validate + append)"],
] as const) {
  console.log(`| ${row} | ${micros(medians, row)} | ${times(medians, row, baseline)} | ${micros(minimums, row)} | ${times(minimums, row, baseline)} |`);
}

for (const client of [brokerClient, perAnswerClient, coalescedClient]) client.close();
await server.close();
await broker.close();
perAnswer.stop(true);
coalesced.stop(true);
rmSync(dataDir, { recursive: true, force: true });
