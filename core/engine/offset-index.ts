// A segment's sparse offset index (`.index`), Kafka's layout: entries of (relativeOffset u32 BE, position u32 BE),
// one per index.interval.bytes of log, keyed by the LAST offset of the batch that starts at `position` (as Kafka's
// LogSegment.append writes them). Lookup returns the largest entry whose offset <= target; the batch containing the
// target starts at that position or later, so the reader scans batch headers forward from there.
//
//   0                4                8
//   +----------------+----------------+
//   | relativeOffset | position       |   x count, ascending in both fields
//   +----------------+----------------+
import { assert } from "../assert.ts";
import {
  OFFSET_INDEX_ENTRY_BYTES,
  readOffsetIndexPosition,
  readOffsetIndexRelativeOffset,
  searchOffsetIndex,
  writeOffsetIndexEntry,
} from "../formats/index-search.ts";
import { IndexFile, type IndexLoadError } from "./index-file.ts";
import { type FilePosition, type Offset, RELATIVE_OFFSET_MAX, asOffset } from "./offsets.ts";

/** One offset-index entry in absolute terms. */
export interface OffsetPosition {
  offset: Offset;
  position: FilePosition;
}

/** The `.index` of one segment. */
export class OffsetIndex {
  readonly file: IndexFile;

  constructor(
    path: string,
    /** Base offset of the segment (relative offsets are counted from it). */
    readonly baseOffset: Offset,
    segmentIndexBytes: number,
  ) {
    this.file = new IndexFile(path, OFFSET_INDEX_ENTRY_BYTES, Math.floor(segmentIndexBytes / OFFSET_INDEX_ENTRY_BYTES));
  }

  /**
   * Loads the file and checks it: size a whole number of entries, offsets strictly ascending and inside the
   * segment, positions ascending and inside the log (`logSizeBytes`). Any failure means "rebuild from the log".
   */
  load(logSizeBytes: number): IndexLoadError | null {
    const error = this.file.loadRaw();
    if (error !== null) return error;
    const entries = this.file.entries();
    let lastRelative = -1;
    let lastPosition = -1;
    for (let slot = 0; slot < this.file.count; slot++) {
      const relative = readOffsetIndexRelativeOffset(entries, slot);
      const position = readOffsetIndexPosition(entries, slot);
      if (relative <= lastRelative || relative > RELATIVE_OFFSET_MAX || position <= lastPosition || position >= logSizeBytes) {
        this.file.resetEmpty();
        return "garbled";
      }
      lastRelative = relative;
      lastPosition = position;
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

  /** Adds an entry: the batch ending at `lastOffset` starts at `position`. Both must exceed the last entry's. */
  append(lastOffset: Offset, position: FilePosition): void {
    const relative = lastOffset - this.baseOffset;
    assert(relative >= 0 && relative <= RELATIVE_OFFSET_MAX, "offset outside the segment");
    const count = this.file.count;
    if (count > 0) {
      const entries = this.file.entries();
      assert(relative > readOffsetIndexRelativeOffset(entries, count - 1), "offset index entries must ascend");
      assert(position > readOffsetIndexPosition(entries, count - 1), "offset index positions must ascend");
    }
    const slot = this.file.nextSlot();
    writeOffsetIndexEntry(this.file.entries(), slot, relative, position);
  }

  /** Largest entry whose offset <= target, or (baseOffset, 0) when there is none: where to start scanning. */
  lookup(target: Offset): OffsetPosition {
    const entries = this.file.entries();
    const slot = searchOffsetIndex(entries, this.file.count, target - this.baseOffset);
    if (slot < 0) return { offset: this.baseOffset, position: 0 as FilePosition };
    return {
      offset: asOffset(this.baseOffset + readOffsetIndexRelativeOffset(entries, slot)),
      position: readOffsetIndexPosition(entries, slot) as FilePosition,
    };
  }

  /** Entry `slot` in absolute terms. */
  entry(slot: number): OffsetPosition {
    const entries = this.file.entries();
    return {
      offset: asOffset(this.baseOffset + readOffsetIndexRelativeOffset(entries, slot)),
      position: readOffsetIndexPosition(entries, slot) as FilePosition,
    };
  }

  /** Drops every entry whose position is >= `position` (the log was truncated there). */
  truncateToPosition(position: number): void {
    const entries = this.file.entries();
    let keep = this.file.count;
    while (keep > 0 && readOffsetIndexPosition(entries, keep - 1) >= position) keep--;
    this.file.truncateEntries(keep);
  }
}
