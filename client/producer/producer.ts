// The producer: takes records from send() / produce(), places them on partitions (client/producer/partitioner.ts),
// copies them into per-partition batches (client/producer/accumulator.ts), and lets the sender
// (client/producer/sender.ts) deliver them. It owns its Cluster (connections and metadata).
//
//   const producer = rivulet.producer({ acks: "all", "linger.ms": 5, compression: "lz4" });
//   await producer.connect();
//   const sent = await producer.send({ topic: "rides", messages: [{ key: "ride_1", value: "..." }] });
//   // sent[i] = { topic, partition, offset: bigint, timestamp } for messages[i]
//   producer.produce("rides", { value: "..." }, (error, metadata) => { ... });   // high-rate path, no promise
//   await producer.flush();
//   await producer.disconnect();
//
// Blocking. A record that needs a new batch when buffer.memory is full, or a topic whose metadata is not known yet,
// makes its send wait in one FIFO queue of blocked sends (so later sends never overtake it), for at most
// max.block.ms, then fail with RivuletBufferTimeoutError. While anything is blocked, new sends queue behind it.
//
// Idempotence (enable.idempotence, on by default): the producer gets a producer id and epoch from the broker
// (InitProducerId, at connect() or before the first batch is sent) and the sender stamps every batch with them and
// its partition's sequence (client/producer/sender.ts, client/producer/idempotence.ts), so retries never write a
// record twice or out of order. It needs acks=all: a send asking for other acks is refused while it is on.
//
// Results. send() resolves with one RecordMetadata per message, in the order of `messages` (offset -1n under
// acks=0, where the broker says nothing); it rejects with the first failure of any of its messages (others may
// still be delivered: the error says whether the failed write is definite). produce() reports each record to its
// callback; records produced without a callback that fail make the next flush() or disconnect() reject, so no
// failure is silent.
import type { Connection } from "../connection.ts";
import { assert } from "../../core/assert.ts";
import type { RecordHeaderInput, RecordInput } from "../../core/formats/record-batch.ts";
import { RECORD_BATCH_HEADER_BYTES } from "../../core/formats/record-batch-header.ts";
import { ErrorCode, RivuletError } from "../../core/formats/protocol/errors.ts";
import type { Cluster } from "../cluster.ts";
import { RivuletClosedError, RivuletConfigError, protocolError } from "../errors.ts";
import type { MessageInput, RecordHeadersInput, RecordMetadata } from "../records.ts";
import {
  APPEND_NO_MEMORY,
  type DeliveryCallback,
  type DeliveryGroup,
  type ProducerBatch,
  RecordAccumulator,
  type RecordOwner,
  recordBoundBytes,
  recordTightBoundBytes,
} from "./accumulator.ts";
import { RivuletBufferTimeoutError, RivuletDeliveryTimeoutError } from "./errors.ts";
import { BuiltInPartitioner, type StickyState, type TopicPartitions } from "./partitioner.ts";
import { type ProducerOptions, resolveProducerOptions } from "./producer-options.ts";
import { type ProducerClusterView, Sender } from "./sender.ts";
import { IDEMPOTENT_BATCHES_IN_FLIGHT_MAX, INIT_PRODUCER_ID_TRANSACTION_TIMEOUT_MS, type ProducerIdAndEpoch, ProducerIdentity } from "./idempotence.ts";
import { InitProducerIdApi } from "../../core/formats/protocol/init-producer-id.ts";

/** Most sends (or produce calls) that may wait for buffer space or metadata at once; more fail at once. */
export const PRODUCER_BLOCKED_SENDS_MAX = 65_536;
/** Most header entries one record may carry (a bound on the scratch header pool). */
export const RECORD_HEADERS_MAX = 65_536;
/**
 * Most topics a producer keeps state for (metadata, partition queues, sticky choice, leader connections); past it,
 * the least recently loaded topic with nothing pending is forgotten (and loaded again if it is sent to again).
 */
export const PRODUCER_TOPICS_MAX = 10_000;

/** One send() call: a topic and its messages. */
export interface SendRequest {
  topic: string;
  messages: readonly MessageInput[];
  /** Overrides the producer's acks for these messages ("all" = -1). */
  acks?: -1 | 0 | 1 | "all" | "-1" | "0" | "1";
}

/** One sendBatch() call: several topics at once. */
export interface SendBatchRequest {
  topicMessages: readonly { topic: string; messages: readonly MessageInput[] }[];
  acks?: SendRequest["acks"];
}

