// One log segment: a `.log` file of whole v2 record batches plus its `.index` and `.timeindex`, named by the
// segment's base offset (20 digits, zero-padded, as Kafka names them):
//
//   <dir>/00000000000000368769.log        batches, back to back, baseOffset patched by the broker
//   <dir>/00000000000000368769.index      sparse offset index (offset-index.ts), a cache of the log
//   <dir>/00000000000000368769.timeindex  time index (time-index.ts), a cache of the log
//
// A transient suffix marks files of protocols in progress: `.cleaned` (compaction output being written), `.swap`
// (compaction output committed, being installed), `.deleted` (removed from the log, being unlinked).
//
// Reads never load the segment: they pread batch headers (61 bytes) to walk from an index position to the batch
// wanted and hand out byte ranges. Recovery is the only code that reads whole batches (to check their CRCs), one
// chunk at a time.
import * as fs from "node:fs";
import { join } from "node:path";
import { assert } from "../assert.ts";
import {
  type BatchFrameError,
  LOG_OVERHEAD_BYTES,
  MAGIC_OFFSET,
  MAGIC_V2,
  RECORD_BATCH_HEADER_BYTES,
  type RecordBatchHeader,
  readBatchFrame,
  readHeaderFields,
} from "../formats/record-batch-header.ts";
import { type Result, err, ok } from "../formats/result.ts";
import { BATCH_BYTES_MAX } from "../limits.ts";
import type { LogConfig } from "./log-config.ts";
import { type FilePosition, type Offset, RELATIVE_OFFSET_MAX, asOffset } from "./offsets.ts";
import { OffsetIndex } from "./offset-index.ts";
import { NO_TIMESTAMP, TimeIndex } from "./time-index.ts";

/** Digits in a segment file name (Kafka's zero-padded 20-digit base offset). */
export const SEGMENT_NAME_DIGITS = 20;
/** Extension of the batch file. */
export const LOG_FILE_EXTENSION = ".log";
/** Extension of the offset index. */
export const INDEX_FILE_EXTENSION = ".index";
/** Extension of the time index. */
export const TIME_INDEX_FILE_EXTENSION = ".timeindex";
/** Suffixes of files in a protocol step (see the top of this file). */
export type SegmentSuffix = "" | ".cleaned" | ".swap" | ".deleted";

// Recovery reads the log in chunks of this size (bounded memory, few syscalls); a batch larger than the chunk is
// read on its own into a buffer bounded by BATCH_BYTES_MAX.
const RECOVERY_CHUNK_BYTES = 1024 * 1024;

/** The name of a segment file: 20-digit base offset + extension + suffix. */
export function segmentFileName(baseOffset: Offset, extension: string, suffix: SegmentSuffix = ""): string {
  return String(baseOffset).padStart(SEGMENT_NAME_DIGITS, "0") + extension + suffix;
}

/** Parsed segment file name. */
export interface SegmentFileName {
  baseOffset: Offset;
  extension: string;
  suffix: SegmentSuffix;
}

const SEGMENT_NAME_PATTERN = /^(\d{20})(\.log|\.index|\.timeindex)(\.cleaned|\.swap|\.deleted)?$/;

/** Parses a segment file name, or null for any other file. */
export function parseSegmentFileName(name: string): SegmentFileName | null {
  const match = SEGMENT_NAME_PATTERN.exec(name);
  if (match === null) return null;
  const baseOffset = Number(match[1]);
  if (!Number.isSafeInteger(baseOffset)) return null;
  return { baseOffset: asOffset(baseOffset), extension: match[2]!, suffix: (match[3] ?? "") as SegmentSuffix };
}

/** Where and what one batch is, from its header alone. */
export interface BatchPosition {
  position: FilePosition;
  sizeBytes: number;
  baseOffset: Offset;
  lastOffset: Offset;
  maxTimestamp: number;
  attributes: number;
}

/** Why a header walk stopped before the end of the segment. */
export type HeaderError = "incomplete" | "bad_length" | "too_large" | "bad_magic" | "offset_order";

