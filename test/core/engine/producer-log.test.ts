// Idempotence through the partition log: checks before writes, duplicates answered with original offsets and never
// written again, all-or-nothing requests, snapshots at rolls and close, replay after an unclean stop, damaged
// snapshots, retention, and expiration through the Broker with a fake clock.
import { afterAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { join } from "node:path";
import { Broker } from "../../../core/engine/broker.ts";
import { crc32c } from "../../../core/formats/crc32c.ts";
import { ATTRIBUTES_OFFSET, ATTRIBUTE_CONTROL_BIT, ATTRIBUTE_TRANSACTIONAL_BIT, CRC_OFFSET, RECORDS_COUNT_OFFSET } from "../../../core/formats/record-batch-header.ts";
import { FakeClock } from "../../../core/engine/clock.ts";
import { type PartitionLog, ProducerRejectedError } from "../../../core/engine/partition-log.ts";
import { listSnapshotOffsets, snapshotFileName } from "../../../core/engine/producer-snapshot.ts";
import { buildBatch } from "./batch-builder.ts";
import { makeTemp, openLog, readAll } from "./log-helpers.ts";
import { idempotentBatch } from "./producer-test-helpers.ts";

const roots: string[] = [];
afterAll(() => {
  for (const root of roots) fs.rmSync(root, { recursive: true, force: true });
});
function temp(): string {
  const { root, dir } = makeTemp();
  roots.push(root);
  return dir;
}

// A producer's batches with consecutive sequences.
function batches(producerId: number, count: number, recordsEach = 2, epoch = 0, firstSequence = 0): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => idempotentBatch({ producerId, epoch, sequence: firstSequence + i * recordsEach, records: recordsEach }));
}

function appendAll(log: PartitionLog, list: Uint8Array[]): number[] {
  // Copies: the log patches what it appends, and tests resend the originals.
  return list.map((batch) => log.append(batch.slice()).baseOffset);
}

