// Per-partition state of idempotent producers (Kafka's ProducerStateManager): for each producer id, its epoch and
// the metadata of its last PRODUCER_BATCHES_RETAINED batches. Every batch that carries a producer id is checked
// against this state BEFORE it is written, and the state is updated in the same synchronous block as the write
// (STYLE.md habit 13), so two appends can never both pass the same check.
//
// The decision for one batch (Kafka's ProducerAppendInfo rules, with Kafka 2.x's UNKNOWN_PRODUCER_ID kept; see
// docs/idempotence.md):
//
//   known producer, same epoch, (first, last) sequence equal to one of its retained batches
//                                                       -> duplicate: answered with that batch's original offsets
//   known producer, batch epoch < producer epoch        -> INVALID_PRODUCER_EPOCH (fenced)
//   known producer, batch epoch > producer epoch        -> sequence 0: append (a new epoch starts over);
//                                                          else OUT_OF_ORDER_SEQUENCE_NUMBER
//   known producer, same epoch, first = last + 1 (wrapping at 2^31 - 1 to 0)
//                                                       -> append
//   known producer, same epoch, anything else           -> OUT_OF_ORDER_SEQUENCE_NUMBER (a gap, or an old batch
//                                                          no longer retained)
//   unknown producer, sequence 0                        -> append (the producer's first batch here)
//   unknown producer, sequence != 0                     -> UNKNOWN_PRODUCER_ID (its state expired)
//
// Every rejection is definite: nothing of the partition's request was written.
//
// Memory: at most PRODUCERS_PER_PARTITION_MAX producers per partition, each with at most PRODUCER_BATCHES_RETAINED
// batch records of five numbers. When full, the producer idle the longest is dropped (an early expiration).
import { assert } from "../assert.ts";
import type { Offset } from "./offsets.ts";

/** Kafka's ProducerStateEntry.NUM_BATCHES_TO_RETAIN: a duplicate of any of these many last batches is detected. */
export const PRODUCER_BATCHES_RETAINED = 5;
/** Producers whose state one partition keeps; beyond it the longest-idle producer is dropped. */
export const PRODUCERS_PER_PARTITION_MAX = 65_536;
/** Kafka's producer.id.expiration.ms default: state of a producer idle this long is dropped (1 day). */
export const PRODUCER_ID_EXPIRATION_MS_DEFAULT = 86_400_000;
/** Kafka's producer.id.expiration.check.interval.ms default: how often expired producers are looked for. */
export const PRODUCER_ID_EXPIRATION_CHECK_INTERVAL_MS_DEFAULT = 600_000;
/** Largest sequence number (Java's Integer.MAX_VALUE); the next one after it is 0. */
export const SEQUENCE_MAX = 0x7fffffff;
/** Largest producer epoch (Java's Short.MAX_VALUE). */
export const PRODUCER_EPOCH_MAX = 0x7fff;
/** Largest producer id the engine holds (ids are exact JS numbers; the allocator never comes near this). */
export const PRODUCER_ID_MAX = Number.MAX_SAFE_INTEGER;

/** A producer id as allocated by InitProducerId (non-negative; -1 in a batch means "no producer"). */
export type ProducerId = number & { readonly __brand: "ProducerId" };
/** A per-partition record sequence number in [0, SEQUENCE_MAX]. */
export type Sequence = number & { readonly __brand: "Sequence" };

/** What the state keeps of one appended batch. */
export interface BatchMetadata {
  firstSequence: Sequence;
  lastSequence: Sequence;
  firstOffset: Offset;
  lastOffset: Offset;
  /** The batch's maxTimestamp as stored (the broker's time for LogAppendTime topics). */
  timestamp: number;
}

/** One producer's state in one partition. */
export interface ProducerEntry {
  producerId: ProducerId;
  epoch: number;
  /** Oldest first, at most PRODUCER_BATCHES_RETAINED. */
  batches: BatchMetadata[];
  /** Broker clock time of its last append here (what expiration measures). */
  lastAppendMs: number;
}

/** The producer fields of one batch, as read from its header. */
export interface ProducerBatchFields {
  producerId: ProducerId;
  epoch: number;
  firstSequence: Sequence;
  /** The batch's lastOffsetDelta: lastSequence = firstSequence + lastOffsetDelta (wrapping). */
  lastOffsetDelta: number;
}

/** Why an idempotent batch was refused (Kafka's error names; INVALID_RECORD for impossible producer fields). */
export type ProducerRejectionError = "OUT_OF_ORDER_SEQUENCE_NUMBER" | "INVALID_PRODUCER_EPOCH" | "UNKNOWN_PRODUCER_ID" | "INVALID_RECORD";

/** A refused batch: the code to branch on and a message for people. */
export interface ProducerRejection {
  ok: false;
  error: ProducerRejectionError;
  message: string;
}

