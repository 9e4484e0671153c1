// The consumer half of `rivulet perf e2e`, run in its own thread (a Bun Worker, client/cli/perf-e2e-worker.ts) so
// that the producer's bursts on the main thread do not delay reads (on one thread a batch that arrived waits for
// the send loop to yield). When the Worker cannot start (a binary compiled without the worker as an entry point),
// it runs on the calling thread instead, as before, and says so; `perf e2e --same-thread` asks for that. On this
// 2-vCPU machine, shared with the broker, which is better depends on the rate and the other load
// (docs/benchmarks/perf-tool.md): a third busy thread competes for the cores, and a consumer thread asleep
// between fetches must be woken, but at 450,000 records/s the Worker's p99 was about a third of one thread's.
//
// Conversation, in order (main -> consumer, consumer -> main):
//   start {options}        ->
//                          <- ready            (assigned at each partition's current end: only this run's records count)
//   ping {mainMs}          ->                  (CLOCK_SYNC_ROUNDS times: the two threads' clocks have different
//                          <- pong {mainMs, consumerMs}   origins; the round trip with the least time gives the offset)
//   go {startMs, offsetMs} ->                  (the main thread starts sending; consumer clock = main clock + offset)
//   measure {fromMs}       ->                  (the warm-up ended: elapsed time counts from here)
//                          <- progress {line}  (every PROGRESS_INTERVAL_MS)
//   count {records}        ->                  (sent minus failed, once the producer is done: read that many)
//   stop                   ->                  (give up now: a timeout)
//                          <- done {summary} | failed {message}
// Latency is the consumer's clock at the batch's arrival, moved onto the main thread's clock, minus the send time
// the producer wrote into the first E2E_TIMESTAMP_BYTES of the value.
import type { Consumer } from "../consumer/consumer.ts";
import type { MessageBatch } from "../consumer/fetcher.ts";
import { clientFor } from "./cli-io.ts";
import { LatencyStats, type PerfSummary, PROGRESS_INTERVAL_MS, clockMs, summarize } from "./perf-stats.ts";

/** Bytes at the start of an e2e record's value: its send time as a little-endian float64 of microseconds. */
export const E2E_TIMESTAMP_BYTES = 8;
/** The stamp of a warm-up record (sent before `measure`): read, but not timed or counted in the summary. */
export const E2E_UNTIMED_STAMP = -1;
/** How long the consumer may take to connect and position itself before the run fails. */
export const E2E_READY_MS_MAX = 30_000;
/** Round trips measuring the offset between the two threads' clocks (the shortest one is used). */
export const CLOCK_SYNC_ROUNDS = 16;
/** How long one clock round trip may take before the run fails. */
export const CLOCK_SYNC_MS_MAX = 5_000;

/** What the consumer needs to know to start. */
export interface E2eConsumerOptions {
  readonly bootstrap: string | undefined;
  readonly topic: string;
  readonly consumerProps: Record<string, string>;
  /** Records to read until a `count` message lowers it. */
  readonly records: number;
  /** The consumer stops by itself this long after `go` (the run's --timeout-ms plus the drain allowance). */
  readonly stopAfterMs: number;
}

/** A message from the main thread to the consumer. */
export type ToE2eConsumer =
  | { readonly type: "start"; readonly options: E2eConsumerOptions }
  | { readonly type: "ping"; readonly mainMs: number }
  | { readonly type: "go"; readonly startMs: number; readonly offsetMs: number }
  | { readonly type: "measure"; readonly fromMs: number }
  | { readonly type: "count"; readonly records: number }
  | { readonly type: "stop" };

/** A message from the consumer to the main thread. */
export type FromE2eConsumer =
  | { readonly type: "ready" }
  | { readonly type: "pong"; readonly mainMs: number; readonly consumerMs: number }
  | { readonly type: "progress"; readonly line: string }
  | { readonly type: "done"; readonly summary: PerfSummary }
  | { readonly type: "failed"; readonly message: string };

