// Producer benchmarks (docs/benchmarks/producer.md), each figure next to a baseline measured in the same run:
//
//   append   mitata: the producer's per-record path without the network: 1,000 records of 100 B through the
//            accumulator (RecordAccumulator.append + drain, which finishes the batch) vs encodeRecordBatch of the
//            same 1,000 records in one call (the WASM batch kernel alone, the floor for building a batch).
//   e2e      throughput through a real broker in a child process (`bun server/main.ts broker`, loopback),
//            100-byte and 1 KiB values, one partition, acks=1 and acks=all:
//              raw      pre-built 16 KiB batches (the same records) sent as pipelined Produce requests on one
//                       Connection, 5 in flight: the ceiling of connection + broker, the baseline
//              produce  producer.produce(topic, { value }) in a loop (no promise per record), then flush()
//                       (default options: idempotent under acks=all, not under acks=1, which turns it off)
//              one batch the same with max.request.size just above batch.size: one batch per request, so with
//                       one request in flight per partition, one 16 KiB batch in flight (the cost of the ordering
//                       rule without multi-batch requests)
//              send     producer.send({ topic, messages }) with 1,000 messages per call, 8 calls in flight
//            Candidates run in turn, round after round (the machine is shared and noisy: interleaving gives them
//            the same conditions); the best round of each is reported, with the median.
//   idempotence  the cost of enable.idempotence: the same broker and workloads under acks=all (idempotence needs
//            it), produce() and send() with idempotence off (the baseline of each) and on, interleaved; and, with
//            mitata, stamping a finished 16 KiB batch (producer id, epoch, sequence; the CRC updated, or recomputed)
//            next to building it.
//
// Run: `npx bun bench/producer.bench.ts [append] [e2e] [idempotence] [--rounds 3]` (after `node scripts/build-wasm.mjs`).
// The broker's data directory is a temp dir removed at the end.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bench, do_not_optimize, group, run } from "mitata";
import { Cluster } from "../client/cluster.ts";
import { Connection } from "../client/connection.ts";
import { RecordAccumulator, recordBoundBytes } from "../client/producer/accumulator.ts";
import { Producer } from "../client/producer/producer.ts";
import { stampBatch, stampBatchRecomputed } from "../client/producer/idempotence.ts";
import { CreateTopicsApi } from "../core/formats/protocol/create-topics.ts";
import { ProduceApi } from "../core/formats/protocol/produce.ts";
import { type RecordInput, RecordBatchBuilder, encodeRecordBatch } from "../core/formats/record-batch.ts";

const wanted = process.argv.slice(2).filter((arg) => !arg.startsWith("--") && !/^\d+$/.test(arg));
const runs = (name: string): boolean => wanted.length === 0 || wanted.includes(name);
const roundsAt = process.argv.indexOf("--rounds");
const ROUNDS = roundsAt > 0 ? Number(process.argv[roundsAt + 1]) : 3;
const START_TIMEOUT_MS = 20_000;
const SEND_MESSAGES_PER_CALL = 1000;
const INTERLEAVED_ROUNDS = 1000;
const SEND_CALLS_IN_FLIGHT = 8;
const RAW_BATCH_BYTES = 16 * 1024;
const ONE_BATCH_LABEL = "produce(), one batch per request (max.request.size 17 KiB)";
// Records per round: about 20 MB of values for 100 B, 50 MB for 1 KiB.
const WORKLOADS = [
  { valueBytes: 100, records: 200_000 },
  { valueBytes: 1024, records: 50_000 },
] as const;

function valueOf(bytes: number, seed: number): Uint8Array {
  const value = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) value[i] = (seed * 31 + i * 7) & 0xff;
  return value;
}

