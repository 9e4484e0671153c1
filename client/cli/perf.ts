// `rivulet perf produce|consume|e2e`: Kafka's kafka-producer-perf-test.sh, kafka-consumer-perf-test.sh and
// end-to-end latency tool on the SDK, with their flag names. Each prints a progress line on stderr at most every
// PROGRESS_INTERVAL_MS while it runs and a final summary (records/s, MB/s, latency avg, max, p50, p95, p99,
// p99.9 from an HDR histogram); --json prints that summary as one JSON object on stdout instead of the text line.
//
//   rivulet perf produce --topic T --num-records 1000000 --record-size 100 --throughput -1 \
//     --producer-props batch.size=65536 linger.ms=5 acks=1
//   rivulet perf consume --topic T --messages 1000000 --json
//   rivulet perf e2e --topic T --num-records 100000 --record-size 100 --throughput 50000
//
// What the latencies mean (all in milliseconds, recorded in microseconds):
//   produce  from produce() of a record to its delivery callback (Kafka's ProducerPerformance);
//   consume  how long each batch took to arrive after the previous one was handed over (poll latency);
//   e2e      from just before produce() to the consumer seeing the record: the producer writes performance.now()
//            in microseconds (float64) into the first 8 bytes of the value, the consumer subtracts it from its own
//            reading. Producer and consumer run in this one process and on one thread, so it is one clock (and
//            a produce burst delays reading: docs/benchmarks/perf.md).
// `perf produce --warmup-records W` leaves the first W records out of the summary (Kafka 4.0's flag): they pay
// for JIT compilation and metadata, and dominate a short run's p99.
// MB is 1024 * 1024 bytes of record values, as in Kafka's tools.
//
// Every run is bounded: in records (the count flags, at most PERF_RECORDS_MAX) and in time (--timeout-ms, default
// PERF_TIMEOUT_MS_DEFAULT: a run that passes it stops sending, waits at most DRAIN_MS_MAX, and reports what it
// got, with "timedOut": true).
import { build, type Histogram } from "hdr-histogram-js";
import { MESSAGE_MAX_BYTES_DEFAULT } from "../../core/limits.ts";
import type { Consumer } from "../consumer/consumer.ts";
import type { MessageBatch } from "../consumer/fetcher.ts";
import type { Producer } from "../producer/producer.ts";
import type { RecordMetadata } from "../records.ts";
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type ClientCliIo, type CliOutput, UsageError, clientFor, integerFlag, keyValues, parseFlags, runCommand, write } from "./cli-io.ts";

/** Most records one perf run sends or reads (a bound on the run, not on the broker). */
export const PERF_RECORDS_MAX = 1_000_000_000;
/** Largest --record-size: a record must fit in a batch under the broker's default message.max.bytes, with room for the batch and record overhead. */
export const PERF_RECORD_BYTES_MAX = MESSAGE_MAX_BYTES_DEFAULT - 1024;
/** Default bound on one run's time from its first record. */
export const PERF_TIMEOUT_MS_DEFAULT = 10 * 60 * 1000;
/** Kafka's consumer perf --timeout default: a consume run ends when no record arrived for this long. */
export const PERF_IDLE_TIMEOUT_MS_DEFAULT = 10_000;
/** How often the progress line is printed (Kafka's ProducerPerformance reports every 5 s). */
export const PROGRESS_INTERVAL_MS = 5_000;
/** After the run's time is up, how long it still waits for acknowledgements or records already in flight. */
export const DRAIN_MS_MAX = 30_000;
/** Highest latency the histogram tracks exactly (one hour, in microseconds); larger ones are recorded as this. */
export const LATENCY_US_MAX = 3_600_000_000;
/** Bytes at the start of an e2e record's value: its send time as a float64 of microseconds. */
export const E2E_TIMESTAMP_BYTES = 8;
// The producer runs on this thread: after this many records taken without waiting, the send loop yields to the
// event loop so the sender can write and answers can be read (Kafka's producer has its own I/O thread instead).
const YIELD_EVERY_RECORDS = 1024;
const BYTES_PER_MB = 1024 * 1024;

