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
//   e2e      from just before produce() to the consumer seeing the record: the producer writes its clock in
//            microseconds (float64) into the first 8 bytes of the value, the consumer subtracts it from its own
//            reading. The consumer runs in its own thread (client/cli/perf-e2e-consumer.ts), so a produce burst
//            does not delay reading (--same-thread: on this one); the threads' clocks start at different times,
//            so their offset is measured first and the consumer's readings are moved onto the producer's clock.
// `perf produce|consume|e2e --warmup-records W` leaves the first W records out of the summary (Kafka 4.0's flag for
// the producer, here for every mode): they pay for JIT compilation and metadata, and dominate a short run's p99 (and
// a 1,000,000-record run's rate: docs/benchmarks/perf.md "Third pass").
// MB is 1024 * 1024 bytes of record values, as in Kafka's tools.
//
// Every run is bounded: in records (the count flags, at most PERF_RECORDS_MAX) and in time (--timeout-ms, default
// PERF_TIMEOUT_MS_DEFAULT: a run that passes it stops sending, waits at most DRAIN_MS_MAX, and reports what it
// got, with "timedOut": true).
import { MESSAGE_MAX_BYTES_DEFAULT } from "../../core/limits.ts";
import type { DeliveryCallback } from "../producer/accumulator.ts";
import { type Producer, RivuletDeliveryFailedError } from "../producer/producer.ts";
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type ClientCliIo, type CliOutput, UsageError, clientFor, integerFlag, keyValues, parseFlags, runCommand, write } from "./cli-io.ts";
import { E2E_TIMESTAMP_BYTES, E2E_UNTIMED_STAMP, type FromE2eConsumer, readLoop, startE2eConsumer, withEarliest } from "./perf-e2e-consumer.ts";
import { DRAIN_MS_MAX, LatencyStats, type PerfSummary, PROGRESS_INTERVAL_MS, clockMs, clockUs, summarize, summaryLine } from "./perf-stats.ts";

export { DRAIN_MS_MAX, E2E_TIMESTAMP_BYTES, LatencyStats, type PerfSummary, PROGRESS_INTERVAL_MS, summaryLine };
export { LATENCY_US_MAX } from "./perf-stats.ts";

/** Most records one perf run sends or reads (a bound on the run, not on the broker). */
export const PERF_RECORDS_MAX = 1_000_000_000;
/** Largest --record-size: a record must fit in a batch under the broker's default message.max.bytes, with room for the batch and record overhead. */
export const PERF_RECORD_BYTES_MAX = MESSAGE_MAX_BYTES_DEFAULT - 1024;
/** Default bound on one run's time from its first record. */
export const PERF_TIMEOUT_MS_DEFAULT = 10 * 60 * 1000;
/** Kafka's consumer perf --timeout default: a consume run ends when no record arrived for this long. */
export const PERF_IDLE_TIMEOUT_MS_DEFAULT = 10_000;
/**
 * Producer options of `perf e2e` unless --producer-props says otherwise: Kafka's end-to-end latency tool sends with
 * linger.ms 0, and so does this one, since with linger.ms 5 (the SDK's default) a batch that fills slower than
 * that waits 5 ms, which is then most of the measured latency; records still batch while a request is in flight.
 */
export const E2E_PRODUCER_PROPS_DEFAULT: Readonly<Record<string, string>> = { "linger.ms": "0" };
// The producer runs on this thread: after this many records taken without waiting, the send loop yields to the
// event loop so the sender can write and answers can be read (Kafka's producer has its own I/O thread instead).
const YIELD_EVERY_RECORDS = 1024;
// A clock read costs 60-90 ns here, a sixth of a record's whole cost at 2,000,000 records/s. With no throughput
// limit (and not --sync), records share one read for up to this many in a row: their send times are then early by
// at most the few microseconds those records take, against latencies of milliseconds. Throttled or --sync runs read
// the clock for every record.
const CLOCK_EVERY_RECORDS = 8;

