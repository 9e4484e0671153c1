// The producer's sender, after Kafka's Sender: takes ready batches from the accumulator, groups them by the
// partition leader's connection into Produce requests (up to max.request.size each, up to
// max.in.flight.requests.per.connection of this producer's requests per connection), and settles each batch from
// its partition's answer: deliver, retry after backoff, or fail.
//
// Ordering. Without idempotence nothing stops the broker from appending a later batch of a partition before an
// earlier one that failed and is retried, if both were in flight at once (Kafka's documented reordering with
// max.in.flight > 1 and retries). Here each partition has at most ONE request in flight, always; that request
// carries every batch the partition has queued (in order, within max.request.size), and the broker appends a
// partition's batches in one go, all or nothing (server/handlers/produce.ts). So a retry resends the same head
// batches, in order, before anything newer of that partition; throughput on one partition comes from batching
// while the previous request flies, parallelism from other partitions sharing the connection's in-flight slots.
//
// Idempotence (on by default; client/producer/idempotence.ts). Each batch is stamped with the producer id, epoch
// and its partition's next sequence when it is first sent, and a retry resends the same bytes. The one-request rule
// above stays, with one more bound: a request carries at most IDEMPOTENT_BATCHES_IN_FLIGHT_MAX (5) batches of a
// partition, because the broker recognises a resend only among a producer's last 5 batches there. A request is
// either a retry, carrying exactly the stamped batches still unresolved at the head of the partition (the batches
// of the request that failed; the broker took all of them or none, so they share one fate), or new batches only;
// so an answer's base offset and the batches' record counts give every batch its offset, whether the broker wrote
// them now or answered a resend of batches it had written before (duplicates keep their original offsets). A retry
// after a lost answer goes one batch per request (the broker may have died after writing only the first batches of
// the lost request; a lone batch's answer is exact either way).
//
// Sequences start over (the producer bumps its epoch, KIP-360) whenever a stamped batch fails for good, and when the
// broker says it lost the partition's sequence state (UNKNOWN_PRODUCER_ID, OUT_OF_ORDER_SEQUENCE_NUMBER, which with
// one request in flight per partition no earlier failure can explain, INVALID_PRODUCER_EPOCH). Those refusals are
// definite for the request: if no earlier attempt of its batches may have been written, they are stamped again
// under the new epoch from sequence 0 and resent; if one may have been, resending could write them twice, so they
// fail as indeterminate (RivuletMaybeWrittenError). Whenever a stamped batch fails, the other stamped batches of
// its partition (the rest of its request) fail with it, so nothing after a failed batch is written ahead of it.
//
// Errors. A partition error the table marks retriable is retried after retry.backoff.ms, doubling up to
// retry.backoff.max.ms (with Kafka's 20% jitter), while attempts <= retries and the batch is within
// delivery.timeout.ms of its creation; then it fails. A request that got no answer (lost connection, timeout)
// counts as retriable and marks its batches "maybe written", which makes any final failure indeterminate.
import { assert } from "../../core/assert.ts";
import { ErrorCode, RivuletError } from "../../core/formats/protocol/errors.ts";
import { ProduceApi, type ProduceRequestInput, type ProduceResponse } from "../../core/formats/protocol/produce.ts";
import type { Connection } from "../connection.ts";
import { protocolError } from "../errors.ts";
import { type PartitionQueue, type ProducerBatch, type RecordAccumulator } from "./accumulator.ts";
import { RivuletDeliveryTimeoutError, RivuletMaybeWrittenError } from "./errors.ts";
import { IDEMPOTENT_BATCHES_IN_FLIGHT_MAX, type ProducerIdAndEpoch, type ProducerIdentity, incrementSequence, stampBatch } from "./idempotence.ts";
import type { TopicPartitions } from "./partitioner.ts";

/** A batch the broker took, whose owners are yet to be told. */
interface DeliveredBatch {
  batch: ProducerBatch;
  baseOffset: bigint;
  logAppendTimeMs: number;
}

/** Kafka's retry backoff jitter: each wait is scaled by a random factor in [1 - JITTER, 1 + JITTER]. */
export const RETRY_BACKOFF_JITTER = 0.2;

