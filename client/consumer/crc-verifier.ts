// Takes the CRC-32C check of large fetch answers off the consumer's thread, into one Worker (crc-worker.ts).
//
// Why: a consume from the start is bound by the consumer's one thread, and the CRC (kernel + the copy into wasm
// memory) was about a third of it (docs/benchmarks/consumer.md, "Session 3: CRC-32C in a Worker"). Message values
// must stay views over plain ArrayBuffers, so the socket is not read into shared memory; instead, on arrival (the
// bytes are hot in cache), a partition's complete batches are copied into a SharedArrayBuffer scratch of this
// verifier, and the worker sums each batch's CRC'd range (attributes to the batch's end), last batch first,
// publishing each CRC in shared memory as soon as it is known (CrcProgress). PartitionRecords compares a batch's
// header CRC with the worker's when the worker has it by the time the batch is decoded, and computes it inline
// otherwise: the reader never waits for the worker (a Worker's answer takes 0.1-0.3 ms to arrive here, and a
// 1-partition consume decodes an answer soon after its last byte arrives, so waiting would put that on every
// answer's path). Reader and worker start from opposite ends, so no batch is summed twice unless they cross.
//
// Bounds: only answers of at least CRC_WORKER_MIN_BYTES go to the worker (small ones are checked inline: the copy
// and the message cost more than they would save); at most CRC_CHECKS_IN_FLIGHT_MAX checks are in flight (one
// scratch each, reused once the worker answers), and an answer past CRC_SCRATCH_BYTES_MAX is checked inline.
// Fallback: the worker starts lazily on the first check; if it can not start or fails later, it is never
// restarted: checks in flight keep the CRCs it published (the rest are computed inline) and every later check
// runs inline. It is unref()'d, so it never keeps a process alive, and close() terminates it.
import { Worker as NodeWorker } from "node:worker_threads";
import { ATTRIBUTES_OFFSET, RECORD_BATCH_HEADER_BYTES } from "../../core/formats/record-batch-header.ts";
import type { CrcAnswer, CrcRequest } from "./crc-worker.ts";

/** Complete-batch bytes of one partition's answer at or above which its CRCs are computed in the worker. */
export const CRC_WORKER_MIN_BYTES = 256 * 1024;

/** Most checks in flight in the worker at once (each holds one scratch buffer); past it, checks run inline. */
export const CRC_CHECKS_IN_FLIGHT_MAX = 4;

/** Largest answer one scratch buffer takes (so the scratch pool stays within 4 x this); larger ones run inline. */
export const CRC_SCRATCH_BYTES_MAX = 16 * 1024 * 1024;

// Byte offset of a batch's length field (i32 big-endian), and the bytes before the part that length counts.
const BATCH_LENGTH_OFFSET = 8;
const BATCH_LOG_OVERHEAD_BYTES = 12;

/**
 * The CRC-32Cs of one answer's batches as the worker publishes them: crcOf(i) is batch i's CRC once the worker
 * has it, else -1 (compute it inline).
 */
export class CrcProgress {
  // While the worker runs: the shared results [done, crc0, crc1, ...] (the last `done` batches are summed); once it
  // answered: null, and #final holds them (-1 where it had none).
  #shared: Int32Array | null;
  #final: Float64Array | null = null;
  readonly #count: number;

  constructor(shared: Int32Array, count: number) {
    this.#shared = shared;
    this.#count = count;
  }

  /** Batch `index`'s CRC-32C as the worker computed it, or -1 when it has not (yet). */
  crcOf(index: number): number {
    const final = this.#final;
    if (final !== null) return final[index] ?? -1;
    const shared = this.#shared as Int32Array;
    // The Atomics.load orders the read of the CRC after the worker's write of it (written before `done` moved).
    return index >= this.#count - Atomics.load(shared, 0) ? (shared[index + 1] as number) >>> 0 : -1;
  }

