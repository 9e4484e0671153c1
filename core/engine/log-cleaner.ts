// The log cleaner: compaction for topics with cleanup.policy=compact (or compact,delete). One pass over one
// partition keeps, in the non-active segments, the latest record per key, as Kafka's LogCleaner does:
//
//   offsets:  logStart ........ firstDirty ............ endOffset ......... firstUncleanable .. active segment
//             [ clean section  ][ dirty section: mapped ][ dirty, not mapped ][ too young / active: untouched ]
//
// 1. Which part is cleanable: the non-active segments, minus every segment from the first one whose largest
//    timestamp is younger than min.compaction.lag.ms (those records are not compacted yet). The part is cleaned
//    when its dirty bytes are at least min.cleanable.dirty.ratio of it, when the oldest dirty segment is older than
//    max.compaction.lag.ms, or when tombstones of an earlier pass have reached their delete horizon.
// 2. Offset map: the dirty section is scanned from firstDirty, recording key -> latest offset. The map is bounded
//    (OffsetMapLimits); when the next batch might not fit, the scan stops at that batch and the pass cleans only
//    up to there (endOffset), like Kafka's dedupe buffer. The rest stays dirty for the next pass.
// 3. Rewrite: every segment from the log start up to endOffset is copied, in groups that fit segment.bytes, into
//    `.cleaned` segments through SegmentWriter (same base offset as the group's first segment), keeping a record
//    when its offset is >= endOffset, or when it has a key, no later offset in the map, and is not an expired
//    tombstone. Batches are rewritten with their offsets (compaction-batch.ts); control batches are kept as they
//    are. Each group is installed with the log's replaceSegments (crash-safe swap with its own failpoints).
// 4. The cleaner checkpoint moves firstDirty to endOffset and records the pass (cleaner-checkpoint.ts).
//
// Tombstones: a tombstone survives the first pass that sees it, and is removed by the first pass that runs at
// least delete.retention.ms after that one (see cleaner-checkpoint.ts). Keyless records are removed, as Kafka
// does (a compacted topic cannot hold them). Idempotent producers: a batch whose records are all removed is kept
// as an empty batch (header only, its offsets and sequence range intact) unless a later batch of the same
// producer is known, so the producer's last sequence survives compaction as Kafka ensures; empty batches of a
// producer go away once it writes again. Transactions: control batches are kept and aborted data is not yet
// removed (there is no transaction coordinator yet).
//
// Never blocks appends: it reads only non-active segments, through its own descriptors, in chunks of
// CLEANER_READ_CHUNK_BYTES, and yields to the event loop after each chunk. It can be stopped between chunks.
import { closeSync, openSync, utimesSync } from "node:fs";
import { BATCH_BYTES_MAX, BATCH_RECORDS_MAX } from "../limits.ts";
import { LOG_OVERHEAD_BYTES, LENGTH_OFFSET } from "../formats/record-batch-header.ts";
import { assert } from "../assert.ts";
import { filterBatch, openBatch, walkRecords, type OpenedBatch, type RecordEntry } from "./compaction-batch.ts";
import { nextTombstoneHorizonMs, recordPass, tombstoneExpired, type CleanerPartitionState } from "./cleaner-checkpoint.ts";
import { RELATIVE_OFFSET_MAX, asOffset } from "./offsets.ts";
import type { PartitionLog, SegmentInfo } from "./partition-log.ts";
import { readFully } from "./segment.ts";
import type { SegmentWriter } from "./segment-writer.ts";
import { SWAP_SEGMENTS_MAX } from "./swap-manifest.ts";
import { LONG_NEVER, type TopicConfig } from "./topic-config.ts";

/** Most distinct keys in the offset map of one pass (a whole batch of BATCH_RECORDS_MAX records always fits). */
export const CLEANER_OFFSET_MAP_ENTRIES_MAX = BATCH_RECORDS_MAX;
/** Most key bytes held by the offset map of one pass (a whole BATCH_BYTES_MAX batch of keys always fits). */
export const CLEANER_OFFSET_MAP_KEY_BYTES_MAX = BATCH_BYTES_MAX;
/** Most idempotent producers whose last batch one pass tracks; beyond it, emptied batches are kept. */
export const CLEANER_PRODUCERS_MAX = 65_536;
/** Bytes of segment read per step; the cleaner yields to the event loop after each. */
export const CLEANER_READ_CHUNK_BYTES = 1024 * 1024;
/** Kafka's log.cleaner.backoff.ms: how often the broker looks for partitions to clean. */
export const CLEANER_BACKOFF_MS = 15_000;