/** What the producer needs from the cluster; client/producer/producer.ts adapts client/cluster.ts to it. */
export interface ProducerClusterView {
  /** The topic's partitions from cached metadata (refreshed in the background when older than metadata.max.age.ms at `nowMs`), or null when none is cached. */
  partitions(topic: string, nowMs?: number): TopicPartitions | null;
  /** Fetches metadata for `topic` (creating it when the broker auto-creates topics). */
  loadTopic(topic: string): Promise<void>;
  /** The connection to the leader of a partition (connecting when needed). */
  leaderConnection(topic: string, partition: number): Promise<Connection>;
  /** Marks a topic's metadata stale (leadership or topic errors, lost connections). */
  invalidate(topic: string): void;
  /** Asks a broker for a new producer id and epoch (InitProducerId without a transactional id). */
  initProducerId(): Promise<ProducerIdAndEpoch>;
}

/** Sender settings, resolved from the producer options. */
export interface SenderOptions {
  maxInFlightRequestsPerConnection: number;
  maxRequestSizeBytes: number;
  requestTimeoutMs: number;
  retries: number;
  retryBackoffMs: number;
  retryBackoffMaxMs: number;
  deliveryTimeoutMs: number;
}

// Errors after which the partition's leader may have moved or the topic changed: refresh metadata before the retry.
const METADATA_ERRORS = new Set<number>([
  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.LEADER_NOT_AVAILABLE,
  ErrorCode.FENCED_LEADER_EPOCH,
  ErrorCode.UNKNOWN_LEADER_EPOCH,
  ErrorCode.NETWORK_EXCEPTION,
  ErrorCode.REQUEST_TIMED_OUT,
]);

// Refusals meaning the broker's sequence state for this producer and partition is not what the producer assumed.
const SEQUENCE_ERRORS = new Set<number>([ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, ErrorCode.UNKNOWN_PRODUCER_ID, ErrorCode.INVALID_PRODUCER_EPOCH]);

interface InFlightPartition {
  queue: PartitionQueue;
  batches: ProducerBatch[];
}

/** Moves batches from the accumulator to the brokers and settles them. */
export class Sender {
  // Leader connection per partition, cached until it closes or an error says leadership moved.
  private readonly leaders = new Map<string, (Connection | undefined)[]>();
  private readonly connecting = new Set<string>();
  // This producer's requests in flight per connection (the connection may be shared with other clients).
  private readonly inFlightByConnection = new Map<Connection, number>();
  private scheduled = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private timerAtMs = Infinity;
  private stopped = false;
  /**
   * Counters for tests and metrics: Produce requests sent, batches sent (each attempt), retries scheduled, and
   * requests whose batches were stamped again after the broker refused their sequences.
   */
  readonly stats = { requests: 0, batches: 0, retries: 0, sequenceResets: 0 };

  constructor(
    private readonly accumulator: RecordAccumulator,
    private readonly cluster: ProducerClusterView,
    private readonly options: SenderOptions,
    /** Failures of records nobody waits for (produce() without a callback). */
    private readonly orphanFailure: (error: Error, records: number) => void,
    /** The producer id and epoch when idempotence is on, else null (batches then carry -1). */
    private readonly identity: ProducerIdentity | null = null,
    private readonly random: () => number = Math.random,
  ) {}

