// PartitionRecords and walkBatchFrames on hand-built fetch answers: offsets skipped before the fetch offset, a
// partial batch at the end ignored, control and empty batches passed over, corrupt batches stopping delivery
// after the good ones (with and without check.crcs), every cut of an answer handled without throwing, the
// one-pass decoder agreeing with core/formats' validator and decoder on mutated batches, and Message's lazy parts.
import { describe, expect, test } from "bun:test";
import { PartitionRecords, walkBatchFrames } from "../../../client/consumer/partition-records.ts";
import { CODEC_LZ4, CODEC_NONE } from "../../../core/formats/codecs.ts";
import { crc32c } from "../../../core/formats/crc32c.ts";
import { CONTROL_TYPE_COMMIT, type RecordInput, controlRecord, decodeRecordBatch, encodeRecordBatch } from "../../../core/formats/record-batch.ts";
import { ATTRIBUTES_OFFSET, CRC_OFFSET, RECORD_BATCH_HEADER_BYTES, patchBaseOffset } from "../../../core/formats/record-batch-header.ts";
import { makeRecords } from "./consumer-helpers.ts";

// Batches as the broker stores them: consecutive base offsets, back to back.
function answer(batches: { records: RecordInput[]; codec?: number; control?: boolean }[], firstOffset = 0): { bytes: Uint8Array; ends: number[] } {
  const parts: Uint8Array[] = [];
  let offset = firstOffset;
  for (const batch of batches) {
    const bytes = encodeRecordBatch({ records: batch.records, codec: batch.codec ?? CODEC_NONE, control: batch.control ?? false });
    patchBaseOffset(bytes, 0, offset);
    offset += batch.records.length;
    parts.push(bytes);
  }
  const total = parts.reduce((sum, part) => sum + part.length, 0);
  const bytes = new Uint8Array(total);
  const ends: number[] = [];
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.length;
    ends.push(at);
  }
  return { bytes, ends };
}

function takeAll(records: PartitionRecords, max = 1_000): string[] {
  const out: string[] = [];
  for (;;) {
    const messages = records.take(max);
    if (messages.length === 0) return out;
    for (const message of messages) out.push(`${message.offset}:${message.text()}`);
  }
}

describe("walkBatchFrames", () => {
  test("counts whole batches, ignores a cut last one, and gives the next fetch offset", () => {
    const { bytes, ends } = answer([{ records: makeRecords(0, 3) }, { records: makeRecords(3, 4) }]);
    expect(walkBatchFrames(bytes, 0)).toEqual({ completeBytes: bytes.length, nextFetchOffset: 7, error: null });
    expect(walkBatchFrames(bytes.subarray(0, bytes.length - 1), 0)).toEqual({ completeBytes: ends[0]!, nextFetchOffset: 3, error: null });
    expect(walkBatchFrames(bytes.subarray(0, 5), 2)).toEqual({ completeBytes: 0, nextFetchOffset: 2, error: null });
    expect(walkBatchFrames(new Uint8Array(0), 9)).toEqual({ completeBytes: 0, nextFetchOffset: 9, error: null });
  });

  test("a bad length or magic is an error, not 'incomplete'", () => {
    const { bytes, ends } = answer([{ records: makeRecords(0, 2) }, { records: makeRecords(2, 2) }]);
    const badMagic = bytes.slice();
    badMagic[ends[0]! + 16] = 1;
    expect(walkBatchFrames(badMagic, 0)).toEqual({ completeBytes: ends[0]!, nextFetchOffset: 2, error: "bad_magic" });
    const badLength = bytes.slice();
    new DataView(badLength.buffer).setInt32(8, 3);
    expect(walkBatchFrames(badLength, 0).error).toBe("bad_length");
  });
});