/** Bounds of one pass's offset map. */
export interface OffsetMapLimits {
  entriesMax: number;
  keyBytesMax: number;
}

/** The default bounds: at most about 1 M keys and 64 MiB of key bytes (plus Map overhead, ~80 bytes a key). */
export const OFFSET_MAP_LIMITS_DEFAULT: Readonly<OffsetMapLimits> = Object.freeze({
  entriesMax: CLEANER_OFFSET_MAP_ENTRIES_MAX,
  keyBytesMax: CLEANER_OFFSET_MAP_KEY_BYTES_MAX,
});

/**
 * Key -> latest offset for one pass, bounded in keys and key bytes. Keys are held exactly (as latin1 strings,
 * one char per byte), not hashed: a hash collision would silently drop a live record.
 */
export class OffsetMap {
  private readonly map = new Map<string, number>();
  private keyBytes = 0;

  constructor(readonly limits: Readonly<OffsetMapLimits>) {}

  /** Keys held. */
  get size(): number {
    return this.map.size;
  }

  /** True when `records` more keys totalling `keyBytes` are sure to fit. */
  hasRoomFor(records: number, keyBytes: number): boolean {
    return this.map.size + records <= this.limits.entriesMax && this.keyBytes + keyBytes <= this.limits.keyBytesMax;
  }

  /** Records `offset` as the latest for `key` (the caller checked hasRoomFor for the batch). */
  put(key: Uint8Array, offset: number): void {
    const text = keyText(key);
    if (!this.map.has(text)) {
      this.keyBytes += key.length;
      assert(this.map.size < this.limits.entriesMax && this.keyBytes <= this.limits.keyBytesMax, "offset map overfilled");
    }
    this.map.set(text, offset);
  }

  /** The latest offset recorded for `key`. */
  get(key: Uint8Array): number | undefined {
    return this.map.get(keyText(key));
  }
}

// Short keys (the common case) become a string without a Buffer wrapper per record; both forms are latin1, so the
// same key always gives the same string. HOT PATH (bench/compaction.bench.ts): called twice per record per pass.
const SHORT_KEY_BYTES = 64;
function keyText(key: Uint8Array): string {
  if (key.length <= SHORT_KEY_BYTES) return String.fromCharCode.apply(null, key as unknown as number[]);
  return Buffer.from(key.buffer, key.byteOffset, key.length).toString("latin1");
}

/** A non-active segment as the cleaner sees it (the partition log's SegmentInfo). */
type CleanableSegment = SegmentInfo;

/** Options of one pass. */
export interface CleanOptions {
  nowMs: number;
  limits?: Readonly<OffsetMapLimits>;
  /** Polled between chunks; true stops the pass (its unfinished `.cleaned` segment is deleted). */
  shouldStop?: () => boolean;
  /** Clean even when the dirty ratio is below min.cleanable.dirty.ratio. */
  ignoreDirtyRatio?: boolean;
}

/** What a pass did. */
export type CleanResult =
  | { kind: "idle"; reason: "no_segments" | "not_dirty" | "below_ratio" }
  | {
      kind: "cleaned";
      state: CleanerPartitionState;
      endOffset: number;
      bytesBefore: number;
      bytesAfter: number;
      recordsRemoved: number;
      segmentsReplaced: number;
    }
  | { kind: "stopped"; reason: "asked" | "segments_changed" }
  | { kind: "failed"; error: string };

/** Bad bytes met while cleaning: the pass stops and the partition keeps its current segments. */
class CleanerDataError extends Error {}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Walks the batches of one segment file in order, reading CLEANER_READ_CHUNK_BYTES at a time and yielding to the
 * event loop after each chunk. Each batch is handed out as a view valid until the next one.
 */