  // The worker is done with the shared results (answered or gone): keep a private copy of what it published,
  // so the scratch can be reused.
  settle(): void {
    const shared = this.#shared;
    if (shared === null) return;
    const count = this.#count;
    const first = count - Atomics.load(shared, 0);
    const final = new Float64Array(count).fill(-1);
    for (let i = first; i < count; i++) final[i] = (shared[i + 1] as number) >>> 0;
    this.#final = final;
    this.#shared = null;
  }
}

// The two Worker APIs behind one shape: Bun's Web Worker (its node:worker_threads wrapper adds stream objects
// and costs on each message) and node:worker_threads (Node has no global Worker).
interface WorkerHandle {
  post(request: CrcRequest): void;
  terminate(): void;
}

function startWorker(url: URL | string, onAnswer: (answer: CrcAnswer) => void, onFailure: () => void): WorkerHandle {
  if (typeof process !== "undefined" && process.versions.bun !== undefined && typeof globalThis.Worker === "function") {
    const worker = new globalThis.Worker(url);
    (worker as unknown as { unref(): void }).unref();
    worker.addEventListener("message", (event: MessageEvent<CrcAnswer>) => onAnswer(event.data));
    worker.addEventListener("error", onFailure);
    worker.addEventListener("close", onFailure);
    return { post: (request) => worker.postMessage(request), terminate: () => worker.terminate() };
  }
  const worker = new NodeWorker(url);
  worker.unref();
  worker.on("message", onAnswer);
  worker.on("error", onFailure);
  worker.on("exit", onFailure);
  return { post: (request) => worker.postMessage(request), terminate: () => void worker.terminate() };
}

interface Scratch {
  bytes: SharedArrayBuffer;
  bytesView: Uint8Array;
  results: SharedArrayBuffer;
  resultsView: Int32Array;
  progress: CrcProgress | null;
}

/** Where the worker module is, for the three ways the SDK runs (Bun from sources, Node bundle, compiled binary). */
export function crcWorkerUrl(): URL {
  const here = import.meta.url;
  // Bun from the sources: this file sits next to the worker.
  if (here.endsWith("/client/consumer/crc-verifier.ts")) return new URL("./crc-worker.ts", here);
  // The Node bundle (scripts/build-client.mjs): dist/client/index.js with crc-worker.js next to it.
  if (here.endsWith(".js") && !here.includes("/$bunfs/")) return new URL("./crc-worker.js", here);
  // A binary from `bun build --compile` (scripts/build-binary.mjs): modules are stored under /$bunfs/root/ by their
  // path from the entry points' common directory (the repository root), and this module is bundled into the
  // binary's entry file, so the path is taken from the root (as client/cli/perf-e2e-consumer.ts does).
  return new URL("./client/consumer/crc-worker.ts", here);
}

/** One consumer's CRC worker and its scratch buffers. */
export class CrcVerifier {
  readonly #workerUrl: URL | string;
  #worker: WorkerHandle | null = null;
  // Set once the worker failed to start or failed later, or close() was called: every check runs inline then.
  #failed = false;
  readonly #scratch: Scratch[] = [];
  readonly #inFlight = new Map<number, Scratch>();
  #nextId = 0;

  /** `workerUrl`: the worker module (tests point it at a missing file to check the inline fallback). */
  constructor(workerUrl: URL | string = crcWorkerUrl()) {
    this.#workerUrl = workerUrl;
  }

  /** Checks in flight in the worker. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** True once the worker failed or was closed (every check runs inline from then on). */
  get failed(): boolean {
    return this.#failed;
  }

