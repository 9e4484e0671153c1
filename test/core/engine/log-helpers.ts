// Test helpers shared by the partition-log tests: temp directories, opening with a fake clock, and reading the
// whole log back through the public read path.
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readBatchFrame } from "../../../core/formats/record-batch-header.ts";
import { FakeClock } from "../../../core/engine/clock.ts";
import { type LogConfig, resolveLogConfig } from "../../../core/engine/log-config.ts";
import { PartitionLog } from "../../../core/engine/partition-log.ts";

/** Makes a fresh data dir and returns a partition dir inside it; remove with removeTemp(). */
export function makeTemp(): { root: string; dir: string } {
  const root = fs.mkdtempSync(join(tmpdir(), "rivulet-log-"));
  return { root, dir: join(root, "topic-0") };
}

/** Opens a log, failing the test on a typed open error. */
export async function openLog(dir: string, overrides: Partial<LogConfig> = {}, clock = new FakeClock()): Promise<PartitionLog> {
  const log = await PartitionLog.open(dir, resolveLogConfig(overrides), { clock });
  if (!(log instanceof PartitionLog)) throw new Error(`open failed: ${log.error} ${log.detail}`);
  return log;
}

/** One batch as read back. */
export interface ReadBatch {
  baseOffset: number;
  lastOffset: number;
  bytes: Uint8Array;
}

/** Reads every batch from `from` to the high watermark through read() + readRanges(), checking each frame. */
export function readAll(log: PartitionLog, from = log.logStartOffset as number, maxBytes = 64 * 1024): ReadBatch[] {
  const out: ReadBatch[] = [];
  let next = from;
  for (let guard = 0; guard < 1_000_000; guard++) {
    const result = log.read(next, maxBytes);
    if (!result.ok) throw new Error(`read failed: ${result.error}`);
    if (result.value.ranges.length === 0) break;
    const bytes = log.readRanges(result.value.ranges);
    let position = 0;
    while (position < bytes.length) {
      const frame = readBatchFrame(bytes, position);
      if (!frame.ok) throw new Error(`bad frame at ${position}: ${frame.error}`);
      out.push({
        baseOffset: frame.value.baseOffset,
        lastOffset: frame.value.baseOffset + frame.value.lastOffsetDelta,
        bytes: bytes.slice(position, position + frame.value.sizeBytes),
      });
      position += frame.value.sizeBytes;
    }
    next = result.value.nextOffset;
  }
  return out;
}

/** The records payload of a batch (bytes after the header), which appending never changes. */
export function payload(batch: Uint8Array): string {
  return Buffer.from(batch.subarray(61)).toString("hex");
}