/** The outcome of a full CRC scan of a segment (recovery). */
export interface RecoveryScan {
  /** Bytes from the start that hold valid batches. */
  validBytes: number;
  /** lastOffset + 1 of the last valid batch, or null when none is valid. */
  nextOffset: Offset | null;
  /** The first invalid batch, or null when the whole file is valid. */
  invalid: { position: number; error: BatchFrameError | "offset_order" } | null;
}

// One scratch buffer for header preads: JS is single-threaded and every use is synchronous.
const headerScratch = new Uint8Array(RECORD_BATCH_HEADER_BYTES);
const headerView = new DataView(headerScratch.buffer);

/** One segment of a partition log. */
export class LogSegment {
  readonly offsetIndex: OffsetIndex;
  readonly timeIndex: TimeIndex;
  /** Bytes in the `.log` file. */
  sizeBytes: number;
  /** Offset after the last batch, once known (always for the active segment; for others, on demand). */
  nextOffset: Offset | null = null;
  /** Largest batch maxTimestamp seen by this process (or recovered), NO_TIMESTAMP when unknown. */
  maxTimestampSoFar = NO_TIMESTAMP;
  private offsetOfMaxTimestampSoFar: Offset;
  private bytesSinceLastIndexEntry = 0;
  private fd: number | null = null;
  // Bytes appended since the last fdatasync of the log file.
  private unsyncedLog = false;
  // Whether the index files still need their final fdatasync (set when the segment became inactive or was rebuilt).
  indexesNeedSync = false;
  private cachedLargestTimestamp: number | null = null;

  private constructor(
    readonly dir: string,
    /** Offset of the first batch the segment may hold (also its file name). */
    readonly baseOffset: Offset,
    /** Current suffix of its files. */
    public suffix: SegmentSuffix,
    private readonly config: LogConfig,
    /** Clock time when this process created or opened the segment (for segment.ms). */
    readonly createdMs: number,
    sizeBytes: number,
  ) {
    this.sizeBytes = sizeBytes;
    this.offsetOfMaxTimestampSoFar = baseOffset;
    this.offsetIndex = new OffsetIndex(join(dir, segmentFileName(baseOffset, INDEX_FILE_EXTENSION, suffix)), baseOffset, config.segmentIndexBytes);
    this.timeIndex = new TimeIndex(join(dir, segmentFileName(baseOffset, TIME_INDEX_FILE_EXTENSION, suffix)), baseOffset, config.segmentIndexBytes);
  }

  private cachedLogPath: string | null = null;

  /** Path of the `.log` file (cached: reads hand it out with every range). */
  get logPath(): string {
    if (this.cachedLogPath === null) this.cachedLogPath = join(this.dir, segmentFileName(this.baseOffset, LOG_FILE_EXTENSION, this.suffix));
    return this.cachedLogPath;
  }

  /** Creates a new empty segment (its `.log` file now, its indexes on the first persist). */
  static create(dir: string, baseOffset: Offset, config: LogConfig, nowMs: number, suffix: SegmentSuffix = ""): LogSegment {
    const segment = new LogSegment(dir, baseOffset, suffix, config, nowMs, 0);
    // 'wx': a leftover file of the same name is a bug in the caller's bookkeeping, not something to append to.
    segment.fd = fs.openSync(segment.logPath, "wx+");
    fs.closeSync(segment.fd);
    segment.fd = fs.openSync(segment.logPath, "a+");
    segment.nextOffset = baseOffset;
    segment.offsetIndex.file.resetEmpty();
    segment.timeIndex.file.resetEmpty();
    return segment;
  }

  /** Opens an existing segment: one stat, no data read; indexes load lazily. */
  static open(dir: string, baseOffset: Offset, config: LogConfig, nowMs: number, suffix: SegmentSuffix = ""): LogSegment {
    const path = join(dir, segmentFileName(baseOffset, LOG_FILE_EXTENSION, suffix));
    return new LogSegment(dir, baseOffset, suffix, config, nowMs, fs.statSync(path).size);
  }

  /** The file descriptor of the `.log` (opened for append and read on first use). */
  descriptor(): number {
    if (this.fd === null) this.fd = fs.openSync(this.logPath, "a+");
    return this.fd;
  }