/** The final summary of a perf run, as --json prints it. */
export interface PerfSummary {
  readonly command: "produce" | "consume" | "e2e";
  readonly topic: string;
  /** Records acknowledged (produce), read (consume) or seen by the consumer (e2e). */
  readonly records: number;
  /** Bytes of record values in `records`. */
  readonly bytes: number;
  /** Records whose send failed (produce, e2e). */
  readonly errors: number;
  readonly elapsedMs: number;
  readonly recordsPerSec: number;
  readonly mbPerSec: number;
  readonly latencyAvgMs: number;
  readonly latencyMaxMs: number;
  readonly latencyP50Ms: number;
  readonly latencyP95Ms: number;
  readonly latencyP99Ms: number;
  readonly latencyP999Ms: number;
  /** True when --timeout-ms ended the run before its count. */
  readonly timedOut: boolean;
}

const USAGE = `Usage: rivulet perf produce|consume|e2e [options]

rivulet perf produce --topic T --num-records N --record-size S --throughput R [options]
  --topic T                 Topic to produce to (created by the broker on first use when it allows that)
  --num-records N           Records to send
  --record-size S           Bytes of each record's value (random printable bytes)
  --throughput R            Records per second at most; -1 for no limit
  --producer-props K=V ...  Producer options by Kafka's names (batch.size=65536 linger.ms=5 acks=1 ...)
  --sync                    One record at a time: each waits for the previous one's acknowledgement
  --warmup-records W        The first W of the N records are sent but left out of the summary (Kafka 4.0's flag):
                            the first records pay for JIT compilation, connections and metadata

rivulet perf consume --topic T --messages N [options]
  --topic T                 Topic to read from its earliest offset, every partition
  --messages N              Records to read
  --group G                 Accepted for Kafka's sake; consumer groups are not supported yet (reads without one)
  --consumer-props K=V ...  Consumer options by Kafka's names (fetch.max.bytes=... max.poll.records=...)
  --idle-timeout-ms N       Stop when no record arrived for N ms (default ${PERF_IDLE_TIMEOUT_MS_DEFAULT}, Kafka's --timeout)

rivulet perf e2e --topic T --num-records N --record-size S --throughput R [options]
  Produces and consumes at once in this process; latency is from produce() to the consumer seeing the record.
  Takes --producer-props and --consumer-props. --record-size is at least ${E2E_TIMESTAMP_BYTES}.

Common options:
  --timeout-ms N            Stop after N ms and report what was done (default ${PERF_TIMEOUT_MS_DEFAULT})
  --json                    Print the final summary as one JSON object on stdout
  --bootstrap-server HOST:PORT[,...]   Broker to talk to (default 127.0.0.1:9192)

Docs: docs/tuning.md`;

const FLAGS = {
  topic: { type: "string" },
  "num-records": { type: "string" },
  "record-size": { type: "string" },
  throughput: { type: "string" },
  "producer-props": { type: "string", multiple: true },
  "consumer-props": { type: "string", multiple: true },
  messages: { type: "string" },
  group: { type: "string" },
  "timeout-ms": { type: "string" },
  "idle-timeout-ms": { type: "string" },
  sync: { type: "boolean" },
  "warmup-records": { type: "string" },
  json: { type: "boolean" },
} as const;

// Flags that take a list of k=v words after them, as Kafka's tools do (`--producer-props a=1 b=2`).
const LIST_FLAGS = new Set(["--producer-props", "--consumer-props"]);