describe("appends through the log", () => {
  test("a resent batch is answered with its original offsets and not written again", async () => {
    const log = await openLog(temp());
    const sent = batches(5, 6);
    const offsets = appendAll(log, sent);
    log.append(buildBatch({ records: 3 }));
    const end = log.logEndOffset;
    // Each of the last five is a duplicate with its original offsets.
    for (let i = 1; i < 6; i++) {
      const again = log.append(sent[i]!.slice());
      expect(again.duplicate).toBe(true);
      expect(again.baseOffset as number).toBe(offsets[i]!);
      expect(again.lastOffset as number).toBe(offsets[i]! + 1);
    }
    expect(log.logEndOffset).toBe(end);
    expect(readAll(log).length).toBe(7);
    // The first is beyond the five retained: it is refused, not written.
    expect(() => log.append(sent[0]!.slice())).toThrow(ProducerRejectedError);
    expect(log.logEndOffset).toBe(end);
    await log.close();
  });

  test("refusals are typed, definite and write nothing: gap, fence, unknown producer", async () => {
    const log = await openLog(temp());
    appendAll(log, batches(1, 2, 1, 3));
    const end = log.logEndOffset;
    const cases: [Uint8Array, string][] = [
      [idempotentBatch({ producerId: 1, epoch: 3, sequence: 5 }), "OUT_OF_ORDER_SEQUENCE_NUMBER"],
      [idempotentBatch({ producerId: 1, epoch: 2, sequence: 2 }), "INVALID_PRODUCER_EPOCH"],
      [idempotentBatch({ producerId: 1, epoch: 4, sequence: 1 }), "OUT_OF_ORDER_SEQUENCE_NUMBER"],
      [idempotentBatch({ producerId: 77, sequence: 9 }), "UNKNOWN_PRODUCER_ID"],
    ];
    for (const [batch, error] of cases) {
      const result = log.appendBatches([batch]);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.error).toBe(error as typeof result.error);
      expect(log.logEndOffset).toBe(end);
    }
    // A new epoch starting at 0 is accepted.
    expect(log.append(idempotentBatch({ producerId: 1, epoch: 4, sequence: 0 })).duplicate).toBe(false);
    await log.close();
  });

  test("appendBatches is all or nothing: a gap in the third batch writes none of the request", async () => {
    const log = await openLog(temp());
    const request = [...batches(9, 2), buildBatch(), idempotentBatch({ producerId: 9, sequence: 7 })];
    const refused = log.appendBatches(request.map((b) => b.slice()));
    expect(!refused.ok && refused.error).toBe("OUT_OF_ORDER_SEQUENCE_NUMBER");
    expect(log.logEndOffset as number).toBe(0);
    const good = log.appendBatches(batches(9, 3).map((b) => b.slice()));
    expect(good.ok && good.value.map((r) => [r.baseOffset as number, r.duplicate])).toEqual([[0, false], [2, false], [4, false]]);
    // A retry of the whole request after a lost answer, plus one new batch: three duplicates, one write.
    const retry = log.appendBatches([...batches(9, 4)].map((b) => b.slice()));
    expect(retry.ok && retry.value.map((r) => [r.baseOffset as number, r.duplicate])).toEqual([[0, true], [2, true], [4, true], [6, false]]);
    expect(log.logEndOffset as number).toBe(8);
    await log.close();
  });

  test("a control batch (transaction marker) carries a producer id but is not sequence-checked", async () => {
    const log = await openLog(temp());
    const marker = idempotentBatch({ producerId: 8, epoch: 2, sequence: -1 });
    const view = new DataView(marker.buffer, marker.byteOffset, marker.byteLength);
    view.setInt16(ATTRIBUTES_OFFSET, view.getInt16(ATTRIBUTES_OFFSET) | ATTRIBUTE_CONTROL_BIT | ATTRIBUTE_TRANSACTIONAL_BIT);
    view.setUint32(CRC_OFFSET, crc32c(marker.subarray(ATTRIBUTES_OFFSET)));
    expect(log.appendBatches([marker.slice()]).ok).toBe(true);
    expect(log.appendBatches([marker.slice()]).ok).toBe(true);
    expect(log.producerState.size).toBe(0);
    await log.close();
  });

  test("LogAppendTime: a duplicate is answered with the original append time", async () => {
    const clock = new FakeClock(5_000_000);
    const log = await openLog(temp(), { messageTimestampType: "LogAppendTime" }, clock);
    const batch = idempotentBatch({ producerId: 3, sequence: 0 });
    const first = log.append(batch.slice());
    clock.advance(1234);
    const again = log.append(batch.slice());
    expect(again.duplicate).toBe(true);
    expect(again.logAppendTime).toBe(first.logAppendTime);
    await log.close();
  });
});

