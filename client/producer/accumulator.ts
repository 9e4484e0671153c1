// The producer's record accumulator, after Kafka's RecordAccumulator: one queue of batches per partition, records
// copied into the newest batch of their partition as they are sent (so the caller's objects can go at once), and
// the sender taking whole batches from the head of each queue.
//
//   queue(topic, partition):  [ closed/full batch ][ full batch ] ... [ open batch <- append ]
//                               ^ head: the next to send; stays here while in flight and while it waits to retry
//
// A batch closes for appends when the next record does not fit batch.size (uncompressed) and is ready to send then,
// or once linger.ms has passed since its first record, or at once when a flush asks. A batch closed because it is
// full is finished (compressed, CRC'd) right then, by the append that found it full: that work then overlaps the
// request in flight instead of delaying the next one (the sender finishes only lingering batches as it drains).
//
// Memory (buffer.memory) is Kafka's BufferPool, counted: opening a batch reserves batch.size bytes (or the
// record's upper bound when larger), appends into it need no accounting, draining shrinks the reservation to the
// finished bytes, completion releases it. A reservation that does not fit makes the caller wait
// (client/producer/producer.ts); nothing here blocks. Like Kafka's pool, the batch buffers themselves are reused:
// a buffer goes to a free list once nothing can read it any more (its batch was acknowledged, so every byte of it
// left through the socket; or the batch was finished into a copy), and the next batch builds in it instead of in
// a new zeroed allocation. Free buffers count against buffer.memory too and are dropped first when it is short.
//
// Backlog batches (idempotence only). An idempotent producer has at most 5 batches of a partition unresolved (the
// broker recognises a resend only among a producer's last 5 batches), so with batch.size batches a partition could
// carry at most 5 x batch.size per request, where a producer without idempotence carries everything queued (up to
// max.request.size). So a batch opened while its partition already has that many batches queued (a backlog: the
// next request is full already) may grow to backlogBatchBytes (max.request.size / 5): under load, requests carry as
// much as without idempotence; when the partition keeps up, batches close at batch.size as usual.
//
// HOT PATH (bench/producer.bench.ts): append() allocates nothing per record; a batch's bookkeeping is one array of
// owners whose pushes amortize, with the owner indexes (only send() groups need them) and the timestamps (records of
// one batch mostly share a millisecond: kept as runs) beside it.
import { RECORD_FRAMING_BYTES_MAX, RecordBatchBuilder, type RecordInput, builderBufferBytes, decodeRecordBatch, utf8Length } from "../../core/formats/record-batch.ts";
import { RECORD_BATCH_HEADER_BYTES } from "../../core/formats/record-batch-header.ts";
import { BATCH_BYTES_MAX } from "../../core/limits.ts";
import { assert } from "../../core/assert.ts";
import type { RecordMetadata } from "../records.ts";

/** Called once per record produced with a callback: an error, or where the record landed. */
export type DeliveryCallback = (error: Error | null, metadata: RecordMetadata | null) => void;

/** Whoever waits for a group of records (one send() call): told per record by its index in the group. */
export interface DeliveryGroup {
  delivered(index: number, topic: string, partition: number, offset: bigint, timestamp: number): void;
  failed(index: number, error: Error): void;
}

/** Who learns a record's fate: a send() group, a produce() callback, or nobody (fire and forget). */
export type RecordOwner = DeliveryGroup | DeliveryCallback | null;

/** Accumulator settings, resolved from the producer options. */
export interface AccumulatorOptions {
  batchSizeBytes: number;
  lingerMs: number;
  bufferMemoryBytes: number;
  codec: number;
  deliveryTimeoutMs: number;
  /**
   * Idempotence: the limit of a batch opened while its partition already holds `backlogBatches` batches (0: no
   * growth). See "Backlog batches" at the top.
   */
  backlogBatchBytes?: number;
  backlogBatches?: number;
}

