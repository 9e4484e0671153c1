// One partition's log: an ordered list of segments in `<dataDir>/<topic>-<partition>/`, the last one active.
//
// Offsets: logStartOffset <= highWatermark <= logEndOffset, moved only by moveOffsets(). recoveryPoint: every
// offset below it is fdatasync'ed (with the directory entries of its files).
//
// Durability: append() returns once the batch is written to the OS (acks=1). flushed(offset) resolves once it is
// fdatasync'ed (acks=all). Group commit: at most one sync runs per log; every append that lands while it runs is
// covered by the next one, which starts as soon as the running one ends and anyone waits.
//
// Start-up: with a clean checkpoint whose active segment is unchanged, open() stats files and reads the last
// index entry and the few batch headers after it; nothing else. Otherwise it scans (CRC) every segment from the one
// holding the recovery point, truncates a torn tail, and refuses to open (typed error) when an invalid batch has
// valid batches after it.
//
// Idempotence (docs/idempotence.md): every batch with a producer id is checked against the producer state
// (producer-state.ts) in the same synchronous block as its write; the state is snapshotted at every roll and on
// close (`<offset>.snapshot`, producer-snapshot.ts) and, at open, restored from the newest good snapshot plus a
// replay of the batch headers after it.
//
// Memory per partition: the active segment's two indexes (bounded by 2 x segment.index.bytes, typically
// segment.bytes / index.interval.bytes x 20 bytes), plus the indexes of at most INDEX_CACHE_SEGMENTS_MAX inactive
// segments, plus a 61-byte header scratch; recovery and the resync scan add one chunk of RECOVERY_CHUNK_BYTES
// (or one batch, <= BATCH_BYTES_MAX) while they run; plus the producer state (bounded in producer-state.ts). Reads
// never load a segment.
import * as fs from "node:fs";
import { join } from "node:path";
import { assert } from "../assert.ts";
import { crc32c } from "../formats/crc32c.ts";
import {
  ATTRIBUTES_OFFSET,
  ATTRIBUTE_CONTROL_BIT,
  ATTRIBUTE_TIMESTAMP_TYPE_BIT,
  BASE_OFFSET_OFFSET,
  CRC_OFFSET,
  LAST_OFFSET_DELTA_OFFSET,
  LENGTH_OFFSET,
  LOG_OVERHEAD_BYTES,
  MAGIC_OFFSET,
  MAGIC_V2,
  MAX_TIMESTAMP_OFFSET,
  PRODUCER_EPOCH_OFFSET,
  PRODUCER_ID_OFFSET,
  BASE_SEQUENCE_OFFSET,
  RECORDS_COUNT_OFFSET,
  RECORD_BATCH_HEADER_BYTES,
} from "../formats/record-batch-header.ts";
import { type Result, err, ok } from "../formats/result.ts";
import { CHECKPOINT_FILE_NAME, CHECKPOINT_INTERVAL_MS, readCheckpoint, writeCheckpoint, writeCheckpointNow } from "./checkpoint.ts";
import { TEMPORARY_FILE_SUFFIX, syncDirectory, syncDirectoryNow } from "./durable-file.ts";
import { type Clock, systemClock } from "./clock.ts";
import { failpoint } from "./failpoints.ts";
import type { LogConfig } from "./log-config.ts";
import { type FilePosition, type Offset, asOffset } from "./offsets.ts";
import {
  type BatchMetadata,
  type ProducerBatchFields,
  type ProducerId,
  type ProducerRejection,
  type ProducerRejectionError,
  type Sequence,
  PRODUCER_ID_EXPIRATION_MS_DEFAULT,
  ProducerStateManager,
} from "./producer-state.ts";
import {
  type SnapshotError,
  encodeProducerSnapshot,
  listSnapshotOffsets,
  readProducerSnapshot,
  removeSnapshot,
  removeSnapshotTemporaries,
  writeProducerSnapshot,
} from "./producer-snapshot.ts";
import { BATCH_BYTES_MAX } from "../limits.ts";
import {
  INDEX_FILE_EXTENSION,
  LOG_FILE_EXTENSION,
  LogSegment,
  type SegmentSuffix,
  TIME_INDEX_FILE_EXTENSION,
  parseSegmentFileName,
  readFully,
  segmentFileName,
  unlinkIfExists,
} from "./segment.ts";
import { SegmentWriter } from "./segment-writer.ts";
import { firstRecordAtOrAfter } from "./record-timestamps.ts";
import { SWAP_MANIFEST_FILE_NAME, SWAP_SEGMENTS_MAX, readSwapManifest, writeSwapManifest } from "./swap-manifest.ts";

/** Inactive segments whose indexes stay in memory after a lookup (least recently used are dropped). */
export const INDEX_CACHE_SEGMENTS_MAX = 4;

/** Options for PartitionLog.open. */
export interface PartitionLogOptions {
  clock?: Clock;
  /** producer.id.expiration.ms: idle producers' state is dropped after this (default 1 day). */
  producerIdExpirationMs?: number;
}

/** Why a log could not be opened: the partition goes offline, the rest of the broker keeps serving. */
export type LogOpenError = "corrupt_middle" | "offset_overlap";

/** A failed open, with a human-readable detail for the operator (classify by `error`, never by `detail`). */
export interface LogOpenFailure {
  ok: false;
  error: LogOpenError;
  detail: string;
}

/** What append() reports. */
export interface AppendResult {
  baseOffset: Offset;
  lastOffset: Offset;
  /** The broker time written into the batch for LogAppendTime topics, else -1 (Kafka's ProduceResponse field). */
  logAppendTime: number;
  /** Byte position of the batch in its segment file (-1 for a duplicate, which was not written again). */
  position: FilePosition;
  /**
   * True when the batch duplicates one of its idempotent producer's last batches: nothing was written and the
   * offsets (and, for LogAppendTime topics, logAppendTime) are the original batch's, as Kafka answers.
   */
  duplicate: boolean;
}

/** What appendBatches() reports: one result per batch, or why none of them was written. */
export type AppendBatchesResult = { ok: true; value: AppendResult[] } | ProducerRejection;

/** Thrown by append() when an idempotent batch is refused (appendBatches() returns the same as a typed result). */
export class ProducerRejectedError extends Error {
  override name = "ProducerRejectedError";
  constructor(
    readonly error: ProducerRejectionError,
    message: string,
  ) {
    super(message);
  }
}

/** How the producer state was restored at open (for tests, metrics and operators). */
export interface ProducerStateLoad {
  /** Offset of the snapshot restored, or null when the state was rebuilt from the log alone. */
  snapshotOffset: Offset | null;
  /** Snapshots found unusable (and removed), newest first. */
  snapshotErrors: { offset: Offset; error: SnapshotError }[];
  /** Batch headers read after the snapshot (or from the log start). */
  replayedBatches: number;
}

/** A byte range of a segment file holding whole batches, ready to go to a socket unchanged. */
export interface ByteRange {
  /** Descriptor of the segment file, valid until the segment is deleted and the next maintenance call retires it. */
  fd: number;
  path: string;
  position: number;
  length: number;
}

