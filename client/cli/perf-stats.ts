// What `rivulet perf` (client/cli/perf.ts) measures with, shared by the main thread and the e2e consumer's Worker
// (client/cli/perf-e2e-worker.ts): the clock, the latency histogram with its progress window, and the summary.
//
// The clock is performance.now(): monotonic, but in Bun counted from the start of each thread (so are
// Bun.nanoseconds() and process.hrtime()), so times from two threads are compared only after measuring the
// difference of their clocks (client/cli/perf-e2e-consumer.ts).
import { build, type Histogram } from "hdr-histogram-js";

/** Highest latency the histogram tracks exactly (one hour, in microseconds); larger ones are recorded as this. */
export const LATENCY_US_MAX = 3_600_000_000;
/** How often the progress line is printed (Kafka's ProducerPerformance reports every 5 s). */
export const PROGRESS_INTERVAL_MS = 5_000;
/** After the run's time is up, how long it still waits for acknowledgements or records already in flight. */
export const DRAIN_MS_MAX = 30_000;
/**
 * Latencies below this many microseconds are counted in a plain array and added to the HDR histogram when it is
 * read: one array increment per record instead of the histogram's bucket arithmetic (about 60 ns against 15 ns
 * per record here, bench/perf-tool.bench.ts). 65,536 us covers every latency of an unloaded run; longer ones go
 * to the histogram directly.
 */
export const DIRECT_COUNT_US_MAX = 65_536;
const BYTES_PER_MB = 1024 * 1024;

/** Microseconds on this thread's monotonic clock. */
export function clockUs(): number {
  return performance.now() * 1000;
}

/** Milliseconds on the same clock as clockUs(). */
export function clockMs(): number {
  return performance.now();
}

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

/** Latencies of a run: one HDR histogram for the summary, plus a window for the progress line. */
export class LatencyStats {
  readonly #histogram: Histogram = build({ lowestDiscernibleValue: 1, highestTrackableValue: LATENCY_US_MAX, numberOfSignificantValueDigits: 3, autoResize: false });
  // HOT PATH: counts of latencies below DIRECT_COUNT_US_MAX by exact microsecond, not yet in #histogram (a run
  // counts at most PERF_RECORDS_MAX records, so a count fits in 32 bits).
  readonly #directCounts = new Uint32Array(DIRECT_COUNT_US_MAX);
  #directPending = 0;
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

  /** Latencies in microseconds, 3 significant digits (every latency recorded so far). */
  get histogram(): Histogram {
    if (this.#directPending > 0) this.#drainDirectCounts();
    return this.#histogram;
  }

  /**
   * Counts `records` records of `bytes` in all at one latency: one sample (1 record, or a consumed batch), or
   * `samples` equal ones (acknowledged records that were sent, and acknowledged, at the same clock reads).
   */
  record(latencyUs: number, records: number, bytes: number, samples = 1): void {
    const value = latencyUs < 1 ? 1 : latencyUs > LATENCY_US_MAX ? LATENCY_US_MAX : Math.round(latencyUs);
    if (value < DIRECT_COUNT_US_MAX) {
      this.#directCounts[value]! += samples;
      this.#directPending += samples;
    } else this.#histogram.recordValueWithCount(value, samples);
    this.countRecords(records, bytes);
    this.#windowSamples += samples;
    this.#windowSumUs += value * samples;
    if (value > this.#windowMaxUs) this.#windowMaxUs = value;
  }

  /** Counts `records` records of `bytes` in all that have no latency sample of their own. */
  countRecords(records: number, bytes: number): void {
    this.count += records;
    this.bytes += bytes;
    this.#windowCount += records;
    this.#windowBytes += bytes;
  }

  #drainDirectCounts(): void {
    const counts = this.#directCounts;
    for (let value = 1; value < DIRECT_COUNT_US_MAX; value++) {
      const count = counts[value]!;
      if (count === 0) continue;
      this.#histogram.recordValueWithCount(value, count);
      counts[value] = 0;
    }
    this.#directPending = 0;
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

/** The summary of a run from its latencies and counts. */
export function summarize(command: PerfSummary["command"], topic: string, stats: LatencyStats, errors: number, elapsedMs: number, timedOut: boolean): PerfSummary {
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