describe("state across restarts", () => {
  test("clean close writes a snapshot at the log end; reopen replays nothing and still sees duplicates", async () => {
    const dir = temp();
    let log = await openLog(dir, { segmentBytes: 400 });
    const sent = batches(11, 12);
    const offsets = appendAll(log, sent);
    expect(log.segmentCount).toBeGreaterThan(2);
    await log.close();
    expect(listSnapshotOffsets(dir).at(-1) as number).toBe(24);
    expect(listSnapshotOffsets(dir).length).toBe(2);
    log = await openLog(dir, { segmentBytes: 400 });
    expect(log.producerStateLoad).toEqual({ snapshotOffset: 24 as never, snapshotErrors: [], replayedBatches: 0 });
    const again = log.append(sent[11]!.slice());
    expect(again.duplicate && again.baseOffset).toBe(offsets[11]! as never);
    expect(log.append(idempotentBatch({ producerId: 11, sequence: 24 })).baseOffset as number).toBe(24);
    await log.close();
  });

  test("after an unclean stop the state is the last roll's snapshot plus a replay of the headers after it", async () => {
    const dir = temp();
    let log = await openLog(dir, { segmentBytes: 400 });
    const sent = batches(12, 10);
    const offsets = appendAll(log, sent);
    await log.producerSnapshotsWritten();
    await log.durable();
    log.abandon();
    log = await openLog(dir, { segmentBytes: 400 });
    const load = log.producerStateLoad;
    expect(load.snapshotOffset).not.toBeNull();
    expect(load.replayedBatches).toBe((20 - (load.snapshotOffset as number)) / 2);
    for (let i = 5; i < 10; i++) expect(log.append(sent[i]!.slice())).toMatchObject({ duplicate: true, baseOffset: offsets[i] });
    expect(log.logEndOffset as number).toBe(20);
    await log.close();
  });

  test("a damaged snapshot is a typed error: it is removed and the state is rebuilt from the log", async () => {
    const dir = temp();
    let log = await openLog(dir);
    const sent = batches(13, 4);
    appendAll(log, sent);
    await log.close();
    const [newest] = listSnapshotOffsets(dir).slice(-1);
    const path = join(dir, snapshotFileName(newest!));
    const bytes = fs.readFileSync(path);
    bytes[bytes.length - 3] = bytes[bytes.length - 3]! ^ 0x10;
    fs.writeFileSync(path, bytes);
    log = await openLog(dir);
    expect(log.producerStateLoad.snapshotErrors).toEqual([{ offset: newest!, error: "crc_mismatch" }]);
    expect(log.producerStateLoad.snapshotOffset).toBeNull();
    expect(log.producerStateLoad.replayedBatches).toBe(4);
    expect(log.append(sent[3]!.slice()).duplicate).toBe(true);
    // Removed at open (the close below writes a fresh one at the log end).
    expect(listSnapshotOffsets(dir)).not.toContain(newest!);
    await log.close();
  });

  test("a truncated snapshot file and one past the log end are both set aside", async () => {
    const dir = temp();
    let log = await openLog(dir);
    const sent = batches(14, 3);
    appendAll(log, sent);
    await log.close();
    const newest = listSnapshotOffsets(dir).at(-1)!;
    fs.truncateSync(join(dir, snapshotFileName(newest)), 10);
    fs.writeFileSync(join(dir, snapshotFileName(999 as never)), "junk");
    log = await openLog(dir);
    expect(log.producerStateLoad.snapshotErrors.map((e) => e.error)).toEqual(["truncated"]);
    expect(fs.existsSync(join(dir, snapshotFileName(999 as never)))).toBe(false);
    expect(log.append(sent[2]!.slice()).duplicate).toBe(true);
    await log.close();
  });

  test("retention deleting every segment of a producer keeps its state (in memory and after a restart)", async () => {
    const dir = temp();
    const clock = new FakeClock(10_000_000);
    const config = { segmentBytes: 300, retentionMs: 1000 };
    let log = await openLog(dir, config, clock);
    const sent = batches(15, 3, 2, 0, 0).map((_, i) => idempotentBatch({ producerId: 15, sequence: i * 2, records: 2, baseTimestamp: 1 }));
    const offsets = appendAll(log, sent);
    log.rollNow();
    // Another producer keeps writing fresh batches so the old segments can go.
    for (let i = 0; i < 6; i++) log.append(idempotentBatch({ producerId: 16, sequence: i, baseTimestamp: clock.nowMs() }));
    const deleted = await log.deleteRetainedSegments(clock.nowMs());
    expect(deleted).toBeGreaterThan(0);
    expect(log.logStartOffset as number).toBeGreaterThan(offsets[2]! + 1);
    expect(log.append(sent[2]!.slice())).toMatchObject({ duplicate: true, baseOffset: offsets[2] });
    await log.close();
    log = await openLog(dir, config, clock);
    expect(log.append(sent[2]!.slice())).toMatchObject({ duplicate: true, baseOffset: offsets[2] });
    expect(log.append(idempotentBatch({ producerId: 15, sequence: 6 })).duplicate).toBe(false);
    // And after an unclean stop: the roll snapshot older than the log start still holds producer 15.
    await log.producerSnapshotsWritten();
    log.abandon();
    log = await openLog(dir, config, clock);
    expect(log.append(idempotentBatch({ producerId: 15, sequence: 6 })).duplicate).toBe(true);
    await log.close();
  });
});

