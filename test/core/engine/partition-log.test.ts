import { afterEach, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readBatchFrame } from "../../../core/formats/record-batch-header.ts";
import { FakeClock } from "../../../core/engine/clock.ts";
import { resolveLogConfig } from "../../../core/engine/log-config.ts";
import { PartitionLog } from "../../../core/engine/partition-log.ts";
import { asOffset } from "../../../core/engine/offsets.ts";
import { buildBatch } from "./batch-builder.ts";

const dirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(join(tmpdir(), "rivulet-log-"));
  dirs.push(dir);
  return join(dir, "topic-0");
}
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

async function openOk(dir: string, overrides = {}, clock = new FakeClock()): Promise<PartitionLog> {
  const log = await PartitionLog.open(dir, resolveLogConfig(overrides), { clock });
  if (!(log instanceof PartitionLog)) throw new Error(`open failed: ${log.error} ${log.detail}`);
  return log;
}

describe("PartitionLog smoke", () => {
  test("append, read back, reopen clean", async () => {
    const dir = tempDir();
    const log = await openOk(dir);
    const a = log.append(buildBatch({ records: 3 }));
    const b = log.append(buildBatch({ records: 2 }));
    expect(a.baseOffset).toBe(asOffset(0));
    expect(a.lastOffset).toBe(asOffset(2));
    expect(b.baseOffset).toBe(asOffset(3));
    expect(log.logEndOffset).toBe(asOffset(5));
    await log.durable();
    expect(log.recoveryPoint).toBe(asOffset(5));
    const read = log.read(3, 1 << 20);
    expect(read.ok).toBe(true);
    if (!read.ok) return;
    const bytes = log.readRanges(read.value.ranges);
    const frame = readBatchFrame(bytes, 0);
    expect(frame.ok && frame.value.baseOffset).toBe(3);
    await log.close();
    const again = await openOk(dir);
    expect(again.logEndOffset).toBe(asOffset(5));
    const c = again.append(buildBatch({ records: 1 }));
    expect(c.baseOffset).toBe(asOffset(5));
    await again.close();
  });
});