/** Runs `rivulet perf ...` with `argv` after "perf"; resolves with the exit code. */
export async function runPerf(argv: readonly string[], io: ClientCliIo): Promise<number> {
  return runCommand("perf", USAGE, io, async () => {
    const [mode, ...rest] = argv;
    if (mode === undefined || mode === "--help" || mode === "-h") {
      await write(io.stdout, `${USAGE}\n`);
      return mode === undefined ? EXIT_USAGE : EXIT_OK;
    }
    if (mode !== "produce" && mode !== "consume" && mode !== "e2e") throw new UsageError(`unknown perf command ${JSON.stringify(mode)}`);
    const { values } = parseFlags(expandListFlags(rest), FLAGS);
    if (values.help === true) {
      await write(io.stdout, `${USAGE}\n`);
      return EXIT_OK;
    }
    const topic = values.topic;
    if (topic === undefined || topic === "") throw new UsageError("--topic is required");
    const timeoutMs = integerFlag("timeout-ms", values["timeout-ms"], 1, 0x7fffffff) ?? PERF_TIMEOUT_MS_DEFAULT;
    const json = values.json === true;
    let summary: PerfSummary;
    if (mode === "consume") {
      const messages = required("messages", integerFlag("messages", values.messages, 1, PERF_RECORDS_MAX));
      if (values.group !== undefined) await write(io.stderr, `rivulet perf: --group ${values.group}: consumer groups are not supported yet; reading every partition without a group\n`);
      const idleMs = integerFlag("idle-timeout-ms", values["idle-timeout-ms"], 1, 0x7fffffff) ?? PERF_IDLE_TIMEOUT_MS_DEFAULT;
      summary = await consumeRun(values["bootstrap-server"], topic, messages, keyValues("consumer-props", values["consumer-props"]), timeoutMs, idleMs, io.stderr);
    } else {
      const numRecords = required("num-records", integerFlag("num-records", values["num-records"], 1, PERF_RECORDS_MAX));
      const recordSize = required("record-size", integerFlag("record-size", values["record-size"], mode === "e2e" ? E2E_TIMESTAMP_BYTES : 0, PERF_RECORD_BYTES_MAX));
      const throughput = required("throughput", integerFlag("throughput", values.throughput, -1, PERF_RECORDS_MAX));
      if (throughput === 0) throw new UsageError("--throughput must be -1 (no limit) or a positive rate");
      const producerProps = keyValues("producer-props", values["producer-props"]);
      const warmupRecords = integerFlag("warmup-records", values["warmup-records"], 0, numRecords - 1) ?? 0;
      if (mode !== "produce" && warmupRecords > 0) throw new UsageError("--warmup-records applies to perf produce");
      if (mode === "produce") summary = await produceRun(values["bootstrap-server"], topic, numRecords, recordSize, throughput, producerProps, values.sync === true, warmupRecords, timeoutMs, io.stderr);
      else summary = await e2eRun(values["bootstrap-server"], topic, numRecords, recordSize, throughput, producerProps, keyValues("consumer-props", values["consumer-props"]), timeoutMs, io.stderr);
    }
    await write(io.stdout, json ? `${JSON.stringify(summary)}\n` : `${summaryLine(summary)}\n`);
    return summary.errors > 0 ? EXIT_FAILURE : EXIT_OK;
  });
}

function required(name: string, value: number | undefined): number {
  if (value === undefined) throw new UsageError(`--${name} is required`);
  return value;
}

// `--producer-props a=1 b=2 --json` -> `--producer-props a=1 --producer-props b=2 --json`, and
// `--throughput -1` -> `--throughput=-1`, for parseArgs.
function expandListFlags(argv: readonly string[]): string[] {
  const out: string[] = [];
  let list: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    // parseArgs reads "-1" after a flag as a flag of its own.
    if (arg === "--throughput" && argv[i + 1]?.startsWith("-") === true && argv[i + 1] !== "--") {
      out.push(`--throughput=${argv[++i]}`);
      list = null;
      continue;
    }
    if (LIST_FLAGS.has(arg)) {
      list = arg;
      continue;
    }
    if (list !== null && !arg.startsWith("--")) {
      out.push(list, arg);
      continue;
    }
    if (list !== null && !out.includes(list)) throw new UsageError(`${list} needs at least one key=value`);
    list = null;
    out.push(arg);
  }
  if (list !== null && !out.includes(list)) throw new UsageError(`${list} needs at least one key=value`);
  return out;
}

/**
 * Paces a sender to `recordsPerSec` (Kafka's ThroughputThrottler idea): record i is due at start + i / rate, so
 * the average rate stays exact however late a timer fires; it waits only when ahead of schedule, and then for the
 * whole gap at once (timers have about a millisecond of grain, so records go in short bursts at high rates).
 */
