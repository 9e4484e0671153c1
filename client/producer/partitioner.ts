// Which partition a record goes to when the caller does not say, as Kafka's Java producer decides it (KIP-794's
// built-in partitioner):
//
//   explicit partition          -> that partition
//   key, ignoreKeys off         -> toPositive(murmur2(keyBytes)) % numPartitions (client/producer/murmur2.ts),
//                                  over ALL partitions, available or not, so a key never moves while a leader is away
//   no key (or ignoreKeys on)   -> uniform sticky: one partition per topic until at least batch.size bytes went to
//                                  it, then a new one drawn uniformly at random from the partitions that have a
//                                  leader (all of them when none has), so keyless records fill whole batches
//
// Kafka's optional adaptive weighting by queue length (partitioner.adaptive.partitioning.enable) is not done here:
// the uniform draw is Kafka's behaviour with that flag off.
import { partitionForKey } from "./murmur2.ts";
import { assert } from "../../core/assert.ts";

/** Per-topic state of the sticky choice. */
export interface StickyState {
  partition: number;
  producedBytes: number;
}

/** The partitions of a topic as the partitioner sees them. */
export interface TopicPartitions {
  /** Number of partitions of the topic. */
  readonly count: number;
  /** Partitions that have a leader now (may be every partition, never a partition >= count). */
  readonly available: readonly number[];
}

/** Kafka's built-in partitioner: murmur2 for keys, uniform sticky for keyless records. */
export class BuiltInPartitioner {
  private readonly sticky = new Map<string, StickyState>();
  // HOT PATH: the last topic asked for and its state (producers mostly write one topic after another).
  private lastTopic: string | null = null;
  private lastState: StickyState | null = null;

  constructor(
    /** Bytes after which the sticky partition of a topic changes (batch.size). */
    private readonly stickyBatchBytes: number,
    /** Ignore keys when choosing (partitioner.ignore.keys). */
    private readonly ignoreKeys: boolean = false,
    /** Uniform random in [0, 1); injectable so tests are deterministic. */
    private readonly random: () => number = Math.random,
  ) {
    assert(Number.isInteger(stickyBatchBytes) && stickyBatchBytes >= 0, "stickyBatchBytes must be a non-negative integer");
  }

  /** The partition for a record with `key` (null/undefined when keyless) of `topic`. */
  partition(topic: string, key: Uint8Array | string | null | undefined, partitions: TopicPartitions): number {
    if (this.usesKey(key)) return partitionForKey(key!, partitions.count);
    return this.stickyFor(topic, partitions).partition;
  }

  /** True when a record with `key` is placed by its key (murmur2), false when by the sticky rule. */
  usesKey(key: Uint8Array | string | null | undefined): boolean {
    return key !== null && key !== undefined && !this.ignoreKeys;
  }

  /** The sticky state of `topic` (its `partition` is where the next keyless record goes). */
  stickyFor(topic: string, partitions: TopicPartitions): StickyState {
    assert(partitions.count > 0, "a topic has at least one partition");
    let state = topic === this.lastTopic ? this.lastState! : this.sticky.get(topic);
    if (state === undefined || state.partition >= partitions.count) {
      state = { partition: this.draw(partitions), producedBytes: 0 };
      this.sticky.set(topic, state);
    }
    this.lastTopic = topic;
    this.lastState = state;
    return state;
  }

  /**
   * Counts `bytes` appended to `partition` of `topic` by a record the sticky rule placed; once the current sticky
   * partition has taken batch.size bytes, the next keyless record of the topic goes to a newly drawn partition.
   */
  appended(topic: string, partition: number, bytes: number, partitions: TopicPartitions): void {
    const state = this.sticky.get(topic);
    if (state !== undefined && state.partition === partition) this.stickyAppended(state, bytes, partitions);
  }

  /** appended() for a record placed by `state` (as stickyFor returned it for this record): no lookup. */
  stickyAppended(state: StickyState, bytes: number, partitions: TopicPartitions): void {
    state.producedBytes += bytes;
    if (state.producedBytes >= this.stickyBatchBytes) {
      state.partition = this.draw(partitions);
      state.producedBytes = 0;
    }
  }

  /** Forgets a topic's sticky choice (its partition count changed or it was deleted). */
  forget(topic: string): void {
    this.sticky.delete(topic);
    if (this.lastTopic === topic) {
      this.lastTopic = null;
      this.lastState = null;
    }
  }

  private draw(partitions: TopicPartitions): number {
    const candidates = partitions.available.length > 0 ? partitions.available : null;
    const size = candidates === null ? partitions.count : candidates.length;
    const index = Math.min(size - 1, Math.floor(this.random() * size));
    const partition = candidates === null ? index : candidates[index]!;
    assert(partition >= 0 && partition < partitions.count, "available partitions lie within the topic");
    return partition;
  }
}