  /** Runs the sender soon (coalesced: many calls in one tick run it once). */
  wakeup(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.run();
    });
  }

  /** Drops the cached leader connections of `topic`. */
  forget(topic: string): void {
    this.leaders.delete(topic);
  }

  /** Stops timers; batches still queued are the producer's to fail. */
  stop(): void {
    this.stopped = true;
    this.identity?.stop();
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.timerAtMs = Infinity;
  }

  /** Fails every batch not in flight with `error` (disconnect's deadline); in-flight ones settle on their answer. */
  failQueued(error: (batch: ProducerBatch) => Error): void {
    for (const batch of this.accumulator.pendingBatches()) {
      if (batch.inFlight || batch.completed) continue;
      batch.fail(error(batch), this.orphanFailure);
      this.accumulator.remove(batch);
    }
  }

  // One pass: expire, group ready partitions by leader connection, send what the in-flight bounds allow.
  private run(): void {
    if (this.stopped) return;
    const nowMs = Date.now();
    for (const batch of this.accumulator.expiredBatches(nowMs)) {
      if (batch.completed) continue;
      // A batch that never got a producer id says why (InitProducerId failing, e.g. a broker without it).
      const identityError = this.identity !== null && this.identity.value === null ? this.identity.lastError : null;
      const expired = (expiring: ProducerBatch): Error =>
        new RivuletDeliveryTimeoutError(
          `${expiring.recordCount} record(s) for ${expiring.topic}/${expiring.partition} expired: ${nowMs - batch.createdMs} ms passed since ${expiring === batch ? "the batch" : "an earlier batch of the same request"} was created (delivery.timeout.ms ${this.options.deliveryTimeoutMs})${identityError === null || expiring.baseSequence >= 0 ? "" : `; no producer id: ${identityError.message}`}`,
          this.options.deliveryTimeoutMs,
          expiring.maybeWritten,
          identityError === null || expiring.baseSequence >= 0 ? undefined : identityError,
        );
      if (batch.baseSequence >= 0) this.failStampedSet(this.accumulator.queue(batch.topic, batch.partition), expired);
      else this.failed(batch, expired(batch));
    }
    // Idempotence: a producer id is needed before new batches can be stamped (retries carry theirs); asked for only
    // while something waits, so a producer left idle does not keep asking a broker that is away.
    if (this.identity !== null && this.identity.value === null && !this.accumulator.isEmpty) void this.identity.ensure();
    this.sendReady(nowMs);
  }

  // The sending half of a pass: ready partitions grouped by leader connection, sent as the in-flight bounds allow.
  // Fails nothing synchronously (a failed send settles through its promise). `writeNow`: the connections write the
  // requests before this returns, not at the end of the tick (the caller has callbacks to run first).
  private sendReady(nowMs: number, writeNow = false): void {
    const byConnection = new Map<Connection, PartitionQueue[]>();
    for (const queue of this.accumulator.readyQueues(nowMs)) {
      // Refreshes the topic's metadata when older than metadata.max.age.ms (records produced with their own
      // timestamps skip that check: client/producer/producer.ts).
      this.cluster.partitions(queue.topic, nowMs);
      const connection = this.leaderFor(queue.topic, queue.partition);
      if (connection === null) continue;
      let queues = byConnection.get(connection);
      if (queues === undefined) {
        queues = [];
        byConnection.set(connection, queues);
      }
      queues.push(queue);
    }
    for (const [connection, queues] of byConnection) {
      this.sendTo(connection, queues, nowMs);
      if (writeNow) connection.flush();
    }
    this.armTimer(nowMs);
  }

  private armTimer(nowMs: number): void {
    const wakeMs = this.accumulator.nextWakeMs(nowMs);
    if (wakeMs === Infinity || wakeMs >= this.timerAtMs) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timerAtMs = wakeMs;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.timerAtMs = Infinity;
      this.run();
    }, Math.max(0, wakeMs - Date.now()));
  }

  // The cached leader connection, or null while it is being found (the sender runs again when it is).
  private leaderFor(topic: string, partition: number): Connection | null {
    const cached = this.leaders.get(topic)?.[partition];
    if (cached !== undefined && !cached.isClosed) return cached;
    const key = `${topic}\u0000${partition}`;
    if (this.connecting.has(key)) return null;
    this.connecting.add(key);
    this.cluster.leaderConnection(topic, partition).then(
      (connection) => {
        this.connecting.delete(key);
        let connections = this.leaders.get(topic);
        if (connections === undefined) {
          connections = [];
          this.leaders.set(topic, connections);
        }
        connections[partition] = connection;
        this.wakeup();
      },
      (error: unknown) => {
        this.connecting.delete(key);
        // Not sent, so nothing is maybe-written: back off the partition and let delivery.timeout.ms bound it.
        const queue = this.accumulator.queue(topic, partition);
        const head = queue.batches[0];
        if (head !== undefined && queue.inFlight === 0) this.backOff(queue.batches, error);
        this.wakeup();
      },
    );
    return null;
  }

  // Builds and sends requests to one connection while this producer has in-flight slots on it; one acks per request.
  private sendTo(connection: Connection, queues: PartitionQueue[], nowMs: number): void {
    for (const acks of [-1, 1, 0] as const) {
      const sameAcks = queues.filter((queue) => queue.batches[0]!.acks === acks);
      let next = 0;
      while (next < sameAcks.length) {
        const inFlight = this.inFlightByConnection.get(connection) ?? 0;
        if (inFlight >= this.options.maxInFlightRequestsPerConnection) return;
        const request: InFlightPartition[] = [];
        let bytes = 0;
        while (next < sameAcks.length) {
          const queue = sameAcks[next]!;
          const batches = this.takeBatches(queue, this.options.maxRequestSizeBytes - bytes, nowMs);
          if (batches === null) {
            next++;
            continue;
          }
          let size = 0;
          for (const batch of batches) size += batch.bytes!.length;
          if (request.length > 0 && bytes + size > this.options.maxRequestSizeBytes) break;
          request.push({ queue, batches });
          bytes += size;
          next++;
        }
        if (request.length > 0) this.send(connection, acks, request);
      }
    }
  }

  // The batches of `queue` for its next request: every queued batch that fits without idempotence; with it, the
  // stamped batches of a request to retry, exactly, or up to IDEMPOTENT_BATCHES_IN_FLIGHT_MAX new batches, stamped
  // now. Null when new batches must wait for a producer id.
  private takeBatches(queue: PartitionQueue, maxBytes: number, nowMs: number): ProducerBatch[] | null {
    if (this.identity === null) return this.accumulator.drain(queue, maxBytes, nowMs);
    const head = queue.batches[0]!;
    if (head.baseSequence >= 0) {
      // Stamped batches are always at the head, and are what one earlier request carried (or was built to). After an
      // attempt whose answer was lost they go one per request: the broker may have written only the first ones of
      // that request (it died part way through), and an answer's one base offset is exact only for a lone batch.
      if (head.maybeWritten) return [head];
      const retry: ProducerBatch[] = [];
      for (const batch of queue.batches) {
        if (batch.baseSequence < 0) break;
        retry.push(batch);
      }
      return retry;
    }
    const identity = this.identity.value;
    if (identity === null) return null;
    if (queue.producerId !== identity.producerId || queue.producerEpoch !== identity.epoch) {
      // Nothing of this partition is stamped and unresolved: it moves to the current id and epoch, from sequence 0.
      queue.producerId = identity.producerId;
      queue.producerEpoch = identity.epoch;
      queue.nextSequence = 0;
    }
    const batches = this.accumulator.drain(queue, maxBytes, nowMs, IDEMPOTENT_BATCHES_IN_FLIGHT_MAX);
    for (const batch of batches) {
      stampBatch(batch.bytes!, identity.producerId, identity.epoch, queue.nextSequence);
      batch.producerId = identity.producerId;
      batch.producerEpoch = identity.epoch;
      batch.baseSequence = queue.nextSequence;
      queue.nextSequence = incrementSequence(queue.nextSequence, batch.recordCount);
    }
    return batches;
  }

  private send(connection: Connection, acks: -1 | 0 | 1, partitions: InFlightPartition[]): void {
    const topics = new Map<string, { name: string; partitions: { index: number; records: Uint8Array | Uint8Array[] }[] }>();
    for (const { queue, batches } of partitions) {
      queue.inFlight++;
      assert(queue.inFlight === 1, "one request in flight per partition");
      for (const batch of batches) {
        batch.inFlight = true;
        batch.attempts++;
        batch.retryAtMs = 0;
      }
      let topic = topics.get(queue.topic);
      if (topic === undefined) {
        topic = { name: queue.topic, partitions: [] };
        topics.set(queue.topic, topic);
      }
      // Several batches go as chunks of one bin, never copied together here.
      const records = batches.length === 1 ? batches[0]!.bytes! : batches.map((batch) => batch.bytes!);
      topic.partitions.push({ index: queue.partition, records });
    }
    const body: ProduceRequestInput = { transactionalId: null, acks, timeoutMs: this.options.requestTimeoutMs, topics: [...topics.values()] };
    this.inFlightByConnection.set(connection, (this.inFlightByConnection.get(connection) ?? 0) + 1);
    this.stats.requests++;
    for (const { batches } of partitions) this.stats.batches += batches.length;
    const settled = (): void => {
      const left = (this.inFlightByConnection.get(connection) ?? 1) - 1;
      if (left === 0) this.inFlightByConnection.delete(connection);
      else this.inFlightByConnection.set(connection, left);
      for (const { queue } of partitions) queue.inFlight--;
    };
    if (acks === 0) {
      connection.request(ProduceApi, body, { expectResponse: false }).then(
        () => {
          settled();
          for (const { batches } of partitions) for (const batch of batches) this.delivered(batch, -1n, -1);
          this.wakeup();
        },
        (error: unknown) => {
          settled();
          this.requestFailed(connection, partitions, error);
          this.wakeup();
        },
      );
      return;
    }
    connection.request(ProduceApi, body, { timeoutMs: this.options.requestTimeoutMs }).then(
      (response) => {
        settled();
        const delivered = this.answered(partitions, response);
        // The partitions' next requests go out before the owners of these records hear back: thousands of
        // callbacks would otherwise keep the broker waiting (one request in flight per partition). Only sends:
        // whatever fails (expiry, in the full pass below) is told after these deliveries, keeping callback order.
        if (delivered.length > 0 && !this.stopped) this.sendReady(Date.now(), true);
        for (const { batch, baseOffset, logAppendTimeMs } of delivered) batch.notifyDelivered(baseOffset, logAppendTimeMs);
        this.wakeup();
      },
      (error: unknown) => {
        settled();
        this.requestFailed(connection, partitions, error);
        this.wakeup();
      },
    );
  }

  // Settles each partition of an answered request; the delivered batches are complete and out of their queues,
  // and returned for their owners to be told.
  private answered(partitions: InFlightPartition[], response: ProduceResponse): DeliveredBatch[] {
    const delivered: DeliveredBatch[] = [];
    for (const { queue, batches } of partitions) {
      const answer = response.topics.find((topic) => topic.name === queue.topic)?.partitions.find((partition) => partition.index === queue.partition);
      if (answer === undefined) {
        // The broker answered without this partition: nothing says whether it was appended.
        const error = new RivuletError(ErrorCode.UNKNOWN_SERVER_ERROR, `${queue.topic}/${queue.partition}: the Produce answer left this partition out`);
        this.settleFailure(batches, error);
        continue;
      }
      if (answer.errorCode === ErrorCode.NONE) {
        // The broker appended the partition's batches in request order, offsets contiguous from baseOffset.
        let offset = BigInt(answer.baseOffset);
        for (const batch of batches) {
          this.completeDelivered(batch);
          delivered.push({ batch, baseOffset: offset, logAppendTimeMs: answer.logAppendTimeMs });
          offset += BigInt(batch.recordCount);
        }
        continue;
      }
      const error = protocolError(answer.errorCode, `${queue.topic}/${queue.partition}`, answer.errorMessage);
      if (batches[0]!.baseSequence >= 0 && SEQUENCE_ERRORS.has(answer.errorCode)) this.sequenceRefused(queue, batches, error);
      else if (answer.errorCode === ErrorCode.MESSAGE_TOO_LARGE && this.splitTooLarge(queue, batches)) this.wakeup();
      else this.settleFailure(batches, error);
    }
    return delivered;
  }

  // MESSAGE_TOO_LARGE (definite: nothing of the request was written): the request's batches of several records are
  // split and sent again (Kafka's splitAndReenqueue); false when none can be split, or an earlier attempt may have
  // been written (the same bytes were refused now, but a resend under new sequences must not risk a duplicate).
  private splitTooLarge(queue: PartitionQueue, batches: ProducerBatch[]): boolean {
    if (batches.some((batch) => batch.maybeWritten) || !batches.some((batch) => batch.recordCount > 1)) return false;
    for (const batch of batches) batch.inFlight = false;
    for (const batch of batches) this.accumulator.split(batch);
    if (batches[0]!.baseSequence >= 0) {
      // The refused sequences were never written: the parts and the rest of the request are stamped afresh.
      for (const batch of queue.batches) {
        if (batch.baseSequence < 0) break;
        batch.producerId = -1;
        batch.producerEpoch = -1;
        batch.baseSequence = -1;
      }
      this.resetSequences(queue);
    }
    this.stats.retries += batches.length;
    return true;
  }

  // The broker refused a stamped request for its sequence state (definite: nothing of it was written now).
  private sequenceRefused(queue: PartitionQueue, batches: ProducerBatch[], error: RivuletError): void {
    for (const batch of batches) batch.inFlight = false;
    this.resetSequences(queue);
    const head = batches[0]!;
    if (batches.some((batch) => batch.maybeWritten)) {
      // An earlier attempt may have been written, and the broker no longer knows it: a resend could write it twice.
      this.failStampedSet(queue, () => new RivuletMaybeWrittenError(error));
      return;
    }
    if (head.attempts > this.options.retries) {
      this.failStampedSet(queue, () => error);
      return;
    }
    // Never written: stamped again under the new epoch from sequence 0 when next drained.
    const retryAtMs = Date.now() + this.backoffMs(head.attempts);
    for (const batch of batches) {
      batch.producerId = -1;
      batch.producerEpoch = -1;
      batch.baseSequence = -1;
      batch.retryAtMs = retryAtMs;
    }
    this.stats.retries += batches.length;
    this.stats.sequenceResets++;
  }

  // Sequences of `queue` start over: a new epoch, unless another partition already moved the producer past the
  // epoch this partition's sequences belong to (then this partition moves to the current one at its next batch).
  private resetSequences(queue: PartitionQueue): void {
    const identity = this.identity;
    if (identity === null) return;
    const current = identity.value;
    if (current !== null && current.producerId === queue.producerId && current.epoch === queue.producerEpoch) identity.bump();
    // Forces the move at the next stamp even when the id and epoch are unchanged (no id known yet).
    queue.producerEpoch = -1;
  }

  // Fails every stamped, unresolved batch of `queue` (one request's batches: they share one fate), then starts
  // the partition's sequences over.
  private failStampedSet(queue: PartitionQueue, errorFor: (batch: ProducerBatch) => Error): void {
    for (const batch of [...queue.batches]) {
      if (batch.baseSequence < 0) break;
      if (batch.inFlight || batch.completed) continue;
      batch.fail(errorFor(batch), this.orphanFailure);
      this.accumulator.remove(batch);
    }
    this.resetSequences(queue);
  }

  private delivered(batch: ProducerBatch, baseOffset: bigint, logAppendTimeMs: number): void {
    this.completeDelivered(batch);
    batch.notifyDelivered(baseOffset, logAppendTimeMs);
  }

  // A delivered batch leaves its queue; its owners are told separately (notifyDelivered).
  private completeDelivered(batch: ProducerBatch): void {
    batch.inFlight = false;
    batch.completeDelivered();
    // Acknowledged (or written, with acks=0): its bytes have all left, so its buffer may be reused.
    this.accumulator.remove(batch, true);
  }

  // The request got no answer (or could not be sent): every partition in it fails the same way.
  private requestFailed(connection: Connection, partitions: InFlightPartition[], thrown: unknown): void {
    const error =
      thrown instanceof RivuletError
        ? thrown
        : new RivuletError(ErrorCode.UNKNOWN_SERVER_ERROR, `Produce to ${connection.broker} failed: ${String(thrown)}`, { cause: thrown });
    for (const { queue, batches } of partitions) {
      this.forgetLeader(queue.topic, queue.partition);
      this.settleFailure(batches, error);
    }
  }

  // Retries the batches (in order, still at the head of their queue) or fails them.
  private settleFailure(batches: ProducerBatch[], error: RivuletError): void {
    const nowMs = Date.now();
    for (const batch of batches) {
      batch.inFlight = false;
      if (!error.definite) batch.maybeWritten = true;
    }
    const head = batches[0]!;
    if (METADATA_ERRORS.has(error.code)) {
      this.forgetLeader(head.topic, head.partition);
      this.cluster.invalidate(head.topic);
    }
    const stamped = head.baseSequence >= 0;
    if (error.retriable && head.attempts <= this.options.retries) {
      const backoffMs = this.backoffMs(head.attempts);
      const retryable = batches.filter((batch) => nowMs + backoffMs < batch.createdMs + this.options.deliveryTimeoutMs);
      if (stamped && retryable.length < batches.length) {
        // One batch of a stamped request runs out of time: the request's batches fail together (see the top).
        const queue = this.accumulator.queue(head.topic, head.partition);
        this.failStampedSet(queue, (batch) =>
          retryable.includes(batch)
            ? finalError(batch, error)
            : new RivuletDeliveryTimeoutError(
                `${batch.recordCount} record(s) for ${batch.topic}/${batch.partition} expired after ${batch.attempts} attempt(s) (delivery.timeout.ms ${this.options.deliveryTimeoutMs}); last error: ${error.message}`,
                this.options.deliveryTimeoutMs,
                batch.maybeWritten,
                error,
              ),
        );
        return;
      }
      for (const batch of retryable) batch.retryAtMs = nowMs + backoffMs;
      this.stats.retries += retryable.length;
      for (const batch of batches) {
        if (retryable.includes(batch)) continue;
        const timeout = new RivuletDeliveryTimeoutError(
          `${batch.recordCount} record(s) for ${batch.topic}/${batch.partition} expired after ${batch.attempts} attempt(s) (delivery.timeout.ms ${this.options.deliveryTimeoutMs}); last error: ${error.message}`,
          this.options.deliveryTimeoutMs,
          batch.maybeWritten,
          error,
        );
        this.failed(batch, timeout);
      }
      return;
    }
    if (stamped) {
      this.failStampedSet(this.accumulator.queue(head.topic, head.partition), (batch) => finalError(batch, error));
      return;
    }
    for (const batch of batches) this.failed(batch, finalError(batch, error));
  }

  // A partition whose leader could not be reached: its queued batches wait out a backoff (they were never sent).
  private backOff(batches: readonly ProducerBatch[], error: unknown): void {
    const head = batches[0]!;
    const backoffMs = this.backoffMs(Math.max(1, head.attempts));
    for (const batch of batches) batch.retryAtMs = Date.now() + backoffMs;
    if (error instanceof RivuletError && !error.retriable) {
      if (head.baseSequence >= 0) this.failStampedSet(this.accumulator.queue(head.topic, head.partition), (batch) => finalError(batch, error));
      for (const batch of [...batches]) if (!batch.inFlight && !batch.completed) this.failed(batch, finalError(batch, error));
    }
  }

  private failed(batch: ProducerBatch, error: Error): void {
    batch.fail(error, this.orphanFailure);
    this.accumulator.remove(batch);
  }

  private forgetLeader(topic: string, partition: number): void {
    const connections = this.leaders.get(topic);
    if (connections !== undefined) connections[partition] = undefined;
  }

  /** Kafka's exponential backoff: retry.backoff.ms * 2^(attempts-1), capped at retry.backoff.max.ms, 20% jitter. */
  backoffMs(attempts: number): number {
    const { retryBackoffMs, retryBackoffMaxMs } = this.options;
    const exponential = Math.min(retryBackoffMaxMs, retryBackoffMs * 2 ** Math.min(30, Math.max(0, attempts - 1)));
    const jitter = 1 - RETRY_BACKOFF_JITTER + this.random() * 2 * RETRY_BACKOFF_JITTER;
    return Math.max(0, Math.round(Math.min(retryBackoffMaxMs, exponential * jitter)));
  }
}

// A batch's final error: indeterminate when an earlier attempt may have been written, whatever the last code says.
function finalError(batch: ProducerBatch, error: RivuletError): RivuletError {
  return batch.maybeWritten && error.definite ? new RivuletMaybeWrittenError(error) : error;
}