export class ThroughputThrottler {
  readonly #recordsPerMs: number;
  readonly #startMs: number;

  /** `recordsPerSec` -1 means no limit. */
  constructor(recordsPerSec: number, startMs: number) {
    this.#recordsPerMs = recordsPerSec < 0 ? Infinity : recordsPerSec / 1000;
    this.#startMs = startMs;
  }

  /** Milliseconds to wait before sending record `sent` (0: send now). */
  delayMs(sent: number, nowMs: number): number {
    if (this.#recordsPerMs === Infinity) return 0;
    const dueMs = this.#startMs + sent / this.#recordsPerMs;
    return dueMs > nowMs ? dueMs - nowMs : 0;
  }
}

/** Latencies of a run: one HDR histogram for the summary, plus a window for the progress line. */
export class LatencyStats {
  /** Latencies in microseconds, 3 significant digits. */
  readonly histogram: Histogram = build({ lowestDiscernibleValue: 1, highestTrackableValue: LATENCY_US_MAX, numberOfSignificantValueDigits: 3, autoResize: false });
  /** Records counted so far. */
  count = 0;
  /** Bytes of record values counted so far. */
  bytes = 0;
  #windowCount = 0;
  #windowBytes = 0;
  #windowSamples = 0;
  #windowSumUs = 0;
  #windowMaxUs = 0;
  #windowStartMs: number;

  constructor(nowMs: number) {
    this.#windowStartMs = nowMs;
  }

  /** Counts `records` records of `bytes` in all that share one latency sample (1 record, or a consumed batch). */
  record(latencyUs: number, records: number, bytes: number): void {
    const value = latencyUs < 1 ? 1 : latencyUs > LATENCY_US_MAX ? LATENCY_US_MAX : Math.round(latencyUs);
    this.histogram.recordValue(value);
    this.count += records;
    this.bytes += bytes;
    this.#windowCount += records;
    this.#windowBytes += bytes;
    this.#windowSamples++;
    this.#windowSumUs += value;
    if (value > this.#windowMaxUs) this.#windowMaxUs = value;
  }