/** Returned by append() when no buffer space could be reserved for a new batch. */
export const APPEND_NO_MEMORY = -1;

let nextBatchId = 1;

/** One batch of one partition, from its first record to its acknowledgement. */
export class ProducerBatch {
  /** Increasing over the producer's life: flush() waits for batches up to an id. */
  readonly id = nextBatchId++;
  /** Open for appends (null once drained: `bytes` holds the finished batch). */
  builder: RecordBatchBuilder | null;
  /** The finished batch bytes, set by drain; resent unchanged by every retry. */
  bytes: Uint8Array | null = null;
  /** No further appends (the next record did not fit, or a flush or drain closed it). */
  full = false;
  /** Bytes of buffer.memory this batch holds. */
  reservedBytes: number;
  /** Per record: who learns its fate. */
  readonly owners: RecordOwner[] = [];
  // Per record, from the first record whose index is not 0 on (before it, all were 0): its index in its owner's
  // group (send() groups; a callback or nobody is index 0).
  private ownerIndexes: number[] | null = null;
  // The records' timestamps as runs of equal values: run r starts at record timestampRunStarts[r].
  private readonly timestampRunStarts: number[] = [];
  private readonly timestampRunValues: number[] = [];
  /** Attempts made so far (0 before the first send). */
  attempts = 0;
  /** Not to be sent again before this time (retry backoff). */
  retryAtMs = 0;
  /** Some attempt's outcome is unknown (sent, no answer): a final failure is then indeterminate. */
  maybeWritten = false;
  /** A request carrying this batch is in flight. */
  inFlight = false;
  /**
   * Idempotence: the producer id, epoch and first sequence stamped into `bytes` (client/producer/idempotence.ts),
   * or -1 while unstamped. Set when the batch is first sent; a retry keeps them.
   */
  producerId = -1;
  producerEpoch = -1;
  baseSequence = -1;
  /** Delivered or failed: nothing more happens to it. */
  completed = false;
  private donePromise: Promise<void> | null = null;
  private resolveDone: (() => void) | null = null;
  /** A batch split after MESSAGE_TOO_LARGE: the batch it came from, whose done() settles with its last part. */
  private splitFrom: ProducerBatch | null = null;
  private splitRemaining = 0;

  constructor(
    readonly topic: string,
    readonly partition: number,
    /** acks of every record in the batch (a record with other acks starts a new batch). */
    readonly acks: -1 | 0 | 1,
    /** When the first record was appended (linger and delivery timeout count from here). */
    readonly createdMs: number,
    builder: RecordBatchBuilder,
    reservedBytes: number,
  ) {
    this.builder = builder;
    this.reservedBytes = reservedBytes;
  }

  /** The pooled buffer `bytes` is a view of, returned to the free list once the batch is acknowledged. */
  pooledBuffer: Uint8Array | null = null;

  /** Records in the batch. */
  get recordCount(): number {
    return this.owners.length;
  }

  /** Notes the record just appended to the builder: its owner, its index in the owner's group, its timestamp. */
  addRecord(owner: RecordOwner, ownerIndex: number, timestamp: number): void {
    const at = this.owners.length;
    this.owners.push(owner);
    let indexes = this.ownerIndexes;
    if (indexes === null && ownerIndex !== 0) {
      indexes = new Array<number>(at).fill(0);
      this.ownerIndexes = indexes;
    }
    if (indexes !== null) indexes.push(ownerIndex);
    const runs = this.timestampRunValues;
    if (runs.length === 0 || runs[runs.length - 1] !== timestamp) {
      runs.push(timestamp);
      this.timestampRunStarts.push(at);
    }
  }

  /** The index of record `i` in its owner's group. */
  ownerIndex(i: number): number {
    return this.ownerIndexes === null ? 0 : this.ownerIndexes[i]!;
  }

