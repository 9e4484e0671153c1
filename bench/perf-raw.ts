// Raw protocol perf driver (before the SDK exists): produce and fetch throughput through a real broker process
// over loopback, and the fetch comparison of the two FileRangeSenders (read+write vs sendfile(2)).
//
//   npx bun bench/perf-raw.ts [--mib 128] [--window 16] [--rounds 3]
//
// What it does, all bounded (bytes per phase and PHASE_SECONDS_MAX per phase):
//   1. starts two brokers as child processes (`bun server/main.ts broker --port 0`), one per FileRangeSender
//      (rivulet.sendfile.enable=false / true), each on its own temp data dir;
//   2. produce: 64 KiB batches of 100-byte records, `window` requests pipelined on one connection, to broker A
//      with acks=1 and then acks=all (separate topics), and the same bytes to broker B (acks=1) for the fetch test;
//   3. fetch: reads each topic back from offset 0 with 4 MiB fetches, alternating between the two brokers round by
//      round (the machine is shared and noisy: interleaving gives both the same conditions), and checks that the
//      record count read back is the count produced.
// Reported: records/s and MB/s (10^6 bytes of record batch payload per second) per phase, and ratios against the
// baselines of the same run (acks=all against acks=1; sendfile against read+write).
import { join } from "node:path";
import type { Socket } from "bun";
import {
  CreateTopicsApi,
  FetchApi,
  FrameReader,
  ProduceApi,
  decodeResponseBody,
  decodeResponseEnvelope,
  encodeRequest,
} from "../core/formats/protocol/index.ts";
import { LENGTH_OFFSET, LOG_OVERHEAD_BYTES, RECORDS_COUNT_OFFSET } from "../core/formats/record-batch-header.ts";
import { encodeRecordBatch } from "../core/formats/record-batch.ts";
import { cpuSeconds, median, startChildBroker } from "./child-broker.ts";

const BATCH_BYTES_TARGET = 64 * 1024;
const RECORD_VALUE_BYTES = 100;
const FETCH_PARTITION_BYTES = 4 * 1024 * 1024;
// Largest response frame the driver accepts: a fetch's records plus room for the envelope.
const RESPONSE_FRAME_BYTES_MAX = FETCH_PARTITION_BYTES + 1024 * 1024;
const PHASE_SECONDS_MAX = 30;
const RESPONSE_TIMEOUT_MS = 30_000;

function argument(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  const value = at > 0 ? Number(process.argv[at + 1]) : fallback;
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer`);
  return value;
}
const PRODUCE_MIB = argument("--mib", 128);
const WINDOW = argument("--window", 16);
const FETCH_ROUNDS = argument("--rounds", 9);

// One pipelined connection: frames written in order (short writes kept and resent on drain), responses matched
// to requests in order (the broker answers in order).
class PipelinedConnection {
  private readonly reader = new FrameReader(RESPONSE_FRAME_BYTES_MAX);
  private readonly waiting: { resolve: (body: Uint8Array) => void; reject: (error: Error) => void }[] = [];
  private readonly outbox: Uint8Array[] = [];
  private socket!: Socket<undefined>;

  static async open(port: number): Promise<PipelinedConnection> {
    const connection = new PipelinedConnection();
    connection.socket = await Bun.connect<undefined>({
      hostname: "127.0.0.1",
      port,
      socket: {
        data: (_socket, chunk) => connection.onData(chunk),
        drain: () => connection.writeOutbox(),
        close: () => connection.fail(new Error("connection closed")),
        error: (_socket, error) => connection.fail(error),
      },
    });
    connection.socket.setNoDelay(true);
    return connection;
  }

  private onData(chunk: Uint8Array): void {
    this.reader.push(chunk);
    for (;;) {
      const frame = this.reader.next();
      if (!frame.ok) {
        if (frame.error !== "incomplete") this.fail(new Error(`bad frame: ${frame.error}`));
        return;
      }
      this.waiting.shift()?.resolve(frame.value);
    }
  }

  private fail(error: Error): void {
    for (const waiter of this.waiting.splice(0)) waiter.reject(error);
  }

  private writeOutbox(): void {
    while (this.outbox.length > 0) {
      const head = this.outbox[0]!;
      const written = this.socket.write(head);
      if (written < 0) return this.fail(new Error("socket closed"));
      if (written < head.length) {
        this.outbox[0] = head.subarray(written);
        return;
      }
      this.outbox.shift();
    }
  }

  /** Sends one frame; resolves with the response body. */
  request(frame: Uint8Array): Promise<Uint8Array> {
    const response = new Promise<Uint8Array>((resolve, reject) => this.waiting.push({ resolve, reject }));
    this.outbox.push(frame);
    if (this.outbox.length === 1) this.writeOutbox();
    return response;
  }

  close(): void {
    this.socket.end();
  }
}

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer in ${RESPONSE_TIMEOUT_MS} ms`)), RESPONSE_TIMEOUT_MS)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function decode<A extends typeof ProduceApi | typeof FetchApi | typeof CreateTopicsApi>(api: A, body: Uint8Array) {
  const envelope = decodeResponseEnvelope(body);
  if (!envelope.ok || envelope.value.errorCode !== 0) throw new Error(`${api.name} failed: ${envelope.ok ? envelope.value.errorCode : envelope.error}`);
  const decoded = decodeResponseBody(api, 0, envelope.value.body);
  if (!decoded.ok) throw new Error(`${api.name} response: ${decoded.error}`);
  return decoded.value;
}