const USAGE = `Usage: rivulet perf produce|consume|e2e [options]

rivulet perf produce --topic T --num-records N --record-size S --throughput R [options]
  --topic T                 Topic to produce to (created by the broker on first use when it allows that)
  --num-records N           Records to send
  --record-size S           Bytes of each record's value (random printable bytes)
  --throughput R            Records per second at most; -1 for no limit
  --producer-props K=V ...  Producer options by Kafka's names (batch.size=65536 linger.ms=5 acks=1 ...)
  --sync                    One record at a time: each waits for the previous one's acknowledgement
  --warmup-records W        The first W of the N records are sent but left out of the summary (Kafka 4.0's flag):
                            the first records pay for JIT compilation, connections and metadata (also for e2e)

rivulet perf consume --topic T --messages N [options]
  --topic T                 Topic to read from its earliest offset, every partition
  --messages N              Records to read
  --group G                 Accepted for Kafka's sake; consumer groups are not supported yet (reads without one)
  --consumer-props K=V ...  Consumer options by Kafka's names (fetch.max.bytes=... max.poll.records=...)
  --idle-timeout-ms N       Stop when no record arrived for N ms (default ${PERF_IDLE_TIMEOUT_MS_DEFAULT}, Kafka's --timeout)
  --warmup-records W        The first W of the N records are read but left out of the summary

rivulet perf e2e --topic T --num-records N --record-size S --throughput R [options]
  Produces and consumes at once in this process, the consumer in its own thread (a Worker) unless --same-thread;
  latency is from produce() to the consumer seeing the record.
  Takes --producer-props (linger.ms is 0 unless given), --consumer-props and --warmup-records. --record-size is at
  least ${E2E_TIMESTAMP_BYTES}.
  --same-thread             Consume on the producer's thread instead of a Worker of its own

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
  "same-thread": { type: "boolean" },
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
      const warmupRecords = integerFlag("warmup-records", values["warmup-records"], 0, messages - 1) ?? 0;
      summary = await consumeRun(values["bootstrap-server"], topic, messages, keyValues("consumer-props", values["consumer-props"]), warmupRecords, timeoutMs, idleMs, io.stderr);
    } else {
      const numRecords = required("num-records", integerFlag("num-records", values["num-records"], 1, PERF_RECORDS_MAX));
      const recordSize = required("record-size", integerFlag("record-size", values["record-size"], mode === "e2e" ? E2E_TIMESTAMP_BYTES : 0, PERF_RECORD_BYTES_MAX));
      const throughput = required("throughput", integerFlag("throughput", values.throughput, -1, PERF_RECORDS_MAX));
      if (throughput === 0) throw new UsageError("--throughput must be -1 (no limit) or a positive rate");
      const producerProps = keyValues("producer-props", values["producer-props"]);
      const warmupRecords = integerFlag("warmup-records", values["warmup-records"], 0, numRecords - 1) ?? 0;
      if (mode !== "e2e" && values["same-thread"] === true) throw new UsageError("--same-thread applies to perf e2e");
      if (mode === "produce") summary = await produceRun(values["bootstrap-server"], topic, numRecords, recordSize, throughput, producerProps, values.sync === true, warmupRecords, timeoutMs, io.stderr);
      else summary = await e2eRun(values["bootstrap-server"], topic, numRecords, recordSize, throughput, producerProps, keyValues("consumer-props", values["consumer-props"]), warmupRecords, values["same-thread"] === true, timeoutMs, io.stderr);
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

// HOT PATH (docs/benchmarks/perf-tool.md, `rivulet perf produce`): the delivery callbacks of one acknowledged batch
// run in one synchronous loop (ProducerBatch.deliver), so they share one clock read, forgotten by a microtask
// queued with it. A callback holds only a send time (it is told nothing that names the record), so the records
// sent at one clock read share one (SendBursts), and records that are not timed share `untimed`.
/** What happened to the records of one run: failures counted, acknowledgements timed (exported for bench/perf-tool.bench.ts). */
export class Deliveries {
  errors = 0;
  firstError: Error | null = null;
  /** Where acknowledgement latencies go; replaced when a warm-up ends (records sent before are not timed). */
  stats: LatencyStats;
  readonly #recordBytes: number;
  // The clock read of the callbacks running now, or -1 when the next callback must read it.
  #ackUs = -1;
  // Acknowledgements of the callbacks running now not yet counted: #runRecords records sent at #runSentUs.
  #runSentUs = -1;
  #runRecords = 0;
  readonly #forgetAckUs = (): void => {
    this.#countRun();
    this.#ackUs = -1;
  };

  constructor(stats: LatencyStats, recordBytes: number) {
    this.stats = stats;
    this.#recordBytes = recordBytes;
  }

  /** The callback of a record whose latency is not counted (sent during the warm-up). */
  readonly untimed: DeliveryCallback = (error) => {
    if (error !== null) this.failed(error);
  };

  /** The callback of records sent at `sentUs` whose latency is counted. */
  timed(sentUs: number): DeliveryCallback {
    return (error) => {
      if (error === null) this.acked(sentUs);
      else this.failed(error);
    };
  }

  /** Counts a record sent at `sentUs` as acknowledged now (in the stats once the running callbacks are done). */
  acked(sentUs: number): void {
    if (this.#ackUs < 0) {
      this.#ackUs = clockUs();
      queueMicrotask(this.#forgetAckUs);
    }
    if (sentUs !== this.#runSentUs) {
      this.#countRun();
      this.#runSentUs = sentUs;
    }
    this.#runRecords++;
  }

  #countRun(): void {
    const records = this.#runRecords;
    if (records === 0) return;
    this.stats.record(this.#ackUs - this.#runSentUs, records, records * this.#recordBytes, records);
    this.#runRecords = 0;
    this.#runSentUs = -1;
  }

  /** Counts a record that failed. */
  failed(error: Error): void {
    this.errors++;
    if (this.firstError === null) this.firstError = error;
  }
}

// `numRecords` records paced by `throughput`. With `deliveries` each record has a delivery callback; without (e2e)
// records go without one and failures are counted from flush(). `stamp` (e2e) writes the send time into the
// value before each produce(); `onWarmedUp` runs before record `warmupRecords` is sent. Resolves once every
// record is acknowledged or failed, or the time is up (then after at most DRAIN_MS_MAX more).
/** The send loop of produce and e2e (exported for bench/perf-tool.bench.ts). */
export async function sendLoop(
  producer: Producer,
  topic: string,
  numRecords: number,
  value: Uint8Array,
  throughput: number,
  deadlineMs: number,
  deliveries: Deliveries | null,
  stamp: ((nowUs: number) => void) | null,
  sync = false,
  warmupRecords = 0,
  onWarmedUp: ((nowMs: number) => void) | null = null,
): Promise<{ errors: number; firstError: Error | null; timedOut: boolean; sent: number }> {
  const loop = new SendBursts(producer, topic, numRecords, value, throughput, deadlineMs, deliveries, stamp, sync, warmupRecords, onWarmedUp);
  for (let wait = loop.burst(); wait !== null; wait = loop.burst()) await wait;
  let errors = deliveries?.errors ?? 0;
  let firstError = deliveries?.firstError ?? null;
  let timedOut = loop.timedOut;
  const flushed = await raceTimeout(
    producer.flush().catch((error: unknown) => {
      // Records produced without a callback (e2e) that failed: flush() counts them.
      if (error instanceof RivuletDeliveryFailedError) {
        errors += error.records;
        firstError ??= error.cause;
      }
    }),
    Math.max(deadlineMs - clockMs(), 0) + DRAIN_MS_MAX,
  );
  if (flushed === "timeout") timedOut = true;
  if (deliveries !== null) {
    errors = deliveries.errors;
    firstError = deliveries.firstError;
  }
  return { errors, firstError, timedOut, sent: loop.sent };
}

// The body of sendLoop. HOT PATH (the tool measures itself too; bench/perf-tool.bench.ts): records go in synchronous
// bursts, and sendLoop awaits only between them (a loop inside an async function keeps its locals in the
// function's heap frame, which cost more per record than the fields of this object); records that share a clock
// read share one delivery callback (it holds only their send time).
class SendBursts {
  sent = 0;
  timedOut = false;
  // Each record carries the send time the tool read as its timestamp (CreateTime): the same moment the producer
  // would read, without a second clock read per record.
  readonly #message: { value: Uint8Array; timestamp: number };
  readonly #epochOffsetMs = performance.timeOrigin;
  readonly #throttler: ThroughputThrottler;
  readonly #clockEvery: number;
  // --sync with callbacks to wait on (e2e passes none and never runs --sync).
  readonly #sync: boolean;
  #sinceClock: number;
  #nowMs = 0;
  // The callback of the records sent at #nowMs, made by the first of them (undefined: not made yet).
  #callback: DeliveryCallback | undefined = undefined;

  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
    private readonly numRecords: number,
    value: Uint8Array,
    throughput: number,
    private readonly deadlineMs: number,
    private readonly deliveries: Deliveries | null,
    private readonly stamp: ((nowUs: number) => void) | null,
    sync: boolean,
    private readonly warmupRecords: number,
    private readonly onWarmedUp: ((nowMs: number) => void) | null,
  ) {
    this.#message = { value, timestamp: 0 };
    this.#throttler = new ThroughputThrottler(throughput, clockMs());
    this.#sync = sync && deliveries !== null;
    this.#clockEvery = sync || throughput >= 0 ? 1 : CLOCK_EVERY_RECORDS;
    this.#sinceClock = this.#clockEvery;
  }

  /**
   * Sends records until one must wait or YIELD_EVERY_RECORDS went; returns what to await before the next burst
   * (a throttle delay, a yield to the event loop, a record waiting for room, a --sync acknowledgement), or null
   * when the run is over (every record sent, or the deadline passed).
   */
  burst(): Promise<void> | null {
    const producer = this.producer;
    const message = this.#message;
    const end = Math.min(this.numRecords, this.sent + YIELD_EVERY_RECORDS);
    while (this.sent < end) {
      // At most one clock read per record (see CLOCK_EVERY_RECORDS).
      if (++this.#sinceClock >= this.#clockEvery) this.#readClock();
      const nowMs = this.#nowMs;
      if (nowMs >= this.deadlineMs) {
        this.timedOut = true;
        return null;
      }
      const delayMs = this.#throttler.delayMs(this.sent, nowMs);
      if (delayMs > 0) return this.#after(waitMs(delayMs));
      message.timestamp = Math.floor(this.#epochOffsetMs + nowMs);
      const sent = this.sent;
      if (sent === this.warmupRecords && sent > 0) {
        this.onWarmedUp?.(nowMs);
        this.#callback = undefined;
      }
      if (this.stamp !== null) this.stamp(sent >= this.warmupRecords ? nowMs * 1000 : E2E_UNTIMED_STAMP);
      if (this.#sync) return this.#sendSync(sent);
      let callback = this.#callback;
      if (callback === undefined && this.deliveries !== null) {
        callback = this.#callback = sent >= this.warmupRecords ? this.deliveries.timed(nowMs * 1000) : this.deliveries.untimed;
      }
      this.sent = sent + 1;
      const taken = producer.produce(this.topic, message, callback);
      if (taken !== undefined) return this.#after(taken);
    }
    return this.sent < this.numRecords ? this.#after(yieldToEventLoop()) : null;
  }

  #readClock(): void {
    this.#nowMs = clockMs();
    this.#sinceClock = 0;
    this.#callback = undefined;
  }

  // The next record reads the clock again once `wait` is over.
  #after(wait: Promise<void>): Promise<void> {
    this.#sinceClock = this.#clockEvery;
    return wait;
  }

  // --sync: one record, then its acknowledgement awaited (delivery.timeout.ms bounds the wait: the callback always
  // runs by then).
  #sendSync(sent: number): Promise<void> {
    const d = this.deliveries!;
    const sentUs = this.#nowMs * 1000;
    const timed = sent >= this.warmupRecords;
    let callback: DeliveryCallback | undefined;
    const acked = new Promise<void>((resolve) => {
      callback = (error) => {
        if (error !== null) d.failed(error);
        else if (timed) d.acked(sentUs);
        resolve();
      };
    });
    this.sent = sent + 1;
    const taken = this.producer.produce(this.topic, this.#message, callback);
    return this.#after(taken === undefined ? acked : taken.then(() => acked));
  }
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
    const startMs = clockMs();
    // The summary covers only the records after the warm-up: its stats are replaced when it ends.
    const deliveries = new Deliveries(new LatencyStats(startMs), recordSize);
    let measuredFromMs = startMs;
    const ticker = progress(stderr, () => deliveries.stats.progressLine("sent", clockMs()));
    let result;
    try {
      result = await sendLoop(producer, topic, numRecords, value, throughput, startMs + timeoutMs, deliveries, null, sync, warmupRecords, (nowMs) => {
        deliveries.stats = new LatencyStats(nowMs);
        measuredFromMs = nowMs;
      });
    } finally {
      ticker.stop();
    }
    const elapsedMs = clockMs() - measuredFromMs;
    if (result.firstError !== null) await write(stderr, `rivulet perf: ${result.errors} records failed; first: ${result.firstError.message}\n`);
    return summarize("produce", topic, deliveries.stats, result.errors, elapsedMs, result.timedOut);
  } finally {
    await producer.disconnect({ timeoutMs: DRAIN_MS_MAX }).catch(() => undefined);
  }
}

// Bytes of the values of messages[from..], as Kafka's ConsumerPerformance counts them: from each record's size (HOT
// PATH: no value view made).
function valueBytes(messages: readonly { serializedValueSize: number }[], from: number): number {
  let bytes = 0;
  for (let i = from; i < messages.length; i++) {
    const size = messages[i]!.serializedValueSize;
    if (size > 0) bytes += size;
  }
  return bytes;
}

async function consumeRun(
  bootstrap: string | undefined,
  topic: string,
  messages: number,
  props: Record<string, string>,
  warmupRecords: number,
  timeoutMs: number,
  idleMs: number,
  stderr: CliOutput,
): Promise<PerfSummary> {
  const consumer = clientFor(bootstrap, "rivulet-perf-consumer").consumer(withEarliest(props));
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    let startMs = clockMs();
    let stats = new LatencyStats(startMs);
    const ticker = progress(stderr, () => stats.progressLine("consumed", clockMs()));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      void consumer.stop();
    }, timeoutMs);
    let lastMs = startMs;
    let warmingUp = warmupRecords > 0;
    let read = 0;
    let idle = setTimeout(() => void consumer.stop(), idleMs);
    try {
      await readLoop(consumer, { count: messages, read: 0 }, (batch, nowMs) => {
        clearTimeout(idle);
        idle = setTimeout(() => void consumer.stop(), idleMs);
        const messages = batch.messages;
        if (warmingUp) {
          read += messages.length;
          if (read < warmupRecords) return;
          // The summary starts when the warm-up's last record is read: the records of its batch after it count,
          // read at that moment (no wait of their own to sample).
          warmingUp = false;
          startMs = lastMs = nowMs;
          stats = new LatencyStats(nowMs);
          const after = read - warmupRecords;
          if (after > 0) stats.countRecords(after, valueBytes(messages, messages.length - after));
          return;
        }
        stats.record((nowMs - lastMs) * 1000, messages.length, valueBytes(messages, 0));
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
  warmupRecords: number,
  sameThread: boolean,
  timeoutMs: number,
  stderr: CliOutput,
): Promise<PerfSummary> {
  const rivulet = clientFor(bootstrap, "rivulet-perf-e2e");
  const producer = rivulet.producer({ ...E2E_PRODUCER_PROPS_DEFAULT, ...producerProps });
  // The consumer is made in its own thread; made here too (not connected) so bad --consumer-props are a usage error.
  rivulet.consumer(withEarliest(consumerProps));
  const value = payload(recordSize);
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  let finished: (message: FromE2eConsumer) => void = () => undefined;
  const outcome = new Promise<FromE2eConsumer>((resolve) => (finished = resolve));
  const onMessage = (message: FromE2eConsumer): void => {
    if (message.type === "progress") void stderr.write(`${message.line}\n`);
    else if (message.type === "done" || message.type === "failed") finished(message);
  };
  const onFallback = (reason: string): void => void stderr.write(`rivulet perf: e2e: no consumer thread (${reason}); consuming on the producer's thread\n`);
  const [, { handle: reader, offsetMs }] = await Promise.all([
    producer.connect(),
    startE2eConsumer({ bootstrap, topic, consumerProps, records: numRecords, stopAfterMs: timeoutMs + DRAIN_MS_MAX }, onMessage, onFallback, sameThread ? null : undefined),
  ]);
  try {
    const startMs = clockMs();
    reader.send({ type: "go", startMs, offsetMs });
    const stamp = (nowUs: number): void => view.setFloat64(0, nowUs, true);
    // The warm-up's end goes to the consumer before any record after it is sent.
    const result = await sendLoop(producer, topic, numRecords, value, throughput, startMs + timeoutMs, null, stamp, false, warmupRecords, (nowMs) => reader.send({ type: "measure", fromMs: nowMs }));
    // Records that failed or were never sent never arrive: read only the rest.
    reader.send({ type: "count", records: result.sent - result.errors });
    const ended = await raceTimeout(outcome, Math.max(startMs + timeoutMs - clockMs(), 0) + 2 * DRAIN_MS_MAX);
    if (ended === "timeout") throw new Error(`the e2e consumer did not finish within ${2 * DRAIN_MS_MAX} ms after the run's time`);
    if (ended.type !== "done") throw new Error(`e2e consumer: ${ended.type === "failed" ? ended.message : ended.type}`);
    if (result.firstError !== null) await write(stderr, `rivulet perf: ${result.errors} records failed; first: ${result.firstError.message}\n`);
    return { ...ended.summary, errors: result.errors, timedOut: ended.summary.timedOut || result.timedOut };
  } finally {
    reader.send({ type: "stop" });
    await Promise.all([producer.disconnect({ timeoutMs: DRAIN_MS_MAX }).catch(() => undefined), raceTimeout(outcome, DRAIN_MS_MAX)]);
    reader.close();
  }
}