  /** Every record's timestamp, in order (for a split: rare, so expanded). */
  timestamps(): number[] {
    const out: number[] = [];
    const starts = this.timestampRunStarts;
    const values = this.timestampRunValues;
    for (let run = 0; run < values.length; run++) {
      const end = run + 1 < starts.length ? starts[run + 1]! : this.owners.length;
      for (let i = starts[run]!; i < end; i++) out.push(values[run]!);
    }
    return out;
  }

  /** Resolves once the batch is delivered or failed (created on demand, for flush). */
  done(): Promise<void> {
    if (this.completed) return Promise.resolve();
    if (this.donePromise === null) this.donePromise = new Promise((resolve) => (this.resolveDone = resolve));
    return this.donePromise;
  }

  /** Tells every record's owner where it landed; `baseOffset` is the first record's, -1n when unknown (acks=0). */
  deliver(baseOffset: bigint, logAppendTimeMs: number): void {
    this.completeDelivered();
    this.notifyDelivered(baseOffset, logAppendTimeMs);
  }

  /** The first half of deliver(): the batch is done (it may leave its queue), its owners not told yet. */
  completeDelivered(): void {
    assert(!this.completed, "a batch completes once");
    this.completed = true;
  }

  /** The second half of deliver(), after completeDelivered(). */
  notifyDelivered(baseOffset: bigint, logAppendTimeMs: number): void {
    assert(this.completed, "owners hear of a delivery once the batch is complete");
    const count = this.owners.length;
    const known = baseOffset >= 0n;
    // Offsets are made only for records someone waits for, each from the last one made (one BigInt per record,
    // not a BigInt(i) and a sum), and not at all when no record has an owner (produce() without a callback).
    let offset = known ? baseOffset : -1n;
    let offsetIndex = 0;
    // Walks the timestamp runs alongside the records.
    const runStarts = this.timestampRunStarts;
    const runValues = this.timestampRunValues;
    let run = 0;
    let runTimestamp = runValues[0]!;
    let nextRunAt = runStarts.length > 1 ? runStarts[1]! : count;
    for (let i = 0; i < count; i++) {
      if (i === nextRunAt) {
        run++;
        runTimestamp = runValues[run]!;
        nextRunAt = run + 1 < runStarts.length ? runStarts[run + 1]! : count;
      }
      const owner = this.owners[i]!;
      if (owner === null) continue;
      if (known && offsetIndex !== i) {
        offset = i - offsetIndex === 1 ? offset + 1n : baseOffset + BigInt(i);
        offsetIndex = i;
      }
      const timestamp = logAppendTimeMs >= 0 ? logAppendTimeMs : runTimestamp;
      if (typeof owner === "function") callSafely(owner, null, { topic: this.topic, partition: this.partition, offset, timestamp });
      else owner.delivered(this.ownerIndex(i), this.topic, this.partition, offset, timestamp);
    }
    this.settled();
  }

  private settled(): void {
    this.resolveDone?.();
    const from = this.splitFrom;
    // A part of a part settles its parent in turn.
    if (from !== null && --from.splitRemaining === 0) from.settled();
  }

  /** Marks this batch replaced by `parts` (holding its records): it is complete once they all are. */
  replacedBy(parts: readonly ProducerBatch[]): void {
    assert(!this.completed && parts.length > 0, "only a pending batch is split");
    this.completed = true;
    this.splitRemaining = parts.length;
    for (const part of parts) part.splitFrom = this;
  }

  /** Tells every record's owner the batch failed; records without an owner are reported to `orphan`. */
  fail(error: Error, orphan: (error: Error, records: number) => void): void {
    assert(!this.completed, "a batch completes once");
    this.completed = true;
    let orphans = 0;
    const count = this.owners.length;
    for (let i = 0; i < count; i++) {
      const owner = this.owners[i]!;
      if (owner === null) orphans++;
      else if (typeof owner === "function") callSafely(owner, error, null);
      else owner.failed(this.ownerIndex(i), error);
    }
    if (orphans > 0) orphan(error, orphans);
    this.settled();
  }
}