async function benchAppend(): Promise<void> {
  const values = Array.from({ length: 1000 }, (_, i) => valueOf(100, i));
  const now = Date.now();
  const records: RecordInput[] = values.map((value) => ({ value, timestamp: now }));
  const scratch: RecordInput = { key: null, value: null, timestamp: now };
  group("append 1,000 x 100 B records into a batch", () => {
    bench("baseline: encodeRecordBatch (one call, WASM kernel)", () => do_not_optimize(encodeRecordBatch({ records })));
    bench("incremental RecordBatchBuilder (what the accumulator uses)", () => {
      const builder = new RecordBatchBuilder({}, 1 << 20);
      for (const record of records) builder.append(record);
      do_not_optimize(builder.close());
    });
    bench("RecordAccumulator.append x1000 + drain (producer path)", () => {
      const accumulator = new RecordAccumulator(
        { batchSizeBytes: 1 << 20, lingerMs: 0, bufferMemoryBytes: 1 << 26, codec: 0, deliveryTimeoutMs: 120_000 },
        () => undefined,
      );
      for (let i = 0; i < values.length; i++) {
        scratch.value = values[i]!;
        accumulator.append("t", 0, 1, scratch, recordBoundBytes(scratch), null, i, now);
      }
      const queue = accumulator.queue("t", 0);
      do_not_optimize(accumulator.drain(queue, 1 << 24, now + 1));
    });
  });
  await run();
  // mitata's averages carry the load of a shared machine; interleaved minimums compare the candidates under the
  // same conditions (every candidate once per round, in turn; the fastest round of each kept).
  const candidates: [string, () => void][] = [
    ["encodeRecordBatch (baseline)", () => do_not_optimize(encodeRecordBatch({ records }))],
    [
      "RecordBatchBuilder",
      () => {
        const builder = new RecordBatchBuilder({}, 1 << 20);
        for (const record of records) builder.append(record);
        do_not_optimize(builder.close());
      },
    ],
    [
      "RecordAccumulator.append + drain",
      () => {
        const accumulator = new RecordAccumulator(
          { batchSizeBytes: 1 << 20, lingerMs: 0, bufferMemoryBytes: 1 << 26, codec: 0, deliveryTimeoutMs: 120_000 },
          () => undefined,
        );
        for (let i = 0; i < values.length; i++) {
          scratch.value = values[i]!;
          accumulator.append("t", 0, 1, scratch, recordBoundBytes(scratch), null, i, now);
        }
        do_not_optimize(accumulator.drain(accumulator.queue("t", 0), 1 << 24, now + 1));
      },
    ],
  ];
  const best = candidates.map(() => Infinity);
  for (let round = 0; round < INTERLEAVED_ROUNDS; round++) {
    candidates.forEach(([, candidate], i) => {
      const started = performance.now();
      candidate();
      best[i] = Math.min(best[i]!, performance.now() - started);
    });
  }
  console.log(`\ninterleaved minimums over ${INTERLEAVED_ROUNDS} rounds (1,000 records of 100 B):`);
  candidates.forEach(([name], i) => {
    const us = best[i]! * 1000;
    console.log(`  ${name.padEnd(36)} ${us.toFixed(1).padStart(8)} us  ${(1000 / us).toFixed(2).padStart(6)} M rec/s  (x${(best[0]! / best[i]!).toFixed(2)} baseline speed)`);
  });
}

interface ChildBroker {
  port: number;
  stop(): Promise<void>;
}

async function startBroker(dataDir: string): Promise<ChildBroker> {
  const child = Bun.spawn([process.execPath, "server/main.ts", "broker", "--port", "0", "--data-dir", dataDir], { stdout: "pipe", stderr: "inherit" });
  const reader = child.stdout.getReader();
  let text = "";
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const match = /listening on 127\.0\.0\.1:(\d+)/.exec(text);
    if (match !== null) {
      // Keep draining so the broker never blocks on a full pipe.
      void (async () => {
        for (;;) if ((await reader.read()).done) return;
      })();
      return {
        port: Number(match[1]),
        async stop() {
          child.kill("SIGTERM");
          await child.exited;
        },
      };
    }
    if (Date.now() > deadline) throw new Error(`broker did not start: ${text}`);
    const chunk = await reader.read();
    if (chunk.done) throw new Error(`broker exited: ${text}`);
    text += new TextDecoder().decode(chunk.value);
  }
}

async function createTopic(connection: Connection, name: string): Promise<void> {
  const response = await connection.request(CreateTopicsApi, { topics: [{ name, numPartitions: 1, replicationFactor: 1, configs: [] }], timeoutMs: 10_000, validateOnly: false });
  if (response.topics[0]!.errorCode !== 0) throw new Error(`CreateTopics ${name}: ${response.topics[0]!.errorCode}`);
}

// Pre-built 16 KiB batches of the workload's records: what the raw baseline sends.
function buildBatches(valueBytes: number, records: number): Uint8Array[] {
  const batches: Uint8Array[] = [];
  const value = valueOf(valueBytes, 1);
  let builder = new RecordBatchBuilder({}, RAW_BATCH_BYTES);
  const now = Date.now();
  for (let i = 0; i < records; i++) {
    const record = { value, timestamp: now };
    if (!builder.append(record)) {
      batches.push(builder.close());
      builder = new RecordBatchBuilder({}, RAW_BATCH_BYTES);
      builder.append(record);
    }
  }
  batches.push(builder.close());
  return batches;
}

async function runRaw(connection: Connection, topic: string, batches: Uint8Array[], acks: -1 | 1): Promise<void> {
  const requests: Promise<unknown>[] = [];
  for (const batch of batches) {
    requests.push(connection.request(ProduceApi, { transactionalId: null, acks, timeoutMs: 30_000, topics: [{ name: topic, partitions: [{ index: 0, records: batch }] }] }));
  }
  const responses = (await Promise.all(requests)) as { topics: { partitions: { errorCode: number }[] }[] }[];
  for (const response of responses) if (response.topics[0]!.partitions[0]!.errorCode !== 0) throw new Error("raw produce failed");
}

