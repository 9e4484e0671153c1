import { afterEach, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { join } from "node:path";
import {
  ATTRIBUTE_TIMESTAMP_TYPE_BIT,
  BASE_TIMESTAMP_OFFSET,
  MAX_TIMESTAMP_OFFSET,
  readBatchFrame,
} from "../../../core/formats/record-batch-header.ts";
import { FakeClock } from "../../../core/engine/clock.ts";
import { asOffset } from "../../../core/engine/offsets.ts";
import { CHECKPOINT_FILE_NAME, readCheckpoint } from "../../../core/engine/checkpoint.ts";
import { buildBatch, buildBatchOfSize } from "./batch-builder.ts";
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

function segmentFiles(dir: string, extension: string): string[] {
  return fs.readdirSync(dir).filter((name) => name.endsWith(extension)).sort();
}

describe("PartitionLog append and read", () => {
  test("assigns offsets, stores payloads unchanged, reads back from any offset", async () => {
    const dir = temp();
    const log = await openLog(dir, { segmentBytes: 4096 });
    const appended: { base: number; last: number; payload: string }[] = [];
    for (let i = 0; i < 200; i++) {
      const records = 1 + (i % 5);
      const batch = buildBatch({ records, valueBytes: 10 + (i % 50), baseOffset: 999 });
      const p = payload(batch);
      const result = log.append(batch);
      appended.push({ base: result.baseOffset, last: result.lastOffset, payload: p });
      expect(result.logAppendTime).toBe(-1);
    }
    expect(log.segmentCount).toBeGreaterThan(3);
    expect(segmentFiles(dir, ".log")[0]).toBe("00000000000000000000.log");
    const all = readAll(log);
    expect(all.map((b) => [b.baseOffset, b.lastOffset])).toEqual(appended.map((a) => [a.base, a.last]));
    expect(all.map((b) => payload(b.bytes))).toEqual(appended.map((a) => a.payload));
    // A read from an offset in the middle of a batch starts at that batch.
    for (const target of [0, 1, 7, 100, 311, appended.at(-1)!.last]) {
      const result = log.read(target, 1);
      expect(result.ok).toBe(true);
      if (!result.ok) continue;
      const containing = appended.find((a) => a.base <= target && target <= a.last)!;
      expect(result.value.firstOffset).toBe(asOffset(containing.base));
      // minOneMessage: maxBytes 1 still returns exactly one whole batch.
      expect(result.value.nextOffset).toBe(asOffset(containing.last + 1));
    }
    await log.close();
  });

  test("read bounds: maxBytes, minOneMessage off, log end, out of range", async () => {
    const dir = temp();
    const log = await openLog(dir);
    const sizes: number[] = [];
    for (let i = 0; i < 10; i++) sizes.push(log.append(buildBatchOfSize(1000)) && 1000);
    const two = log.read(0, 2500);
    expect(two.ok && two.value.ranges[0]!.length).toBeLessThanOrEqual(2500);
    expect(two.ok && two.value.nextOffset).toBe(asOffset(2));
    const none = log.read(0, 10, false);
    expect(none.ok && none.value.ranges.length).toBe(0);
    const atEnd = log.read(10, 1000);
    expect(atEnd.ok && atEnd.value.ranges.length).toBe(0);
    const past = log.read(11, 1000);
    expect(past.ok ? "ok" : past.error).toBe("offset_out_of_range");
    const negative = log.read(-1, 1000);
    expect(negative.ok ? "ok" : negative.error).toBe("offset_out_of_range");
    await log.close();
  });

  test("readBatches (one pread) returns exactly what read() + readRanges() return", async () => {
    const log = await openLog(temp(), { segmentBytes: 8000, indexIntervalBytes: 300 });
    for (let i = 0; i < 120; i++) log.append(buildBatch({ records: 1 + (i % 4), valueBytes: 30 + ((i * 37) % 500) }));
    const reused = new Uint8Array(1500);
    for (let offset = 0; offset <= log.logEndOffset; offset += 7) {
      for (const maxBytes of [1, 200, 1000, 5000]) {
        for (const minOne of [true, false]) {
          const viaRanges = log.read(offset, maxBytes, minOne);
          const direct = log.readBatches(offset, maxBytes, reused, minOne);
          expect(viaRanges.ok && direct.ok).toBe(true);
          if (!viaRanges.ok || !direct.ok) continue;
          expect(Buffer.from(direct.value.bytes).equals(Buffer.from(log.readRanges(viaRanges.value.ranges)))).toBe(true);
          expect([direct.value.firstOffset, direct.value.nextOffset]).toEqual([viaRanges.value.firstOffset, viaRanges.value.nextOffset]);
        }
      }
    }
    const past = log.readBatches(log.logEndOffset + 1, 100);
    expect(past.ok ? "ok" : past.error).toBe("offset_out_of_range");
    await log.close();
  });

  test("LogAppendTime rewrites attributes and maxTimestamp and keeps the CRC valid", async () => {
    const clock = new FakeClock(1_800_000_000_000);
    const log = await openLog(temp(), { messageTimestampType: "LogAppendTime" }, clock);
    const batch = buildBatch({ records: 3, baseTimestamp: 1_000, timestampStep: 5 });
    const result = log.append(batch);
    expect(result.logAppendTime).toBe(1_800_000_000_000);
    const [stored] = readAll(log);
    const frame = readBatchFrame(stored!.bytes, 0);
    expect(frame.ok).toBe(true);
    if (!frame.ok) return;
    expect(frame.value.attributes & ATTRIBUTE_TIMESTAMP_TYPE_BIT).toBe(ATTRIBUTE_TIMESTAMP_TYPE_BIT);
    expect(frame.value.maxTimestamp).toBe(1_800_000_000_000);
    // Kafka leaves baseTimestamp as the producer wrote it (consumers use maxTimestamp for LogAppendTime).
    const view = new DataView(stored!.bytes.buffer, stored!.bytes.byteOffset);
    expect(Number(view.getBigInt64(BASE_TIMESTAMP_OFFSET))).toBe(1_000);
    expect(Number(view.getBigInt64(MAX_TIMESTAMP_OFFSET))).toBe(1_800_000_000_000);
    await log.close();
  });

  test("rolls at segment.bytes and segment.ms, never leaves an empty roll", async () => {
    const clock = new FakeClock();
    const dir = temp();
    const log = await openLog(dir, { segmentBytes: 10_000, segmentMs: 60_000 }, clock);
    for (let i = 0; i < 9; i++) log.append(buildBatchOfSize(1000));
    expect(log.segmentCount).toBe(1);
    log.append(buildBatchOfSize(1000));
    expect(log.segmentCount).toBe(1);
    log.append(buildBatchOfSize(1000));
    expect(log.segmentCount).toBe(2);
    expect(segmentFiles(dir, ".log")).toEqual(["00000000000000000000.log", "00000000000000000010.log"]);
    clock.advance(59_999);
    log.append(buildBatchOfSize(100));
    expect(log.segmentCount).toBe(2);
    clock.advance(1);
    log.append(buildBatchOfSize(100));
    expect(log.segmentCount).toBe(3);
    await log.close();
  });

  test("rolls when the offset index is full", async () => {
    const log = await openLog(temp(), { indexIntervalBytes: 0, segmentIndexBytes: 12 * 4 });
    // Interval 0: every batch after the first gets an entry; 48 bytes hold 6 offset entries / 4 time entries.
    for (let i = 0; i < 20; i++) log.append(buildBatch({ baseTimestamp: 1_000 + i }));
    expect(log.segmentCount).toBeGreaterThan(2);
    expect(readAll(log).length).toBe(20);
    await log.close();
  });

  test("offsets move in order and ListOffsets earliest/latest", async () => {
    const log = await openLog(temp());
    expect(log.earliestOffset()).toBe(asOffset(0));
    expect(log.latestOffset()).toBe(asOffset(0));
    log.append(buildBatch({ records: 4 }));
    expect(log.latestOffset()).toBe(asOffset(4));
    expect(log.highWatermark).toBe(log.logEndOffset);
    expect(log.logStartOffset <= log.highWatermark).toBe(true);
    await log.close();
  });
});

describe("PartitionLog offsetForTimestamp", () => {
  test("matches a naive scan over records (Kafka ListOffsets: first record with timestamp >= target)", async () => {
    const log = await openLog(temp(), { segmentBytes: 3000, indexIntervalBytes: 200 });
    const records: { offset: number; timestamp: number }[] = [];
    let t = 10_000;
    for (let i = 0; i < 150; i++) {
      // Timestamps mostly grow, sometimes go back (CreateTime is the producer's clock).
      t += i % 7 === 3 ? -40 : 17;
      const count = 1 + (i % 3);
      const r = log.append(buildBatch({ records: count, baseTimestamp: t, timestampStep: 2 }));
      for (let k = 0; k < count; k++) records.push({ offset: r.baseOffset + k, timestamp: t + k * 2 });
    }
    const naive = (target: number) => records.find((rec) => rec.timestamp >= target) ?? null;
    for (let target = 9_900; target <= t + 50; target += 3) {
      const got = log.offsetForTimestamp(target);
      expect(got.ok).toBe(true);
      if (!got.ok) continue;
      const want = naive(target);
      expect(got.value === null ? null : [got.value.offset, got.value.timestamp]).toEqual(want === null ? null : [want.offset, want.timestamp]);
    }
    await log.close();
  });

  test("LogAppendTime batches answer with the batch's base offset and append time", async () => {
    const clock = new FakeClock(5_000);
    const log = await openLog(temp(), { messageTimestampType: "LogAppendTime" }, clock);
    log.append(buildBatch({ records: 3 }));
    clock.advance(100);
    log.append(buildBatch({ records: 3 }));
    const got = log.offsetForTimestamp(5_050);
    expect(got.ok && got.value).toEqual({ offset: asOffset(3), timestamp: 5_100 });
    await log.close();
  });
});

describe("PartitionLog durability", () => {
  test("group commit: many waiters, recovery point covers each, flushed resolves in order", async () => {
    const log = await openLog(temp());
    const waits: Promise<void>[] = [];
    const order: number[] = [];
    for (let i = 0; i < 50; i++) {
      const r = log.append(buildBatch());
      waits.push(log.flushed(r.lastOffset).then(() => void order.push(r.lastOffset)));
    }
    await Promise.all(waits);
    // Group commit: the first round covers the first append, the next covers everything that came meanwhile.
    expect(log.syncRounds).toBeLessThanOrEqual(2);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(log.recoveryPoint).toBe(asOffset(50));
    await log.flushed(asOffset(3));
    await log.close();
  });

  test("flush.messages starts a sync without a waiter", async () => {
    const log = await openLog(temp(), { flushMessages: 5 });
    for (let i = 0; i < 4; i++) log.append(buildBatch());
    expect(log.syncing).toBe(false);
    log.append(buildBatch());
    expect(log.syncing).toBe(true);
    await log.durable();
    expect(log.recoveryPoint).toBe(asOffset(5));
    await log.close();
  });

  test("close writes a clean checkpoint; reopen reads no segment data and continues offsets", async () => {
    const dir = temp();
    const log = await openLog(dir, { segmentBytes: 5000 });
    for (let i = 0; i < 30; i++) log.append(buildBatchOfSize(700));
    await log.close();
    const checkpoint = readCheckpoint(dir);
    expect(checkpoint.ok && checkpoint.value.clean).toBe(true);
    expect(checkpoint.ok && checkpoint.value.logEndOffset).toBe(asOffset(30));
    // Damage a batch in the middle of the first segment: a clean start never reads it (an unclean one would
    // refuse to open), which shows that start-up read no segment data there.
    const first = join(dir, "00000000000000000000.log");
    const bytes = fs.readFileSync(first);
    bytes[1000] = bytes[1000]! ^ 0xff;
    fs.writeFileSync(first, bytes);
    const again = await openLog(dir, { segmentBytes: 5000 });
    expect(again.logEndOffset).toBe(asOffset(30));
    expect(again.recoveryPoint).toBe(asOffset(30));
    expect(again.append(buildBatchOfSize(700)).baseOffset).toBe(asOffset(30));
    expect(readAll(again, 10).length).toBe(21);
    await again.close();
  });

  test("an append after a clean start invalidates the clean checkpoint by itself", async () => {
    const dir = temp();
    const log = await openLog(dir);
    log.append(buildBatch());
    await log.close();
    const again = await openLog(dir);
    again.append(buildBatch());
    again.abandon(); // a crash: no close, no checkpoint
    const third = await openLog(dir);
    expect(third.logEndOffset).toBe(asOffset(2));
    await third.close();
  });
});

describe("PartitionLog flush.ms and memory bounds", () => {
  test("flush.ms: maybeFlush syncs once the last sync is older than flush.ms", async () => {
    const clock = new FakeClock();
    const log = await openLog(temp(), { flushMs: 1000 }, clock);
    log.append(buildBatch());
    log.maybeFlush();
    expect(log.syncing).toBe(false);
    clock.advance(1000);
    log.maybeFlush();
    expect(log.syncing).toBe(true);
    await log.durable();
    expect(log.recoveryPoint).toBe(asOffset(1));
    await log.close();
  });

  test("reading through many segments keeps at most four inactive segments' indexes in memory", async () => {
    const log = await openLog(temp(), { segmentBytes: 2000, indexIntervalBytes: 100 });
    for (let i = 0; i < 200; i++) log.append(buildBatchOfSize(300));
    expect(log.segmentCount).toBeGreaterThan(20);
    readAll(log, 0, 300);
    // Each small segment's two indexes take their initial 64-entry buffers: 64 x 8 + 64 x 12 bytes.
    const perSegment = 64 * 8 + 64 * 12;
    expect(log.indexMemoryBytes()).toBeLessThanOrEqual((4 + 1) * perSegment);
    await log.close();
  });
});

describe("PartitionLog retention", () => {
  test("retention.ms deletes old segments by largest timestamp, never the active one", async () => {
    const clock = new FakeClock(1_000_000);
    const dir = temp();
    const log = await openLog(dir, { segmentBytes: 3000, retentionMs: 10_000 }, clock);
    for (let i = 0; i < 40; i++) log.append(buildBatchOfSize(500, { baseTimestamp: 1_000_000 + i * 1000 }));
    const before = log.segmentTimestamps();
    expect(before.length).toBeGreaterThan(3);
    const now = 1_000_000 + 30_000;
    const expected = before.slice(0, -1).filter((s) => now - s.largestTimestamp > 10_000).length;
    expect(await log.deleteRetainedSegments(now)).toBe(expected);
    expect(log.segmentCount).toBe(before.length - expected);
    expect(log.logStartOffset).toBe(asOffset(before[expected]!.baseOffset));
    expect(fs.readdirSync(dir).some((name) => name.endsWith(".deleted"))).toBe(false);
    expect(log.read(0, 100).ok ? "ok" : "out").toBe("out");
    // Far future: everything but the active segment goes.
    await log.deleteRetainedSegments(now + 1e9);
    expect(log.segmentCount).toBe(1);
    expect(readAll(log).length).toBeGreaterThan(0);
    await log.close();
    const again = await openLog(dir, { segmentBytes: 3000 });
    expect(again.logStartOffset).toBe(log.logStartOffset);
    await again.close();
  });

  test("retention.bytes keeps the log at most retention.bytes plus the active segment", async () => {
    const log = await openLog(temp(), { segmentBytes: 2000, retentionBytes: 5000, retentionMs: -1 });
    for (let i = 0; i < 40; i++) log.append(buildBatchOfSize(500));
    const deleted = await log.deleteRetainedSegments(Date.now());
    expect(deleted).toBeGreaterThan(0);
    expect(log.sizeBytes).toBeLessThanOrEqual(5000 + 2000);
    expect(log.sizeBytes).toBeGreaterThan(5000 - 2000);
    await log.close();
  });
});

describe("PartitionLog indexes are caches", () => {
  test("deleted and garbled index files are rebuilt; reads stay correct", async () => {
    const dir = temp();
    const log = await openLog(dir, { segmentBytes: 20_000, indexIntervalBytes: 500 });
    for (let i = 0; i < 100; i++) log.append(buildBatchOfSize(300 + (i % 7) * 50, { baseTimestamp: 5000 + i }));
    const want = readAll(log).map((b) => [b.baseOffset, payload(b.bytes)]);
    await log.close();
    const indexes = segmentFiles(dir, ".index");
    const timeIndexes = segmentFiles(dir, ".timeindex");
    fs.unlinkSync(join(dir, indexes[0]!));
    fs.writeFileSync(join(dir, indexes[1]!), new Uint8Array(64).fill(0xab));
    fs.writeFileSync(join(dir, timeIndexes[1]!), new Uint8Array(13).fill(7));
    fs.unlinkSync(join(dir, CHECKPOINT_FILE_NAME));
    const again = await openLog(dir, { segmentBytes: 20_000, indexIntervalBytes: 500 });
    expect(readAll(again).map((b) => [b.baseOffset, payload(b.bytes)])).toEqual(want);
    for (let target = 0; target < 100; target += 3) expect(again.read(target, 1).ok && again.read(target, 1)).toBeTruthy();
    const ts = again.offsetForTimestamp(5050);
    expect(ts.ok && ts.value?.offset).toBe(asOffset(50));
    await again.close();
  });
});