// A user callback that throws must not break the producer's bookkeeping: its error is rethrown outside.
function callSafely(callback: DeliveryCallback, error: Error | null, metadata: RecordMetadata | null): void {
  try {
    callback(error, metadata);
  } catch (thrown) {
    queueMicrotask(() => {
      throw thrown;
    });
  }
}

/** The batches of one partition, oldest first. */
export class PartitionQueue {
  readonly batches: ProducerBatch[] = [];
  /** Requests in flight for this partition: at most one (client/producer/sender.ts explains why). */
  inFlight = 0;
  /**
   * Idempotence: the producer id and epoch this partition's sequences belong to (-1 before the first stamp), and
   * the sequence the next new batch gets.
   */
  producerId = -1;
  producerEpoch = -1;
  nextSequence = 0;

  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}
}

/** Upper bound of the bytes a record adds to a batch, computed without encoding it (strings: 3 bytes a unit). */
export function recordBoundBytes(record: RecordInput): number {
  let bytes = RECORD_FRAMING_BYTES_MAX + boundOf(record.key) + boundOf(record.value);
  const headers = record.headers;
  if (headers !== undefined) for (let i = 0; i < headers.length; i++) bytes += 10 + boundOf(headers[i]!.key) + boundOf(headers[i]!.value);
  return bytes;
}

/**
 * Upper bound of the bytes a record adds to a batch with strings measured exactly (UTF-8): tighter than
 * recordBoundBytes and O(length) to compute, so used only for records the cheap bound calls large.
 */
export function recordTightBoundBytes(record: RecordInput): number {
  let bytes = RECORD_FRAMING_BYTES_MAX + exactOf(record.key) + exactOf(record.value);
  const headers = record.headers;
  if (headers !== undefined) for (let i = 0; i < headers.length; i++) bytes += 10 + exactOf(headers[i]!.key) + exactOf(headers[i]!.value);
  return bytes;
}

function boundOf(data: Uint8Array | string | null | undefined): number {
  if (data === null || data === undefined) return 0;
  return typeof data === "string" ? data.length * 3 : data.length;
}

function exactOf(data: Uint8Array | string | null | undefined): number {
  if (data === null || data === undefined) return 0;
  return typeof data === "string" ? utf8Length(data) : data.length;
}

/** Per-partition batch queues and the buffer.memory count. */
export class RecordAccumulator {
  private readonly topics = new Map<string, PartitionQueue[]>();
  /** Every queue that holds a batch, for the sender's scan (a queue is listed once). */
  private readonly nonEmpty = new Set<PartitionQueue>();
  private usedBytes = 0;
  private readonly builderLimitBytes: number;
  private readonly backlogLimitBytes: number;
  /** Topics whose batches stay at batch.size under backlog (a grown batch of theirs was too large for the broker). */
  private readonly noBacklogGrowth = new Set<string>();
  /** Batches with an id up to this one are ready regardless of linger (flush). */
  private flushUpToId = 0;
  /** The topic queue() was last asked for, and its queues. */
  private lastTopic: string | null = null;
  private lastQueues: PartitionQueue[] | undefined = undefined;
  /** Free batch buffers by length (the builder's starting length for batch.size and for backlog batches). */
  private readonly freeBuffers = new Map<number, Uint8Array[]>();
  private freeBytes = 0;