  /** Kafka's progress line for the window since the last call, and starts a new window. */
  progressLine(what: string, nowMs: number): string {
    const seconds = Math.max(nowMs - this.#windowStartMs, 1) / 1000;
    const avgMs = this.#windowSamples === 0 ? 0 : this.#windowSumUs / 1000 / this.#windowSamples;
    const line = `${this.#windowCount} records ${what}, ${fixed(this.#windowCount / seconds, 1)} records/sec (${fixed(this.#windowBytes / BYTES_PER_MB / seconds, 2)} MB/sec), ${fixed(avgMs, 3)} ms avg latency, ${fixed(this.#windowMaxUs / 1000, 3)} ms max latency.`;
    this.#windowCount = 0;
    this.#windowBytes = 0;
    this.#windowSamples = 0;
    this.#windowSumUs = 0;
    this.#windowMaxUs = 0;
    this.#windowStartMs = nowMs;
    return line;
  }
}

function fixed(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : "0";
}

function summarize(command: PerfSummary["command"], topic: string, stats: LatencyStats, errors: number, elapsedMs: number, timedOut: boolean): PerfSummary {
  const seconds = Math.max(elapsedMs, 0.001) / 1000;
  const h = stats.histogram;
  const empty = h.totalCount === 0;
  const ms = (us: number): number => Math.round(us) / 1000;
  return {
    command,
    topic,
    records: stats.count,
    bytes: stats.bytes,
    errors,
    elapsedMs: Math.round(elapsedMs * 1000) / 1000,
    recordsPerSec: Math.round((stats.count / seconds) * 10) / 10,
    mbPerSec: Math.round((stats.bytes / BYTES_PER_MB / seconds) * 100) / 100,
    latencyAvgMs: empty ? 0 : ms(h.mean),
    latencyMaxMs: empty ? 0 : ms(h.maxValue),
    latencyP50Ms: empty ? 0 : ms(h.getValueAtPercentile(50)),
    latencyP95Ms: empty ? 0 : ms(h.getValueAtPercentile(95)),
    latencyP99Ms: empty ? 0 : ms(h.getValueAtPercentile(99)),
    latencyP999Ms: empty ? 0 : ms(h.getValueAtPercentile(99.9)),
    timedOut,
  };
}

/** The text form of a summary, in the shape of Kafka's ProducerPerformance final line. */
export function summaryLine(s: PerfSummary): string {
  const verb = s.command === "produce" ? "sent" : s.command === "consume" ? "consumed" : "sent and consumed";
  const latency = s.command === "consume" ? "batch wait latency" : s.command === "e2e" ? "end-to-end latency" : "latency";
  return (
    `${s.records} records ${verb}, ${fixed(s.recordsPerSec, 1)} records/sec (${fixed(s.mbPerSec, 2)} MB/sec), ` +
    `${fixed(s.latencyAvgMs, 3)} ms avg ${latency}, ${fixed(s.latencyMaxMs, 3)} ms max ${latency}, ` +
    `${fixed(s.latencyP50Ms, 3)} ms 50th, ${fixed(s.latencyP95Ms, 3)} ms 95th, ${fixed(s.latencyP99Ms, 3)} ms 99th, ${fixed(s.latencyP999Ms, 3)} ms 99.9th.` +
    (s.errors > 0 ? ` ${s.errors} records failed.` : "") +
    (s.timedOut ? " Stopped by --timeout-ms." : "")
  );
}

// Kafka's payload: random printable bytes (uppercase letters), made once and reused for every record (the batch
// builder copies a value when it takes the record).
function payload(recordSize: number): Uint8Array {
  const bytes = new Uint8Array(recordSize);
  for (let i = 0; i < recordSize; i++) bytes[i] = 65 + Math.floor(Math.random() * 26);
  return bytes;
}

// Prints a progress line every PROGRESS_INTERVAL_MS until stopped.
function progress(stderr: CliOutput, line: () => string): { stop(): void } {
  const timer = setInterval(() => void stderr.write(`${line()}\n`), PROGRESS_INTERVAL_MS);
  return { stop: () => clearInterval(timer) };
}

function waitMs(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

// Resolves with `promise`'s settling, or with "timeout" after `ms` (the timer does not outlive the race).
async function raceTimeout<T>(promise: Promise<T>, ms: number): Promise<T | "timeout"> {
  let timer: ReturnType<typeof setTimeout> | null = null;
  try {
    return await Promise.race([promise, new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), ms)))]);
  } finally {
    if (timer !== null) clearTimeout(timer);
  }
}

// The send loop shared by produce and e2e: `numRecords` records paced by `throughput`, each with a delivery
// callback; `stamp` (e2e) writes the send time into the value before each produce(); `onWarmedUp` runs before
// record `warmupRecords` is sent, and acks of earlier records reach `onAcked` with counted = false. Resolves once every record
// is acknowledged or failed, or the time is up (then after at most DRAIN_MS_MAX more).
async function sendLoop(
  producer: Producer,
  topic: string,
  numRecords: number,
  value: Uint8Array,
  throughput: number,
  deadlineMs: number,
  onAcked: ((sentUs: number, counted: boolean) => void) | null,
  stamp: ((nowUs: number) => void) | null,
  sync = false,
  warmupRecords = 0,
  onWarmedUp: ((nowMs: number) => void) | null = null,
): Promise<{ errors: number; firstError: Error | null; timedOut: boolean; sent: number }> {
  const message = { value };
  let errors = 0;
  let firstError: Error | null = null;
  const throttler = new ThroughputThrottler(throughput, performance.now());
  let sent = 0;
  let timedOut = false;
  let sinceYield = 0;
  for (; sent < numRecords; sent++) {
    // HOT PATH (the tool measures itself too): one clock read per record unless it waited.
    let nowMs = performance.now();
    if (nowMs >= deadlineMs) {
      timedOut = true;
      break;
    }
    const delayMs = throttler.delayMs(sent, nowMs);
    if (delayMs > 0) {
      await waitMs(delayMs);
      nowMs = performance.now();
      sinceYield = 0;
    } else if (++sinceYield >= YIELD_EVERY_RECORDS) {
      await yieldToEventLoop();
      nowMs = performance.now();
      sinceYield = 0;
    }
    if (sent === warmupRecords && sent > 0 && onWarmedUp !== null) onWarmedUp(nowMs);
    const sentUs = nowMs * 1000;
    const counted = sent >= warmupRecords;
    if (stamp !== null) stamp(sentUs);
    let settled: (() => void) | null = null;
    const acked = sync ? new Promise<void>((resolve) => (settled = resolve)) : null;
    const taken = producer.produce(topic, message, (error: Error | null, _metadata: RecordMetadata | null) => {
      if (error !== null) {
        errors++;
        if (firstError === null) firstError = error;
      } else if (onAcked !== null) onAcked(sentUs, counted);
      if (settled !== null) (settled as () => void)();
    });
    if (taken !== undefined) {
      await taken;
      sinceYield = 0;
    }
    if (acked !== null) {
      // --sync: delivery.timeout.ms bounds the wait (the callback always runs by then).
      await acked;
      sinceYield = 0;
    }
  }
  const flushed = await raceTimeout(
    producer.flush().catch(() => undefined),
    Math.max(deadlineMs - performance.now(), 0) + DRAIN_MS_MAX,
  );
  if (flushed === "timeout") timedOut = true;
  return { errors, firstError, timedOut, sent };
}