async function* segmentBatches(segment: CleanableSegment): AsyncGenerator<Uint8Array> {
  const fd = openSync(segment.logPath, "r");
  try {
    let chunk = new Uint8Array(Math.min(CLEANER_READ_CHUNK_BYTES, Math.max(segment.sizeBytes, LOG_OVERHEAD_BYTES)));
    let chunkStart = 0;
    let chunkLength = 0;
    let position = 0;
    while (position < segment.sizeBytes) {
      let at = position - chunkStart;
      if (chunkLength - at < LOG_OVERHEAD_BYTES || chunkLength - at < batchSize(chunk, at)) {
        // Refill from `position`; a batch bigger than the chunk gets a buffer of its own (bounded below).
        chunkStart = position;
        chunkLength = readFully(fd, chunk, Math.min(chunk.length, segment.sizeBytes - position), position);
        at = 0;
        if (chunkLength >= LOG_OVERHEAD_BYTES) {
          const size = batchSize(chunk, 0);
          if (size < LOG_OVERHEAD_BYTES || size > BATCH_BYTES_MAX || size > segment.sizeBytes - position) {
            throw new CleanerDataError(`bad batch length at position ${position} of ${segment.logPath}`);
          }
          if (size > chunk.length) {
            chunk = new Uint8Array(size);
            chunkLength = readFully(fd, chunk, size, position);
          }
        }
        await yieldToEventLoop();
      }
      if (chunkLength - at < LOG_OVERHEAD_BYTES) throw new CleanerDataError(`truncated batch at position ${position} of ${segment.logPath}`);
      const size = batchSize(chunk, at);
      if (size < LOG_OVERHEAD_BYTES || size > chunkLength - at) throw new CleanerDataError(`bad batch length at position ${position} of ${segment.logPath}`);
      yield chunk.subarray(at, at + size);
      position += size;
    }
  } finally {
    closeSync(fd);
  }
}

function batchSize(bytes: Uint8Array, at: number): number {
  if (bytes.length - at < LOG_OVERHEAD_BYTES) return Number.POSITIVE_INFINITY;
  return LOG_OVERHEAD_BYTES + new DataView(bytes.buffer, bytes.byteOffset + at, LOG_OVERHEAD_BYTES).getInt32(LENGTH_OFFSET);
}

function open(bytes: Uint8Array, segment: CleanableSegment): OpenedBatch {
  const opened = openBatch(bytes);
  if (!opened.ok) throw new CleanerDataError(`${opened.error} in ${segment.logPath}`);
  return opened.value;
}

function walk(batch: OpenedBatch, segment: CleanableSegment, visit: (record: RecordEntry) => void): void {
  const walked = walkRecords(batch, visit);
  if (!walked.ok) throw new CleanerDataError(`${walked.error} in ${segment.logPath}`);
}

interface Plan {
  candidates: CleanableSegment[];
  firstDirty: number;
  firstUncleanable: number;
}

/** Decides whether the partition needs a pass now, and over which segments. */
function plan(log: PartitionLog, config: Readonly<TopicConfig>, state: CleanerPartitionState, options: CleanOptions): Plan | Extract<CleanResult, { kind: "idle" }> {
  const segments = log.inactiveSegments();
  if (segments.length === 0) return { kind: "idle", reason: "no_segments" };
  // min.compaction.lag.ms: the first segment holding a record younger than the lag, and all after it, wait.
  let end = segments.length;
  if (config.minCompactionLagMs > 0) {
    const youngest = options.nowMs - config.minCompactionLagMs;
    // An empty segment (all of it compacted away) holds no record that could be too young.
    const index = segments.findIndex((segment) => segment.sizeBytes > 0 && segment.largestTimestamp > youngest);
    if (index >= 0) end = index;
  }
  const candidates = segments.slice(0, end);
  if (candidates.length === 0) return { kind: "idle", reason: "no_segments" };
  // The last non-active segment ends where the active one begins.
  const firstUncleanable = end < segments.length ? segments[end]!.baseOffset : segments[segments.length - 1]!.nextOffset;
  const firstDirty = Math.min(Math.max(state.firstDirtyOffset, log.logStartOffset, candidates[0]!.baseOffset), firstUncleanable);
  let dirtyBytes = 0;
  let totalBytes = 0;
  let oldestDirtyMs = Number.POSITIVE_INFINITY;
  for (const segment of candidates) {
    totalBytes += segment.sizeBytes;
    if (segment.nextOffset > firstDirty) {
      dirtyBytes += segment.sizeBytes;
      if (segment.sizeBytes > 0) oldestDirtyMs = Math.min(oldestDirtyMs, segment.largestTimestamp);
    }
  }
  const tombstonesDue = options.nowMs >= nextTombstoneHorizonMs(state.passes, config.deleteRetentionMs);
  if (dirtyBytes === 0 && !tombstonesDue) return { kind: "idle", reason: "not_dirty" };
  const ratioDue = dirtyBytes > 0 && (options.ignoreDirtyRatio === true || dirtyBytes / totalBytes >= config.minCleanableDirtyRatio);
  const lagDue = dirtyBytes > 0 && config.maxCompactionLagMs < LONG_NEVER && options.nowMs - oldestDirtyMs > config.maxCompactionLagMs;
  if (!ratioDue && !lagDue && !tombstonesDue) return { kind: "idle", reason: "below_ratio" };
  return { candidates, firstDirty, firstUncleanable };
}