  constructor(
    private readonly options: AccumulatorOptions,
    /** Called when memory was released (blocked senders may proceed, on a later microtask: never append from it synchronously). */
    private readonly onMemoryReleased: () => void,
  ) {
    // A batch never grows past what buffer.memory could hold (Kafka's pool refuses larger allocations too).
    this.builderLimitBytes = Math.min(BATCH_BYTES_MAX, Math.max(RECORD_BATCH_HEADER_BYTES + 1, Math.min(options.batchSizeBytes, options.bufferMemoryBytes)));
    // batch.size 0 asks for one record per batch: never grown. A backlog batch never holds more than a quarter of
    // buffer.memory, so growth cannot starve the other partitions.
    const backlogBytes = options.batchSizeBytes === 0 ? 0 : Math.min(BATCH_BYTES_MAX, options.backlogBatchBytes ?? 0, Math.floor(options.bufferMemoryBytes / 4));
    this.backlogLimitBytes = Math.max(this.builderLimitBytes, backlogBytes);
  }

  /** Bytes of buffer.memory held now. */
  get bufferedBytes(): number {
    return this.usedBytes;
  }

  /** The queue of a partition (created on first use). */
  queue(topic: string, partition: number): PartitionQueue {
    // HOT PATH: producers mostly write one topic after another, so the last topic's queues are kept at hand.
    let queues = topic === this.lastTopic ? this.lastQueues : this.topics.get(topic);
    if (queues === undefined) {
      queues = [];
      this.topics.set(topic, queues);
    }
    this.lastTopic = topic;
    this.lastQueues = queues;
    let queue = queues[partition];
    if (queue === undefined) {
      queue = new PartitionQueue(topic, partition);
      queues[partition] = queue;
    }
    return queue;
  }

  /**
   * Copies `record` into the open batch of its partition, opening a new batch when there is none or it is full.
   * Returns the bytes the record added (for the sticky partitioner), or APPEND_NO_MEMORY when a new batch was
   * needed and buffer.memory has no room for it (nothing was written; the caller waits and retries).
   * `boundBytes` is recordBoundBytes(record); the caller has checked the record fits buffer.memory at all. `nowMs`
   * may be NaN (not read yet): the clock is read then only if a batch opens.
   */
  append(
    topic: string,
    partition: number,
    acks: -1 | 0 | 1,
    record: RecordInput,
    boundBytes: number,
    owner: RecordOwner,
    ownerIndex: number,
    nowMs: number,
  ): number {
    const queue = this.queue(topic, partition);
    const batches = queue.batches;
    const last = batches.length > 0 ? batches[batches.length - 1]! : undefined;
    if (last !== undefined && !last.full && last.acks !== acks) this.finish(last);
    if (last !== undefined && !last.full) {
      const builder = last.builder!;
      const before = builder.sizeBytes;
      if (builder.append(record)) return this.recordAppended(last, record, owner, ownerIndex, builder.sizeBytes - before);
      this.finish(last);
    }
    let limitBytes = this.builderLimitBytes;
    if (this.backlogLimitBytes > limitBytes && batches.length >= this.options.backlogBatches! && !this.noBacklogGrowth.has(topic) && this.usedBytes + this.backlogLimitBytes <= this.options.bufferMemoryBytes) {
      limitBytes = this.backlogLimitBytes;
    }
    const reserveBytes = Math.max(limitBytes, RECORD_BATCH_HEADER_BYTES + boundBytes);
    const buffer = reserveBytes === limitBytes ? this.takeFreeBuffer(builderBufferBytes(limitBytes)) : undefined;
    if (buffer === undefined && this.usedBytes + this.freeBytes + reserveBytes > this.options.bufferMemoryBytes) this.dropFreeBuffers();
    if (this.usedBytes + reserveBytes > this.options.bufferMemoryBytes) {
      // One record larger than the whole buffer still goes when the buffer is empty (its size was checked exact).
      if (this.usedBytes > 0 || reserveBytes <= this.options.bufferMemoryBytes) {
        if (buffer !== undefined) this.keepFreeBuffer(buffer);
        return APPEND_NO_MEMORY;
      }
    }
    this.usedBytes += reserveBytes;
    const builder = new RecordBatchBuilder({ codec: this.options.codec }, limitBytes, buffer);
    // NaN: the caller did not read the clock (its record carried a timestamp); a new batch needs it for linger.
    const batch = new ProducerBatch(topic, partition, acks, Number.isNaN(nowMs) ? Date.now() : nowMs, builder, reserveBytes);
    batches.push(batch);
    this.nonEmpty.add(queue);
    const appended = builder.append(record);
    assert(appended, "an empty batch takes any record up to BATCH_BYTES_MAX");
    return this.recordAppended(batch, record, owner, ownerIndex, builder.sizeBytes - RECORD_BATCH_HEADER_BYTES);
  }