  /** Makes sure both indexes are in memory and sane, rebuilding them from the log when not. */
  ensureIndexes(): void {
    if (this.offsetIndex.file.loaded && this.timeIndex.file.loaded) return;
    const offsetError = this.offsetIndex.file.loaded ? null : this.offsetIndex.load(this.sizeBytes);
    const timeError = this.timeIndex.file.loaded ? null : this.timeIndex.load();
    if (offsetError !== null || timeError !== null) this.rebuildIndexes();
  }

  /** Rebuilds both indexes by walking the batch headers (no CRC: the log below the recovery point is trusted). */
  rebuildIndexes(): HeaderError | null {
    this.offsetIndex.file.resetEmpty();
    this.timeIndex.file.resetEmpty();
    this.resetAppendState();
    let position = 0;
    let expected = this.baseOffset;
    while (position < this.sizeBytes) {
      const header = this.readHeader(position, expected);
      if (!header.ok) return header.error;
      this.indexBatch(header.value);
      expected = asOffset(header.value.lastOffset + 1);
      position += header.value.sizeBytes;
    }
    this.nextOffset = expected;
    this.indexesNeedSync = true;
    return null;
  }

  private resetAppendState(): void {
    this.bytesSinceLastIndexEntry = 0;
    this.maxTimestampSoFar = NO_TIMESTAMP;
    this.offsetOfMaxTimestampSoFar = this.baseOffset;
  }

  // Kafka's LogSegment.append index rule: the first batch after index.interval.bytes of unindexed log gets an
  // offset-index entry keyed by its last offset, and the time index records the running max timestamp then.
  private indexBatch(batch: BatchPosition): void {
    if (batch.maxTimestamp > this.maxTimestampSoFar) {
      this.maxTimestampSoFar = batch.maxTimestamp;
      this.offsetOfMaxTimestampSoFar = batch.lastOffset;
    }
    if (this.bytesSinceLastIndexEntry > this.config.indexIntervalBytes) {
      this.offsetIndex.append(batch.lastOffset, batch.position);
      this.timeIndex.maybeAppend(this.maxTimestampSoFar, this.offsetOfMaxTimestampSoFar);
      this.bytesSinceLastIndexEntry = 0;
    }
    this.bytesSinceLastIndexEntry += batch.sizeBytes;
    this.cachedLargestTimestamp = null;
  }

  /**
   * Reads only the end of the segment: the last offset-index entry straight from its file, then batch headers
   * from there to the end. Sets nextOffset and the append state. Used on a clean start for the active segment, so
   * that start-up reads at most index.interval.bytes + one batch of headers. False when the walk does not land
   * exactly on the end of the file (the caller then treats the segment as unclean).
   */
  loadTail(): boolean {
    let position = 0;
    let expected = this.baseOffset;
    const lastEntry = this.offsetIndex.file.readLastEntryFromFile();
    if (lastEntry !== null) {
      const view = new DataView(lastEntry.buffer, lastEntry.byteOffset, lastEntry.byteLength);
      const relative = view.getUint32(0);
      const entryPosition = view.getUint32(4);
      if (entryPosition < this.sizeBytes && relative <= RELATIVE_OFFSET_MAX) {
        const header = this.readHeader(entryPosition, this.baseOffset);
        if (header.ok && header.value.lastOffset === this.baseOffset + relative) position = entryPosition;
      }
    }
    this.resetAppendState();
    const lastTime = this.timeIndex.lastEntryFromFile();
    if (lastTime !== null) {
      this.maxTimestampSoFar = lastTime.timestamp;
      this.offsetOfMaxTimestampSoFar = lastTime.offset;
    }
    while (position < this.sizeBytes) {
      const header = this.readHeader(position, expected);
      if (!header.ok) return false;
      const batch = header.value;
      if (batch.maxTimestamp > this.maxTimestampSoFar) {
        this.maxTimestampSoFar = batch.maxTimestamp;
        this.offsetOfMaxTimestampSoFar = batch.lastOffset;
      }
      // Kafka counts the indexed batch itself into the next interval, so every batch walked here counts.
      this.bytesSinceLastIndexEntry += batch.sizeBytes;
      expected = asOffset(batch.lastOffset + 1);
      position += batch.sizeBytes;
    }
    if (position !== this.sizeBytes) return false;
    this.nextOffset = expected;
    return true;
  }