async function runProduce(producer: Producer, topic: string, value: Uint8Array, records: number): Promise<void> {
  const message = { value };
  for (let i = 0; i < records; i++) {
    const waiting = producer.produce(topic, message);
    if (waiting !== undefined) await waiting;
  }
  await producer.flush();
}

async function runSend(producer: Producer, topic: string, value: Uint8Array, records: number): Promise<void> {
  const messages = Array.from({ length: SEND_MESSAGES_PER_CALL }, () => ({ value }));
  const inFlight = new Set<Promise<unknown>>();
  for (let sent = 0; sent < records; sent += SEND_MESSAGES_PER_CALL) {
    const call: Promise<unknown> = producer.send({ topic, messages }).finally(() => inFlight.delete(call));
    inFlight.add(call);
    if (inFlight.size >= SEND_CALLS_IN_FLIGHT) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function benchEndToEnd(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), "rivulet-producer-bench-"));
  const broker = await startBroker(dataDir);
  const address = `127.0.0.1:${broker.port}`;
  const connection = await Connection.open({ host: "127.0.0.1", port: broker.port, clientId: "bench-raw", connectTimeoutMs: 10_000, requestTimeoutMs: 60_000, maxInFlightRequests: 5 });
  try {
    console.log(`\ne2e: broker child process on ${address}, ${ROUNDS} rounds, ${process.versions.bun ? `Bun ${process.versions.bun}` : `Node ${process.version}`}`);
    for (const { valueBytes, records } of WORKLOADS) {
      const batches = buildBatches(valueBytes, records);
      const value = valueOf(valueBytes, 1);
      for (const acks of [1, -1] as const) {
        const label = `${valueBytes} B values, acks=${acks === -1 ? "all" : acks}`;
        const results = new Map<string, number[]>();
        const candidates: [string, (topic: string) => Promise<void>][] = [
          ["raw: pre-built 16 KiB batches, 5 in flight (baseline)", (topic) => runRaw(connection, topic, batches, acks)],
          [
            "producer.produce() loop + flush",
            async (topic) => {
              const producer = new Producer(Cluster.create({ brokers: [address], clientId: "bench" }), { acks });
              await producer.connect();
              await runProduce(producer, topic, value, 1); // metadata, outside the clock below
              const started = performance.now();
              await runProduce(producer, topic, value, records);
              results.get("producer.produce() loop + flush")!.push(records / ((performance.now() - started) / 1000));
              await producer.disconnect();
            },
          ],
          [
            ONE_BATCH_LABEL,
            async (topic) => {
              // max.request.size = batch.size + slack: each request carries one batch, as Kafka's drain does, so the
              // one-request-per-partition rule leaves one 16 KiB batch in flight at a time.
              const producer = new Producer(Cluster.create({ brokers: [address], clientId: "bench" }), { acks, "max.request.size": 16384 + 1024 });
              await producer.connect();
              await runProduce(producer, topic, value, 1);
              const started = performance.now();
              await runProduce(producer, topic, value, records);
              results.get(ONE_BATCH_LABEL)!.push(records / ((performance.now() - started) / 1000));
              await producer.disconnect();
            },
          ],
          [
            `producer.send() ${SEND_MESSAGES_PER_CALL} messages/call, ${SEND_CALLS_IN_FLIGHT} calls in flight`,
            async (topic) => {
              const producer = new Producer(Cluster.create({ brokers: [address], clientId: "bench" }), { acks });
              await producer.connect();
              await producer.send({ topic, messages: [{ value }] });
              const started = performance.now();
              await runSend(producer, topic, value, records);
              results.get(`producer.send() ${SEND_MESSAGES_PER_CALL} messages/call, ${SEND_CALLS_IN_FLIGHT} calls in flight`)!.push(
                records / ((performance.now() - started) / 1000),
              );
              await producer.disconnect();
            },
          ],
        ];
        for (const [name] of candidates) results.set(name, []);
        for (let round = 0; round < ROUNDS; round++) {
          for (const [name, candidate] of candidates) {
            const topic = `bench-${valueBytes}-${acks}-${round}-${name.split(" ")[0]!.replace(/[^a-z.]/gi, "")}`.replace(/\.$/, "");
            await createTopic(connection, topic);
            if (name.startsWith("raw")) {
              const started = performance.now();
              await candidate(topic);
              results.get(name)!.push(records / ((performance.now() - started) / 1000));
            } else await candidate(topic);
          }
        }
        const baseline = Math.max(...results.get(candidates[0]![0])!);
        console.log(`\n${label} (${records} records)`);
        for (const [name, rates] of results) {
          const best = Math.max(...rates);
          const mbps = (best * valueBytes) / 1e6;
          console.log(
            `  ${name.padEnd(62)} best ${(best / 1e3).toFixed(0).padStart(6)} k rec/s ${mbps.toFixed(1).padStart(7)} MB/s  median ${(median(rates) / 1e3).toFixed(0).padStart(6)} k  (x${(best / baseline).toFixed(2)} baseline)`,
          );
        }
      }
    }
  } finally {
    await connection.close();
    await broker.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

// Stamping a finished batch against building it: the per-batch CPU cost idempotence adds to the producer.
async function benchStamp(): Promise<void> {
  const value = valueOf(100, 3);
  const now = Date.now();
  const build = (): Uint8Array => {
    const builder = new RecordBatchBuilder({}, RAW_BATCH_BYTES);
    while (builder.append({ value, timestamp: now }));
    return builder.close();
  };
  const finished = build();
  let sequence = 0;
  group(`one ${RAW_BATCH_BYTES / 1024} KiB batch of 100 B records`, () => {
    bench("baseline: build it (RecordBatchBuilder append x n + close)", () => do_not_optimize(build()));
    bench("stamp it: CRC-32C updated (what the sender does)", () => {
      stampBatch(finished, 4242, 0, sequence);
      sequence = (sequence + 1) & 0x7fffffff;
    });
    bench("stamp it: CRC-32C recomputed over the batch", () => {
      stampBatchRecomputed(finished, 4242, 0, sequence);
      sequence = (sequence + 1) & 0x7fffffff;
    });
  });
  await run();
}

async function benchIdempotence(): Promise<void> {
  await benchStamp();
  const dataDir = mkdtempSync(join(tmpdir(), "rivulet-producer-bench-"));
  const broker = await startBroker(dataDir);
  const address = `127.0.0.1:${broker.port}`;
  const connection = await Connection.open({ host: "127.0.0.1", port: broker.port, clientId: "bench-raw", connectTimeoutMs: 10_000, requestTimeoutMs: 60_000, maxInFlightRequests: 5 });
  const measure = async (topic: string, idempotence: boolean, send: boolean, value: Uint8Array, records: number): Promise<number> => {
    const producer = new Producer(Cluster.create({ brokers: [address], clientId: "bench" }), { acks: "all", "enable.idempotence": idempotence });
    await producer.connect();
    await runProduce(producer, topic, value, 1); // metadata and producer id, outside the clock
    const started = performance.now();
    if (send) await runSend(producer, topic, value, records);
    else await runProduce(producer, topic, value, records);
    const rate = records / ((performance.now() - started) / 1000);
    await producer.disconnect();
    return rate;
  };
  try {
    console.log(`
idempotence: broker child process on ${address}, acks=all, ${ROUNDS} rounds, ${process.versions.bun ? `Bun ${process.versions.bun}` : `Node ${process.version}`}`);
    for (const { valueBytes, records } of WORKLOADS) {
      const value = valueOf(valueBytes, 1);
      const candidates: [string, boolean, boolean][] = [
        ["produce(), idempotence off (baseline)", false, false],
        ["produce(), idempotence on", true, false],
        ["send(), idempotence off (baseline)", false, true],
        ["send(), idempotence on", true, true],
      ];
      const results = new Map<string, number[]>(candidates.map(([name]) => [name, []]));
      for (let round = 0; round < ROUNDS; round++) {
        for (const [name, idempotence, send] of candidates) {
          const topic = `idem-${valueBytes}-${round}-${idempotence ? "on" : "off"}-${send ? "send" : "produce"}`;
          await createTopic(connection, topic);
          results.get(name)!.push(await measure(topic, idempotence, send, value, records));
        }
      }
      console.log(`
${valueBytes} B values, acks=all (${records} records)`);
      for (const [name, rates] of results) {
        const baseline = Math.max(...results.get(name.replace("on", "off (baseline)"))!);
        const best = Math.max(...rates);
        console.log(
          `  ${name.padEnd(40)} best ${(best / 1e3).toFixed(0).padStart(6)} k rec/s ${((best * valueBytes) / 1e6).toFixed(1).padStart(7)} MB/s  median ${(median(rates) / 1e3).toFixed(0).padStart(6)} k  (x${(best / baseline).toFixed(3)} of idempotence off; medians x${(median(rates) / median(results.get(name.replace("on", "off (baseline)"))!)).toFixed(3)})`,
        );
      }
    }
  } finally {
    await connection.close();
    await broker.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (runs("append")) await benchAppend();
if (runs("e2e")) await benchEndToEnd();
if (runs("idempotence")) await benchIdempotence();