/** What read() returns. */
export interface ReadResult {
  ranges: ByteRange[];
  /** Base offset of the first batch returned (may be below the requested offset: whole batches are returned). */
  firstOffset: Offset | null;
  /** Offset after the last batch returned (where the next read continues). */
  nextOffset: Offset;
  highWatermark: Offset;
  logStartOffset: Offset;
}

/** What readBatches() returns: read()'s answer with the bytes instead of ranges. */
export interface BatchesRead {
  /** Whole batches, back to back (a view of the caller's buffer when one was given). */
  bytes: Uint8Array;
  firstOffset: Offset | null;
  nextOffset: Offset;
  highWatermark: Offset;
  logStartOffset: Offset;
}

/** Why a read returned nothing. */
export type ReadError = "offset_out_of_range" | "corrupt";

/** Read-only facts about one non-active segment, for the compaction cleaner. */
export interface SegmentInfo {
  baseOffset: Offset;
  /** Base offset of the following segment: every offset in this segment is below it. */
  nextOffset: Offset;
  logPath: string;
  offsetIndexPath: string;
  timeIndexPath: string;
  sizeBytes: number;
  largestTimestamp: number;
}

/** Why replaceSegments refused (the cleaner drops its output and retries later). */
export type ReplaceError = "segments_changed" | "closed";

/** ListOffsets answer for a timestamp. */
export interface TimestampOffset {
  offset: Offset;
  timestamp: number;
}

interface SyncWaiter {
  offset: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** One partition's log. */
export class PartitionLog {
  private segments: LogSegment[];
  private logStart: Offset;
  private highWater: Offset;
  private logEnd: Offset;
  private recoveryPointOffset: Offset;
  private waiters: SyncWaiter[] = [];
  private syncRunning: Promise<void> | null = null;
  private directoryNeedsSync = false;
  private unflushedMessages = 0;
  private lastSyncMs: number;
  private lastCheckpointMs: number;
  private maintenance: Promise<unknown> = Promise.resolve();
  // Descriptors of segments removed from the log; closed at the next maintenance step so ranges handed out just
  // before a deletion stay readable (on Linux an unlinked file stays readable through an open descriptor).
  private retired: LogSegment[] = [];
  private indexCache: LogSegment[] = [];
  private failure: unknown = null;
  private closed = false;
  private syncRoundsDone = 0;
  private syncAgain = false;
  private producers = new ProducerStateManager();
  private producerLoad: ProducerStateLoad = { snapshotOffset: null, snapshotErrors: [], replayedBatches: 0 };
  // Snapshot writes run one at a time off the append path; a roll while one runs replaces the waiting one (only
  // the newest state matters), so a burst of rolls costs at most two writes.
  private snapshotRunning: Promise<void> | null = null;
  private snapshotWaiting: { offset: Offset; bytes: Uint8Array } | null = null;
  private snapshotFailure: unknown = null;
  private abandoned = false;

  private constructor(
    /** The partition directory. */
    readonly dir: string,
    /** The settings this log acts on (replace with updateConfig). */
    public config: LogConfig,
    private readonly clock: Clock,
    segments: LogSegment[],
    logStartOffset: Offset,
    recoveryPoint: Offset,
  ) {
    assert(segments.length > 0, "a log has at least one segment");
    this.segments = segments;
    const end = this.active.nextOffset;
    assert(end !== null, "active segment end must be known");
    this.logEnd = end;
    this.highWater = end;
    this.logStart = asOffset(Math.min(Math.max(logStartOffset, segments[0]!.baseOffset), end));
    this.recoveryPointOffset = asOffset(Math.min(recoveryPoint, end));
    this.lastSyncMs = clock.nowMs();
    this.lastCheckpointMs = clock.nowMs();
  }

  /**
   * Opens (or creates) the log in `dir`: finishes or undoes interrupted swaps and deletions, then either trusts a
   * clean checkpoint or recovers the tail. Fails with a typed error when the log is damaged in the middle.
   */
  static async open(dir: string, config: LogConfig, options: PartitionLogOptions = {}): Promise<PartitionLog | LogOpenFailure> {
    const clock = options.clock ?? systemClock;
    const nowMs = clock.nowMs();
    fs.mkdirSync(dir, { recursive: true });
    let changed = completeInterruptedProtocols(dir);
    const bases = listSegmentBases(dir);
    const checkpoint = readCheckpoint(dir);
    if (bases.length === 0) {
      const start = checkpoint.ok ? checkpoint.value.logStartOffset : asOffset(0);
      const segment = LogSegment.create(dir, start, config, nowMs);
      await syncDirectory(dir);
      return new PartitionLog(dir, config, clock, [segment], start, start).loadProducerState(options);
    }
    const segments = bases.map((base) => LogSegment.open(dir, base, config, nowMs));
    const active = segments[segments.length - 1]!;

    if (checkpoint.ok && checkpoint.value.clean && checkpoint.value.activeSegmentBaseOffset === active.baseOffset) {
      const stat = fs.statSync(active.logPath, { bigint: true });
      if (
        Number(stat.size) === checkpoint.value.activeSegmentBytes &&
        stat.ctimeNs === checkpoint.value.activeSegmentCtimeNs &&
        active.loadTail() &&
        active.nextOffset === checkpoint.value.logEndOffset
      ) {
        if (changed) await syncDirectory(dir);
        return new PartitionLog(dir, config, clock, segments, checkpoint.value.logStartOffset, checkpoint.value.logEndOffset).loadProducerState(options);
      }
    }

    // Unclean: recover every segment from the one holding the recovery point.
    const recoveryPoint = checkpoint.ok ? checkpoint.value.recoveryPoint : asOffset(0);
    let first = 0;
    for (let i = 0; i < segments.length; i++) if (segments[i]!.baseOffset <= recoveryPoint) first = i;
    for (let i = first; i < segments.length; i++) {
      const segment = segments[i]!;
      const next = segments[i + 1];
      const scan = segment.recover();
      if (next !== undefined && scan.nextOffset !== null && scan.nextOffset > next.baseOffset) {
        closeAll(segments);
        return { ok: false, error: "offset_overlap", detail: `segment ${segment.baseOffset} runs past ${next.baseOffset} in ${dir}` };
      }
      if (scan.invalid === null) continue;
      const expected = scan.nextOffset ?? segment.baseOffset;
      let validLater = segment.hasValidBatchAfter(scan.invalid.position, expected);
      for (let j = i + 1; !validLater && j < segments.length; j++) validLater = segments[j]!.hasValidBatchAfter(-1, expected);
      if (validLater) {
        closeAll(segments);
        return {
          ok: false,
          error: "corrupt_middle",
          detail: `invalid batch (${scan.invalid.error}) at position ${scan.invalid.position} of segment ${segment.baseOffset} in ${dir}, with valid batches after it`,
        };
      }
      // A torn tail: cut it, and drop later segments (they hold no valid batch).
      segment.truncateTo(scan.validBytes, scan.nextOffset);
      for (const later of segments.splice(i + 1)) later.deleteFiles();
      changed = true;
      break;
    }
    const log = new PartitionLog(dir, config, clock, segments, checkpoint.ok ? checkpoint.value.logStartOffset : asOffset(0), recoveryPoint);
    // What recovery kept is now made durable, so the next crash starts from here.
    for (const segment of segments.slice(first)) {
      segment.persistIndexes();
      await segment.sync();
    }
    if (changed) await syncDirectory(dir);
    log.recoveryPointOffset = log.logEnd;
    await log.checkpoint(false);
    return log.loadProducerState(options);
  }

