// Writes a new segment file set under the `.cleaned` suffix for the compaction cleaner: batches keep the offsets
// they already carry (compaction preserves offsets and leaves gaps), indexes are built as the batches go in.
// PartitionLog.replaceSegments() installs finished writers atomically; abort() throws the files away.
import { assert } from "../assert.ts";
import { readBatchFrame } from "../formats/record-batch-header.ts";
import type { LogConfig } from "./log-config.ts";
import { type Offset, asOffset } from "./offsets.ts";
import { LogSegment } from "./segment.ts";

/** Builds one `.cleaned` segment. */
export class SegmentWriter {
  /** The segment being written (handed to the log by replaceSegments). */
  readonly segment: LogSegment;
  private state: "writing" | "finished" | "aborted" | "installed" = "writing";

  constructor(dir: string, baseOffset: Offset, config: LogConfig, nowMs: number) {
    this.segment = LogSegment.create(dir, baseOffset, config, nowMs, ".cleaned");
  }

  /** Base offset of the new segment (its file name). */
  get baseOffset(): Offset {
    return this.segment.baseOffset;
  }

  /** Bytes written so far. */
  get sizeBytes(): number {
    return this.segment.sizeBytes;
  }

  /** Offset after the last batch written (the base offset while empty). */
  get nextOffset(): Offset {
    return this.segment.nextOffset ?? this.segment.baseOffset;
  }

  /** Appends a complete, CRC-valid batch at the offsets in its header (ascending, not below the base offset). */
  append(batch: Uint8Array): void {
    assert(this.state === "writing", "segment writer is not writing");
    const frame = readBatchFrame(batch, 0);
    assert(frame.ok && frame.value.sizeBytes === batch.length, "cleaned batches must be whole valid batches");
    const baseOffset = asOffset(frame.value.baseOffset);
    this.segment.append(batch, baseOffset, asOffset(baseOffset + frame.value.lastOffsetDelta), frame.value.maxTimestamp);
  }

  /** Finishes the indexes and fdatasyncs all three files; required before replaceSegments. */
  async finish(): Promise<void> {
    if (this.state === "finished") return;
    assert(this.state === "writing", "segment writer is not writing");
    this.segment.onBecomeInactive();
    await this.segment.sync();
    this.state = "finished";
  }

  /** True once finish() completed. */
  get finished(): boolean {
    return this.state === "finished";
  }

  /** Marks the writer as handed over to the log. */
  markInstalled(): void {
    assert(this.state === "finished", "only a finished writer can be installed");
    this.state = "installed";
  }

  /** Closes and deletes the `.cleaned` files. */
  abort(): void {
    if (this.state === "installed" || this.state === "aborted") return;
    this.segment.deleteFiles();
    this.state = "aborted";
  }
}
