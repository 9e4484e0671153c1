// A segment's time index (`.timeindex`), Kafka's layout: entries of (timestamp i64 BE, relativeOffset u32 BE).
// An entry (T, o) says: the largest timestamp among the batches up to and including offset o is T. Entries are
// only added when T grows (Kafka's TimeIndex.maybeAppend), at index intervals and when the segment stops being
// active, so the last entry holds the segment's largest timestamp (what retention.ms compares against).
//
//   0                                8                12
//   +--------------------------------+----------------+
//   | timestamp                      | relativeOffset |   x count, timestamps strictly ascending
//   +--------------------------------+----------------+
import { assert } from "../assert.ts";
import {
  TIME_INDEX_ENTRY_BYTES,
  readTimeIndexRelativeOffset,
  readTimeIndexTimestamp,
  searchTimeIndex,
  writeTimeIndexEntry,
} from "../formats/index-search.ts";
import { IndexFile, type IndexLoadError } from "./index-file.ts";
import { type Offset, RELATIVE_OFFSET_MAX, asOffset } from "./offsets.ts";

/** One time-index entry in absolute terms. */
export interface TimestampOffset {
  timestamp: number;
  offset: Offset;
}

/** Kafka's "no timestamp" value (RecordBatch.NO_TIMESTAMP). */
export const NO_TIMESTAMP = -1;

/** The `.timeindex` of one segment. */
export class TimeIndex {
  readonly file: IndexFile;

  constructor(
    path: string,
    /** Base offset of the segment. */
    readonly baseOffset: Offset,
    segmentIndexBytes: number,
  ) {
    this.file = new IndexFile(path, TIME_INDEX_ENTRY_BYTES, Math.floor(segmentIndexBytes / TIME_INDEX_ENTRY_BYTES));
  }

  /** Loads the file and checks that timestamps strictly ascend and offsets ascend inside the segment. */
  load(): IndexLoadError | null {
    const error = this.file.loadRaw();
    if (error !== null) return error;
    const entries = this.file.entries();
    let lastTimestamp = -Infinity;
    let lastRelative = -1;
    for (let slot = 0; slot < this.file.count; slot++) {
      const timestamp = readTimeIndexTimestamp(entries, slot);
      const relative = readTimeIndexRelativeOffset(entries, slot);
      if (timestamp <= lastTimestamp || relative < lastRelative || relative > RELATIVE_OFFSET_MAX) {
        this.file.resetEmpty();
        return "garbled";
      }
      lastTimestamp = timestamp;
      lastRelative = relative;
    }
    return null;
  }

  /** Number of entries. */
  get entryCount(): number {
    return this.file.count;
  }

  /** True when another entry would exceed segment.index.bytes. */
  isFull(): boolean {
    return this.file.isFull();
  }

  /** The last entry (largest timestamp), or null when empty. */
  lastEntry(): TimestampOffset | null {
    if (this.file.count === 0) return null;
    return this.entry(this.file.count - 1);
  }

  /** The last entry read straight from the file without loading the index (null if none or malformed). */
  lastEntryFromFile(): TimestampOffset | null {
    const bytes = this.file.readLastEntryFromFile();
    if (bytes === null) return null;
    const relative = readTimeIndexRelativeOffset(bytes, 0);
    if (relative > RELATIVE_OFFSET_MAX) return null;
    return { timestamp: readTimeIndexTimestamp(bytes, 0), offset: asOffset(this.baseOffset + relative) };
  }

  /**
   * Adds (timestamp, offset) if timestamp exceeds the last entry's (Kafka's maybeAppend). Returns whether it did.
   * `skipFullCheck` is for the final entry written when the segment becomes inactive; it still respects the bound.
   */
  maybeAppend(timestamp: number, offset: Offset): boolean {
    if (timestamp === NO_TIMESTAMP) return false;
    const relative = offset - this.baseOffset;
    assert(relative >= 0 && relative <= RELATIVE_OFFSET_MAX, "offset outside the segment");
    const last = this.lastEntry();
    if (last !== null && timestamp <= last.timestamp) return false;
    if (last !== null) assert(offset >= last.offset, "time index offsets must not go back");
    if (this.file.isFull()) return false;
    const slot = this.file.nextSlot();
    writeTimeIndexEntry(this.file.entries(), slot, timestamp, relative);
    return true;
  }

  /** Largest entry whose timestamp <= target, or null when there is none. */
  lookup(targetTimestamp: number): TimestampOffset | null {
    const slot = searchTimeIndex(this.file.entries(), this.file.count, targetTimestamp);
    return slot < 0 ? null : this.entry(slot);
  }

  /** Entry `slot` in absolute terms. */
  entry(slot: number): TimestampOffset {
    const entries = this.file.entries();
    return {
      timestamp: readTimeIndexTimestamp(entries, slot),
      offset: asOffset(this.baseOffset + readTimeIndexRelativeOffset(entries, slot)),
    };
  }

  /** Drops every entry whose offset is >= `offset` (the log was truncated before it). */
  truncateToOffset(offset: Offset): void {
    const entries = this.file.entries();
    let keep = this.file.count;
    while (keep > 0 && this.baseOffset + readTimeIndexRelativeOffset(entries, keep - 1) >= offset) keep--;
    this.file.truncateEntries(keep);
  }
}