/** Runs one compaction pass over a partition; returns the new cleaner state when it cleaned. Never throws on bad data. */
export async function cleanPartition(
  log: PartitionLog,
  config: Readonly<TopicConfig>,
  state: CleanerPartitionState,
  options: CleanOptions,
): Promise<CleanResult> {
  const planned = plan(log, config, state, options);
  if ("kind" in planned) return planned;
  const { candidates, firstDirty, firstUncleanable } = planned;
  const map = new OffsetMap(options.limits ?? OFFSET_MAP_LIMITS_DEFAULT);
  // Producer id -> base offset of its last batch in the mapped range; absent = unknown (its empty batches stay).
  const lastBatchOfProducer = new Map<bigint, number>();
  const stop = options.shouldStop ?? (() => false);
  let writer: SegmentWriter | null = null;
  // Finished `.cleaned` segments not yet installed: deleted if the pass stops or fails.
  const pending: SegmentWriter[] = [];
  const abandon = (reason: "asked" | "segments_changed"): CleanResult => {
    for (const unused of pending.splice(0)) unused.abort();
    return { kind: "stopped", reason };
  };
  try {
    // Step 2: the offset map over the dirty section.
    let endOffset = firstDirty;
    let mapFull = false;
    for (const segment of candidates) {
      if (mapFull || segment.nextOffset <= firstDirty) continue;
      for await (const bytes of segmentBatches(segment)) {
        if (stop()) return abandon("asked");
        const batch = open(bytes, segment);
        const lastOffset = batch.header.baseOffset + batch.header.lastOffsetDelta;
        if (lastOffset < firstDirty) continue;
        if (!batch.isControl) {
          if (!map.hasRoomFor(batch.header.recordsCount, batch.records.length)) {
            if (map.size === 0) return { kind: "failed", error: `a batch at offset ${batch.header.baseOffset} does not fit the cleaner's offset map` };
            mapFull = true;
            break;
          }
          walk(batch, segment, (record) => {
            if (record.key !== null && record.offset >= firstDirty) map.put(record.key, record.offset);
          });
        }
        const producerId = batch.header.producerId;
        if (producerId >= 0n && (lastBatchOfProducer.has(producerId) || lastBatchOfProducer.size < CLEANER_PRODUCERS_MAX)) {
          lastBatchOfProducer.set(producerId, batch.header.baseOffset);
        }
        endOffset = lastOffset + 1;
      }
      if (!mapFull) endOffset = Math.max(endOffset, segment.nextOffset);
    }
    if (!mapFull) endOffset = Math.max(endOffset, Math.min(firstUncleanable, candidates[candidates.length - 1]!.nextOffset));

    // Step 3: rewrite [logStart, endOffset) in groups that fit one segment.
    const keep = (record: RecordEntry): boolean => {
      if (record.offset >= endOffset) return true;
      if (record.key === null) return false;
      const latest = map.get(record.key);
      if (latest !== undefined && latest > record.offset) return false;
      return !(record.tombstone && tombstoneExpired(state.passes, record.offset, options.nowMs, config.deleteRetentionMs));
    };
    const toClean = candidates.filter((segment) => segment.baseOffset < endOffset);
    let bytesBefore = 0;
    let bytesAfter = 0;
    let recordsRemoved = 0;
    let segmentsReplaced = 0;
    // Groups are installed together, SWAP_SEGMENTS_MAX old segments at a time: with one swap per pass (the usual
    // case) a crash leaves the log as before the pass or as after it, never half-cleaned.
    for (const swapSet of splitForSwaps(groupSegments(toClean, config.segmentBytes))) {
      for (const group of swapSet) {
        writer = log.createCleanedSegment(asOffset(group[0]!.baseOffset));
        pending.push(writer);
        let written = 0;
        for (const segment of group) {
          bytesBefore += segment.sizeBytes;
          for await (const bytes of segmentBatches(segment)) {
            if (stop()) return abandon("asked");
            const batch = open(bytes, segment);
            if (batch.isControl) {
              writer.append(bytes);
              written += bytes.length;
              continue;
            }
            const producerId = batch.header.producerId;
            const known = lastBatchOfProducer.get(producerId);
            const keepEmpty = producerId >= 0n && (known === undefined || known === batch.header.baseOffset);
            const filtered = filterBatch(batch, keep, keepEmpty);
            if (!filtered.ok) throw new CleanerDataError(`${filtered.error} in ${segment.logPath}`);
            const outcome = filtered.value;
            if (outcome.kind === "unchanged") {
              writer.append(bytes);
              written += bytes.length;
            } else if (outcome.kind === "rewritten") {
              writer.append(outcome.bytes);
              written += outcome.bytes.length;
              recordsRemoved += batch.header.recordsCount - outcome.keptRecords;
            } else {
              recordsRemoved += batch.header.recordsCount;
            }
          }
        }
        await writer.finish();
        if (written === 0) {
          // An empty segment's largest timestamp is its file's mtime (as in Kafka); give it the time of the data it
          // replaces, as Kafka's cleaner does, so retention and min.compaction.lag.ms see the old data's age.
          const seconds = Math.max(...group.map((segment) => segment.largestTimestamp)) / 1000;
          utimesSync(writer.segment.logPath, seconds, seconds);
        }
        bytesAfter += written;
        writer = null;
      }
      if (stop()) return abandon("asked");
      const oldBases = swapSet.flatMap((group) => group.map((segment) => segment.baseOffset));
      const replaced = await log.replaceSegments(oldBases, pending);
      // Refused: retention (or a close) changed the segments under us; drop this output, the next pass starts over.
      if (!replaced.ok) return abandon(replaced.error === "closed" ? "asked" : "segments_changed");
      pending.length = 0;
      segmentsReplaced += oldBases.length;
    }

    // Step 4: the new cleaner state (the caller makes it durable).
    const next: CleanerPartitionState = {
      topicId: state.topicId,
      partition: state.partition,
      firstDirtyOffset: endOffset,
      passes: recordPass(state.passes, endOffset, options.nowMs, config.deleteRetentionMs),
    };
    return { kind: "cleaned", state: next, endOffset, bytesBefore, bytesAfter, recordsRemoved, segmentsReplaced };
  } catch (error) {
    writer?.abort();
    for (const unused of pending.splice(0)) unused.abort();
    if (error instanceof CleanerDataError) return { kind: "failed", error: error.message };
    // A segment file renamed away while we were about to read it: the segment list changed; try again later.
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { kind: "stopped", reason: "segments_changed" };
    throw error;
  }
}