/** Options of disconnect(). */
export interface DisconnectOptions {
  /** Fail what is still queued after this long (default: wait; delivery.timeout.ms bounds every record anyway). */
  timeoutMs?: number;
}

// Collects the results of one send() call: one promise, one result slot per message.
class SendGroup implements DeliveryGroup {
  readonly results: RecordMetadata[];
  private remaining: number;
  private settled = false;
  readonly promise: Promise<RecordMetadata[]>;
  private resolve!: (results: RecordMetadata[]) => void;
  private reject!: (error: Error) => void;

  constructor(count: number) {
    this.results = new Array<RecordMetadata>(count);
    this.remaining = count;
    this.promise = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    if (count === 0) this.finish(null);
  }

  delivered(index: number, topic: string, partition: number, offset: bigint, timestamp: number): void {
    this.results[index] = { topic, partition, offset, timestamp };
    if (--this.remaining === 0) this.finish(null);
  }

  failed(_index: number, error: Error): void {
    this.remaining--;
    this.finish(error);
  }

  finish(error: Error | null): void {
    if (this.settled) return;
    this.settled = true;
    if (error === null) this.resolve(this.results);
    else this.reject(error);
  }
}

// A send (or produce) that could not be taken at once: where it stopped, and until when it may wait.
interface BlockedSend {
  readonly topic: string;
  readonly messages: readonly MessageInput[];
  next: number;
  readonly owner: RecordOwner;
  readonly group: SendGroup | null;
  readonly acks: -1 | 0 | 1;
  readonly timestamp: number;
  readonly startedMs: number;
  timer: ReturnType<typeof setTimeout> | null;
  /** For produce(): settles when the record is taken or the wait fails. */
  taken: { resolve: () => void; reject: (error: Error) => void } | null;
  /** Settles when this send leaves the blocked queue, either way (for flush). */
  left: Promise<void>;
  leave: () => void;
}

const ACKS_INPUT: Readonly<Record<string, -1 | 0 | 1>> = { all: -1, "-1": -1, "0": 0, "1": 1 };

/** A Kafka-model producer: batches per partition, bounded memory, ordered retries. */
export class Producer {
  /** The resolved options. */
  readonly options: ProducerOptions;
  private readonly cluster: Cluster;
  private readonly view: MetadataView;
  private readonly accumulator: RecordAccumulator;
  private readonly sender: Sender;
  private readonly partitioner: BuiltInPartitioner;
  private readonly identity: ProducerIdentity | null;
  private readonly blocked: BlockedSend[] = [];
  private pumpScheduled = false;
  private closing = false;
  private connected = false;
  private orphanError: Error | null = null;
  private orphanCount = 0;
  // Reused for every record: the batch builder copies the bytes out, so nothing per record is allocated here.
  private readonly scratch: RecordInput = { key: null, value: null, headers: undefined, timestamp: 0 };
  private readonly headerPool: RecordHeaderInput[] = [];
  private readonly headerList: RecordHeaderInput[] = [];
  // A record whose cheap bound passes this is measured exactly (and checked against the size limits).
  private readonly largeRecordBytes: number;

  /** Builds a producer on `cluster` (which it then owns and closes) with raw options; throws RivuletConfigError. */
  constructor(cluster: Cluster, options: unknown) {
    this.options = resolveProducerOptions(options);
    this.largeRecordBytes = Math.min(this.options.batchSize, this.options.maxRequestSize, this.options.bufferMemory);
    this.cluster = cluster;
    if (cluster.maxInFlightRequests < this.options.maxInFlightRequestsPerConnection) cluster.maxInFlightRequests = this.options.maxInFlightRequestsPerConnection;
    this.view = new MetadataView(
      cluster,
      () => this.schedulePump(),
      (topic) => {
        if (this.accumulator.hasPending(topic) || this.blocked.some((job) => job.topic === topic)) return false;
        this.accumulator.forget(topic);
        this.partitioner.forget(topic);
        this.sender.forget(topic);
        return true;
      },
    );
    this.partitioner = new BuiltInPartitioner(this.options.batchSize, this.options.partitionerIgnoreKeys);
    this.accumulator = new RecordAccumulator(
      {
        batchSizeBytes: this.options.batchSize,
        lingerMs: this.options.lingerMs,
        bufferMemoryBytes: this.options.bufferMemory,
        codec: this.options.codec,
        deliveryTimeoutMs: this.options.deliveryTimeoutMs,
        backlogBatchBytes: this.options.enableIdempotence ? Math.floor(this.options.maxRequestSize / IDEMPOTENT_BATCHES_IN_FLIGHT_MAX) : 0,
        backlogBatches: IDEMPOTENT_BATCHES_IN_FLIGHT_MAX,
      },
      () => this.schedulePump(),
    );
    this.identity = this.options.enableIdempotence ? new ProducerIdentity(() => this.view.initProducerId(), () => this.sender.wakeup(), this.options.retryBackoffMs) : null;
    this.sender = new Sender(
      this.accumulator,
      this.view,
      {
        maxInFlightRequestsPerConnection: this.options.maxInFlightRequestsPerConnection,
        maxRequestSizeBytes: this.options.maxRequestSize,
        requestTimeoutMs: this.options.requestTimeoutMs,
        retries: this.options.retries,
        retryBackoffMs: this.options.retryBackoffMs,
        retryBackoffMaxMs: this.options.retryBackoffMaxMs,
        deliveryTimeoutMs: this.options.deliveryTimeoutMs,
      },
      (error, records) => this.orphanFailed(error, records),
      this.identity,
    );
  }