  /** The active (last) segment. */
  private get active(): LogSegment {
    return this.segments[this.segments.length - 1]!;
  }

  /** First offset still in the log. */
  get logStartOffset(): Offset {
    return this.logStart;
  }

  /** Offset up to which consumers may read (single node: the log end offset after every append). */
  get highWatermark(): Offset {
    return this.highWater;
  }

  /** Offset the next appended record gets. */
  get logEndOffset(): Offset {
    return this.logEnd;
  }

  /** Every offset below this is fdatasync'ed. */
  get recoveryPoint(): Offset {
    return this.recoveryPointOffset;
  }

  /** True while a group-commit sync is running. */
  get syncing(): boolean {
    return this.syncRunning !== null;
  }

  /** Group-commit rounds completed so far (each is one fdatasync per dirty file); for metrics and tests. */
  get syncRounds(): number {
    return this.syncRoundsDone;
  }

  /** Bytes of index memory held right now (bounded: see the top of this file); for metrics and tests. */
  indexMemoryBytes(): number {
    let total = 0;
    for (const segment of this.segments) total += segment.indexMemoryBytes();
    return total;
  }

  /** Number of segments (for tests and metrics). */
  get segmentCount(): number {
    return this.segments.length;
  }

  /** Total bytes in all segment files. */
  get sizeBytes(): number {
    let total = 0;
    for (const segment of this.segments) total += segment.sizeBytes;
    return total;
  }

  // The one place the three offsets move; their ordering is asserted here.
  private moveOffsets(logStart: Offset, highWater: Offset, logEnd: Offset): void {
    assert(logStart <= highWater && highWater <= logEnd, "logStartOffset <= highWatermark <= logEndOffset");
    assert(logStart >= this.logStart && logEnd >= this.logEnd, "log offsets only move forward");
    this.logStart = logStart;
    this.highWater = highWater;
    this.logEnd = logEnd;
  }

  private assertWritable(): void {
    assert(!this.closed, "log is closed");
    if (this.failure !== null) throw this.failure;
  }

  /**
   * Appends one batch the caller has validated: an idempotent batch (producerId >= 0) is first checked against its
   * producer's state (producer-state.ts): a duplicate of one of its last batches is answered with the original
   * offsets and not written; a refused one throws ProducerRejectedError and writes nothing (appendBatches()
   * returns the same as a typed result). Then assigns offsets by patching baseOffset, stamps LogAppendTime when the
   * topic asks for it (rewriting attributes, maxTimestamp and the CRC, as Kafka's LogValidator does), rolls the
   * segment when needed and writes the bytes to the OS. The log takes ownership of `batch` (it patches it).
   * HOT PATH (bench/log.bench.ts, bench/idempotence.bench.ts).
   */
  append(batch: Uint8Array): AppendResult {
    this.assertWritable();
    const fields = readProducerFields(batch);
    if (fields === null) return this.write(batch, null);
    // The check and the write below are one synchronous block: nothing can append in between.
    const decision = this.producers.check(fields);
    if (decision.kind === "reject") throw new ProducerRejectedError(decision.rejection.error, decision.rejection.message);
    if (decision.kind === "duplicate") return this.duplicateResult(decision.batch);
    return this.write(batch, fields);
  }

  /**
   * Appends the batches of one produce request in order, all or nothing for idempotence: every idempotent batch is
   * checked (each as if the ones before it were written) before any is written, so a refusal (gap, fence, unknown
   * producer) is definite for the whole list. Duplicates are answered with their original offsets and skipped.
   */
  appendBatches(batches: readonly Uint8Array[]): AppendBatchesResult {
    this.assertWritable();
    if (batches.length === 1) {
      // The common request (one batch per partition): no plan, the single check.
      const batch = batches[0]!;
      const single = readProducerFields(batch);
      if (single === null) return ok([this.write(batch, null)]);
      const decision = this.producers.check(single);
      if (decision.kind === "reject") return decision.rejection;
      return ok([decision.kind === "duplicate" ? this.duplicateResult(decision.batch) : this.write(batch, single)]);
    }
    let fields: (ProducerBatchFields | null)[] | null = null;
    for (let i = 0; i < batches.length; i++) {
      const batchFields = readProducerFields(batches[i]!);
      if (batchFields === null) continue;
      fields ??= new Array<ProducerBatchFields | null>(batches.length).fill(null);
      fields[i] = batchFields;
    }
    const results: AppendResult[] = [];
    if (fields === null) {
      for (const batch of batches) results.push(this.write(batch, null));
      return ok(results);
    }
    const counts = batches.map((batch) => new DataView(batch.buffer, batch.byteOffset, RECORD_BATCH_HEADER_BYTES).getInt32(LAST_OFFSET_DELTA_OFFSET) + 1);
    // Plan and writes are one synchronous block (no await), so the plan's provisional offsets are the real ones.
    const plan = this.producers.plan(fields, counts, this.logEnd);
    if (!Array.isArray(plan)) return plan;
    for (let i = 0; i < batches.length; i++) {
      const step = plan[i]!;
      results.push(step.kind === "duplicate" ? this.duplicateResult(step.batch) : this.write(batches[i]!, fields[i]!));
    }
    return ok(results);
  }

  private duplicateResult(batch: BatchMetadata): AppendResult {
    return {
      baseOffset: batch.firstOffset,
      lastOffset: batch.lastOffset,
      logAppendTime: this.config.messageTimestampType === "LogAppendTime" ? batch.timestamp : -1,
      position: -1 as FilePosition,
      duplicate: true,
    };
  }