  /**
   * Starts the CRCs of `batches` (whole RecordBatch v2 frames back to back, already walked by walkBatchFrames) in
   * the worker, one per batch in order; null when this answer is to be checked inline (too small or too large,
   * every scratch busy, no worker).
   */
  check(batches: Uint8Array): CrcProgress | null {
    if (this.#failed || batches.length < CRC_WORKER_MIN_BYTES || batches.length > CRC_SCRATCH_BYTES_MAX) return null;
    if (this.#inFlight.size >= CRC_CHECKS_IN_FLIGHT_MAX) return null;
    const worker = this.#worker ?? this.#start();
    if (worker === null) return null;
    const ranges = batchRanges(batches);
    const scratch = this.#takeScratch(batches.length, ranges.length >> 1);
    scratch.bytesView.set(batches);
    Atomics.store(scratch.resultsView, 0, 0);
    const progress = new CrcProgress(scratch.resultsView, ranges.length >> 1);
    scratch.progress = progress;
    const id = this.#nextId++;
    this.#inFlight.set(id, scratch);
    worker.post({ id, bytes: scratch.bytes, ranges, results: scratch.results });
    return progress;
  }

  /** Terminates the worker (if any); checks in flight keep what it published, and later checks run inline. */
  close(): void {
    this.#fail();
  }

  #start(): WorkerHandle | null {
    try {
      this.#worker = startWorker(this.#workerUrl, (answer) => this.#answered(answer), () => this.#fail());
    } catch {
      this.#failed = true;
    }
    return this.#worker;
  }

  #answered(answer: CrcAnswer): void {
    const scratch = this.#inFlight.get(answer.id);
    if (scratch === undefined) return;
    this.#inFlight.delete(answer.id);
    scratch.progress?.settle();
    scratch.progress = null;
  }

  // The worker is gone for good: checks in flight keep what it published, and every later check runs inline.
  #fail(): void {
    this.#failed = true;
    const worker = this.#worker;
    this.#worker = null;
    if (worker !== null) worker.terminate();
    for (const scratch of this.#inFlight.values()) scratch.progress?.settle();
    this.#inFlight.clear();
    this.#scratch.length = 0;
  }

  // A free scratch for `bytes` bytes and `batches` CRCs (sized to the next power of two, within the bounds).
  #takeScratch(bytes: number, batches: number): Scratch {
    let free: Scratch | null = null;
    for (const scratch of this.#scratch) {
      if (scratch.progress !== null) continue;
      free = scratch;
      if (scratch.bytesView.length >= bytes && scratch.resultsView.length > batches) break;
    }
    if (free === null || free.bytesView.length < bytes || free.resultsView.length <= batches) {
      const size = Math.min(CRC_SCRATCH_BYTES_MAX, 2 ** Math.ceil(Math.log2(bytes)));
      const bytesBuffer = new SharedArrayBuffer(size);
      // At most one batch per RECORD_BATCH_HEADER_BYTES, plus the `done` counter.
      const resultsBuffer = new SharedArrayBuffer(4 * (Math.ceil(size / RECORD_BATCH_HEADER_BYTES) + 1));
      const grown: Scratch = { bytes: bytesBuffer, bytesView: new Uint8Array(bytesBuffer), results: resultsBuffer, resultsView: new Int32Array(resultsBuffer), progress: null };
      // A free one too small is replaced, so the pool never holds more than CRC_CHECKS_IN_FLIGHT_MAX scratches.
      if (free !== null) this.#scratch[this.#scratch.indexOf(free)] = grown;
      else this.#scratch.push(grown);
      free = grown;
    }
    return free;
  }
}

// The CRC'd range of each batch (its attributes to its end): [start0, end0, start1, end1, ...].
function batchRanges(batches: Uint8Array): Int32Array {
  const lengths = new DataView(batches.buffer, batches.byteOffset, batches.byteLength);
  let count = 0;
  for (let at = 0; at < batches.length; at += BATCH_LOG_OVERHEAD_BYTES + lengths.getInt32(at + BATCH_LENGTH_OFFSET)) count++;
  const ranges = new Int32Array(2 * count);
  let at = 0;
  for (let i = 0; i < count; i++) {
    const end = at + BATCH_LOG_OVERHEAD_BYTES + lengths.getInt32(at + BATCH_LENGTH_OFFSET);
    ranges[2 * i] = at + ATTRIBUTES_OFFSET;
    ranges[2 * i + 1] = end;
    at = end;
  }
  return ranges;
}