// The benchmark batch: as many 100-byte records as fit in 64 KiB.
function benchmarkBatch(): { bytes: Uint8Array; records: number } {
  const value = new Uint8Array(RECORD_VALUE_BYTES).fill(0x61);
  let records = Math.floor(BATCH_BYTES_TARGET / (RECORD_VALUE_BYTES + 8));
  for (;;) {
    const bytes = encodeRecordBatch({ records: Array.from({ length: records }, (_, i) => ({ value, timestamp: 1_700_000_000_000 + i })) });
    if (bytes.length <= BATCH_BYTES_TARGET) return { bytes, records };
    records--;
  }
}

async function createTopic(connection: PipelinedConnection, name: string): Promise<void> {
  const frame = encodeRequest(CreateTopicsApi, { apiVersion: 0, correlationId: 1, clientId: "perf" }, {
    topics: [{ name, numPartitions: 1, replicationFactor: 1, configs: [] }],
    timeoutMs: 10_000,
    validateOnly: false,
  });
  const result = decode(CreateTopicsApi, await withTimeout(connection.request(frame), "CreateTopics")).topics[0];
  if (result?.errorCode !== 0) throw new Error(`CreateTopics ${name}: ${result?.errorCode}`);
}

interface Throughput {
  records: number;
  bytes: number;
  seconds: number;
  /** CPU seconds the broker used meanwhile (fetch rounds only). */
  brokerCpuSeconds?: number;
}

// Produces `batches` copies of the batch with `window` requests in flight; stops early at PHASE_SECONDS_MAX.
async function produce(connection: PipelinedConnection, topic: string, batch: Uint8Array, recordsPerBatch: number, batches: number, acks: number): Promise<Throughput> {
  // A pool of pre-encoded frames, one per window slot (correlation ids are unique among requests in flight).
  const frames = Array.from({ length: WINDOW }, (_, slot) =>
    encodeRequest(ProduceApi, { apiVersion: 0, correlationId: slot + 1, clientId: "perf" }, {
      transactionalId: null,
      acks,
      timeoutMs: 30_000,
      topics: [{ name: topic, partitions: [{ index: 0, records: batch }] }],
    }),
  );
  const inFlight: Promise<Uint8Array>[] = [];
  const started = performance.now();
  const deadline = started + PHASE_SECONDS_MAX * 1000;
  let sent = 0;
  let done = 0;
  while (done < sent || (sent < batches && performance.now() < deadline)) {
    while (inFlight.length < WINDOW && sent < batches && performance.now() < deadline) inFlight.push(connection.request(frames[sent++ % WINDOW]!));
    const answer = decode(ProduceApi, await withTimeout(inFlight.shift()!, "Produce")).topics[0]?.partitions[0];
    if (answer?.errorCode !== 0) throw new Error(`Produce: error ${answer?.errorCode}`);
    done++;
  }
  const seconds = (performance.now() - started) / 1000;
  return { records: done * recordsPerBatch, bytes: done * batch.length, seconds };
}

// Fetches the whole topic from offset 0 (4 MiB per request, one at a time); returns records and record bytes read.
async function fetchAll(connection: PipelinedConnection, topic: string, expectedRecords: number): Promise<Throughput> {
  let offset = 0;
  let bytes = 0;
  let correlationId = 1;
  const started = performance.now();
  const deadline = started + PHASE_SECONDS_MAX * 1000;
  while (offset < expectedRecords && performance.now() < deadline) {
    const frame = encodeRequest(FetchApi, { apiVersion: 0, correlationId: correlationId++, clientId: "perf" }, {
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: FETCH_PARTITION_BYTES,
      isolationLevel: 0,
      topics: [{ name: topic, partitions: [{ index: 0, fetchOffset: offset, partitionMaxBytes: FETCH_PARTITION_BYTES }] }],
    });
    const answer = decode(FetchApi, await withTimeout(connection.request(frame), "Fetch")).topics[0]?.partitions[0];
    if (answer === undefined || answer.errorCode !== 0) throw new Error(`Fetch: error ${answer?.errorCode}`);
    const records = answer.records;
    let position = 0;
    // Whole batches only (headers read, records not decoded: this measures the broker and the wire, not a consumer).
    while (records.length - position >= LOG_OVERHEAD_BYTES) {
      const view = new DataView(records.buffer, records.byteOffset + position);
      const size = LOG_OVERHEAD_BYTES + view.getInt32(LENGTH_OFFSET);
      if (position + size > records.length) break;
      offset += view.getInt32(RECORDS_COUNT_OFFSET);
      bytes += size;
      position += size;
    }
    if (position === 0) throw new Error(`Fetch at ${offset} returned no whole batch`);
  }
  const seconds = (performance.now() - started) / 1000;
  return { records: offset, bytes, seconds };
}