  /** Connects to a bootstrap broker (sends connect on demand too; this surfaces connection problems early). */
  async connect(): Promise<void> {
    if (this.closing) throw new RivuletClosedError("producer");
    await this.cluster.connect();
    if (this.identity !== null) {
      await this.identity.ensure();
      if (this.identity.value === null && this.identity.lastError !== null) throw this.identity.lastError;
    }
    this.connected = true;
  }

  /** The producer id and epoch batches are stamped with now (idempotence on), or null (off, or not known yet). */
  get producerIdAndEpoch(): ProducerIdAndEpoch | null {
    return this.identity?.value ?? null;
  }

  /** True between connect() and disconnect(). */
  get isConnected(): boolean {
    return this.connected && !this.closing;
  }

  /** Bytes of buffer.memory in use (records waiting or in flight). */
  get bufferedBytes(): number {
    return this.accumulator.bufferedBytes;
  }

  /**
   * Counters since creation: Produce requests, batch attempts, batch retries scheduled after failures, requests
   * stamped again after a sequence refusal, and epoch bumps (idempotence).
   */
  get stats(): { readonly requests: number; readonly batches: number; readonly retries: number; readonly sequenceResets: number; readonly epochBumps: number } {
    return { ...this.sender.stats, epochBumps: this.identity?.bumps ?? 0 };
  }

  /**
   * Sends `messages` to `topic`; resolves with where each landed, in order, once all are acknowledged (per acks),
   * or rejects with the first failure.
   */
  send(request: SendRequest): Promise<RecordMetadata[]> {
    try {
      if (this.closing) throw new RivuletClosedError("producer");
      checkTopic(request?.topic);
      if (!Array.isArray(request.messages)) throw new RivuletConfigError(`send(): messages must be an array`, "messages");
      for (let i = 0; i < request.messages.length; i++) checkMessage(request.messages[i], i);
    } catch (error) {
      return Promise.reject(error);
    }
    const acks = request.acks === undefined ? this.options.acks : resolveAcks(request.acks);
    if (acks === null) return Promise.reject(new RivuletConfigError(`send(): acks must be all, -1, 0 or 1, got ${String(request.acks)}`, "acks"));
    if (acks !== -1 && this.identity !== null) {
      return Promise.reject(new RivuletConfigError(`send(): acks ${acks} with the idempotent producer; it needs acks=all (make the producer with enable.idempotence false to use other acks)`, "acks"));
    }
    const group = new SendGroup(request.messages.length);
    if (request.messages.length > 0) this.take(request.topic, request.messages, group, null, acks);
    return group.promise;
  }

  /** Sends to several topics at once; resolves with every message's metadata, topic by topic, in order. */
  async sendBatch(request: SendBatchRequest): Promise<RecordMetadata[]> {
    const sends = request.topicMessages.map((entry) => this.send({ topic: entry.topic, messages: entry.messages, ...(request.acks === undefined ? {} : { acks: request.acks }) }));
    // Promise.all reports the first failure; the others are observed here so none surfaces as unhandled.
    for (const send of sends) send.catch(() => undefined);
    return (await Promise.all(sends)).flat();
  }