  private recordAppended(batch: ProducerBatch, record: RecordInput, owner: RecordOwner, ownerIndex: number, bytes: number): number {
    batch.addRecord(owner, ownerIndex, record.timestamp);
    return bytes;
  }

  /** True when `topic` has a batch waiting or in flight. */
  hasPending(topic: string): boolean {
    const queues = this.topics.get(topic);
    if (queues === undefined) return false;
    for (const queue of queues) if (queue !== undefined && (queue.batches.length > 0 || queue.inFlight > 0)) return true;
    return false;
  }

  /** Drops the (empty) queues of `topic`. */
  forget(topic: string): void {
    assert(!this.hasPending(topic), "only a topic with nothing pending is forgotten");
    this.topics.delete(topic);
    this.noBacklogGrowth.delete(topic);
    if (this.lastTopic === topic) {
      this.lastTopic = null;
      this.lastQueues = undefined;
    }
  }

  /** Makes every batch that exists now ready regardless of linger; returns the newest batch id covered. */
  beginFlush(): number {
    this.flushUpToId = nextBatchId - 1;
    return this.flushUpToId;
  }

  /** Every batch not yet completed, oldest first per partition. */
  pendingBatches(): ProducerBatch[] {
    const pending: ProducerBatch[] = [];
    for (const queue of this.nonEmpty) for (const batch of queue.batches) pending.push(batch);
    return pending;
  }

  /** True when no batch waits or flies. */
  get isEmpty(): boolean {
    return this.nonEmpty.size === 0;
  }

  /** Whether the head of `queue` may be sent now. */
  isReady(queue: PartitionQueue, nowMs: number): boolean {
    if (queue.inFlight > 0) return false;
    const head = queue.batches[0];
    if (head === undefined || head.retryAtMs > nowMs) return false;
    return head.full || head.bytes !== null || queue.batches.length > 1 || this.lingerDone(head, nowMs);
  }

  // An open batch is ready once linger.ms has passed since its first record, or a flush covers it.
  private lingerDone(batch: ProducerBatch, nowMs: number): boolean {
    return nowMs - batch.createdMs >= this.options.lingerMs || batch.id <= this.flushUpToId;
  }

  /** Queues whose head may be sent now. */
  readyQueues(nowMs: number): PartitionQueue[] {
    const ready: PartitionQueue[] = [];
    for (const queue of this.nonEmpty) if (this.isReady(queue, nowMs)) ready.push(queue);
    return ready;
  }

  /**
   * The earliest time after `nowMs` something becomes ready or expires (linger, retry backoff, delivery timeout),
   * or Infinity; the sender sets its one timer to it. Times already past are left out: a queue that is ready but
   * could not be sent (no connection yet, no in-flight slot) is woken by the event that frees it, not by a timer
   * that would fire again and again.
   */
  nextWakeMs(nowMs: number): number {
    let wake = Infinity;
    const later = (at: number): void => {
      if (at > nowMs && at < wake) wake = at;
    };
    for (const queue of this.nonEmpty) {
      const head = queue.batches[0]!;
      if (queue.inFlight === 0) {
        if (head.retryAtMs > 0) later(head.retryAtMs);
        else if (!head.full && queue.batches.length === 1) later(head.createdMs + this.options.lingerMs);
      }
      // Batches of a queue are in creation order: the first not in flight expires first.
      for (const batch of queue.batches) {
        if (batch.inFlight) continue;
        later(batch.createdMs + this.options.deliveryTimeoutMs);
        break;
      }
    }
    return wake;
  }

