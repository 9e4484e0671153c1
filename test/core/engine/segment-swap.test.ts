// The compaction swap API: a cleaner writes `.cleaned` segments with SegmentWriter and installs them with
// replaceSegments. Offsets are preserved (gaps allowed); reads after the swap see exactly the kept batches.
import { afterEach, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { asOffset } from "../../../core/engine/offsets.ts";
import type { PartitionLog } from "../../../core/engine/partition-log.ts";
import { buildBatch } from "./batch-builder.ts";
import { makeTemp, openLog, payload, readAll } from "./log-helpers.ts";

const roots: string[] = [];
function temp(): string {
  const t = makeTemp();
  roots.push(t.root);
  return t.dir;
}
afterEach(() => {
  for (const root of roots.splice(0)) fs.rmSync(root, { recursive: true, force: true });
});

const CONFIG = { segmentBytes: 2000, indexIntervalBytes: 200 };

async function filledLog(dir: string): Promise<PartitionLog> {
  const log = await openLog(dir, CONFIG);
  for (let i = 0; i < 60; i++) log.append(buildBatch({ records: 2, valueBytes: 60, baseTimestamp: 10_000 + i, fill: i }));
  return log;
}

describe("replaceSegments", () => {
  test("one cleaned segment replaces three, offsets kept, reads see the kept batches, survives reopen", async () => {
    const dir = temp();
    const log = await filledLog(dir);
    const before = readAll(log);
    const group = log.inactiveSegments().slice(0, 3);
    expect(group.length).toBe(3);
    const writer = log.createCleanedSegment(group[0]!.baseOffset);
    const inGroup = before.filter((b) => b.baseOffset < group[2]!.nextOffset);
    const kept = inGroup.filter((_, i) => i % 3 !== 1);
    for (const batch of kept) writer.append(batch.bytes.slice());
    const result = await log.replaceSegments(group.map((s) => s.baseOffset), [writer]);
    expect(result.ok).toBe(true);
    const want = [...kept, ...before.filter((b) => b.baseOffset >= group[2]!.nextOffset)].map((b) => [b.baseOffset, payload(b.bytes)]);
    expect(readAll(log).map((b) => [b.baseOffset, payload(b.bytes)])).toEqual(want);
    // A read at an offset removed by the cleaner starts at the next kept batch.
    const removed = inGroup.find((_, i) => i % 3 === 1)!;
    const read = log.read(removed.baseOffset, 1);
    expect(read.ok && read.value.firstOffset).toBe(asOffset(removed.lastOffset + 1));
    expect(fs.readdirSync(dir).filter((n) => /\.(cleaned|swap|deleted)$/.test(n) || n === "rivulet.swap")).toEqual([]);
    // Appends continue, and both a clean and an unclean reopen read the same.
    log.append(buildBatch());
    const after = readAll(log).map((b) => [b.baseOffset, payload(b.bytes)]);
    await log.close();
    const again = await openLog(dir, CONFIG);
    expect(readAll(again).map((b) => [b.baseOffset, payload(b.bytes)])).toEqual(after);
    again.abandon();
    fs.unlinkSync(`${dir}/rivulet.checkpoint`);
    const third = await openLog(dir, CONFIG);
    expect(readAll(third).map((b) => [b.baseOffset, payload(b.bytes)])).toEqual(after);
    await third.close();
  });

  test("several cleaned segments replace a group atomically", async () => {
    const dir = temp();
    const log = await filledLog(dir);
    const before = readAll(log);
    const group = log.inactiveSegments().slice(0, 4);
    const end = group[3]!.nextOffset;
    const inGroup = before.filter((b) => b.baseOffset < end);
    const half = inGroup[Math.floor(inGroup.length / 2)]!.baseOffset;
    const first = log.createCleanedSegment(group[0]!.baseOffset);
    for (const b of inGroup.filter((b) => b.baseOffset < half && b.baseOffset % 4 === 0)) first.append(b.bytes.slice());
    const second = log.createCleanedSegment(asOffset(half));
    for (const b of inGroup.filter((b) => b.baseOffset >= half && b.baseOffset % 4 === 2)) second.append(b.bytes.slice());
    expect((await log.replaceSegments(group.map((s) => s.baseOffset), [first, second])).ok).toBe(true);
    const want = before.filter((b) => b.baseOffset >= end || (b.baseOffset < half ? b.baseOffset % 4 === 0 : b.baseOffset % 4 === 2));
    expect(readAll(log).map((b) => b.baseOffset)).toEqual(want.map((b) => b.baseOffset));
    await log.close();
  });

  test("a group changed by retention meanwhile is refused with segments_changed", async () => {
    const dir = temp();
    const log = await filledLog(dir);
    const group = log.inactiveSegments().slice(0, 2);
    const writer = log.createCleanedSegment(group[0]!.baseOffset);
    log.updateConfig({ ...log.config, retentionBytes: 0 });
    expect(await log.deleteRetainedSegments(Date.now())).toBeGreaterThan(0);
    const result = await log.replaceSegments(group.map((s) => s.baseOffset), [writer]);
    expect(result.ok ? "ok" : result.error).toBe("segments_changed");
    writer.abort();
    expect(fs.readdirSync(dir).some((n) => n.endsWith(".cleaned"))).toBe(false);
    await log.close();
  });

  test("appends proceed while a swap is in progress", async () => {
    const dir = temp();
    const log = await filledLog(dir);
    const group = log.inactiveSegments().slice(0, 2);
    const writer = log.createCleanedSegment(group[0]!.baseOffset);
    for (const b of readAll(log).filter((b) => b.baseOffset < group[1]!.nextOffset)) writer.append(b.bytes.slice());
    const swap = log.replaceSegments(group.map((s) => s.baseOffset), [writer]);
    const appended = log.append(buildBatch());
    expect((await swap).ok).toBe(true);
    expect(readAll(log).at(-1)!.baseOffset).toBe(appended.baseOffset as number);
    await log.close();
  });
});