describe("PartitionRecords", () => {
  test("skips records before the fetch offset and moves the position message by message", () => {
    const { bytes } = answer([{ records: makeRecords(0, 5) }, { records: makeRecords(5, 5), codec: CODEC_LZ4 }]);
    const records = new PartitionRecords("t", 0, 3, 10, bytes, true);
    expect(records.nextFetchOffset).toBe(10);
    const first = records.take(2);
    expect(first.map((m) => m.offset)).toEqual([3n, 4n]);
    expect(records.position).toBe(5);
    expect(takeAll(records)).toEqual(["5:v5", "6:v6", "7:v7", "8:v8", "9:v9"]);
    expect(records.position).toBe(10);
    expect(records.isEmpty).toBe(true);
  });

  test("a control batch delivers nothing but moves the position past it", () => {
    const { bytes } = answer([{ records: makeRecords(0, 2) }, { records: [controlRecord(CONTROL_TYPE_COMMIT, 0, 1)], control: true }, { records: makeRecords(3, 1) }]);
    const records = new PartitionRecords("t", 0, 0, 4, bytes, true);
    expect(takeAll(records)).toEqual(["0:v0", "1:v1", "3:v3"]);
    expect(records.position).toBe(4);
  });

  test("a corrupt batch stops delivery after the good ones, with or without check.crcs as fits", () => {
    const { bytes, ends } = answer([{ records: makeRecords(0, 3) }, { records: makeRecords(3, 3) }, { records: makeRecords(6, 3) }]);
    const flipped = bytes.slice();
    // The last byte of the second batch (a header value character): the CRC no longer matches, the framing still does.
    flipped[ends[1]! - 1]! ^= 0x01;
    const checked = new PartitionRecords("t", 0, 0, 9, flipped, true);
    expect(takeAll(checked)).toEqual(["0:v0", "1:v1", "2:v2"]);
    expect(checked.corrupt).toEqual({ offset: 3, error: "crc_mismatch" });
    expect(checked.position).toBe(3);
    expect(checked.take(10)).toEqual([]);
    // check.crcs=false: the flipped byte is record data, so the batch decodes (the changed byte is visible).
    const unchecked = new PartitionRecords("t", 0, 0, 9, flipped, false);
    expect(takeAll(unchecked).length).toBe(9);
    expect(unchecked.corrupt).toBeNull();
    // A broken CRC field itself.
    const badCrc = bytes.slice();
    badCrc[ends[0]! + CRC_OFFSET]! ^= 1;
    const stopped = new PartitionRecords("t", 0, 0, 9, badCrc, true);
    expect(takeAll(stopped)).toEqual(["0:v0", "1:v1", "2:v2"]);
    expect(stopped.corrupt?.error).toBe("crc_mismatch");
  });

  test("check.crcs=false still refuses records whose framing is wrong", () => {
    const { bytes } = answer([{ records: makeRecords(0, 2) }]);
    const broken = bytes.slice();
    // The records count in the header says 3: the walk finds 2.
    new DataView(broken.buffer).setInt32(57, 3);
    for (const checkCrcs of [true, false]) {
      const records = new PartitionRecords("t", 0, 0, 2, broken, checkCrcs);
      expect(records.take(10)).toEqual([]);
      expect(records.corrupt?.error).toBe(checkCrcs ? "crc_mismatch" : "record_count_mismatch");
    }
  });

  test("every prefix of an answer decodes the whole batches in it and never throws", () => {
    const { bytes, ends } = answer([{ records: makeRecords(0, 3) }, { records: makeRecords(3, 2), codec: CODEC_LZ4 }, { records: makeRecords(5, 4) }]);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const whole = ends.filter((end) => end <= cut).length;
      const expectedCount = [0, 3, 5, 9][whole]!;
      const records = new PartitionRecords("t", 0, 0, 9, bytes.subarray(0, cut), true);
      expect(takeAll(records).length).toBe(expectedCount);
      expect(records.corrupt).toBeNull();
      expect(records.nextFetchOffset).toBe(expectedCount);
    }
  });

  test("records without headers share one empty list; headers come back in order", () => {
    const { bytes } = answer([
      {
        records: [
          { key: null, value: "a", timestamp: 5 },
          { key: "k", value: null, headers: [{ key: "x", value: "1" }, { key: "x", value: null }], timestamp: 6 },
        ],
      },
    ]);
    const [first, second] = new PartitionRecords("t", 2, 0, 2, bytes, true).take(10);
    expect(first!.headers).toEqual([]);
    expect(Object.isFrozen(first!.headers)).toBe(true);
    expect(first!.key).toBeNull();
    expect(first!.keyText()).toBeNull();
    expect(second!.value).toBeNull();
    expect(second!.text()).toBeNull();
    expect(second!.headers.map((h) => [h.key, h.value === null ? null : new TextDecoder().decode(h.value)])).toEqual([
      ["x", "1"],
      ["x", null],
    ]);
    expect(second!.partition).toBe(2);
    expect(second!.timestamp).toBe(6);
  });

  test("the one-pass decoder refuses what the validator refuses, with the same code, and otherwise decodes alike", () => {
    const records: RecordInput[] = [
      ...makeRecords(0, 4),
      { key: null, value: null, timestamp: 1_700_000_000_100 },
      { key: "é", value: "x".repeat(200), headers: [{ key: "ключ", value: null }], timestamp: 1_699_999_999_000 },
    ];
    const good = encodeRecordBatch({ records });
    patchBaseOffset(good, 0, 40);
    // A deterministic generator (xorshift32), so a failure names a reproducible mutation.
    let state = 0x9e3779b9;
    const random = (below: number): number => {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      return (state >>> 0) % below;
    };
    const codes = new Set<string>();
    for (let round = 0; round < 400; round++) {
      const bytes = good.slice();
      // 1-3 bytes of the records section set at random, then the CRC made right again: only the record walk decides.
      for (let n = 0; n <= random(3); n++) bytes[RECORD_BATCH_HEADER_BYTES + random(bytes.length - RECORD_BATCH_HEADER_BYTES)] = random(256);
      new DataView(bytes.buffer).setUint32(CRC_OFFSET, crc32c(bytes.subarray(ATTRIBUTES_OFFSET)));
      const expected = decodeRecordBatch(bytes, { allowOffsetGaps: true });
      for (const checkCrcs of [true, false]) {
        const answer = new PartitionRecords("t", 0, 40, 46, bytes, checkCrcs);
        const got = answer.take(100);
        if (!expected.ok) {
          expect(got).toEqual([]);
          expect(answer.corrupt).toEqual({ offset: 40, error: expected.error });
          codes.add(expected.error);
          continue;
        }
        expect(answer.corrupt).toBeNull();
        expect(got.map((m) => ({ offset: m.offsetNumber, timestamp: m.timestamp, key: m.key, value: m.value, headers: m.headers }))).toEqual(
          expected.value.records.map((r) => ({ offset: r.offset, timestamp: r.timestamp, key: r.key, value: r.value, headers: r.headers })),
        );
      }
    }
    // The mutations reached more than one kind of refusal.
    expect(codes.size).toBeGreaterThan(1);
  });

  test("a message's parts are made once, on first read; LogAppendTime batches give every record maxTimestamp", () => {
    const bytes = encodeRecordBatch({ records: makeRecords(0, 2), logAppendTime: 1_800_000_000_000 });
    patchBaseOffset(bytes, 0, 7);
    const [message] = new PartitionRecords("t", 1, 7, 9, bytes, true).take(1);
    expect(message!.offset).toBe(7n);
    expect(message!.offsetNumber).toBe(7);
    expect(message!.offset).toBe(message!.offset);
    expect(message!.value).toBe(message!.value!);
    expect(message!.key).toBe(message!.key!);
    expect(message!.headers).toBe(message!.headers);
    expect(message!.keyText()).toBe("k0");
    expect(message!.text()).toBe("v0");
    expect(message!.headers.map((h) => [h.key, new TextDecoder().decode(h.value!)])).toEqual([["i", "0"]]);
    expect(message!.timestamp).toBe(1_800_000_000_000);
  });

  test("serializedValueSize and serializedKeySize give byte lengths without a view, -1 for null", () => {
    const records: RecordInput[] = [
      { key: "key", value: new Uint8Array(100), timestamp: 1 },
      { key: null, value: null, timestamp: 2 },
      { key: new Uint8Array(0), value: "héllo", timestamp: 3 },
    ];
    const bytes = encodeRecordBatch({ records });
    const messages = new PartitionRecords("t", 0, 0, 3, bytes, true).take(3);
    expect(messages.map((m) => [m.serializedKeySize, m.serializedValueSize])).toEqual([
      [3, 100],
      [-1, -1],
      [0, 6],
    ]);
    for (const m of messages) {
      expect(m.serializedKeySize).toBe(m.key === null ? -1 : m.key.length);
      expect(m.serializedValueSize).toBe(m.value === null ? -1 : m.value.length);
    }
  });

  test("headers are found after the value whatever the value is: null, empty or bytes", () => {
    const records: RecordInput[] = [
      { key: null, value: null, headers: [{ key: "a", value: "1" }], timestamp: 1 },
      { key: "k", value: new Uint8Array(0), headers: [{ key: "b", value: null }, { key: "b", value: "2" }], timestamp: 2 },
      { key: new Uint8Array(300), value: new Uint8Array(200).fill(7), headers: [{ key: "héader", value: "3" }], timestamp: 3 },
    ];
    const messages = new PartitionRecords("t", 0, 0, 3, encodeRecordBatch({ records }), true).take(3);
    const decode = (value: Uint8Array | null): string | null => (value === null ? null : new TextDecoder().decode(value));
    expect(messages.map((m) => m.headers.map((h) => [h.key, decode(h.value)]))).toEqual([[["a", "1"]], [["b", null], ["b", "2"]], [["héader", "3"]]]);
    expect(messages.map((m) => [m.key?.length ?? null, m.value?.length ?? null])).toEqual([[null, null], [1, 0], [300, 200]]);
    expect(messages[2]!.value!.every((byte) => byte === 7)).toBe(true);
  });
});
