import { describe, expect, test } from "bun:test";
import { firstRecordAtOrAfter } from "../../../core/engine/record-timestamps.ts";
import { ATTRIBUTES_OFFSET } from "../../../core/formats/record-batch-header.ts";
import { buildBatch } from "./batch-builder.ts";

describe("firstRecordAtOrAfter", () => {
  test("finds the first record at or after each target", () => {
    const batch = buildBatch({ records: 5, baseTimestamp: 1000, timestampStep: 10 });
    expect(firstRecordAtOrAfter(batch, 0)).toEqual({ ok: true, value: { offsetDelta: 0, timestamp: 1000 } });
    expect(firstRecordAtOrAfter(batch, 1011)).toEqual({ ok: true, value: { offsetDelta: 2, timestamp: 1020 } });
    expect(firstRecordAtOrAfter(batch, 1040)).toEqual({ ok: true, value: { offsetDelta: 4, timestamp: 1040 } });
    expect(firstRecordAtOrAfter(batch, 1041)).toEqual({ ok: true, value: null });
  });

  test("compressed batches are unsupported; every truncation is malformed or unsupported, never a throw", () => {
    const batch = buildBatch({ records: 4, baseTimestamp: 1000, timestampStep: 1, valueBytes: 30 });
    const compressed = batch.slice();
    compressed[ATTRIBUTES_OFFSET + 1] = 3;
    expect(firstRecordAtOrAfter(compressed, 0)).toEqual({ ok: false, error: "unsupported" });
    for (let cut = 0; cut < batch.length; cut++) {
      const result = firstRecordAtOrAfter(batch.subarray(0, cut), 2000);
      expect(result.ok).toBe(false);
    }
  });
});