/** The consumer's side of the conversation; `post` sends to the main thread. */
export class E2eConsumer {
  readonly #options: E2eConsumerOptions;
  readonly #post: (message: FromE2eConsumer) => void;
  readonly #target: { count: number; read: number };
  #consumer: Consumer | null = null;
  #startMs = -1;
  #measuredFromMs = -1;
  // The consumer's clock minus the main thread's (0 until `go`; nothing is timed before it).
  #offsetMs = 0;
  #stopTimer: ReturnType<typeof setTimeout> | null = null;
  #timedOut = false;
  #stopped = false;

  constructor(options: E2eConsumerOptions, post: (message: FromE2eConsumer) => void) {
    this.#options = options;
    this.#post = post;
    this.#target = { count: options.records, read: 0 };
  }

  /** Handles a message from the main thread (other than `start`, which made this object). */
  receive(message: ToE2eConsumer): void {
    if (message.type === "ping") this.#post({ type: "pong", mainMs: message.mainMs, consumerMs: clockMs() });
    else if (message.type === "go") {
      this.#startMs = message.startMs;
      this.#offsetMs = message.offsetMs;
      this.#stopTimer = setTimeout(() => {
        this.#timedOut = true;
        this.#stop();
      }, this.#options.stopAfterMs);
    } else if (message.type === "measure") this.#measuredFromMs = message.fromMs;
    else if (message.type === "count") {
      this.#target.count = message.records;
      if (this.#target.read >= this.#target.count) this.#stop();
    } else if (message.type === "stop") {
      this.#timedOut = true;
      this.#stop();
    }
  }

