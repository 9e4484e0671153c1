import { describe, expect, test } from "bun:test";
import * as layout from "../../../core/formats/record-batch-header.ts";
import { encodeRecordBatch } from "../../../core/formats/record-batch.ts";

describe("record batch header layout", () => {
  test("the v2 header is 61 bytes, fields at Kafka's offsets", () => {
    expect(layout.RECORD_BATCH_HEADER_BYTES).toBe(61);
    expect(layout.LOG_OVERHEAD_BYTES).toBe(12);
    const offsets = [
      layout.BASE_OFFSET_OFFSET,
      layout.LENGTH_OFFSET,
      layout.PARTITION_LEADER_EPOCH_OFFSET,
      layout.MAGIC_OFFSET,
      layout.CRC_OFFSET,
      layout.ATTRIBUTES_OFFSET,
      layout.LAST_OFFSET_DELTA_OFFSET,
      layout.BASE_TIMESTAMP_OFFSET,
      layout.MAX_TIMESTAMP_OFFSET,
      layout.PRODUCER_ID_OFFSET,
      layout.PRODUCER_EPOCH_OFFSET,
      layout.BASE_SEQUENCE_OFFSET,
      layout.RECORDS_COUNT_OFFSET,
      layout.RECORDS_OFFSET,
    ];
    expect(offsets).toEqual([0, 8, 12, 16, 17, 21, 23, 27, 35, 43, 51, 53, 57, 61]);
    expect(layout.MAGIC_V2).toBe(2);
    expect([
      layout.ATTRIBUTE_CODEC_MASK,
      layout.ATTRIBUTE_TIMESTAMP_TYPE_BIT,
      layout.ATTRIBUTE_TRANSACTIONAL_BIT,
      layout.ATTRIBUTE_CONTROL_BIT,
      layout.ATTRIBUTE_DELETE_HORIZON_BIT,
    ]).toEqual([0x07, 0x08, 0x10, 0x20, 0x40]);
  });

  test("readBatchFrame and readBatchFrameUnchecked agree except for the CRC", () => {
    const batch = encodeRecordBatch({ records: [{ key: "k", value: "v", timestamp: 5 }], baseOffset: 7 });
    const frame = layout.readBatchFrame(batch);
    expect(frame.ok && frame.value.baseOffset).toBe(7);
    expect(layout.readBatchFrameUnchecked(batch) as unknown).toEqual(frame);
    const bad = batch.slice();
    bad[bad.length - 1]! ^= 1;
    expect(layout.readBatchFrame(bad)).toEqual({ ok: false, error: "crc_mismatch" });
    expect(layout.readBatchFrameUnchecked(bad).ok).toBe(true);
  });

  test("patchBaseOffset leaves the CRC valid", () => {
    const batch = encodeRecordBatch({ records: [{ value: "v", timestamp: 5 }] });
    layout.patchBaseOffset(batch, 0, 2 ** 45);
    const frame = layout.readBatchFrame(batch);
    expect(frame.ok && frame.value.baseOffset).toBe(2 ** 45);
  });
});