  /**
   * Reads and checks the header of the batch at `position` (length, magic, offsets >= `minBaseOffset` and inside
   * this segment), without the CRC. Never throws on bad bytes.
   */
  readHeader(position: number, minBaseOffset: Offset): Result<BatchPosition, HeaderError> {
    const available = this.sizeBytes - position;
    if (available < RECORD_BATCH_HEADER_BYTES) return err("incomplete");
    const read = fs.readSync(this.descriptor(), headerScratch, 0, RECORD_BATCH_HEADER_BYTES, position);
    if (read < RECORD_BATCH_HEADER_BYTES) return err("incomplete");
    const length = headerView.getInt32(LOG_OVERHEAD_BYTES - 4);
    const sizeBytes = LOG_OVERHEAD_BYTES + length;
    if (length < RECORD_BATCH_HEADER_BYTES - LOG_OVERHEAD_BYTES) return err("bad_length");
    if (sizeBytes > BATCH_BYTES_MAX) return err("too_large");
    if (headerView.getInt8(MAGIC_OFFSET) !== MAGIC_V2) return err("bad_magic");
    if (sizeBytes > available) return err("incomplete");
    const fields = readHeaderFields(headerView, sizeBytes);
    return this.checkOffsets(fields, position, minBaseOffset);
  }

  private checkOffsets(fields: RecordBatchHeader, position: number, minBaseOffset: Offset): Result<BatchPosition, HeaderError> {
    const lastOffset = fields.baseOffset + fields.lastOffsetDelta;
    if (
      !Number.isSafeInteger(fields.baseOffset) ||
      fields.baseOffset < minBaseOffset ||
      fields.lastOffsetDelta < 0 ||
      lastOffset - this.baseOffset > RELATIVE_OFFSET_MAX
    ) {
      return err("offset_order");
    }
    return ok({
      position: position as FilePosition,
      sizeBytes: fields.sizeBytes,
      baseOffset: fields.baseOffset as Offset,
      lastOffset: lastOffset as Offset,
      maxTimestamp: fields.maxTimestamp,
      attributes: fields.attributes,
    });
  }

  /**
   * Recovery: reads every batch in chunks, checks length, magic, CRC and offset order, and rebuilds both indexes
   * from the valid prefix. Does not truncate: the caller decides between "torn tail" and "corrupt middle".
   */
  recover(): RecoveryScan {
    this.offsetIndex.file.resetEmpty();
    this.timeIndex.file.resetEmpty();
    this.resetAppendState();
    const fd = this.descriptor();
    let chunk = new Uint8Array(Math.min(RECOVERY_CHUNK_BYTES, Math.max(this.sizeBytes, RECORD_BATCH_HEADER_BYTES)));
    let chunkStart = 0;
    let chunkLength = 0;
    let position = 0;
    let expected = this.baseOffset;
    let invalid: RecoveryScan["invalid"] = null;
    while (position < this.sizeBytes) {
      let frame = readBatchFrame(chunk.subarray(0, chunkLength), position - chunkStart);
      if (!frame.ok && frame.error === "incomplete") {
        // Refill from `position`. A batch larger than the chunk gets a buffer of its own, bounded by BATCH_BYTES_MAX
        // and by the file, so a garbled length cannot make us allocate more than the file could hold.
        chunkStart = position;
        chunkLength = readFully(fd, chunk, Math.min(chunk.length, this.sizeBytes - position), position);
        frame = readBatchFrame(chunk.subarray(0, chunkLength), 0);
        if (!frame.ok && frame.error === "incomplete" && chunkLength >= LOG_OVERHEAD_BYTES) {
          const sizeBytes = LOG_OVERHEAD_BYTES + new DataView(chunk.buffer, chunk.byteOffset, LOG_OVERHEAD_BYTES).getInt32(LOG_OVERHEAD_BYTES - 4);
          if (sizeBytes > chunk.length && sizeBytes <= BATCH_BYTES_MAX && sizeBytes <= this.sizeBytes - position) {
            chunk = new Uint8Array(sizeBytes);
            chunkLength = readFully(fd, chunk, sizeBytes, position);
            frame = readBatchFrame(chunk.subarray(0, chunkLength), 0);
          }
        }
      }
      if (!frame.ok) {
        invalid = { position, error: frame.error };
        break;
      }
      const checked = this.checkOffsets(frame.value, position, expected);
      if (!checked.ok) {
        invalid = { position, error: "offset_order" };
        break;
      }
      this.indexBatch(checked.value);
      expected = asOffset(checked.value.lastOffset + 1);
      position += frame.value.sizeBytes;
    }
    this.nextOffset = expected;
    this.indexesNeedSync = true;
    return { validBytes: position, nextOffset: position === 0 ? null : expected, invalid };
  }