// Splits groups into runs whose old segments fit one swap (the partition log's SWAP_SEGMENTS_MAX).
function splitForSwaps(groups: CleanableSegment[][]): CleanableSegment[][][] {
  const sets: CleanableSegment[][][] = [];
  let set: CleanableSegment[][] = [];
  let count = 0;
  for (const group of groups) {
    if (set.length > 0 && (count + group.length > SWAP_SEGMENTS_MAX || set.length >= SWAP_SEGMENTS_MAX)) {
      sets.push(set);
      set = [];
      count = 0;
    }
    set.push(group);
    count += group.length;
  }
  if (set.length > 0) sets.push(set);
  return sets;
}

/**
 * Consecutive segments grouped so that each group's bytes fit `segmentBytes` and its offsets fit one segment's
 * relative range (Kafka's groupSegmentsBySize); a segment larger than `segmentBytes` is a group of its own.
 */
export function groupSegments(segments: readonly CleanableSegment[], segmentBytes: number): CleanableSegment[][] {
  const groups: CleanableSegment[][] = [];
  let group: CleanableSegment[] = [];
  let bytes = 0;
  for (const segment of segments) {
    const first = group[0];
    if (first !== undefined && (bytes + segment.sizeBytes > segmentBytes || segment.nextOffset - 1 - first.baseOffset > RELATIVE_OFFSET_MAX)) {
      groups.push(group);
      group = [];
      bytes = 0;
    }
    group.push(segment);
    bytes += segment.sizeBytes;
  }
  if (group.length > 0) groups.push(group);
  return groups;
}
