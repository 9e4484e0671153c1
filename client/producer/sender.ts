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
// Idempotence seam (issue 6): InitProducerId gives producerId/epoch; when the sender drains a batch it will patch
// producerId, epoch and the partition's next baseSequence into the finished header (recomputing the CRC) in
// `assignProducerState`, and PartitionQueue.inFlight may then go up to 5 with the broker rejecting gaps
// (OUT_OF_ORDER_SEQUENCE_NUMBER) instead of the one-in-flight rule. Until then batches carry -1 in those fields.
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
import type { TopicPartitions } from "./partitioner.ts";

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
  /** Counters for tests and metrics: Produce requests sent, batches sent (each attempt), retries scheduled. */
  readonly stats = { requests: 0, batches: 0, retries: 0 };

  constructor(
    private readonly accumulator: RecordAccumulator,
    private readonly cluster: ProducerClusterView,
    private readonly options: SenderOptions,
    /** Failures of records nobody waits for (produce() without a callback). */
    private readonly orphanFailure: (error: Error, records: number) => void,
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
      const error = new RivuletDeliveryTimeoutError(
        `${batch.recordCount} record(s) for ${batch.topic}/${batch.partition} expired: ${nowMs - batch.createdMs} ms passed since the batch was created (delivery.timeout.ms ${this.options.deliveryTimeoutMs})`,
        this.options.deliveryTimeoutMs,
        batch.maybeWritten,
      );
      batch.fail(error, this.orphanFailure);
      this.accumulator.remove(batch);
    }
    const byConnection = new Map<Connection, PartitionQueue[]>();
    for (const queue of this.accumulator.readyQueues(nowMs)) {
      const connection = this.leaderFor(queue.topic, queue.partition);
      if (connection === null) continue;
      let queues = byConnection.get(connection);
      if (queues === undefined) {
        queues = [];
        byConnection.set(connection, queues);
      }
      queues.push(queue);
    }
    for (const [connection, queues] of byConnection) this.sendTo(connection, queues, nowMs);
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
          const batches = this.accumulator.drain(queue, this.options.maxRequestSizeBytes - bytes, nowMs);
          let size = 0;
          for (const batch of batches) size += batch.bytes!.length;
          if (request.length > 0 && bytes + size > this.options.maxRequestSizeBytes) break;
          request.push({ queue, batches });
          bytes += size;
          next++;
        }
        this.send(connection, acks, request);
      }
    }
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
        this.answered(partitions, response);
        this.wakeup();
      },
      (error: unknown) => {
        settled();
        this.requestFailed(connection, partitions, error);
        this.wakeup();
      },
    );
  }

  private answered(partitions: InFlightPartition[], response: ProduceResponse): void {
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
          this.delivered(batch, offset, answer.logAppendTimeMs);
          offset += BigInt(batch.recordCount);
        }
        continue;
      }
      this.settleFailure(batches, protocolError(answer.errorCode, `${queue.topic}/${queue.partition}`, answer.errorMessage));
    }
  }

  private delivered(batch: ProducerBatch, baseOffset: bigint, logAppendTimeMs: number): void {
    batch.inFlight = false;
    batch.deliver(baseOffset, logAppendTimeMs);
    this.accumulator.remove(batch);
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
    if (error.retriable && head.attempts <= this.options.retries) {
      const backoffMs = this.backoffMs(head.attempts);
      const retryable = batches.filter((batch) => nowMs + backoffMs < batch.createdMs + this.options.deliveryTimeoutMs);
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
    for (const batch of batches) this.failed(batch, batch.maybeWritten && error.definite ? new RivuletMaybeWrittenError(error) : error);
  }

  // A partition whose leader could not be reached: its queued batches wait out a backoff (they were never sent).
  private backOff(batches: readonly ProducerBatch[], error: unknown): void {
    const head = batches[0]!;
    const backoffMs = this.backoffMs(Math.max(1, head.attempts));
    for (const batch of batches) batch.retryAtMs = Date.now() + backoffMs;
    if (error instanceof RivuletError && !error.retriable) {
      for (const batch of [...batches]) if (!batch.inFlight && !batch.completed) this.failed(batch, batch.maybeWritten && error.definite ? new RivuletMaybeWrittenError(error) : error);
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