  /**
   * After an invalid batch at `position`: is there any CRC-valid batch with offsets >= `minBaseOffset` later in
   * this file? Tries every byte position (the invalid batch's length cannot be trusted), cheaply filtering on the
   * magic byte and a sane length before checking a CRC. Only runs when recovery found damage.
   */
  hasValidBatchAfter(position: number, minBaseOffset: Offset): boolean {
    const fd = this.descriptor();
    const chunk = new Uint8Array(RECOVERY_CHUNK_BYTES);
    for (let start = position + 1; start + RECORD_BATCH_HEADER_BYTES <= this.sizeBytes; ) {
      const length = readFully(fd, chunk, Math.min(chunk.length, this.sizeBytes - start), start);
      const last = length - RECORD_BATCH_HEADER_BYTES;
      for (let i = 0; i <= last; i++) {
        if (chunk[i + MAGIC_OFFSET] !== MAGIC_V2) continue;
        const view = new DataView(chunk.buffer, i, RECORD_BATCH_HEADER_BYTES);
        const sizeBytes = LOG_OVERHEAD_BYTES + view.getInt32(LOG_OVERHEAD_BYTES - 4);
        if (sizeBytes < RECORD_BATCH_HEADER_BYTES || sizeBytes > BATCH_BYTES_MAX || start + i + sizeBytes > this.sizeBytes) continue;
        const baseOffset = Number(view.getBigInt64(0));
        if (baseOffset < minBaseOffset || baseOffset - this.baseOffset > RELATIVE_OFFSET_MAX) continue;
        const batch = new Uint8Array(sizeBytes);
        if (readFully(fd, batch, sizeBytes, start + i) === sizeBytes && readBatchFrame(batch, 0).ok) return true;
      }
      if (length < chunk.length) break;
      start += last + 1;
    }
    return false;
  }

  /** Cuts the log (and its indexes) at `position`, which must be a batch boundary found by recover(). */
  truncateTo(position: number, nextOffset: Offset | null): void {
    assert(position <= this.sizeBytes, "truncation past the end");
    fs.ftruncateSync(this.descriptor(), position);
    this.sizeBytes = position;
    this.nextOffset = nextOffset ?? this.baseOffset;
    if (this.offsetIndex.file.loaded) this.offsetIndex.truncateToPosition(position);
    if (this.timeIndex.file.loaded) this.timeIndex.truncateToOffset(this.nextOffset);
    this.unsyncedLog = true;
  }

  /** True when appending `sizeBytes` ending at `lastOffset` needs a new segment first (size, index, offset range). */
  shouldRollFor(sizeBytes: number, lastOffset: Offset, nowMs: number): boolean {
    if (this.sizeBytes === 0) return false;
    if (this.sizeBytes + sizeBytes > this.config.segmentBytes) return true;
    if (lastOffset - this.baseOffset > RELATIVE_OFFSET_MAX) return true;
    if (nowMs - this.createdMs >= this.config.segmentMs) return true;
    this.ensureIndexes();
    return this.offsetIndex.isFull() || this.timeIndex.isFull();
  }