  // Writes one batch (already checked) and records it in its producer's state.
  private write(batch: Uint8Array, fields: ProducerBatchFields | null): AppendResult {
    assert(batch.length >= RECORD_BATCH_HEADER_BYTES && batch[MAGIC_OFFSET] === MAGIC_V2, "append needs a validated v2 batch");
    const view = new DataView(batch.buffer, batch.byteOffset, RECORD_BATCH_HEADER_BYTES);
    assert(LOG_OVERHEAD_BYTES + view.getInt32(LENGTH_OFFSET) === batch.length, "append needs exactly one whole batch");
    // Only the fields the log needs, read directly (no header object, one BigInt): this runs once per batch.
    const lastOffsetDelta = view.getInt32(LAST_OFFSET_DELTA_OFFSET);
    const recordsCount = view.getInt32(RECORDS_COUNT_OFFSET);
    assert(lastOffsetDelta >= 0, "append needs a non-negative lastOffsetDelta");
    const nowMs = this.clock.nowMs();
    let maxTimestamp = Number(view.getBigInt64(MAX_TIMESTAMP_OFFSET));
    let logAppendTime = -1;
    if (this.config.messageTimestampType === "LogAppendTime") {
      logAppendTime = nowMs;
      maxTimestamp = nowMs;
      view.setInt16(ATTRIBUTES_OFFSET, view.getInt16(ATTRIBUTES_OFFSET) | ATTRIBUTE_TIMESTAMP_TYPE_BIT);
      view.setBigInt64(MAX_TIMESTAMP_OFFSET, BigInt(nowMs));
      view.setUint32(CRC_OFFSET, crc32c(batch.subarray(ATTRIBUTES_OFFSET)));
    }
    const baseOffset = this.logEnd;
    const lastOffset = (baseOffset + lastOffsetDelta) as Offset;
    if (this.active.shouldRollFor(batch.length, lastOffset, nowMs)) this.roll(baseOffset, nowMs);
    // baseOffset as two 32-bit halves: exact below 2^53 and no BigInt per append.
    view.setInt32(BASE_OFFSET_OFFSET, Math.floor(baseOffset / 0x100000000));
    view.setUint32(BASE_OFFSET_OFFSET + 4, baseOffset >>> 0);
    failpoint("append.before_write");
    const position = this.active.append(batch, baseOffset, lastOffset, maxTimestamp);
    failpoint("append.after_write");
    const end = (lastOffset + 1) as Offset;
    this.moveOffsets(this.logStart, end, end);
    if (fields !== null) this.producers.update(fields, baseOffset, lastOffset, maxTimestamp, nowMs);
    this.unflushedMessages += recordsCount;
    if (this.unflushedMessages >= this.config.flushMessages || nowMs - this.lastSyncMs >= this.config.flushMs) this.startSync();
    return { baseOffset, lastOffset, logAppendTime, position, duplicate: false };
  }

  // Closes the active segment's indexes and starts a new segment at `baseOffset`.
  private roll(baseOffset: Offset, nowMs: number): void {
    assert(baseOffset === this.logEnd, "a new segment starts at the log end");
    // Kafka's snapshot at every roll: replay after a crash then starts at most one segment back.
    this.snapshotProducers(baseOffset);
    const previous = this.active;
    previous.onBecomeInactive();
    const segment = LogSegment.create(this.dir, baseOffset, this.config, nowMs);
    this.segments.push(segment);
    this.directoryNeedsSync = true;
    failpoint("roll.after_create");
    this.touchIndexCache(previous);
  }

  /** Forces a roll now if the active segment is non-empty (Kafka's Log.roll; used by tests and admin tools). */
  rollNow(): void {
    this.assertWritable();
    if (this.active.sizeBytes > 0) this.roll(this.logEnd, this.clock.nowMs());
  }

  /** The idempotent producers' state of this partition (read-only use: tests, tools, metrics). */
  get producerState(): ProducerStateManager {
    return this.producers;
  }

  /** How the producer state was restored when this log opened. */
  get producerStateLoad(): ProducerStateLoad {
    return this.producerLoad;
  }

  /** The last snapshot write failure, or null (a failed snapshot costs only a longer replay at the next open). */
  get producerSnapshotFailure(): unknown {
    return this.snapshotFailure;
  }

  /** Drops producers idle for producer.id.expiration.ms (the Broker's expiration timer calls this). */
  removeExpiredProducers(nowMs: number): number {
    if (this.closed) return 0;
    return this.producers.removeExpired(nowMs);
  }

  /** Resolves once every snapshot write started so far has finished (tests and close). */
  async producerSnapshotsWritten(): Promise<void> {
    while (this.snapshotRunning !== null) await this.snapshotRunning;
  }

  // Serializes the producer state as of `offset` (the log end) now, and writes it off the append path.
  private snapshotProducers(offset: Offset): void {
    assert(offset === this.logEnd, "a snapshot covers exactly the batches below the log end");
    this.snapshotWaiting = { offset, bytes: encodeProducerSnapshot(offset, this.producers.entries()) };
    if (this.snapshotRunning !== null) return;
    this.snapshotRunning = (async () => {
      // An abandoned log (a deleted topic, a crash test) writes nothing more into its directory.
      while (this.snapshotWaiting !== null && !this.abandoned) {
        const { offset: at, bytes } = this.snapshotWaiting;
        this.snapshotWaiting = null;
        try {
          await writeProducerSnapshot(this.dir, at, bytes);
        } catch (error) {
          this.snapshotFailure = error;
        }
      }
      this.snapshotRunning = null;
    })();
  }

  /**
   * Restores the producer state at open: the newest readable snapshot at or below the log end (unusable ones and
   * ones past the end, left by a truncated tail, are removed), then the batch headers from its offset (or from the
   * first segment when it is older than the log) to the end. Without a usable snapshot the whole log is replayed.
   */
  private loadProducerState(options: PartitionLogOptions): this {
    this.producers = new ProducerStateManager(options.producerIdExpirationMs ?? PRODUCER_ID_EXPIRATION_MS_DEFAULT);
    removeSnapshotTemporaries(this.dir);
    const offsets = listSnapshotOffsets(this.dir);
    const load: ProducerStateLoad = { snapshotOffset: null, snapshotErrors: [], replayedBatches: 0 };
    for (let i = offsets.length - 1; i >= 0 && load.snapshotOffset === null; i--) {
      const offset = offsets[i]!;
      if (offset > this.logEnd) {
        removeSnapshot(this.dir, offset);
        continue;
      }
      const read = readProducerSnapshot(this.dir, offset);
      if (!read.ok) {
        load.snapshotErrors.push({ offset, error: read.error });
        removeSnapshot(this.dir, offset);
        continue;
      }
      for (const entry of read.value.entries) this.producers.restore(entry);
      load.snapshotOffset = offset;
    }
    const from = Math.max(load.snapshotOffset ?? 0, this.segments[0]!.baseOffset);
    load.replayedBatches = this.replayProducerBatches(asOffset(from));
    this.producerLoad = load;
    return this;
  }