async function produceRun(
  bootstrap: string | undefined,
  topic: string,
  numRecords: number,
  recordSize: number,
  throughput: number,
  props: Record<string, string>,
  sync: boolean,
  warmupRecords: number,
  timeoutMs: number,
  stderr: CliOutput,
): Promise<PerfSummary> {
  const producer = clientFor(bootstrap, "rivulet-perf-producer").producer(props);
  const value = payload(recordSize);
  await producer.connect();
  try {
    const startMs = performance.now();
    // Replaced when the warm-up ends: the summary covers only the records after it.
    let stats = new LatencyStats(startMs);
    let measuredFromMs = startMs;
    const ticker = progress(stderr, () => stats.progressLine("sent", performance.now()));
    let result;
    try {
      result = await sendLoop(
        producer,
        topic,
        numRecords,
        value,
        throughput,
        startMs + timeoutMs,
        (sentUs, counted) => {
          if (counted) stats.record(performance.now() * 1000 - sentUs, 1, recordSize);
        },
        null,
        sync,
        warmupRecords,
        (nowMs) => {
          stats = new LatencyStats(nowMs);
          measuredFromMs = nowMs;
        },
      );
    } finally {
      ticker.stop();
    }
    const elapsedMs = performance.now() - measuredFromMs;
    if (result.firstError !== null) await write(stderr, `rivulet perf: ${result.errors} records failed; first: ${(result.firstError as Error).message}\n`);
    return summarize("produce", topic, stats, result.errors, elapsedMs, result.timedOut);
  } finally {
    await producer.disconnect({ timeoutMs: DRAIN_MS_MAX }).catch(() => undefined);
  }
}

// Reads until `target.count` records arrived (the caller may lower it while reading) or the consumer stops;
// `onBatch` sees every batch with its arrival time.
async function readLoop(consumer: Consumer, target: { count: number; read: number }, onBatch: (batch: MessageBatch, nowMs: number) => void): Promise<void> {
  if (target.read >= target.count) return;
  for await (const batch of consumer.batches()) {
    const nowMs = performance.now();
    const take = Math.min(batch.messages.length, target.count - target.read);
    onBatch(take === batch.messages.length ? batch : { ...batch, messages: batch.messages.slice(0, take) }, nowMs);
    target.read += take;
    if (target.read >= target.count) break;
  }
}