  /**
   * Appends one batch whose offsets are already final. HOT PATH (bench/log.bench.ts): one write syscall (more only
   * on a short write), index bookkeeping in memory. On a write error the file is cut back so no partial batch
   * stays behind, and the error is rethrown (a disk error takes the partition offline).
   */
  append(batch: Uint8Array, baseOffset: Offset, lastOffset: Offset, maxTimestamp: number): FilePosition {
    assert(this.nextOffset !== null && baseOffset >= this.nextOffset, "appended offsets must ascend");
    assert(lastOffset - this.baseOffset <= RELATIVE_OFFSET_MAX, "batch outside the segment's offset range");
    this.ensureIndexes();
    const position = this.sizeBytes as FilePosition;
    const fd = this.descriptor();
    try {
      let written = 0;
      while (written < batch.length) written += fs.writeSync(fd, batch, written, batch.length - written);
    } catch (error) {
      fs.ftruncateSync(fd, position);
      throw error;
    }
    this.sizeBytes += batch.length;
    this.nextOffset = asOffset(lastOffset + 1);
    this.unsyncedLog = true;
    this.indexBatch({ position, sizeBytes: batch.length, baseOffset, lastOffset, maxTimestamp, attributes: 0 });
    return position;
  }

  /** Finishes the segment's indexes when it stops being the active one (Kafka's onBecomeInactiveSegment). */
  onBecomeInactive(): void {
    this.ensureIndexes();
    this.timeIndex.maybeAppend(this.maxTimestampSoFar, this.offsetOfMaxTimestampSoFar);
    this.offsetIndex.file.persist();
    this.timeIndex.file.persist();
    this.indexesNeedSync = true;
  }

  /** Writes pending index entries to the OS (they are synced with the segment when it becomes inactive). */
  persistIndexes(): void {
    this.offsetIndex.file.persist();
    this.timeIndex.file.persist();
  }

  /** True when the log or (for a finished segment) its indexes have bytes not yet fdatasync'ed. */
  needsSync(): boolean {
    return this.unsyncedLog || this.indexesNeedSync;
  }

  /** fdatasyncs the log, and the indexes once they are final; off the event loop. */
  async sync(): Promise<void> {
    if (this.unsyncedLog) {
      this.unsyncedLog = false;
      const fd = this.descriptor();
      await new Promise<void>((resolve, reject) => fs.fdatasync(fd, (error) => (error ? reject(error) : resolve())));
    }
    if (this.indexesNeedSync) {
      this.indexesNeedSync = false;
      await this.offsetIndex.file.sync();
      await this.timeIndex.file.sync();
    }
  }

  /** Blocking sync of everything (close paths). */
  syncNow(): void {
    if (this.unsyncedLog) {
      this.unsyncedLog = false;
      fs.fdatasyncSync(this.descriptor());
    }
    this.offsetIndex.file.syncNow();
    this.timeIndex.file.syncNow();
    this.indexesNeedSync = false;
  }

  /**
   * The batch containing `target` (the first batch whose lastOffset >= target), found via the offset index and a
   * forward walk over headers; null when the segment has no such batch; an error when a header is damaged.
   */
  findBatch(target: Offset): Result<BatchPosition | null, HeaderError> {
    this.ensureIndexes();
    const start = this.offsetIndex.lookup(target);
    let result = this.walkFrom(start.position, target);
    if (!result.ok && start.position !== 0) {
      // The index pointed somewhere that is not a batch: it is a cache, so rebuild it and try once more.
      const rebuilt = this.rebuildIndexes();
      if (rebuilt !== null) return err(rebuilt);
      result = this.walkFrom(this.offsetIndex.lookup(target).position, target);
    }
    return result;
  }

  private walkFrom(position: number, target: Offset): Result<BatchPosition | null, HeaderError> {
    while (position < this.sizeBytes) {
      const header = this.readHeader(position, this.baseOffset);
      if (!header.ok) return header;
      if (header.value.lastOffset >= target) return ok(header.value);
      position += header.value.sizeBytes;
    }
    return ok(null);
  }