  /** Connects, positions, reads until the count, disconnects, and posts `done` (or `failed`); never rejects. */
  async run(): Promise<void> {
    let outcome: FromE2eConsumer;
    try {
      outcome = { type: "done", summary: await this.#read() };
    } catch (error) {
      outcome = { type: "failed", message: error instanceof Error ? error.message : String(error) };
    }
    this.#post(outcome);
  }

  async #read(): Promise<PerfSummary> {
    const { bootstrap, topic, consumerProps } = this.#options;
    const rivulet = clientFor(bootstrap, "rivulet-perf-e2e-consumer");
    const consumer = rivulet.consumer(withEarliest(consumerProps));
    const admin = rivulet.admin();
    this.#consumer = consumer;
    let ticker: ReturnType<typeof setInterval> | null = null;
    try {
      await Promise.all([consumer.connect(), admin.connect()]);
      // Read from each partition's current end, so only this run's records count.
      await admin.createTopics({ topics: [{ topic }], ifNotExists: true });
      const ends = await admin.listOffsets({ topic, at: "latest" });
      consumer.assign(ends.map(({ partition }) => ({ topic, partition })));
      for (const end of ends) consumer.seek({ topic, partition: end.partition, offset: end.offset });
      const readyMs = clockMs();
      const stats = new LatencyStats(readyMs);
      let lastSeenMs = readyMs;
      ticker = setInterval(() => this.#post({ type: "progress", line: stats.progressLine("sent and consumed", clockMs()) }), PROGRESS_INTERVAL_MS);
      this.#post({ type: "ready" });
      // The stamp is copied out byte by byte into one reused buffer: no DataView per record.
      const stamp = new Uint8Array(E2E_TIMESTAMP_BYTES);
      const stampView = new DataView(stamp.buffer);
      if (!this.#stopped) {
        await readLoop(consumer, this.#target, (batch, nowMs) => {
          // HOT PATH (`rivulet perf e2e`, docs/benchmarks/perf-tool.md): one clock read per batch, moved onto the
          // producer's clock.
          const nowUs = (nowMs - this.#offsetMs) * 1000;
          let timed = false;
          for (const message of batch.messages) {
            const v = message.value;
            if (v === null || v.length < E2E_TIMESTAMP_BYTES) continue;
            for (let i = 0; i < E2E_TIMESTAMP_BYTES; i++) stamp[i] = v[i]!;
            const sentUs = stampView.getFloat64(0, true);
            if (sentUs === E2E_UNTIMED_STAMP) continue;
            stats.record(nowUs - sentUs, 1, v.length);
            timed = true;
          }
          if (timed) lastSeenMs = nowMs;
        });
      }
      const fromMs = this.#measuredFromMs >= 0 ? this.#measuredFromMs : this.#startMs;
      const startMs = fromMs < 0 ? readyMs : fromMs + this.#offsetMs;
      return summarize("e2e", topic, stats, 0, lastSeenMs - startMs, this.#timedOut);
    } finally {
      if (ticker !== null) clearInterval(ticker);
      if (this.#stopTimer !== null) clearTimeout(this.#stopTimer);
      await Promise.all([consumer.disconnect().catch(() => undefined), admin.disconnect().catch(() => undefined)]);
    }
  }

  #stop(): void {
    this.#stopped = true;
    void this.#consumer?.stop();
  }
}

/** The main thread's handle on a running e2e consumer. */
export interface E2eConsumerHandle {
  /** True when the consumer runs in its own Worker, false when on this thread (the fallback). */
  readonly inWorker: boolean;
  /** Sends a message to the consumer. */
  send(message: ToE2eConsumer): void;
  /** Stops the Worker, if any (after `done` or `failed`, or to give up). */
  close(): void;
}

/**
 * Starts the e2e consumer in a Worker, or on this thread when no Worker can start (then `onFallback` hears why),
 * and measures the offset of its clock; resolves once it is positioned, after which `onMessage` gets its progress
 * and its `done` or `failed`. Send `go` with the offset to start it. `workerModule` null: on this thread.
 */
export async function startE2eConsumer(
  options: E2eConsumerOptions,
  onMessage: (message: FromE2eConsumer) => void,
  onFallback: (reason: string) => void,
  workerModule: string | null = workerUrl(),
): Promise<{ handle: E2eConsumerHandle; offsetMs: number }> {
  let pongWaiter: ((pong: { mainMs: number; consumerMs: number }) => void) | null = null;
  const route = (message: FromE2eConsumer): void => {
    if (message.type !== "pong") return onMessage(message);
    const waiter = pongWaiter;
    pongWaiter = null;
    waiter?.(message);
  };
  let handle = workerModule === null ? "" : await startInWorker(workerModule, options, route);
  if (typeof handle === "string") {
    if (workerModule !== null) onFallback(handle);
    handle = await startOnThisThread(options, route);
  }
  const started = handle;
  const nextPong = (): Promise<{ mainMs: number; consumerMs: number }> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the e2e consumer did not answer a clock ping within ${CLOCK_SYNC_MS_MAX} ms`)), CLOCK_SYNC_MS_MAX);
      pongWaiter = (pong) => {
        clearTimeout(timer);
        resolve(pong);
      };
    });
  try {
    return { handle: started, offsetMs: await measureClockOffsetMs(started, nextPong) };
  } catch (error) {
    started.send({ type: "stop" });
    started.close();
    throw error;
  }
}

/**
 * Measures how far the consumer's clock is ahead of this thread's: CLOCK_SYNC_ROUNDS pings, and from the one with
 * the shortest round trip, the consumer's reading minus the midpoint of ours (off by at most half that round trip).
 */
export async function measureClockOffsetMs(handle: E2eConsumerHandle, nextPong: () => Promise<{ mainMs: number; consumerMs: number }>): Promise<number> {
  let bestRoundTripMs = Infinity;
  let offsetMs = 0;
  for (let round = 0; round < CLOCK_SYNC_ROUNDS; round++) {
    const answer = nextPong();
    handle.send({ type: "ping", mainMs: clockMs() });
    const pong = await answer;
    const backMs = clockMs();
    if (backMs - pong.mainMs < bestRoundTripMs) {
      bestRoundTripMs = backMs - pong.mainMs;
      offsetMs = pong.consumerMs - (pong.mainMs + backMs) / 2;
    }
  }
  return offsetMs;
}

// The worker module's address. In a binary from `bun build --compile`, modules are stored under /$bunfs/root/ by
// their path from the entry points' common directory (the repository root: server/main.ts and the worker), and
// this module is bundled into the binary's entry file, so the path is taken from the root.
function workerUrl(): string {
  const here = import.meta.url;
  return here.endsWith("/client/cli/perf-e2e-consumer.ts") ? new URL("./perf-e2e-worker.ts", here).href : new URL("./client/cli/perf-e2e-worker.ts", here).href;
}

// Resolves with the handle once the Worker's consumer is ready, with the reason when the Worker could not start,
// or rejects when the consumer failed before it was ready (a broker error: falling back would fail the same way).
function startInWorker(workerModule: string, options: E2eConsumerOptions, onMessage: (message: FromE2eConsumer) => void): Promise<E2eConsumerHandle | string> {
  let worker: Worker;
  try {
    worker = new Worker(workerModule);
  } catch (error) {
    return Promise.resolve(error instanceof Error ? error.message : String(error));
  }
  const handle: E2eConsumerHandle = {
    inWorker: true,
    send: (message) => worker.postMessage(message),
    close: () => worker.terminate(),
  };
  return new Promise((resolve, reject) => {
    let ready = false;
    const timer = setTimeout(() => {
      worker.terminate();
      reject(new Error(`the e2e consumer was not ready within ${E2E_READY_MS_MAX} ms`));
    }, E2E_READY_MS_MAX);
    worker.addEventListener("message", (event: MessageEvent<FromE2eConsumer>) => {
      const message = event.data;
      if (!ready && message.type === "ready") {
        ready = true;
        clearTimeout(timer);
        resolve(handle);
        return;
      }
      if (!ready && message.type === "failed") {
        clearTimeout(timer);
        worker.terminate();
        reject(new Error(message.message));
        return;
      }
      onMessage(message);
    });
    worker.addEventListener("error", (event: ErrorEvent) => {
      const reason = event.message === "" ? "the worker failed" : event.message;
      if (!ready) {
        // It never said anything: the module did not load (or died loading). Fall back to this thread.
        clearTimeout(timer);
        worker.terminate();
        resolve(reason);
        return;
      }
      onMessage({ type: "failed", message: `e2e consumer thread: ${reason}` });
    });
    worker.postMessage({ type: "start", options } satisfies ToE2eConsumer);
  });
}

// The same consumer on this thread: messages go both ways through microtasks, as they would between threads.
function startOnThisThread(options: E2eConsumerOptions, onMessage: (message: FromE2eConsumer) => void): Promise<E2eConsumerHandle> {
  return new Promise((resolve, reject) => {
    let ready = false;
    const consumer = new E2eConsumer(options, (message) => {
      if (!ready && message.type === "ready") {
        ready = true;
        resolve({ inWorker: false, send: (toConsumer) => queueMicrotask(() => consumer.receive(toConsumer)), close: () => undefined });
      } else if (!ready && message.type === "failed") reject(new Error(message.message));
      else queueMicrotask(() => onMessage(message));
    });
    void consumer.run();
  });
}

/**
 * Reads until `target.count` records arrived (the caller may lower it while reading) or the consumer stops;
 * `onBatch` sees every batch with its arrival time on clockMs().
 */
export async function readLoop(consumer: Consumer, target: { count: number; read: number }, onBatch: (batch: MessageBatch, nowMs: number) => void): Promise<void> {
  if (target.read >= target.count) return;
  for await (const batch of consumer.batches()) {
    const nowMs = clockMs();
    const take = Math.min(batch.messages.length, target.count - target.read);
    onBatch(take === batch.messages.length ? batch : { ...batch, messages: batch.messages.slice(0, take) }, nowMs);
    target.read += take;
    if (target.read >= target.count) break;
  }
}

/** Perf consumers read from the earliest offset unless the caller's props say otherwise. */
export function withEarliest(props: Record<string, string>): Record<string, string> {
  return { "auto.offset.reset": "earliest", ...props };
}