/** The decision for one batch. */
export type ProducerDecision = { kind: "append" } | { kind: "duplicate"; batch: BatchMetadata } | { kind: "reject"; rejection: ProducerRejection };

const APPEND: ProducerDecision = { kind: "append" };

/** `sequence + increment`, wrapping past SEQUENCE_MAX to 0 as Kafka's DefaultRecordBatch.incrementSequence does. */
export function incrementSequence(sequence: number, increment: number): Sequence {
  if (sequence > SEQUENCE_MAX - increment) return (increment - (SEQUENCE_MAX - sequence) - 1) as Sequence;
  return (sequence + increment) as Sequence;
}

/** True when `next` directly follows `last` (Kafka's inSequence, with the wrap at SEQUENCE_MAX). */
export function inSequence(last: number, next: number): boolean {
  return next === last + 1 || (next === 0 && last === SEQUENCE_MAX);
}

function rejection(error: ProducerRejectionError, message: string): ProducerDecision {
  return { kind: "reject", rejection: { ok: false, error, message } };
}

/** Checks the producer fields a batch carries for values no producer may send (Kafka's LogValidator rules). */
export function validateProducerFields(fields: ProducerBatchFields): ProducerRejection | null {
  if (fields.epoch < 0) return { ok: false, error: "INVALID_RECORD", message: `Invalid producer epoch ${fields.epoch} for producer ${fields.producerId}.` };
  if (fields.firstSequence < 0) return { ok: false, error: "INVALID_RECORD", message: `Invalid sequence number ${fields.firstSequence} for producer ${fields.producerId}.` };
  if (fields.producerId > PRODUCER_ID_MAX) return { ok: false, error: "UNKNOWN_PRODUCER_ID", message: `Producer id ${fields.producerId} was never allocated here.` };
  return null;
}

/**
 * The decision for one batch against the producer's current entry (undefined for an unknown producer): the
 * decision table at the top of this file, as code.
 */
export function decide(entry: ProducerEntry | undefined, fields: ProducerBatchFields): ProducerDecision {
  const invalid = validateProducerFields(fields);
  if (invalid !== null) return { kind: "reject", rejection: invalid };
  const { producerId, epoch, firstSequence } = fields;
  if (entry === undefined) {
    if (firstSequence === 0) return APPEND;
    return rejection(
      "UNKNOWN_PRODUCER_ID",
      `No state of producer ${producerId} here (expired, or never seen) and its batch starts at sequence ${firstSequence}, not 0.`,
    );
  }
  if (epoch === entry.epoch) {
    const lastSequence = incrementSequence(firstSequence, fields.lastOffsetDelta);
    for (const batch of entry.batches) {
      if (batch.firstSequence === firstSequence && batch.lastSequence === lastSequence) return { kind: "duplicate", batch };
    }
    const last = entry.batches.length === 0 ? -1 : entry.batches[entry.batches.length - 1]!.lastSequence;
    if (inSequence(last, firstSequence)) return APPEND;
    return rejection(
      "OUT_OF_ORDER_SEQUENCE_NUMBER",
      `Out of order sequence number for producer ${producerId} epoch ${epoch}: ${firstSequence} (incoming), ${last} (last appended).`,
    );
  }
  if (epoch < entry.epoch) {
    return rejection("INVALID_PRODUCER_EPOCH", `Producer ${producerId} epoch ${epoch} is older than its current epoch ${entry.epoch}: fenced.`);
  }
  if (firstSequence === 0) return APPEND;
  return rejection(
    "OUT_OF_ORDER_SEQUENCE_NUMBER",
    `Invalid sequence number for new epoch ${epoch} of producer ${producerId}: ${firstSequence} (must be 0), ${entry.epoch} (current epoch).`,
  );
}

/** One batch's place in a multi-batch check: whether to write it, or the earlier batch it duplicates. */
export type PlannedBatch = { kind: "append" } | { kind: "duplicate"; batch: BatchMetadata };

/** The producer state of one partition. */
export class ProducerStateManager {
  private readonly producers = new Map<number, ProducerEntry>();

  constructor(
    /** producer.id.expiration.ms: state of a producer idle this long goes. */
    readonly expirationMs: number = PRODUCER_ID_EXPIRATION_MS_DEFAULT,
  ) {
    assert(Number.isSafeInteger(expirationMs) && expirationMs > 0, "producer.id.expiration.ms must be a positive integer");
  }

  /** Number of producers with state here. */
  get size(): number {
    return this.producers.size;
  }

  /** The entry of `producerId`, if any (read-only use: tests, snapshots, tools). */
  entry(producerId: number): ProducerEntry | undefined {
    return this.producers.get(producerId);
  }

  /** Every entry (iteration order: first appended first). */
  entries(): IterableIterator<ProducerEntry> {
    return this.producers.values();
  }