  /**
   * Finishes and returns the batches of `queue` to send in one request, head first, up to `maxBytes` (always at
   * least the head), at most `maxBatches`, all with the head's acks. Open batches are closed for appends: once
   * sent, a batch's records never change.
   */
  drain(queue: PartitionQueue, maxBytes: number, nowMs: number, maxBatches: number = Infinity): ProducerBatch[] {
    const drained: ProducerBatch[] = [];
    let bytes = 0;
    const acks = queue.batches[0]?.acks;
    for (const batch of queue.batches) {
      if (batch.acks !== acks || drained.length >= maxBatches) break;
      // The open batch at the tail goes only when it is ready by itself (the head is ready by the caller's check).
      if (drained.length > 0 && !batch.full && batch.bytes === null && !this.lingerDone(batch, nowMs)) break;
      if (batch.bytes === null) this.finish(batch);
      const size = batch.bytes!.length;
      if (drained.length > 0 && bytes + size > maxBytes) break;
      drained.push(batch);
      bytes += size;
    }
    return drained;
  }

  // Closes the batch's builder (compressing if set) and shrinks its reservation to the memory it now holds: the
  // builder's buffer when the bytes are a view of it, else the finished copy (the buffer is then free at once).
  private finish(batch: ProducerBatch): void {
    batch.full = true;
    const builder = batch.builder!;
    const bytes = builder.close();
    batch.bytes = bytes;
    batch.builder = null;
    const kept = bytes.buffer === builder.backingBuffer.buffer;
    if (kept) batch.pooledBuffer = builder.backingBuffer;
    const shrink = batch.reservedBytes - (kept ? builder.backingBuffer.length : bytes.length);
    if (shrink > 0) {
      batch.reservedBytes -= shrink;
      this.release(shrink);
    }
    if (!kept) this.keepFreeBuffer(builder.backingBuffer);
  }

  /**
   * Kafka's splitAndReenqueue for a finished batch the broker refused as MESSAGE_TOO_LARGE (so never written):
   * replaces it in its queue by finished batches of at most half its size (and at most batch.size), in order, each
   * record keeping its owner. Returns the parts, or null when it holds one record (nothing to split). Batches of
   * this topic stop growing under backlog from now on (the topic's max.message.bytes is evidently smaller).
   */
  split(batch: ProducerBatch): ProducerBatch[] | null {
    if (batch.recordCount < 2 || batch.bytes === null || batch.completed) return null;
    const decoded = decodeRecordBatch(batch.bytes);
    assert(decoded.ok, "the producer's own batch decodes");
    this.noBacklogGrowth.add(batch.topic);
    // Halving guarantees progress: repeated refusals end in one-record batches, which fail as they are.
    const limitBytes = Math.max(RECORD_BATCH_HEADER_BYTES + 1, Math.min(this.builderLimitBytes, Math.floor(batch.bytes.length / 2)));
    const parts: ProducerBatch[] = [];
    let current: ProducerBatch | null = null;
    const records = decoded.value.records;
    const timestamps = batch.timestamps();
    assert(records.length === batch.recordCount, "a batch holds one record per owner");
    for (let i = 0; i < records.length; i++) {
      const record = records[i]!;
      const input: RecordInput = { key: record.key, value: record.value, headers: record.headers, timestamp: timestamps[i]! };
      if (current === null || !current.builder!.append(input)) {
        current = new ProducerBatch(batch.topic, batch.partition, batch.acks, batch.createdMs, new RecordBatchBuilder({ codec: this.options.codec }, limitBytes), 0);
        current.full = true;
        current.attempts = batch.attempts;
        current.maybeWritten = batch.maybeWritten;
        parts.push(current);
        const appended = current.builder!.append(input);
        assert(appended, "an empty batch takes any record up to BATCH_BYTES_MAX");
      }
      current.addRecord(batch.owners[i]!, batch.ownerIndex(i), timestamps[i]!);
    }
    let reservedBytes = 0;
    for (const part of parts) {
      part.bytes = part.builder!.close();
      part.builder = null;
      part.reservedBytes = part.bytes.length;
      reservedBytes += part.reservedBytes;
    }
    const queue = this.queue(batch.topic, batch.partition);
    const at = queue.batches.indexOf(batch);
    assert(at >= 0, "a pending batch is in its queue");
    queue.batches.splice(at, 1, ...parts);
    // The parts hold about the bytes the batch held; the count may pass buffer.memory by their few extra headers.
    this.usedBytes += reservedBytes;
    const released = batch.reservedBytes;
    batch.reservedBytes = 0;
    batch.replacedBy(parts);
    this.release(released);
    return parts;
  }