  // Reads the header of every batch at or after `from` and records its producer fields. Only headers are read
  // (one pread of 61 bytes per batch); a header that does not parse ends the replay (recovery has just checked
  // the tail, and reads would fail at the same place).
  private replayProducerBatches(from: Offset): number {
    const nowMs = this.clock.nowMs();
    const header = new Uint8Array(RECORD_BATCH_HEADER_BYTES);
    const view = new DataView(header.buffer);
    let replayed = 0;
    for (let i = 0; i < this.segments.length; i++) {
      const segment = this.segments[i]!;
      const next = this.segments[i + 1];
      if (next !== undefined && next.baseOffset <= from) continue;
      let position = 0;
      if (segment.baseOffset < from) {
        const found = segment.findBatch(from);
        this.touchIndexCache(segment);
        if (!found.ok) return replayed;
        if (found.value === null) continue;
        position = found.value.position;
      }
      while (position + RECORD_BATCH_HEADER_BYTES <= segment.sizeBytes) {
        if (readFully(segment.descriptor(), header, RECORD_BATCH_HEADER_BYTES, position) < RECORD_BATCH_HEADER_BYTES) return replayed;
        const sizeBytes = LOG_OVERHEAD_BYTES + view.getInt32(LENGTH_OFFSET);
        const lastOffsetDelta = view.getInt32(LAST_OFFSET_DELTA_OFFSET);
        if (sizeBytes < RECORD_BATCH_HEADER_BYTES || sizeBytes > BATCH_BYTES_MAX || view.getInt8(MAGIC_OFFSET) !== MAGIC_V2 || lastOffsetDelta < 0) return replayed;
        const baseOffset = view.getInt32(BASE_OFFSET_OFFSET) * 0x100000000 + view.getUint32(BASE_OFFSET_OFFSET + 4);
        if (baseOffset >= from) {
          const fields = readProducerFields(header);
          if (fields !== null && validFields(fields)) {
            this.producers.update(fields, asOffset(baseOffset), asOffset(baseOffset + lastOffsetDelta), Number(view.getBigInt64(MAX_TIMESTAMP_OFFSET)), nowMs);
          }
          replayed++;
        }
        position += sizeBytes;
      }
    }
    return replayed;
  }

  /** Starts a periodic sync if flush.messages or flush.ms say so; the Broker's scheduler calls this on a timer. */
  maybeFlush(): void {
    if (this.closed || this.failure !== null) return;
    const due = this.unflushedMessages >= this.config.flushMessages || this.clock.nowMs() - this.lastSyncMs >= this.config.flushMs;
    if (due && this.recoveryPointOffset < this.logEnd) this.startSync();
  }

  /** Resolves once every offset <= `offset` is fdatasync'ed (what acks=all waits on). */
  flushed(offset: Offset): Promise<void> {
    if (offset < this.recoveryPointOffset) return Promise.resolve();
    if (this.failure !== null) return Promise.reject(this.failure);
    assert(offset < this.logEnd, "cannot wait for an offset not yet appended");
    const promise = new Promise<void>((resolve, reject) => this.waiters.push({ offset, resolve, reject }));
    this.startSync();
    return promise;
  }

  /** Resolves once everything appended so far is fdatasync'ed. */
  durable(): Promise<void> {
    if (this.logEnd === 0 || this.logEnd <= this.recoveryPointOffset) return this.syncRunning ?? Promise.resolve();
    return this.flushed(asOffset(this.logEnd - 1));
  }

  private startSync(): void {
    if (this.syncRunning !== null) {
      this.syncAgain = true;
      return;
    }
    // Started from a microtask so that syncRunning is assigned before runSyncs can clear it.
    this.syncRunning = Promise.resolve().then(() => this.runSyncs());
  }

  // Group commit: each round syncs everything written before it started; rounds repeat while someone waits for
  // bytes written during the previous round. Only one round runs at a time. syncRunning is cleared in the same
  // synchronous step that sees nobody waiting, so a waiter added by a resolved continuation starts a new round.
  private async runSyncs(): Promise<void> {
    try {
      for (;;) {
        this.syncAgain = false;
        const target = this.logEnd;
        const dirty = this.segments.filter((segment) => segment.needsSync());
        const directory = this.directoryNeedsSync;
        this.directoryNeedsSync = false;
        this.unflushedMessages = 0;
        this.lastSyncMs = this.clock.nowMs();
        for (const segment of dirty) {
          segment.persistIndexes();
          await segment.sync();
        }
        if (directory) await syncDirectory(this.dir);
        failpoint("sync.after_fdatasync");
        if (target > this.recoveryPointOffset) this.recoveryPointOffset = target;
        this.syncRoundsDone++;
        this.resolveWaiters();
        if (!this.closed && this.clock.nowMs() - this.lastCheckpointMs >= CHECKPOINT_INTERVAL_MS) await this.checkpoint(false);
        if (this.waiters.length === 0 && !this.syncAgain) {
          this.syncRunning = null;
          return;
        }
      }
    } catch (error) {
      // A failed fdatasync leaves the page cache in an unknown state (the "fsyncgate" lesson): the log goes offline.
      this.failure = error;
      this.syncRunning = null;
      for (const waiter of this.waiters.splice(0)) waiter.reject(error);
    }
  }

  private resolveWaiters(): void {
    const still: SyncWaiter[] = [];
    for (const waiter of this.waiters) {
      if (waiter.offset < this.recoveryPointOffset) waiter.resolve();
      else still.push(waiter);
    }
    this.waiters = still;
  }

  private async checkpoint(clean: boolean): Promise<void> {
    this.lastCheckpointMs = this.clock.nowMs();
    const active = this.active;
    const stat = fs.statSync(active.logPath, { bigint: true });
    await writeCheckpoint(this.dir, {
      recoveryPoint: this.recoveryPointOffset,
      logStartOffset: this.logStart,
      logEndOffset: this.logEnd,
      clean,
      activeSegmentBaseOffset: active.baseOffset,
      activeSegmentBytes: Number(stat.size),
      activeSegmentCtimeNs: stat.ctimeNs,
    });
  }

