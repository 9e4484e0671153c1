import { describe, expect, test } from "bun:test";
import { filterBatch, openBatch, walkRecords, type RecordEntry } from "../../../core/engine/compaction-batch.ts";
import { CODEC_GZIP, CODEC_LZ4, CODEC_NONE } from "../../../core/formats/codecs.ts";
import { readBatchFrame } from "../../../core/formats/record-batch-header.ts";
import { buildTestBatch, readTestRecords } from "./compaction-test-batches.ts";

const text = new TextDecoder();
const keyOf = (record: RecordEntry) => (record.key === null ? null : text.decode(record.key));

function opened(bytes: Uint8Array) {
  const result = openBatch(bytes);
  if (!result.ok) throw new Error(result.error);
  return result.value;
}

describe("walkRecords", () => {
  test("reports offsets, timestamps, keys and tombstones", () => {
    const batch = opened(
      buildTestBatch(
        [
          { key: "a", value: "1", timestamp: 1_005 },
          { key: null, value: "2" },
          { key: "b", value: null, offsetDelta: 5, timestamp: 1_009 },
        ],
        { baseOffset: 100, baseTimestamp: 1_000 },
      ),
    );
    const seen: unknown[] = [];
    const walked = walkRecords(batch, (record) => seen.push([record.offset, record.timestamp, keyOf(record), record.tombstone]));
    expect(walked).toEqual({ ok: true, value: 3 });
    expect(seen).toEqual([
      [100, 1_005, "a", false],
      [101, 1_000, null, false],
      [105, 1_009, "b", true],
    ]);
  });

  test("bad bytes are typed errors, never throws", () => {
    const bytes = buildTestBatch([{ key: "a", value: "1" }]);
    const flipped = bytes.slice();
    flipped[flipped.length - 2]! ^= 0xff;
    expect(openBatch(flipped)).toEqual({ ok: false, error: "bad_frame" });
    expect(openBatch(bytes.subarray(0, bytes.length - 1))).toEqual({ ok: false, error: "bad_frame" });
    const lying = opened(buildTestBatch([{ key: "a", value: "1" }]));
    lying.header.recordsCount = 2;
    expect(walkRecords(lying, () => {})).toEqual({ ok: false, error: "record_count_mismatch" });
    const beyond = opened(buildTestBatch([{ key: "a", value: "1", offsetDelta: 3 }], { lastOffsetDelta: 2 }));
    expect(walkRecords(beyond, () => {})).toEqual({ ok: false, error: "bad_record" });
    const garbage = opened(buildTestBatch([{ key: "abc", value: "1" }]));
    garbage.records = garbage.records.subarray(0, 4);
    expect(walkRecords(garbage, () => {})).toEqual({ ok: false, error: "bad_record" });
  });
});

describe("filterBatch", () => {
  const records = [
    { key: "a", value: "1" },
    { key: "b", value: "2" },
    { key: "a", value: "3" },
    { key: "c", value: null },
  ];

  for (const codec of [CODEC_NONE, CODEC_GZIP, CODEC_LZ4]) {
    test(`codec ${codec}: keeps chosen records at their offsets with header fields kept and a valid CRC`, () => {
      const original = buildTestBatch(records, {
        baseOffset: 40,
        codec,
        producerId: 7n,
        producerEpoch: 2,
        baseSequence: 11,
      });
      const result = filterBatch(opened(original), (record) => keyOf(record) !== "a" || record.offset === 42, false);
      expect(result.ok).toBe(true);
      if (!result.ok || result.value.kind !== "rewritten") throw new Error("expected a rewrite");
      const bytes = result.value.bytes;
      expect(result.value.keptRecords).toBe(3);
      const frame = readBatchFrame(bytes);
      expect(frame.ok).toBe(true);
      if (!frame.ok) return;
      const before = readBatchFrame(original);
      if (!before.ok) throw new Error(before.error);
      expect(frame.value).toMatchObject({
        baseOffset: 40,
        lastOffsetDelta: 3,
        recordsCount: 3,
        producerId: 7n,
        producerEpoch: 2,
        baseSequence: 11,
        baseTimestamp: before.value.baseTimestamp,
        maxTimestamp: before.value.maxTimestamp,
        attributes: before.value.attributes,
      });
      expect(readTestRecords(bytes).map((r) => [r.offset, r.key, r.value])).toEqual([
        [41, "b", "2"],
        [42, "a", "3"],
        [43, "c", null],
      ]);
    });
  }

  test("all kept is unchanged; none kept is removed, or an empty batch when asked", () => {
    const original = buildTestBatch(records, { baseOffset: 10, codec: CODEC_LZ4, producerId: 3n, baseSequence: 0 });
    expect(filterBatch(opened(original), () => true, false)).toEqual({ ok: true, value: { kind: "unchanged" } });
    expect(filterBatch(opened(original), () => false, false)).toEqual({ ok: true, value: { kind: "removed" } });
    const empty = filterBatch(opened(original), () => false, true);
    if (!empty.ok || empty.value.kind !== "rewritten") throw new Error("expected an empty batch");
    const frame = readBatchFrame(empty.value.bytes);
    expect(frame.ok && frame.value).toMatchObject({ baseOffset: 10, lastOffsetDelta: 3, recordsCount: 0, producerId: 3n, attributes: 0 });
    expect(readTestRecords(empty.value.bytes)).toEqual([]);
  });
});