async function consumeRun(
  bootstrap: string | undefined,
  topic: string,
  messages: number,
  props: Record<string, string>,
  timeoutMs: number,
  idleMs: number,
  stderr: CliOutput,
): Promise<PerfSummary> {
  const consumer = clientFor(bootstrap, "rivulet-perf-consumer").consumer(withEarliest(props));
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const startMs = performance.now();
    const stats = new LatencyStats(startMs);
    const ticker = progress(stderr, () => stats.progressLine("consumed", performance.now()));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      void consumer.stop();
    }, timeoutMs);
    let lastMs = startMs;
    let idle = setTimeout(() => void consumer.stop(), idleMs);
    try {
      await readLoop(consumer, { count: messages, read: 0 }, (batch, nowMs) => {
        clearTimeout(idle);
        idle = setTimeout(() => void consumer.stop(), idleMs);
        let bytes = 0;
        for (const message of batch.messages) bytes += message.value === null ? 0 : message.value.length;
        stats.record((nowMs - lastMs) * 1000, batch.messages.length, bytes);
        lastMs = nowMs;
      });
    } finally {
      clearTimeout(timer);
      clearTimeout(idle);
      ticker.stop();
    }
    return summarize("consume", topic, stats, 0, lastMs - startMs, timedOut);
  } finally {
    await consumer.disconnect();
  }
}

async function e2eRun(
  bootstrap: string | undefined,
  topic: string,
  numRecords: number,
  recordSize: number,
  throughput: number,
  producerProps: Record<string, string>,
  consumerProps: Record<string, string>,
  timeoutMs: number,
  stderr: CliOutput,
): Promise<PerfSummary> {
  const rivulet = clientFor(bootstrap, "rivulet-perf-e2e");
  const producer = rivulet.producer(producerProps);
  const consumer = rivulet.consumer(withEarliest(consumerProps));
  const admin = rivulet.admin();
  const value = payload(recordSize);
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  try {
    await Promise.all([producer.connect(), consumer.connect(), admin.connect()]);
    // Read from each partition's current end, so only this run's records count.
    await admin.createTopics({ topics: [{ topic }], ifNotExists: true });
    const ends = await admin.listOffsets({ topic, at: "latest" });
    consumer.assign(ends.map(({ partition }) => ({ topic, partition })));
    for (const end of ends) consumer.seek({ topic, partition: end.partition, offset: end.offset });

    const startMs = performance.now();
    const stats = new LatencyStats(startMs);
    const ticker = progress(stderr, () => stats.progressLine("sent and consumed", performance.now()));
    let timedOut = false;
    const stopTimer = setTimeout(() => {
      timedOut = true;
      void consumer.stop();
    }, timeoutMs + DRAIN_MS_MAX);
    let lastSeenMs = startMs;
    const target = { count: numRecords, read: 0 };
    try {
      const reading = readLoop(consumer, target, (batch, nowMs) => {
        const nowUs = nowMs * 1000;
        for (const message of batch.messages) {
          const v = message.value;
          if (v === null || v.length < E2E_TIMESTAMP_BYTES) continue;
          const sentUs = new DataView(v.buffer, v.byteOffset, E2E_TIMESTAMP_BYTES).getFloat64(0, true);
          stats.record(nowUs - sentUs, 1, v.length);
        }
        lastSeenMs = nowMs;
      });
      const result = await sendLoop(producer, topic, numRecords, value, throughput, startMs + timeoutMs, null, (nowUs) => view.setFloat64(0, nowUs, true));
      // Records that failed or were never sent never arrive: read only the rest.
      target.count = result.sent - result.errors;
      if (target.read >= target.count) void consumer.stop();
      await reading;
      if (result.firstError !== null) await write(stderr, `rivulet perf: ${result.errors} records failed; first: ${(result.firstError as Error).message}\n`);
      return summarize("e2e", topic, stats, result.errors, lastSeenMs - startMs, timedOut || result.timedOut);
    } finally {
      clearTimeout(stopTimer);
      ticker.stop();
    }
  } finally {
    await Promise.all([
      producer.disconnect({ timeoutMs: DRAIN_MS_MAX }).catch(() => undefined),
      consumer.disconnect().catch(() => undefined),
      admin.disconnect().catch(() => undefined),
    ]);
  }
}

// Perf consumers read from the earliest offset unless the caller's props say otherwise.
function withEarliest(props: Record<string, string>): Record<string, string> {
  return { "auto.offset.reset": "earliest", ...props };
}