  /** The decision for one batch against the current state (changes nothing). */
  check(fields: ProducerBatchFields): ProducerDecision {
    return decide(this.producers.get(fields.producerId), fields);
  }

  /**
   * Checks several batches of one request as if each were appended after the previous one (offsets from
   * `logEndOffset`), changing nothing: either a plan for every batch, or the first rejection (then nothing of the
   * request may be written). `fields[i]` is null for a batch without a producer id; `offsetCounts[i]` is its
   * lastOffsetDelta + 1.
   */
  plan(fields: readonly (ProducerBatchFields | null)[], offsetCounts: readonly number[], logEndOffset: Offset): PlannedBatch[] | ProducerRejection {
    assert(fields.length === offsetCounts.length, "one offset count per batch");
    const planned: PlannedBatch[] = [];
    // Provisional entries of producers touched by this request (copies: the real state changes only on write).
    let overlay: Map<number, ProducerEntry> | null = null;
    let nextOffset = logEndOffset as number;
    for (let i = 0; i < fields.length; i++) {
      const batch = fields[i];
      const count = offsetCounts[i]!;
      if (batch === null || batch === undefined) {
        planned.push(APPEND as PlannedBatch);
        nextOffset += count;
        continue;
      }
      const current = overlay?.get(batch.producerId) ?? this.producers.get(batch.producerId);
      const decision = decide(current, batch);
      if (decision.kind === "reject") return decision.rejection;
      if (decision.kind === "duplicate") {
        planned.push(decision);
        continue;
      }
      planned.push(decision);
      if (fields.length > 1) {
        overlay ??= new Map();
        const copy: ProducerEntry = current === undefined ? { producerId: batch.producerId, epoch: batch.epoch, batches: [], lastAppendMs: 0 } : { ...current, batches: [...current.batches] };
        applyBatch(copy, batch, nextOffset as Offset, (nextOffset + count - 1) as Offset, 0, 0);
        overlay.set(batch.producerId, copy);
      }
      nextOffset += count;
    }
    return planned;
  }

  /**
   * Records a batch just written (or replayed from the log) at [firstOffset, lastOffset]. No check: the caller
   * checked it before writing, or it is already in the log (replay trusts the log, as Kafka's loading does).
   */
  update(fields: ProducerBatchFields, firstOffset: Offset, lastOffset: Offset, timestamp: number, nowMs: number): void {
    let entry = this.producers.get(fields.producerId);
    if (entry === undefined) {
      if (this.producers.size >= PRODUCERS_PER_PARTITION_MAX) this.dropLongestIdle();
      entry = { producerId: fields.producerId, epoch: fields.epoch, batches: [], lastAppendMs: nowMs };
      this.producers.set(fields.producerId, entry);
    }
    applyBatch(entry, fields, firstOffset, lastOffset, timestamp, nowMs);
  }

  /** Restores one entry from a snapshot (replacing any entry of the same producer). */
  restore(entry: ProducerEntry): void {
    assert(entry.batches.length <= PRODUCER_BATCHES_RETAINED, "a snapshot entry holds at most the retained batches");
    if (!this.producers.has(entry.producerId) && this.producers.size >= PRODUCERS_PER_PARTITION_MAX) this.dropLongestIdle();
    this.producers.set(entry.producerId, { ...entry, batches: [...entry.batches] });
  }

  /**
   * Drops producers idle for at least producer.id.expiration.ms (Kafka's removeExpiredProducers). Returns how
   * many went.
   */
  removeExpired(nowMs: number): number {
    let removed = 0;
    for (const [id, entry] of this.producers) {
      if (nowMs - entry.lastAppendMs >= this.expirationMs) {
        this.producers.delete(id);
        removed++;
      }
    }
    return removed;
  }

  private dropLongestIdle(): void {
    let oldest: ProducerEntry | null = null;
    for (const entry of this.producers.values()) if (oldest === null || entry.lastAppendMs < oldest.lastAppendMs) oldest = entry;
    if (oldest !== null) this.producers.delete(oldest.producerId);
  }
}

// Appends one batch's metadata to an entry; a new epoch starts the entry over (its old batches cannot be resent).
function applyBatch(entry: ProducerEntry, fields: ProducerBatchFields, firstOffset: Offset, lastOffset: Offset, timestamp: number, nowMs: number): void {
  if (fields.epoch !== entry.epoch) {
    entry.epoch = fields.epoch;
    entry.batches = [];
  }
  if (entry.batches.length >= PRODUCER_BATCHES_RETAINED) entry.batches.shift();
  entry.batches.push({
    firstSequence: fields.firstSequence,
    lastSequence: incrementSequence(fields.firstSequence, fields.lastOffsetDelta),
    firstOffset,
    lastOffset,
    timestamp,
  });
  entry.lastAppendMs = Math.max(entry.lastAppendMs, nowMs);
}