function rate(t: Throughput): string {
  return `${(t.records / t.seconds / 1e6).toFixed(2)} M records/s, ${(t.bytes / t.seconds / 1e6).toFixed(0)} MB/s`;
}

function total(list: Throughput[]): Throughput {
  return list.reduce((a, b) => ({ records: a.records + b.records, bytes: a.bytes + b.bytes, seconds: a.seconds + b.seconds }), { records: 0, bytes: 0, seconds: 0 });
}

const batch = benchmarkBatch();
const batches = Math.ceil((PRODUCE_MIB * 1024 * 1024) / batch.bytes.length);
console.log(`batch: ${batch.bytes.length} bytes, ${batch.records} records of ${RECORD_VALUE_BYTES} bytes; ${batches} batches per phase; window ${WINDOW}`);

const brokerOf = (sendfile: boolean) => startChildBroker(join(import.meta.dir, ".."), ["--set", `rivulet.sendfile.enable=${sendfile}`]);
const readBroker = await brokerOf(false);
const sendfileBroker = await brokerOf(true);
try {
  const a = await PipelinedConnection.open(readBroker.port);
  const b = await PipelinedConnection.open(sendfileBroker.port);
  await createTopic(a, "acks1");
  await createTopic(a, "acksall");
  await createTopic(b, "acks1");
  const acks1 = await produce(a, "acks1", batch.bytes, batch.records, batches, 1);
  console.log(`produce acks=1   : ${rate(acks1)} (${acks1.records} records in ${acks1.seconds.toFixed(2)} s)`);
  const acksAll = await produce(a, "acksall", batch.bytes, batch.records, batches, -1);
  console.log(`produce acks=all : ${rate(acksAll)} (${acksAll.records} records in ${acksAll.seconds.toFixed(2)} s)`);
  console.log(`  acks=all / acks=1 records/s: ${(acksAll.records / acksAll.seconds / (acks1.records / acks1.seconds)).toFixed(2)}`);
  const copy = await produce(b, "acks1", batch.bytes, batch.records, acks1.records / batch.records, 1);
  if (copy.records !== acks1.records) throw new Error("the sendfile broker did not get the same records");

  const readRuns: Throughput[] = [];
  const sendfileRuns: Throughput[] = [];
  for (let round = 0; round < FETCH_ROUNDS; round++) {
    // Alternate which goes first, so neither always runs on a warmer page cache or a quieter machine.
    const order = round % 2 === 0 ? (["read", "sendfile"] as const) : (["sendfile", "read"] as const);
    for (const which of order) {
      const broker = which === "read" ? readBroker : sendfileBroker;
      const cpuBefore = cpuSeconds(broker.pid);
      const run = await fetchAll(which === "read" ? a : b, "acks1", acks1.records);
      run.brokerCpuSeconds = cpuSeconds(broker.pid) - cpuBefore;
      if (run.records !== acks1.records) throw new Error(`fetch (${which}) read ${run.records} of ${acks1.records} records`);
      (which === "read" ? readRuns : sendfileRuns).push(run);
      console.log(`fetch round ${round + 1} ${which.padEnd(8)}: ${rate(run)}, broker CPU ${((run.brokerCpuSeconds / run.bytes) * 1e9).toFixed(2)} s/GB`);
    }
  }
  const mbps = (runs: Throughput[]) => median(runs.map((run) => run.bytes / run.seconds / 1e6));
  const cpuPerGb = (runs: Throughput[]) => median(runs.map((run) => ((run.brokerCpuSeconds ?? 0) / run.bytes) * 1e9));
  const read = total(readRuns);
  const sendfile = total(sendfileRuns);
  console.log(`fetch read+write: median ${mbps(readRuns).toFixed(0)} MB/s (all rounds ${rate(read)}), broker CPU median ${cpuPerGb(readRuns).toFixed(2)} s/GB`);
  console.log(`fetch sendfile  : median ${mbps(sendfileRuns).toFixed(0)} MB/s (all rounds ${rate(sendfile)}), broker CPU median ${cpuPerGb(sendfileRuns).toFixed(2)} s/GB`);
  console.log(`  sendfile / read+write, median MB/s: ${(mbps(sendfileRuns) / mbps(readRuns)).toFixed(2)}; all rounds MB/s: ${(sendfile.bytes / sendfile.seconds / (read.bytes / read.seconds)).toFixed(2)}; broker CPU per GB: ${(cpuPerGb(sendfileRuns) / cpuPerGb(readRuns)).toFixed(2)}`);
  a.close();
  b.close();
} finally {
  await readBroker.stop();
  await sendfileBroker.stop();
}