  /**
   * The high-rate path: takes one record with no promise per record. Returns undefined when the record was taken
   * at once, or a promise that resolves once it is taken (it had to wait for buffer space or metadata) and
   * rejects with RivuletBufferTimeoutError after max.block.ms; await it before producing more. The callback, if
   * any, learns the record's fate; without one a failure makes the next flush() reject. Throws for a closed
   * producer or a malformed record.
   */
  produce(topic: string, message: MessageInput, callback?: DeliveryCallback): Promise<void> | undefined {
    if (this.closing) throw new RivuletClosedError("producer");
    checkTopic(topic);
    checkMessage(message, 0);
    if (callback !== undefined && typeof callback !== "function") throw new RivuletConfigError("produce(): callback must be a function", "callback");
    const owner: RecordOwner = callback ?? null;
    if (this.blocked.length === 0) {
      // One clock read serves as the record's default timestamp and as the accumulator's now; a record with its own
      // timestamp needs none (HOT PATH: a clock read costs 50-100 ns here): the accumulator reads the clock if it opens a
      // batch, and the sender checks metadata age on each pass.
      const timestamp = message.timestamp;
      const nowMs = timestamp === undefined ? Date.now() : NaN;
      const status = this.appendOne(topic, message, owner, 0, this.options.acks, timestamp ?? nowMs, nowMs);
      if (status === TAKEN) {
        this.sender.wakeup();
        return undefined;
      }
      if (status !== BLOCKED) {
        this.deliverFailure(owner, 0, status);
        return undefined;
      }
    }
    return new Promise<void>((resolve, reject) => {
      this.block(topic, [message], owner, null, this.options.acks, 0, { resolve, reject });
    });
  }

  /** Sends everything taken so far at once (ignoring linger.ms) and resolves when all of it is settled. */
  async flush(): Promise<void> {
    // Sends waiting for memory or metadata are part of "everything taken so far": let them in first.
    const lastBlocked = this.blocked[this.blocked.length - 1];
    if (lastBlocked !== undefined) await lastBlocked.left;
    const upToId = this.accumulator.beginFlush();
    this.sender.wakeup();
    const waits: Promise<void>[] = [];
    for (const batch of this.accumulator.pendingBatches()) if (batch.id <= upToId) waits.push(batch.done());
    await Promise.all(waits);
    this.throwOrphanError();
  }