  /**
   * Removes a completed batch (the head of its queue, or an expired one) and releases its memory. `sent`: every
   * byte of the batch has left through the socket (it was acknowledged, or written with acks=0), so its buffer may
   * be reused; a failed batch's buffer is left to the garbage collector (a dropped connection may still hold it).
   */
  remove(batch: ProducerBatch, sent = false): void {
    assert(batch.completed, "only completed batches leave the queue");
    const queue = this.queue(batch.topic, batch.partition);
    const at = queue.batches.indexOf(batch);
    assert(at >= 0, "a completed batch is in its queue");
    queue.batches.splice(at, 1);
    if (queue.batches.length === 0) this.nonEmpty.delete(queue);
    const bytes = batch.reservedBytes;
    batch.reservedBytes = 0;
    const pooled = batch.pooledBuffer;
    batch.pooledBuffer = null;
    batch.bytes = null;
    this.release(bytes);
    if (sent && pooled !== null) this.keepFreeBuffer(pooled);
  }

  // Gives back reserved bytes; waiting senders are let in on a later microtask (the caller may still keep a free
  // buffer first, against the count as it is now).
  private release(bytes: number): void {
    this.usedBytes -= bytes;
    assert(this.usedBytes >= 0, "buffer.memory count never goes negative");
    this.onMemoryReleased();
  }

  /** Bytes of free batch buffers kept for reuse (they count against buffer.memory). */
  get freeBufferBytes(): number {
    return this.freeBytes;
  }

  private takeFreeBuffer(length: number): Uint8Array | undefined {
    const buffer = this.freeBuffers.get(length)?.pop();
    if (buffer !== undefined) this.freeBytes -= length;
    return buffer;
  }

  // Keeps a buffer no batch reads any more, when it has a batch's starting length and buffer.memory has room.
  private keepFreeBuffer(buffer: Uint8Array): void {
    const length = buffer.length;
    if (length !== builderBufferBytes(this.builderLimitBytes) && length !== builderBufferBytes(this.backlogLimitBytes)) return;
    if (this.usedBytes + this.freeBytes + length > this.options.bufferMemoryBytes) return;
    let list = this.freeBuffers.get(length);
    if (list === undefined) {
      list = [];
      this.freeBuffers.set(length, list);
    }
    list.push(buffer);
    this.freeBytes += length;
  }

  private dropFreeBuffers(): void {
    this.freeBuffers.clear();
    this.freeBytes = 0;
  }

  /** Batches not in flight whose delivery.timeout.ms has passed. */
  expiredBatches(nowMs: number): ProducerBatch[] {
    const expired: ProducerBatch[] = [];
    for (const queue of this.nonEmpty) {
      for (const batch of queue.batches) {
        if (batch.inFlight) continue;
        // Creation order: once one batch is young enough, every later one is too.
        if (nowMs - batch.createdMs < this.options.deliveryTimeoutMs) break;
        expired.push(batch);
      }
    }
    return expired;
  }
}
