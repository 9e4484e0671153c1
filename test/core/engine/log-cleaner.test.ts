import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Broker } from "../../../core/engine/broker.ts";
import { FakeClock } from "../../../core/engine/clock.ts";
import { OffsetMap, groupSegments } from "../../../core/engine/log-cleaner.ts";
import type { PartitionLog } from "../../../core/engine/partition-log.ts";
import { CODEC_LZ4, CODEC_NONE } from "../../../core/formats/codecs.ts";
import { readBatchFrame } from "../../../core/formats/record-batch-header.ts";
import { buildTestBatch, readLogRecords, readTestRecords, type ReadRecord, type TestRecord } from "./compaction-test-batches.ts";

let dataDir = "";
let clock: FakeClock;
let broker: Broker;

const DELETE_RETENTION_MS = 10_000;

async function start(cleanerLimits?: { entriesMax: number; keyBytesMax: number }): Promise<Broker> {
  broker = await Broker.open({
    dataDir,
    clock,
    retentionCheckIntervalMs: 0,
    cleanerIntervalMs: 0,
    flushCheckIntervalMs: 0,
    ...(cleanerLimits === undefined ? {} : { cleanerLimits }),
  });
  return broker;
}

function must<T>(result: { ok: true; value: T } | { ok: false; error: string }): T {
  if (!result.ok) throw new Error(result.error);
  return result.value;
}

async function compactedTopic(name: string, configs: Record<string, string | number> = {}): Promise<PartitionLog> {
  must(
    await broker.createTopic(name, {
      configs: { "cleanup.policy": "compact", "segment.bytes": 400, "delete.retention.ms": DELETE_RETENTION_MS, ...configs },
    }),
  );
  return must(broker.partition(name, 0));
}

function batchHeaders(log: PartitionLog) {
  const read = must(log.read(log.logStartOffset, 1 << 30));
  const bytes = log.readRanges(read.ranges);
  const headers = [];
  for (let position = 0; position < bytes.length; ) {
    const frame = readBatchFrame(bytes, position);
    if (!frame.ok) throw new Error(frame.error);
    headers.push(frame.value);
    position += frame.value.sizeBytes;
  }
  return headers;
}

// Seeded generator, so a failure replays.
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** Appends random keyed batches (some tombstones, some LZ4) and returns every record with its offset. */
function appendWorkload(log: PartitionLog, seed: number, batches: number, keys: number): ReadRecord[] {
  const next = random(seed);
  const all: ReadRecord[] = [];
  for (let b = 0; b < batches; b++) {
    const count = 1 + Math.floor(next() * 4);
    const records: TestRecord[] = [];
    for (let r = 0; r < count; r++) {
      const key = `key-${Math.floor(next() * keys)}`;
      records.push({ key, value: next() < 0.15 ? null : `${key}@${seed}.${b}.${r}` });
    }
    const timestamp = clock.nowMs();
    const appended = log.append(buildTestBatch(records, { baseTimestamp: timestamp, codec: next() < 0.3 ? CODEC_LZ4 : CODEC_NONE }));
    records.forEach((record, r) => all.push({ offset: appended.baseOffset + r, timestamp, key: record.key, value: record.value }));
  }
  return all;
}

/** The naive oracle: the latest record per key, in offset order. */
function latestPerKey(records: readonly ReadRecord[]): ReadRecord[] {
  const latest = new Map<string | null, ReadRecord>();
  for (const record of records) latest.set(record.key, record);
  return [...latest.values()].sort((a, b) => a.offset - b.offset);
}

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), "rivulet-cleaner-"));
  clock = new FakeClock(1_700_000_000_000);
});