  // Index of the segment that would hold `offset` (the last one whose base offset <= offset), or 0.
  private floorSegmentIndex(offset: number): number {
    let lo = 0;
    let hi = this.segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.segments[mid]!.baseOffset <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  // Keeps the indexes of at most INDEX_CACHE_SEGMENTS_MAX inactive segments in memory.
  private touchIndexCache(segment: LogSegment): void {
    if (segment === this.active) return;
    const at = this.indexCache.indexOf(segment);
    if (at >= 0) this.indexCache.splice(at, 1);
    this.indexCache.push(segment);
    while (this.indexCache.length > INDEX_CACHE_SEGMENTS_MAX) {
      const evicted = this.indexCache.shift()!;
      // A rebuilt index must reach its file before its memory can go (it is synced by the next round).
      evicted.persistIndexes();
      evicted.unloadIndexes();
    }
  }

  /**
   * Whole batches starting with the one that contains `offset`, as byte ranges of one segment, at most `maxBytes`
   * in total but at least one batch when `minOneMessage` (Kafka's rule, so a large batch is never stuck) and only
   * batches below the high watermark. OFFSET_OUT_OF_RANGE is a result, not a throw.
   */
  read(offset: number, maxBytes: number, minOneMessage = true): Result<ReadResult, ReadError> {
    assert(!this.closed, "log is closed");
    if (!Number.isSafeInteger(offset) || offset < this.logStart || offset > this.logEnd) return err("offset_out_of_range");
    const empty: ReadResult = { ranges: [], firstOffset: null, nextOffset: asOffset(offset), highWatermark: this.highWater, logStartOffset: this.logStart };
    if (offset >= this.highWater) return ok(empty);
    for (let i = this.floorSegmentIndex(offset); i < this.segments.length; i++) {
      const segment = this.segments[i]!;
      const found = segment.findBatch(asOffset(offset));
      this.touchIndexCache(segment);
      if (!found.ok) return err("corrupt");
      if (found.value === null) continue;
      const first = found.value;
      let position = first.position + first.sizeBytes;
      let length = first.sizeBytes;
      let nextOffset = asOffset(first.lastOffset + 1);
      if (length > maxBytes && !minOneMessage) return ok(empty);
      while (position < segment.sizeBytes && length < maxBytes) {
        const header = segment.readHeader(position, nextOffset);
        if (!header.ok) return err("corrupt");
        if (header.value.baseOffset >= this.highWater || length + header.value.sizeBytes > maxBytes) break;
        length += header.value.sizeBytes;
        position += header.value.sizeBytes;
        nextOffset = asOffset(header.value.lastOffset + 1);
      }
      return ok({
        ranges: [{ fd: segment.descriptor(), path: segment.logPath, position: first.position, length }],
        firstOffset: first.baseOffset,
        nextOffset,
        highWatermark: this.highWater,
        logStartOffset: this.logStart,
      });
    }
    return ok(empty);
  }

  /**
   * The copying twin of read() + readRanges() in one pread: the same whole batches (same bounds, same
   * minOneMessage rule, one segment), read with a single pread of up to `maxBytes` and trimmed in memory at the
   * last whole batch, instead of a header pread per batch. Bytes go into `target` when it is large enough.
   * HOT PATH (bench/log.bench.ts read).
   */
  readBatches(offset: number, maxBytes: number, target?: Uint8Array, minOneMessage = true): Result<BatchesRead, ReadError> {
    assert(!this.closed, "log is closed");
    if (!Number.isSafeInteger(offset) || offset < this.logStart || offset > this.logEnd) return err("offset_out_of_range");
    const none = { bytes: new Uint8Array(0), firstOffset: null, nextOffset: asOffset(offset), highWatermark: this.highWater, logStartOffset: this.logStart };
    if (offset >= this.highWater) return ok(none);
    for (let i = this.floorSegmentIndex(offset); i < this.segments.length; i++) {
      const segment = this.segments[i]!;
      const found = segment.findBatch(asOffset(offset));
      this.touchIndexCache(segment);
      if (!found.ok) return err("corrupt");
      if (found.value === null) continue;
      const first = found.value;
      if (first.sizeBytes > maxBytes && !minOneMessage) return ok(none);
      const want = Math.min(Math.max(maxBytes, first.sizeBytes), segment.sizeBytes - first.position);
      const buffer = target !== undefined && target.length >= want ? target.subarray(0, want) : new Uint8Array(want);
      const got = readFully(segment.descriptor(), buffer, want, first.position);
      // Walk the headers in memory: keep whole batches below the high watermark.
      const view = new DataView(buffer.buffer, buffer.byteOffset, got);
      let end = 0;
      let nextOffset = asOffset(offset);
      while (end + RECORD_BATCH_HEADER_BYTES <= got) {
        const size = LOG_OVERHEAD_BYTES + view.getInt32(end + LENGTH_OFFSET);
        if (size < RECORD_BATCH_HEADER_BYTES || view.getInt8(end + MAGIC_OFFSET) !== MAGIC_V2) return err("corrupt");
        if (end + size > got) break;
        const baseOffset = view.getInt32(end + BASE_OFFSET_OFFSET) * 0x100000000 + view.getUint32(end + BASE_OFFSET_OFFSET + 4);
        if (baseOffset >= this.highWater) break;
        nextOffset = asOffset(baseOffset + view.getInt32(end + LAST_OFFSET_DELTA_OFFSET) + 1);
        end += size;
      }
      if (end === 0) return err("corrupt");
      return ok({ bytes: buffer.subarray(0, end), firstOffset: first.baseOffset, nextOffset, highWatermark: this.highWater, logStartOffset: this.logStart });
    }
    return ok(none);
  }

  /**
   * Reads byte ranges (from read()) into one buffer, the copy a non-sendfile transport sends: into `target` when
   * it is large enough (a reused buffer avoids allocating and zeroing per fetch), else into a new one.
   */
  readRanges(ranges: readonly ByteRange[], target?: Uint8Array): Uint8Array {
    let total = 0;
    for (const range of ranges) total += range.length;
    const out = target !== undefined && target.length >= total ? target.subarray(0, total) : new Uint8Array(total);
    let at = 0;
    for (const range of ranges) {
      const got = readFully(range.fd, out.subarray(at), range.length, range.position);
      assert(got === range.length, "segment range shorter than the log said");
      at += range.length;
    }
    return out;
  }

  /** ListOffsets EARLIEST: the log start offset. */
  earliestOffset(): Offset {
    return this.logStart;
  }

  /** ListOffsets LATEST: the high watermark (the offset the next record will get, single node). */
  latestOffset(): Offset {
    return this.highWater;
  }

  /**
   * ListOffsets by timestamp (Kafka's semantics): the first record whose timestamp >= `timestamp`, as its offset
   * (at least the log start offset) and timestamp; null when none. Found via the time index and a header walk to
   * the first batch whose maxTimestamp qualifies; inside an uncompressed CreateTime batch the record is exact,
   * inside a compressed or LogAppendTime batch the batch's base offset and maxTimestamp are returned (for
   * LogAppendTime that is exact: every record carries maxTimestamp).
   */
  offsetForTimestamp(timestamp: number): Result<TimestampOffset | null, "corrupt"> {
    for (const segment of this.segments) {
      if (segment.sizeBytes === 0 || segment.largestTimestamp() < timestamp) continue;
      const found = segment.findBatchByTimestamp(timestamp, this.logStart);
      this.touchIndexCache(segment);
      if (!found.ok) return err("corrupt");
      if (found.value === null) continue;
      const batch = found.value;
      if (batch.baseOffset >= this.highWater) return ok(null);
      // Record precision where the records can be read cheaply (uncompressed CreateTime), else the batch itself.
      const bytes = segment.readBatchBytes(batch);
      const record = bytes === null ? null : firstRecordAtOrAfter(bytes, timestamp);
      if (record !== null && record.ok && record.value !== null) {
        return ok({ offset: asOffset(Math.max(batch.baseOffset + record.value.offsetDelta, this.logStart)), timestamp: record.value.timestamp });
      }
      return ok({ offset: asOffset(Math.max(batch.baseOffset, this.logStart)), timestamp: batch.maxTimestamp });
    }
    return ok(null);
  }

  /** Largest timestamp per segment, oldest first (the active segment last). */
  segmentTimestamps(): { baseOffset: Offset; largestTimestamp: number }[] {
    return this.segments.map((segment) => ({ baseOffset: segment.baseOffset, largestTimestamp: segment.largestTimestamp() }));
  }

  // Runs maintenance steps (retention, swaps, close) one at a time; appends never wait for them.
  private exclusive<T>(step: () => Promise<T>): Promise<T> {
    const run = this.maintenance.then(step, step);
    this.maintenance = run.catch(() => undefined);
    return run;
  }

  private closeRetired(): void {
    for (const segment of this.retired.splice(0)) segment.close();
  }

  /**
   * Deletes the oldest non-active segments that retention.ms (by largest timestamp) or retention.bytes allow,
   * crash-safely: rename to `.deleted`, fsync the directory, unlink, fsync again. Returns how many went.
   */
  deleteRetainedSegments(nowMs: number): Promise<number> {
    return this.exclusive(async () => {
      if (this.closed) return 0;
      this.closeRetired();
      const { retentionMs, retentionBytes } = this.config;
      let total = this.sizeBytes;
      const victims: LogSegment[] = [];
      for (const segment of this.segments) {
        if (segment === this.active) break;
        const byTime = retentionMs >= 0 && nowMs - segment.largestTimestamp() > retentionMs;
        const bySize = retentionBytes >= 0 && total - segment.sizeBytes >= retentionBytes;
        if (!byTime && !bySize) break;
        victims.push(segment);
        total -= segment.sizeBytes;
      }
      if (victims.length === 0) return 0;
      // One synchronous block: the segment list, the renames and logStartOffset change together.
      for (const victim of victims) {
        victim.renameTo(".deleted");
        this.forget(victim);
      }
      this.segments.splice(0, victims.length);
      const start = asOffset(Math.max(this.logStart, this.segments[0]!.baseOffset));
      this.moveOffsets(start, this.highWater, this.logEnd);
      failpoint("retention.after_rename");
      await syncDirectory(this.dir);
      failpoint("retention.after_dir_sync");
      for (const victim of victims) {
        for (const path of segmentPaths(this.dir, victim.baseOffset, ".deleted")) unlinkIfExists(path);
      }
      await syncDirectory(this.dir);
      return victims.length;
    });
  }

  private forget(segment: LogSegment): void {
    const at = this.indexCache.indexOf(segment);
    if (at >= 0) this.indexCache.splice(at, 1);
    this.retired.push(segment);
  }

  /** Read-only facts about every non-active segment, oldest first (what the compaction cleaner may clean). */
  inactiveSegments(): SegmentInfo[] {
    const out: SegmentInfo[] = [];
    for (let i = 0; i + 1 < this.segments.length; i++) {
      const segment = this.segments[i]!;
      out.push({
        baseOffset: segment.baseOffset,
        nextOffset: this.segments[i + 1]!.baseOffset,
        logPath: segment.logPath,
        offsetIndexPath: segment.offsetIndex.file.path,
        timeIndexPath: segment.timeIndex.file.path,
        sizeBytes: segment.sizeBytes,
        largestTimestamp: segment.largestTimestamp(),
      });
    }
    return out;
  }

  /** Starts a new `.cleaned` segment at `baseOffset` for the cleaner to fill (see SegmentWriter). */
  createCleanedSegment(baseOffset: Offset): SegmentWriter {
    assert(!this.closed, "log is closed");
    // A leftover from an abandoned writer (not yet swept by a restart) must not block the cleaner.
    for (const path of segmentPaths(this.dir, baseOffset, ".cleaned")) unlinkIfExists(path);
    return new SegmentWriter(this.dir, baseOffset, this.config, this.clock.nowMs());
  }

  /**
   * Atomically replaces the contiguous non-active segments `oldBaseOffsets` by the finished `cleaned` writers (the
   * first cleaned base offset equals the first old one; all lie inside the old range). Protocol: manifest (commit
   * point) -> `.cleaned` to `.swap` -> old to `.deleted` -> `.swap` to final -> directory fsync -> unlink. A crash
   * anywhere leaves a log that reads as before (no manifest) or as after (manifest: recovery rolls forward).
   */
  replaceSegments(oldBaseOffsets: readonly Offset[], cleaned: readonly SegmentWriter[]): Promise<Result<void, ReplaceError>> {
    return this.exclusive(async (): Promise<Result<void, ReplaceError>> => {
      if (this.closed) return err("closed");
      this.closeRetired();
      assert(oldBaseOffsets.length > 0 && oldBaseOffsets.length <= SWAP_SEGMENTS_MAX, "swap needs 1..SWAP_SEGMENTS_MAX old segments");
      assert(cleaned.length > 0 && cleaned.length <= SWAP_SEGMENTS_MAX, "swap needs 1..SWAP_SEGMENTS_MAX cleaned segments");
      const first = this.segments.findIndex((segment) => segment.baseOffset === oldBaseOffsets[0]);
      if (first < 0) return err("segments_changed");
      for (let k = 0; k < oldBaseOffsets.length; k++) {
        const segment = this.segments[first + k];
        if (segment === undefined || segment.baseOffset !== oldBaseOffsets[k]) return err("segments_changed");
      }
      const after = this.segments[first + oldBaseOffsets.length];
      assert(after !== undefined, "the active segment is never swapped");
      assert(cleaned[0]!.baseOffset === oldBaseOffsets[0], "the first cleaned segment starts where the old ones did");
      for (let k = 0; k < cleaned.length; k++) {
        const writer = cleaned[k]!;
        assert(k === 0 || writer.baseOffset >= cleaned[k - 1]!.nextOffset, "cleaned segments must ascend without overlap");
        assert(writer.nextOffset <= after.baseOffset, "cleaned segment runs past the replaced range");
        await writer.finish();
      }
      // The segment list may have changed while finishing (only appends can run: they touch the active segment).
      const old = this.segments.slice(first, first + oldBaseOffsets.length);
      failpoint("swap.before_manifest");
      await writeSwapManifest(this.dir, { oldBaseOffsets: [...oldBaseOffsets], newBaseOffsets: cleaned.map((w) => w.baseOffset) });
      failpoint("swap.after_manifest");
      // One synchronous block: files renamed and the in-memory list switched together, so reads see before or after.
      for (const writer of cleaned) writer.segment.renameTo(".swap");
      failpoint("swap.after_rename_swap");
      for (const segment of old) {
        segment.renameTo(".deleted");
        this.forget(segment);
      }
      failpoint("swap.after_rename_deleted");
      for (const writer of cleaned) {
        writer.segment.renameTo("");
        writer.markInstalled();
      }
      this.segments.splice(first, old.length, ...cleaned.map((writer) => writer.segment));
      failpoint("swap.after_rename_final");
      await syncDirectory(this.dir);
      for (const segment of old) for (const path of segmentPaths(this.dir, segment.baseOffset, ".deleted")) unlinkIfExists(path);
      unlinkIfExists(join(this.dir, SWAP_MANIFEST_FILE_NAME));
      await syncDirectory(this.dir);
      failpoint("swap.after_delete");
      return ok(undefined);
    });
  }

  /** Replaces the settings (topic config change); segment limits apply from the next roll check. */
  updateConfig(config: LogConfig): void {
    this.config = config;
  }

  /**
   * Syncs everything, writes the clean checkpoint and closes every descriptor. The next open() then reads no
   * segment data. Waits for running syncs and maintenance steps first.
   */
  close(): Promise<void> {
    return this.exclusive(async () => {
      if (this.closed) return;
      if (this.syncRunning !== null) await this.syncRunning;
      this.closed = true;
      if (this.failure !== null) {
        closeAll(this.segments);
        this.closeRetired();
        return;
      }
      const active = this.active;
      active.onBecomeInactive();
      for (const segment of this.segments) {
        segment.persistIndexes();
        await segment.sync();
      }
      if (this.directoryNeedsSync) await syncDirectory(this.dir);
      // Kafka's snapshot on clean shutdown: the next open restores the state without replaying anything.
      await this.producerSnapshotsWritten();
      await writeProducerSnapshot(this.dir, this.logEnd, encodeProducerSnapshot(this.logEnd, this.producers.entries()));
      this.recoveryPointOffset = this.logEnd;
      this.resolveWaiters();
      await this.checkpoint(true);
      closeAll(this.segments);
      this.closeRetired();
    });
  }

  /** Closes descriptors without syncing or checkpointing (what a crash leaves; for tests and failure paths). */
  abandon(): void {
    this.closed = true;
    this.abandoned = true;
    closeAll(this.segments);
    this.closeRetired();
  }
}

// The producer fields of a batch header, or null when it carries no producer id (Kafka's hasProducerId: id > -1).
// The id is read as two int32 halves: no BigInt on the append path; ids beyond 2^53 stay inexact but above
// PRODUCER_ID_MAX, and are refused.
function readProducerFields(batch: Uint8Array): ProducerBatchFields | null {
  // The sign bit alone decides "no producer": checked on the byte, before anything else (the plain path).
  // HOT PATH (bench/idempotence.bench.ts): big-endian fields read byte by byte, no DataView per batch.
  if ((batch[PRODUCER_ID_OFFSET]! & 0x80) !== 0) return null;
  // Control batches (transaction markers) carry the producer id but no sequence: Kafka checks only data batches'
  // sequences. They are written by the broker itself (clients may not send them), and their epoch rules belong to
  // the transaction coordinator, which does not exist yet.
  if ((batch[ATTRIBUTES_OFFSET + 1]! & ATTRIBUTE_CONTROL_BIT) !== 0) return null;
  return {
    producerId: (readInt32(batch, PRODUCER_ID_OFFSET) * 0x100000000 + (readInt32(batch, PRODUCER_ID_OFFSET + 4) >>> 0)) as ProducerId,
    epoch: (readInt32(batch, PRODUCER_EPOCH_OFFSET) >> 16),
    firstSequence: readInt32(batch, BASE_SEQUENCE_OFFSET) as Sequence,
    lastOffsetDelta: readInt32(batch, LAST_OFFSET_DELTA_OFFSET),
  };
}

function readInt32(bytes: Uint8Array, at: number): number {
  return (bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!;
}

// Replay keeps only batches whose producer fields a check would have let through (others never came from us).
function validFields(fields: ProducerBatchFields): boolean {
  return fields.epoch >= 0 && fields.firstSequence >= 0 && Number.isSafeInteger(fields.producerId);
}

function closeAll(segments: readonly LogSegment[]): void {
  for (const segment of segments) segment.close();
}

function segmentPaths(dir: string, baseOffset: Offset, suffix: SegmentSuffix): string[] {
  return [LOG_FILE_EXTENSION, INDEX_FILE_EXTENSION, TIME_INDEX_FILE_EXTENSION].map((extension) => join(dir, segmentFileName(baseOffset, extension, suffix)));
}

// Base offsets of the `.log` files without suffix, ascending.
function listSegmentBases(dir: string): Offset[] {
  const bases: Offset[] = [];
  for (const name of fs.readdirSync(dir)) {
    const parsed = parseSegmentFileName(name);
    if (parsed !== null && parsed.suffix === "" && parsed.extension === LOG_FILE_EXTENSION) bases.push(parsed.baseOffset);
  }
  return bases.sort((a, b) => a - b);
}

/**
 * Start-up cleanup of interrupted protocols (synchronous, before any segment is opened): a committed swap (its
 * manifest exists) is rolled forward; then `.cleaned`, `.swap` (uncommitted), `.deleted`, our temp files and
 * indexes without a `.log` are removed. Returns whether anything changed (the caller fsyncs the directory).
 */
function completeInterruptedProtocols(dir: string): boolean {
  let changed = false;
  const manifest = readSwapManifest(dir);
  if (manifest.ok) {
    const newBases = new Set(manifest.value.newBaseOffsets);
    for (const base of manifest.value.oldBaseOffsets) {
      if (newBases.has(base)) continue;
      for (const path of [...segmentPaths(dir, base, ""), ...segmentPaths(dir, base, ".deleted")]) unlinkIfExists(path);
    }
    for (const base of manifest.value.newBaseOffsets) {
      const staged: SegmentSuffix | null = fs.existsSync(join(dir, segmentFileName(base, LOG_FILE_EXTENSION, ".swap")))
        ? ".swap"
        : fs.existsSync(join(dir, segmentFileName(base, LOG_FILE_EXTENSION, ".cleaned")))
          ? ".cleaned"
          : null;
      // Without a staged copy the final file is already the new one; with one, the final file (if any) is old.
      if (staged === null) continue;
      const finalPaths = segmentPaths(dir, base, "");
      const stagedPaths = segmentPaths(dir, base, staged);
      for (const path of finalPaths) unlinkIfExists(path);
      for (let k = 0; k < finalPaths.length; k++) {
        if (fs.existsSync(stagedPaths[k]!)) fs.renameSync(stagedPaths[k]!, finalPaths[k]!);
      }
    }
    syncDirectoryNow(dir);
    unlinkIfExists(join(dir, SWAP_MANIFEST_FILE_NAME));
    changed = true;
  } else if (manifest.error !== "missing") {
    // A torn manifest never committed (it is renamed into place only once complete); drop it, roll back.
    unlinkIfExists(join(dir, SWAP_MANIFEST_FILE_NAME));
    changed = true;
  }
  const names = fs.readdirSync(dir);
  const logs = new Set<string>();
  for (const name of names) {
    const parsed = parseSegmentFileName(name);
    if (parsed !== null && parsed.suffix === "" && parsed.extension === LOG_FILE_EXTENSION) logs.add(String(parsed.baseOffset));
  }
  for (const name of names) {
    const parsed = parseSegmentFileName(name);
    const orphanIndex = parsed !== null && parsed.suffix === "" && parsed.extension !== LOG_FILE_EXTENSION && !logs.has(String(parsed.baseOffset));
    // Only this module's temp files: other modules may keep their own files in the partition directory.
    const ownTemporary = name === CHECKPOINT_FILE_NAME + TEMPORARY_FILE_SUFFIX || name === SWAP_MANIFEST_FILE_NAME + TEMPORARY_FILE_SUFFIX;
    if ((parsed !== null && parsed.suffix !== "") || orphanIndex || ownTemporary) {
      unlinkIfExists(join(dir, name));
      changed = true;
    }
  }
  return changed;
}