  /**
   * Stops taking records, delivers or fails everything pending (after `timeoutMs`, what has not been sent fails
   * with RivuletDeliveryTimeoutError), then closes the connections. Rejects when records produced without a
   * callback failed.
   */
  async disconnect(options: DisconnectOptions = {}): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    let timer: ReturnType<typeof setTimeout> | null = null;
    if (options.timeoutMs !== undefined) {
      const timeoutMs = options.timeoutMs;
      assert(Number.isInteger(timeoutMs) && timeoutMs >= 0, "disconnect timeoutMs must be a non-negative integer");
      timer = setTimeout(() => this.abandon(timeoutMs), timeoutMs);
    }
    try {
      while (this.blocked.length > 0 || !this.accumulator.isEmpty) {
        const lastBlocked = this.blocked[this.blocked.length - 1];
        if (lastBlocked !== undefined) await lastBlocked.left;
        this.accumulator.beginFlush();
        this.sender.wakeup();
        await Promise.all(this.accumulator.pendingBatches().map((batch) => batch.done()));
      }
    } finally {
      if (timer !== null) clearTimeout(timer);
      this.sender.stop();
      this.view.close();
      this.connected = false;
      await this.cluster.close();
    }
    this.throwOrphanError();
  }

  // disconnect()'s deadline: blocked sends and queued batches fail now; in-flight ones settle on their answer.
  private abandon(timeoutMs: number): void {
    for (const job of this.blocked.splice(0)) this.failBlocked(job, new RivuletBufferTimeoutError(`producer disconnected before ${job.topic} records were taken`, timeoutMs, job.next));
    this.sender.failQueued(
      (batch: ProducerBatch) =>
        new RivuletDeliveryTimeoutError(
          `${batch.recordCount} record(s) for ${batch.topic}/${batch.partition} not delivered within disconnect's ${timeoutMs} ms`,
          timeoutMs,
          batch.maybeWritten,
        ),
    );
  }

  // Takes a send's messages from `next` on; what cannot be taken now waits in the blocked queue.
  private take(topic: string, messages: readonly MessageInput[], group: SendGroup, taken: BlockedSend["taken"], acks: -1 | 0 | 1): void {
    const timestamp = Date.now();
    if (this.blocked.length === 0) {
      const next = this.appendFrom(topic, messages, 0, group, acks, timestamp, timestamp);
      this.sender.wakeup();
      if (next === messages.length || next < 0) return;
      this.block(topic, messages, group, group, acks, next, taken, timestamp);
      return;
    }
    this.block(topic, messages, group, group, acks, 0, taken, timestamp);
  }

  // Appends messages[from..] until one cannot be taken now; returns where it stopped (messages.length when all
  // went, -1 when the send failed outright, e.g. a record too large). `timestamp` is the send's default record
  // timestamp, `nowMs` the clock now (one read for the whole call).
  private appendFrom(topic: string, messages: readonly MessageInput[], from: number, group: SendGroup, acks: -1 | 0 | 1, timestamp: number, nowMs: number): number {
    for (let i = from; i < messages.length; i++) {
      const message = messages[i]!;
      const status = this.appendOne(topic, message, group, i, acks, message.timestamp ?? timestamp, nowMs);
      if (status === TAKEN) continue;
      if (status === BLOCKED) return i;
      group.failed(i, status);
      return -1;
    }
    return messages.length;
  }

  // HOT PATH (bench/producer.bench.ts): one record into its partition's batch, nothing allocated for it here.
  private appendOne(
    topic: string,
    message: MessageInput,
    owner: RecordOwner,
    index: number,
    acks: -1 | 0 | 1,
    timestamp: number,
    nowMs: number,
  ): typeof TAKEN | typeof BLOCKED | Error {
    const partitions = this.view.partitions(topic, nowMs);
    if (partitions === null) return BLOCKED;
    const record = this.scratch;
    record.key = message.key ?? null;
    record.value = message.value;
    record.headers = message.headers === undefined ? undefined : this.headersOf(message.headers);
    record.timestamp = timestamp;
    let boundBytes = recordBoundBytes(record);
    // Strings are bounded at 3 bytes a unit; when that bound alone would pass a batch, measure them exactly so a
    // large ASCII record does not reserve three times its size.
    if (RECORD_BATCH_HEADER_BYTES + boundBytes > this.largeRecordBytes) {
      boundBytes = recordTightBoundBytes(record);
      const tooLarge = this.tooLarge(topic, RECORD_BATCH_HEADER_BYTES + boundBytes);
      if (tooLarge !== null) return tooLarge;
    }
    let partition: number;
    let sticky: StickyState | null = null;
    if (message.partition !== undefined) {
      partition = message.partition;
      if (partition >= partitions.count) {
        return new RivuletError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `${topic}/${partition}: the topic has ${partitions.count} partition(s)`);
      }
    } else if (this.partitioner.usesKey(record.key)) partition = this.partitioner.partition(topic, record.key, partitions);
    else {
      sticky = this.partitioner.stickyFor(topic, partitions);
      partition = sticky.partition;
    }
    const bytes = this.accumulator.append(topic, partition, acks, record, boundBytes, owner, index, nowMs);
    if (bytes === APPEND_NO_MEMORY) return BLOCKED;
    if (sticky !== null) this.partitioner.stickyAppended(sticky, bytes, partitions);
    return TAKEN;
  }

  // Kafka's RecordTooLargeException: a record whose batch (`bytes`, tightly bounded) can never be sent or held.
  private tooLarge(topic: string, bytes: number): Error | null {
    if (bytes > this.options.maxRequestSize) {
      return new RivuletError(ErrorCode.MESSAGE_TOO_LARGE, `${topic}: a record of about ${bytes} bytes is larger than max.request.size ${this.options.maxRequestSize}`);
    }
    if (bytes > this.options.bufferMemory) {
      return new RivuletError(ErrorCode.MESSAGE_TOO_LARGE, `${topic}: a record of about ${bytes} bytes is larger than buffer.memory ${this.options.bufferMemory}`);
    }
    return null;
  }

  // Headers in the builder's shape, in a reused list of reused entries (the builder reads them synchronously).
  private headersOf(headers: RecordHeadersInput): RecordHeaderInput[] {
    const list = this.headerList;
    let count = 0;
    if (Array.isArray(headers)) {
      for (const pair of headers as readonly (readonly [string, string | Uint8Array])[]) this.setHeader(count++, pair[0], pair[1]);
    } else {
      const object = headers as Readonly<Record<string, string | Uint8Array>>;
      for (const key in object) if (Object.prototype.hasOwnProperty.call(object, key)) this.setHeader(count++, key, object[key]!);
    }
    list.length = count;
    return list;
  }

  private setHeader(at: number, key: string, value: string | Uint8Array | null): void {
    let entry = this.headerPool[at];
    if (entry === undefined) {
      entry = { key, value };
      this.headerPool[at] = entry;
    } else {
      entry.key = key;
      entry.value = value;
    }
    this.headerList[at] = entry;
  }

  private block(
    topic: string,
    messages: readonly MessageInput[],
    owner: RecordOwner,
    group: SendGroup | null,
    acks: -1 | 0 | 1,
    next: number,
    taken: BlockedSend["taken"],
    timestamp: number = Date.now(),
  ): void {
    if (this.blocked.length >= PRODUCER_BLOCKED_SENDS_MAX) {
      const error = new RivuletBufferTimeoutError(`more than ${PRODUCER_BLOCKED_SENDS_MAX} sends are waiting for buffer space`, 0, next);
      if (taken !== null) taken.reject(error);
      else group?.finish(error);
      return;
    }
    let leave!: () => void;
    const left = new Promise<void>((resolve) => (leave = resolve));
    const job: BlockedSend = { topic, messages, next, owner, group, acks, timestamp, startedMs: Date.now(), timer: null, taken, left, leave };
    job.timer = setTimeout(() => this.blockTimedOut(job), this.options.maxBlockMs);
    this.blocked.push(job);
    this.schedulePump();
  }

  private blockTimedOut(job: BlockedSend): void {
    job.timer = null;
    const at = this.blocked.indexOf(job);
    if (at < 0) return;
    this.blocked.splice(at, 1);
    const metadataKnown = this.view.partitions(job.topic) !== null;
    const why = metadataKnown
      ? `no buffer space (buffer.memory ${this.options.bufferMemory}, ${this.accumulator.bufferedBytes} in use)`
      : `topic ${job.topic} not present in metadata${this.view.lastError(job.topic) === null ? "" : ` (${this.view.lastError(job.topic)!.message})`}`;
    this.failBlocked(job, new RivuletBufferTimeoutError(`send to ${job.topic} waited max.block.ms ${this.options.maxBlockMs}: ${why}`, this.options.maxBlockMs, job.next));
    this.schedulePump();
  }

  private failBlocked(job: BlockedSend, error: Error): void {
    if (job.timer !== null) clearTimeout(job.timer);
    job.timer = null;
    if (job.taken !== null) job.taken.reject(error);
    else job.group?.finish(error);
    job.leave();
  }

  private schedulePump(): void {
    if (this.pumpScheduled || this.blocked.length === 0) return;
    this.pumpScheduled = true;
    queueMicrotask(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  // Lets blocked sends in, oldest first, as far as memory and metadata allow.
  private pump(): void {
    while (this.blocked.length > 0) {
      const job = this.blocked[0]!;
      if (this.view.partitions(job.topic) === null) {
        // A topic the broker refuses for good (an invalid name, say) fails at once; a missing one is waited for.
        const error = this.view.lastError(job.topic);
        if (error instanceof RivuletError && !error.retriable && !this.view.isLoading(job.topic)) {
          this.blocked.shift();
          this.failBlocked(job, error);
          continue;
        }
        this.view.request(job.topic);
        return;
      }
      let next: number;
      if (job.group !== null) next = this.appendFrom(job.topic, job.messages, job.next, job.group, job.acks, job.timestamp, Date.now());
      else {
        const message = job.messages[0]!;
        const status = this.appendOne(job.topic, message, job.owner, 0, job.acks, message.timestamp ?? job.timestamp, Date.now());
        if (status === BLOCKED) next = 0;
        else {
          if (status !== TAKEN) this.deliverFailure(job.owner, 0, status);
          next = 1;
        }
      }
      this.sender.wakeup();
      if (next >= 0 && next < job.messages.length) {
        job.next = next;
        return;
      }
      this.blocked.shift();
      if (job.timer !== null) clearTimeout(job.timer);
      job.timer = null;
      job.taken?.resolve();
      job.leave();
    }
  }

  private deliverFailure(owner: RecordOwner, index: number, error: Error): void {
    if (owner === null) this.orphanFailed(error, 1);
    else if (typeof owner === "function") owner(error, null);
    else owner.failed(index, error);
  }

  private orphanFailed(error: Error, records: number): void {
    this.orphanError ??= error;
    this.orphanCount += records;
  }

  private throwOrphanError(): void {
    const error = this.orphanError;
    if (error === null) return;
    const count = this.orphanCount;
    this.orphanError = null;
    this.orphanCount = 0;
    throw new RivuletDeliveryFailedError(count, error);
  }
}

const TAKEN = 0;
const BLOCKED = 1;

/** flush() or disconnect(): records produced without a callback failed since the last flush. */
export class RivuletDeliveryFailedError extends Error {
  override name = "RivuletDeliveryFailedError";
  /** Records that failed. */
  readonly records: number;
  /** The first failure. */
  declare readonly cause: Error;

  constructor(records: number, cause: Error) {
    super(`${records} record(s) produced without a callback failed; first: ${cause.message}`, { cause });
    this.records = records;
  }
}

function checkTopic(topic: unknown): asserts topic is string {
  if (typeof topic !== "string" || topic.length === 0) throw new RivuletConfigError(`topic must be a non-empty string, got ${JSON.stringify(topic)}`, "topic");
}

function isData(value: unknown): boolean {
  return value === null || typeof value === "string" || value instanceof Uint8Array;
}

// A malformed record is the caller's bug: refused before anything of its send is taken.
function checkMessage(message: MessageInput | undefined, index: number): void {
  if (message === null || typeof message !== "object") throw new RivuletConfigError(`message ${index} must be an object`, "messages");
  if (!isData(message.value)) throw new RivuletConfigError(`message ${index}: value must be a string, Uint8Array or null`, "value");
  if (message.key !== undefined && !isData(message.key)) throw new RivuletConfigError(`message ${index}: key must be a string, Uint8Array or null`, "key");
  if (message.partition !== undefined && !(Number.isInteger(message.partition) && message.partition >= 0 && message.partition <= 0x7fffffff)) {
    throw new RivuletConfigError(`message ${index}: partition must be a non-negative integer`, "partition");
  }
  if (message.timestamp !== undefined && !(Number.isSafeInteger(message.timestamp) && message.timestamp >= 0)) {
    throw new RivuletConfigError(`message ${index}: timestamp must be milliseconds since the epoch (a non-negative integer)`, "timestamp");
  }
  const headers = message.headers;
  if (headers !== undefined) {
    if (headers === null || typeof headers !== "object") throw new RivuletConfigError(`message ${index}: headers must be an object or a list of [key, value] pairs`, "headers");
    const entries = Array.isArray(headers) ? (headers as readonly unknown[]) : null;
    if (entries !== null) {
      if (entries.length > RECORD_HEADERS_MAX) throw new RivuletConfigError(`message ${index}: more than ${RECORD_HEADERS_MAX} headers`, "headers");
      for (const entry of entries) {
        if (!Array.isArray(entry) || typeof entry[0] !== "string" || !isData(entry[1])) {
          throw new RivuletConfigError(`message ${index}: each header must be a [string, string | Uint8Array] pair`, "headers");
        }
      }
    } else {
      let count = 0;
      for (const key in headers as object) {
        if (!Object.prototype.hasOwnProperty.call(headers, key)) continue;
        if (++count > RECORD_HEADERS_MAX) throw new RivuletConfigError(`message ${index}: more than ${RECORD_HEADERS_MAX} headers`, "headers");
        if (!isData((headers as Record<string, unknown>)[key])) throw new RivuletConfigError(`message ${index}: header "${key}" must be a string or Uint8Array`, "headers");
      }
    }
  }
}

function resolveAcks(acks: unknown): -1 | 0 | 1 | null {
  if (acks === -1 || acks === 0 || acks === 1) return acks;
  if (typeof acks === "string" && Object.prototype.hasOwnProperty.call(ACKS_INPUT, acks)) return ACKS_INPUT[acks]!;
  return null;
}

/**
 * The producer's synchronous view of topic metadata over the Cluster's async cache: partitions per topic, loaded
 * once (auto-creating the topic, as Kafka's producer does) and refreshed when stale or when the sender reports a
 * leadership error.
 */
class MetadataView implements ProducerClusterView {
  private readonly topics = new Map<string, { partitions: TopicPartitions; fetchedMs: number }>();
  // HOT PATH: the entry partitions() last returned (dropped whenever `topics` changes).
  private lastTopic: string | null = null;
  private lastKnown: { partitions: TopicPartitions; fetchedMs: number } | undefined = undefined;
  private readonly loading = new Map<string, Promise<void>>();
  private readonly errors = new Map<string, Error>();
  private readonly retryTimers = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(
    private readonly cluster: Cluster,
    /** Called when a topic's metadata arrived (blocked sends may proceed). */
    private readonly onLoaded: () => void,
    /** Forgets a topic everywhere if nothing of it is pending; false keeps it. */
    private readonly forget: (topic: string) => boolean,
    private readonly topicsMax: number = PRODUCER_TOPICS_MAX,
  ) {}

  partitions(topic: string, nowMs: number = Date.now()): TopicPartitions | null {
    const known = topic === this.lastTopic ? this.lastKnown : this.topics.get(topic);
    if (known === undefined) return null;
    this.lastTopic = topic;
    this.lastKnown = known;
    // NaN (no clock read) skips the age check: the sender's passes check it.
    if (nowMs - known.fetchedMs > this.cluster.options.metadataMaxAge) void this.loadTopic(topic).catch(() => undefined);
    return known.partitions;
  }

  /** True while metadata of `topic` is being fetched. */
  isLoading(topic: string): boolean {
    return this.loading.has(topic);
  }

  /** The last error loading `topic`, or null. */
  lastError(topic: string): Error | null {
    return this.errors.get(topic) ?? null;
  }

  /** Starts loading `topic` unless it is loading or waiting to retry; failures retry after the client's backoff. */
  request(topic: string): void {
    if (this.loading.has(topic) || this.retryTimers.has(topic)) return;
    this.loadTopic(topic).then(
      () => this.onLoaded(),
      () => {
        const timer = setTimeout(() => {
          this.retryTimers.delete(topic);
          this.onLoaded();
        }, this.cluster.options.retry.initialRetryTime);
        this.retryTimers.set(topic, timer);
      },
    );
  }

  loadTopic(topic: string): Promise<void> {
    const running = this.loading.get(topic);
    if (running !== undefined) return running;
    const load = this.cluster
      .partitionsFor(topic, { allowAutoTopicCreation: true })
      .then(
        (partitions) => {
          const available: number[] = [];
          for (const partition of partitions) if (partition.leader >= 0 && partition.errorCode === ErrorCode.NONE) available.push(partition.partition);
          // Re-inserted so the Map's order is load order: eviction takes the least recently loaded first.
          this.topics.delete(topic);
          this.topics.set(topic, { partitions: { count: partitions.length, available }, fetchedMs: Date.now() });
          this.lastTopic = null;
          if (this.topics.size > this.topicsMax) this.evict(topic);
          this.errors.delete(topic);
        },
        (error: unknown) => {
          this.errors.set(topic, error instanceof Error ? error : new Error(String(error)));
          throw error;
        },
      )
      .finally(() => this.loading.delete(topic));
    this.loading.set(topic, load);
    return load;
  }

  // Forgets least recently loaded topics with nothing pending until the bound holds (never `keep`).
  private evict(keep: string): void {
    for (const topic of this.topics.keys()) {
      if (this.topics.size <= this.topicsMax) return;
      if (topic === keep || this.loading.has(topic) || !this.forget(topic)) continue;
      this.topics.delete(topic);
      this.lastTopic = null;
      this.errors.delete(topic);
    }
  }

  /** Topics with cached metadata now. */
  get size(): number {
    return this.topics.size;
  }

  leaderConnection(topic: string, partition: number): Promise<Connection> {
    return this.cluster.connectionFor(topic, partition);
  }

  invalidate(topic: string): void {
    this.cluster.invalidate(topic);
    void this.loadTopic(topic).catch(() => undefined);
  }

  initProducerId(): Promise<ProducerIdAndEpoch> {
    return this.cluster.retry(async () => {
      const connection = await this.cluster.anyConnection();
      const answer = await connection.request(InitProducerIdApi, {
        transactionalId: null,
        transactionTimeoutMs: INIT_PRODUCER_ID_TRANSACTION_TIMEOUT_MS,
        producerId: -1,
        producerEpoch: -1,
      });
      if (answer.errorCode !== ErrorCode.NONE) throw protocolError(answer.errorCode, "InitProducerId");
      return { producerId: answer.producerId, epoch: answer.producerEpoch };
    });
  }

  /** Stops retry timers. */
  close(): void {
    for (const timer of this.retryTimers.values()) clearTimeout(timer);
    this.retryTimers.clear();
  }
}