  /**
   * The first batch at or after `startOffset` whose maxTimestamp >= `timestamp` (Kafka's findOffsetByTimestamp at
   * batch granularity), via the time index; null when none.
   */
  findBatchByTimestamp(timestamp: number, startOffset: Offset): Result<BatchPosition | null, HeaderError> {
    this.ensureIndexes();
    // Largest entry with a timestamp strictly below the target: every batch up to its offset is below the target,
    // so the scan may start there (using <= would skip an earlier batch carrying the same timestamp).
    const entry = this.timeIndex.lookup(timestamp - 1);
    const from = entry === null ? startOffset : asOffset(Math.max(entry.offset, startOffset));
    let position: number = this.offsetIndex.lookup(from).position;
    while (position < this.sizeBytes) {
      const header = this.readHeader(position, this.baseOffset);
      if (!header.ok) return header;
      if (header.value.lastOffset >= startOffset && header.value.maxTimestamp >= timestamp) return ok(header.value);
      position += header.value.sizeBytes;
    }
    return ok(null);
  }

  /** Reads the whole batch at `position` (its size was checked against BATCH_BYTES_MAX by readHeader). */
  readBatchBytes(batch: BatchPosition): Uint8Array | null {
    const bytes = new Uint8Array(batch.sizeBytes);
    return readFully(this.descriptor(), bytes, batch.sizeBytes, batch.position) === batch.sizeBytes ? bytes : null;
  }

  /** The largest timestamp in the segment: the time index's last entry, else the file's mtime (as Kafka does). */
  largestTimestamp(): number {
    if (this.maxTimestampSoFar !== NO_TIMESTAMP) return this.maxTimestampSoFar;
    if (this.cachedLargestTimestamp !== null) return this.cachedLargestTimestamp;
    const last = this.timeIndex.file.loaded ? this.timeIndex.lastEntry() : this.timeIndex.lastEntryFromFile();
    this.cachedLargestTimestamp = last !== null ? last.timestamp : Math.floor(fs.statSync(this.logPath).mtimeMs);
    return this.cachedLargestTimestamp;
  }

  /** Renames all three files to `suffix` (index files are written first so all three exist). */
  renameTo(suffix: SegmentSuffix): void {
    this.persistIndexes();
    const from = this.logPath;
    const fromIndex = this.offsetIndex.file.path;
    const fromTime = this.timeIndex.file.path;
    this.suffix = suffix;
    this.cachedLogPath = null;
    fs.renameSync(from, this.logPath);
    this.offsetIndex.file.path = join(this.dir, segmentFileName(this.baseOffset, INDEX_FILE_EXTENSION, suffix));
    this.timeIndex.file.path = join(this.dir, segmentFileName(this.baseOffset, TIME_INDEX_FILE_EXTENSION, suffix));
    renameIfExists(fromIndex, this.offsetIndex.file.path);
    renameIfExists(fromTime, this.timeIndex.file.path);
  }

  /** Drops index memory for an inactive segment (reloaded on the next lookup); returns bytes freed. */
  unloadIndexes(): number {
    const bytes = this.offsetIndex.file.memoryBytes() + this.timeIndex.file.memoryBytes();
    const a = this.offsetIndex.file.unload();
    const b = this.timeIndex.file.unload();
    return a && b ? bytes : 0;
  }

  /** Bytes of index memory this segment holds. */
  indexMemoryBytes(): number {
    return this.offsetIndex.file.memoryBytes() + this.timeIndex.file.memoryBytes();
  }

  /** Closes every descriptor (files stay). */
  close(): void {
    if (this.fd !== null) {
      fs.closeSync(this.fd);
      this.fd = null;
    }
    this.offsetIndex.file.closeFd();
    this.timeIndex.file.closeFd();
  }

  /** Closes and unlinks all three files (under whatever suffix they carry). */
  deleteFiles(): void {
    this.close();
    for (const path of [this.logPath, this.offsetIndex.file.path, this.timeIndex.file.path]) unlinkIfExists(path);
  }
}

/** Reads up to `length` bytes at `position` into `buffer`, looping over short reads; returns bytes read. */
export function readFully(fd: number, buffer: Uint8Array, length: number, position: number): number {
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, buffer, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

/** Renames a file, ignoring a missing source. */
export function renameIfExists(from: string, to: string): void {
  try {
    fs.renameSync(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
}

/** Unlinks a file, ignoring a missing one. */
export function unlinkIfExists(path: string): void {
  try {
    fs.unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
}