describe("compaction", () => {
  test("a producer's batch emptied by the cleaner still restores its state when the log is replayed", async () => {
    const dataDir = temp();
    const clock = new FakeClock(1_000_000);
    const options = { dataDir, clock, retentionCheckIntervalMs: 0, cleanerIntervalMs: 0, flushCheckIntervalMs: 0, producerIdExpirationCheckIntervalMs: 0 };
    let broker = await Broker.open(options);
    await broker.createTopic("c", { configs: { "cleanup.policy": "compact", "segment.bytes": 300 } });
    let log = broker.partition("c", 0);
    if (!log.ok) throw new Error(log.message);
    // Producer 21's only batch (key k0) is superseded by producer 22's later records with the same key.
    const only = idempotentBatch({ producerId: 21, sequence: 0 });
    const original = log.value.append(only.slice()).baseOffset;
    for (let i = 0; i < 8; i++) log.value.append(idempotentBatch({ producerId: 22, sequence: i }));
    const summary = await broker.runCleaner({ ignoreDirtyRatio: true });
    expect(summary.partitionsCleaned).toBe(1);
    expect(summary.recordsRemoved).toBeGreaterThan(0);
    // The cleaner kept producer 21's last batch as an empty batch (header only, same offsets and sequences).
    const kept = readAll(log.value).find((batch) => batch.baseOffset === original);
    expect(kept !== undefined && new DataView(kept.bytes.buffer, kept.bytes.byteOffset).getInt32(RECORDS_COUNT_OFFSET)).toBe(0);
    await broker.close();
    // No snapshot at all: the state comes from replaying the cleaned log alone.
    const partitionDir = join(dataDir, "c-0");
    for (const offset of listSnapshotOffsets(partitionDir)) fs.rmSync(join(partitionDir, snapshotFileName(offset)));
    broker = await Broker.open(options);
    try {
      log = broker.partition("c", 0);
      if (!log.ok) throw new Error(log.message);
      expect(log.value.producerStateLoad.snapshotOffset).toBeNull();
      const again = log.value.append(only.slice());
      expect(again.duplicate).toBe(true);
      expect(again.baseOffset).toBe(original);
      expect(log.value.append(idempotentBatch({ producerId: 21, sequence: 1 })).duplicate).toBe(false);
    } finally {
      await broker.close();
    }
  });
});

describe("expiration through the Broker", () => {
  test("producer.id.expiration.ms drops idle producers on the fake clock; ids are fresh with epoch 0", async () => {
    const dataDir = temp();
    const clock = new FakeClock(1_000_000);
    const broker = await Broker.open({ dataDir, clock, producerIdExpirationMs: 60_000, producerIdExpirationCheckIntervalMs: 0, retentionCheckIntervalMs: 0, cleanerIntervalMs: 0, flushCheckIntervalMs: 0 });
    try {
      await broker.createTopic("t", { partitions: 2 });
      const a = await broker.initProducerId();
      const b = await broker.initProducerId();
      expect(a.ok && b.ok).toBe(true);
      if (!a.ok || !b.ok) return;
      expect(a.value.producerEpoch).toBe(0);
      expect(b.value.producerId).toBe((a.value.producerId + 1) as never);
      const log = broker.partition("t", 1);
      if (!log.ok) throw new Error(log.message);
      log.value.append(idempotentBatch({ producerId: a.value.producerId, sequence: 0 }));
      clock.advance(30_000);
      log.value.append(idempotentBatch({ producerId: b.value.producerId, sequence: 0 }));
      clock.advance(30_000);
      expect(broker.runProducerExpiration()).toBe(1);
      expect(log.value.producerState.entry(a.value.producerId)).toBeUndefined();
      expect(log.value.appendBatches([idempotentBatch({ producerId: a.value.producerId, sequence: 1 })])).toMatchObject({ ok: false, error: "UNKNOWN_PRODUCER_ID" });
      expect(log.value.append(idempotentBatch({ producerId: b.value.producerId, sequence: 1 })).duplicate).toBe(false);
    } finally {
      await broker.close();
    }
  });
});