afterEach(async () => {
  await broker.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("compaction", () => {
  test("keeps the latest record per key at its offset, reading like the naive oracle, across passes and restarts", async () => {
    await start();
    const log = await compactedTopic("c");
    const appended = appendWorkload(log, 1, 120, 25);
    log.rollNow();
    const end = log.logEndOffset;
    const summary = await broker.runCleaner();
    expect(summary.partitionsCleaned).toBe(1);
    expect(summary.recordsRemoved).toBe(appended.length - latestPerKey(appended).length);
    expect(summary.bytesAfter).toBeLessThan(summary.bytesBefore);
    // Tombstones survive the first pass; offsets, timestamps and the log end are unchanged.
    expect(readLogRecords(log)).toEqual(latestPerKey(appended));
    expect(log.logEndOffset).toBe(end);
    // A fetch at a removed offset starts at the next surviving record.
    const removed = appended.find((record) => !latestPerKey(appended).includes(record))!;
    const read = must(log.read(removed.offset, 1 << 20));
    expect(readTestRecords(log.readRanges(read.ranges)).find((r) => r.offset >= removed.offset)?.offset).toBe(
      latestPerKey(appended).find((r) => r.offset >= removed.offset)?.offset,
    );

    const more = appendWorkload(log, 2, 80, 25);
    log.rollNow();
    await broker.runCleaner();
    expect(readLogRecords(log)).toEqual(latestPerKey([...appended, ...more]));
    expect(readdirSync(join(dataDir, "c-0")).filter((name) => /cleaned|swap|deleted/.test(name))).toEqual([]);

    await broker.close();
    await start();
    const reopened = must(broker.partition("c", 0));
    expect(readLogRecords(reopened)).toEqual(latestPerKey([...appended, ...more]));
    // Nothing new is dirty: the next run does nothing.
    expect((await broker.runCleaner()).partitionsCleaned).toBe(0);
  });

  test("tombstones go once delete.retention.ms has passed since the pass that first cleaned them", async () => {
    await start();
    const log = await compactedTopic("t");
    log.append(buildTestBatch([{ key: "a", value: "1" }, { key: "b", value: "2" }, { key: "c", value: "3" }]));
    log.append(buildTestBatch([{ key: "a", value: null }, { key: "b", value: "4" }]));
    log.rollNow();
    await broker.runCleaner();
    expect(readLogRecords(log).map((r) => [r.offset, r.key, r.value])).toEqual([
      [2, "c", "3"],
      [3, "a", null],
      [4, "b", "4"],
    ]);
    clock.advance(DELETE_RETENTION_MS - 1);
    expect((await broker.runCleaner()).partitionsCleaned).toBe(0);
    expect(readLogRecords(log).length).toBe(3);
    clock.advance(1);
    // The horizon alone makes the partition due, without new dirty data.
    expect((await broker.runCleaner()).partitionsCleaned).toBe(1);
    expect(readLogRecords(log).map((r) => [r.offset, r.key, r.value])).toEqual([
      [2, "c", "3"],
      [4, "b", "4"],
    ]);
    // A new tombstone for c is kept by the pass that first sees it, even though the clock moved on.
    log.append(buildTestBatch([{ key: "c", value: null }]));
    log.rollNow();
    clock.advance(DELETE_RETENTION_MS * 5);
    await broker.runCleaner();
    expect(readLogRecords(log).map((r) => [r.offset, r.key, r.value])).toEqual([
      [4, "b", "4"],
      [5, "c", null],
    ]);
    // The horizon survives a restart (cleaner checkpoint).
    await broker.close();
    await start();
    clock.advance(DELETE_RETENTION_MS);
    await broker.runCleaner();
    expect(readLogRecords(must(broker.partition("t", 0))).map((r) => [r.offset, r.key, r.value])).toEqual([[4, "b", "4"]]);
  });

  test("min.compaction.lag.ms keeps young segments untouched", async () => {
    await start();
    const log = await compactedTopic("lag", { "min.compaction.lag.ms": 60_000 });
    const first = appendWorkload(log, 3, 30, 5);
    log.rollNow();
    clock.advance(61_000);
    const second = appendWorkload(log, 4, 30, 5);
    log.rollNow();
    await broker.runCleaner();
    // Only the old part was compacted, against keys seen in the old part only.
    expect(readLogRecords(log)).toEqual([...latestPerKey(first), ...second]);
    clock.advance(61_000);
    await broker.runCleaner();
    expect(readLogRecords(log)).toEqual(latestPerKey([...first, ...second]));
  });

  test("min.cleanable.dirty.ratio decides when a pass is due", async () => {
    await start();
    const log = await compactedTopic("ratio", { "min.cleanable.dirty.ratio": 0.9 });
    const first = appendWorkload(log, 5, 40, 5);
    log.rollNow();
    expect((await broker.runCleaner()).partitionsCleaned).toBe(1);
    const second = appendWorkload(log, 6, 2, 5);
    log.rollNow();
    expect((await broker.runCleaner()).partitionsCleaned).toBe(0);
    expect((await broker.runCleaner({ ignoreDirtyRatio: true })).partitionsCleaned).toBe(1);
    expect(readLogRecords(log)).toEqual(latestPerKey([...first, ...second]));
  });

  test("max.compaction.lag.ms makes old dirty data due whatever the ratio", async () => {
    await start();
    const log = await compactedTopic("overdue", { "min.cleanable.dirty.ratio": 1, "max.compaction.lag.ms": 5_000 });
    const first = appendWorkload(log, 15, 30, 5);
    log.rollNow();
    expect((await broker.runCleaner()).partitionsCleaned).toBe(1);
    const second = appendWorkload(log, 16, 3, 5);
    log.rollNow();
    expect((await broker.runCleaner()).partitionsCleaned).toBe(0);
    clock.advance(5_001);
    expect((await broker.runCleaner()).partitionsCleaned).toBe(1);
    expect(readLogRecords(log)).toEqual(latestPerKey([...first, ...second]));
  });

  test("compact,delete compacts and applies retention", async () => {
    await start();
    const log = await compactedTopic("both", { "cleanup.policy": "compact,delete", "retention.ms": 100_000 });
    const old = appendWorkload(log, 7, 30, 4);
    clock.advance(200_000);
    const recent = appendWorkload(log, 8, 30, 4);
    log.rollNow();
    expect(await broker.runRetention()).toBeGreaterThan(0);
    await broker.runCleaner({ ignoreDirtyRatio: true });
    const logStart = log.logStartOffset;
    expect(logStart).toBeGreaterThan(0);
    const surviving = [...old, ...recent].filter((record) => record.offset >= logStart);
    expect(readLogRecords(log)).toEqual(latestPerKey(surviving));
  });

  test("a small offset map cleans a prefix per pass and converges to the oracle", async () => {
    await start({ entriesMax: 6, keyBytesMax: 1 << 20 });
    const log = await compactedTopic("small");
    const appended = appendWorkload(log, 9, 60, 20);
    log.rollNow();
    let passes = 0;
    while ((await broker.runCleaner({ ignoreDirtyRatio: true })).partitionsCleaned > 0) passes++;
    expect(passes).toBeGreaterThan(2);
    // Each pass's map saw only part of the keys, but the final state is the latest per key all the same.
    await broker.runCleaner({ ignoreDirtyRatio: true });
    const records = readLogRecords(log);
    expect(records.filter((r) => r.value !== null)).toEqual(latestPerKey(appended).filter((r) => r.value !== null));
  });

  test("an idempotent producer's emptied last batch stays as an empty batch; earlier ones go", async () => {
    await start();
    const log = await compactedTopic("pid");
    log.append(buildTestBatch([{ key: "a", value: "1" }], { producerId: 7n, producerEpoch: 0, baseSequence: 0 }));
    log.append(buildTestBatch([{ key: "a", value: "2" }], { producerId: 7n, producerEpoch: 0, baseSequence: 1 }));
    log.append(buildTestBatch([{ key: "a", value: "3" }], { producerId: 8n, producerEpoch: 0, baseSequence: 0 }));
    log.rollNow();
    await broker.runCleaner();
    const headers = batchHeaders(log).map((h) => [h.baseOffset, h.producerId, h.baseSequence, h.recordsCount]);
    expect(headers).toEqual([
      [1, 7n, 1, 0],
      [2, 8n, 0, 1],
    ]);
    expect(readLogRecords(log).map((r) => r.value)).toEqual(["3"]);
  });

  test("appends proceed while a pass runs; the result is still a compaction of everything appended", async () => {
    await start();
    const log = await compactedTopic("busy");
    const appended = appendWorkload(log, 10, 80, 10);
    log.rollNow();
    let passDone = false;
    const pass = broker.runCleaner().then((summary) => {
      passDone = true;
      return summary;
    });
    const during: ReadRecord[] = [];
    let appendsWhileRunning = 0;
    for (let i = 0; i < 40; i++) {
      // Yield (not sleep) so the pass advances between appends.
      await new Promise((resolve) => setImmediate(resolve));
      if (!passDone) appendsWhileRunning++;
      during.push(...appendWorkload(log, 100 + i, 1, 10));
    }
    expect((await pass).partitionsCleaned).toBe(1);
    expect(appendsWhileRunning).toBeGreaterThan(0);
    const all = [...appended, ...during];
    const read = readLogRecords(log);
    // Every latest value is there, nothing is duplicated, and every record read is one appended at that offset.
    const byOffset = new Map(all.map((record) => [record.offset, record]));
    expect(read.map((record) => byOffset.get(record.offset))).toEqual(read);
    expect(new Set(read.map((record) => record.offset)).size).toBe(read.length);
    for (const latest of latestPerKey(all)) expect(read).toContainEqual(latest);
    // Everything appended after the pass's snapshot (the active segment then) is untouched.
    expect(read.slice(-10)).toEqual(all.slice(-10));
  });
});

describe("cleaner and admin operations", () => {
  test("deleting a topic while a pass runs stops the pass and leaves nothing behind", async () => {
    await start();
    const log = await compactedTopic("doomed");
    appendWorkload(log, 12, 120, 10);
    log.rollNow();
    const keep = await compactedTopic("kept");
    const kept = appendWorkload(keep, 13, 40, 10);
    keep.rollNow();
    const pass = broker.runCleaner({ ignoreDirtyRatio: true });
    // Let the pass get going (yield, never sleep), then delete under it.
    await new Promise((resolve) => setImmediate(resolve));
    const deleted = await broker.deleteTopic("doomed");
    expect(deleted.ok).toBe(true);
    const summary = await pass;
    expect(summary.failures).toEqual([]);
    expect(readdirSync(dataDir).filter((name) => name.startsWith("doomed"))).toEqual([]);
    await broker.runCleaner({ ignoreDirtyRatio: true });
    expect(readLogRecords(keep)).toEqual(latestPerKey(kept));
    const again = must(await broker.createTopic("doomed", { configs: { "cleanup.policy": "compact" } }));
    expect(again.partitions[0]).toMatchObject({ logStartOffset: 0, logEndOffset: 0 });
  });

  test("closing the broker while a pass runs stops it cleanly; the next start finishes the job", async () => {
    await start();
    const log = await compactedTopic("closing");
    const appended = appendWorkload(log, 14, 150, 10);
    log.rollNow();
    const pass = broker.runCleaner({ ignoreDirtyRatio: true });
    await new Promise((resolve) => setImmediate(resolve));
    await broker.close();
    await pass;
    expect(readdirSync(join(dataDir, "closing-0")).filter((name) => /cleaned|swap|deleted/.test(name))).toEqual([]);
    await start();
    const reopened = must(broker.partition("closing", 0));
    const before = readLogRecords(reopened);
    // Either the pass finished before the close or it did not start its swap: nothing in between.
    expect([JSON.stringify(appended), JSON.stringify(latestPerKey(appended))]).toContain(JSON.stringify(before));
    await broker.runCleaner({ ignoreDirtyRatio: true });
    expect(readLogRecords(reopened)).toEqual(latestPerKey(appended));
  });
});

describe("cleaner parts", () => {
  test("the offset map is bounded by keys and key bytes and holds keys exactly", () => {
    const map = new OffsetMap({ entriesMax: 2, keyBytesMax: 5 });
    const key = (text: string) => new TextEncoder().encode(text);
    expect(map.hasRoomFor(2, 5)).toBe(true);
    map.put(key("ab"), 1);
    map.put(key("ab"), 3);
    map.put(new Uint8Array([0, 255, 128]), 4);
    expect(map.get(key("ab"))).toBe(3);
    expect(map.get(new Uint8Array([0, 255, 128]))).toBe(4);
    expect(map.get(new Uint8Array([0, 255, 129]))).toBeUndefined();
    expect(map.hasRoomFor(1, 0)).toBe(false);
    expect(map.size).toBe(2);
  });

  test("segments group by segment.bytes", () => {
    const segment = (baseOffset: number, sizeBytes: number) => ({
      baseOffset,
      nextOffset: baseOffset + 10,
      sizeBytes,
      logPath: "",
      offsetIndexPath: "",
      timeIndexPath: "",
      largestTimestamp: 0,
    });
    const groups = groupSegments([segment(0, 60), segment(10, 30), segment(20, 20), segment(30, 150), segment(40, 10)] as never, 100);
    expect(groups.map((group) => group.map((s) => Number(s.baseOffset)))).toEqual([[0, 10], [20], [30], [40]]);
  });
});
