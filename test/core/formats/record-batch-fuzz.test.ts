// Seeded differential fuzz of the batch validator: mutated valid batches (bit flips, byte sets, truncations,
// splices, random tails), with the CRC (and sometimes the length) repaired for a share of them so the record-level
// checks are reached. Asserts: no throw, the WASM kernel and the TypeScript twin give the same answer, and every
// batch either validator accepts decodes consistently.
import { describe, expect, test } from "bun:test";
import { CODEC_GZIP, CODEC_LZ4, CODEC_ZSTD, isCodecSupported } from "../../../core/formats/codecs.ts";
import { crc32cTs } from "../../../core/formats/crc32c.ts";
import {
  type RecordBatchInput,
  decodeRecordBatch,
  encodeRecordBatch,
  openRecordCursor,
  validateRecordBatch,
} from "../../../core/formats/record-batch.ts";
import { ATTRIBUTES_OFFSET, CRC_OFFSET, LENGTH_OFFSET, RECORD_BATCH_HEADER_BYTES } from "../../../core/formats/record-batch-header.ts";

const MUTATIONS = 100_000;
const SEED = 0x5eed_2026;

// xorshift32: small, fast and reproducible.
let state = SEED;
function random(): number {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return (state >>> 0) / 2 ** 32;
}
function below(n: number): number {
  return Math.floor(random() * n);
}

function seedBatches(): Uint8Array[] {
  const inputs: RecordBatchInput[] = [];
  for (let b = 0; b < 12; b++) {
    const count = 1 + below(6);
    inputs.push({
      baseOffset: below(1000),
      producerId: b % 3 === 0 ? 77 : -1,
      records: Array.from({ length: count }, (_, i) => ({
        key: below(4) === 0 ? null : `k${below(100)}`,
        value: below(6) === 0 ? null : "v".repeat(below(40)),
        timestamp: 1_763_700_000_000 + below(100_000) - 50_000,
        headers: below(3) === 0 ? [{ key: `h${i}`, value: below(2) ? null : "x".repeat(below(8)) }] : undefined,
      })),
    });
  }
  const batches = inputs.map((input) => encodeRecordBatch(input));
  // A few compressed seeds: most mutations of these stop in the codec, which is what they are here to exercise.
  const codecs = [CODEC_GZIP, CODEC_LZ4, ...(isCodecSupported(CODEC_ZSTD) ? [CODEC_ZSTD] : [])];
  for (const codec of codecs) batches.push(encodeRecordBatch({ ...inputs[0]!, codec }), encodeRecordBatch({ ...inputs[1]!, codec }));
  return batches;
}

const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xff, 0xfe, 0x02, 0x0c];

function mutate(seeds: Uint8Array[]): Uint8Array {
  const source = seeds[below(seeds.length)]!;
  let bytes = source.slice();
  // Bias positions into the records section, where the interesting checks live.
  const position = () => (random() < 0.75 && bytes.length > RECORD_BATCH_HEADER_BYTES ? RECORD_BATCH_HEADER_BYTES + below(bytes.length - RECORD_BATCH_HEADER_BYTES) : below(bytes.length));
  const kind = below(5);
  if (kind === 0) {
    for (let flips = 1 + below(3); flips > 0; flips--) {
      const at = position();
      bytes[at]! ^= 1 << below(8);
    }
  } else if (kind === 1) {
    bytes[position()] = random() < 0.5 ? INTERESTING_BYTES[below(INTERESTING_BYTES.length)]! : below(256);
  } else if (kind === 2) {
    bytes = bytes.slice(0, below(bytes.length));
  } else if (kind === 3) {
    const other = seeds[below(seeds.length)]!;
    const from = below(other.length);
    const chunk = other.subarray(from, from + 1 + below(24));
    const at = position();
    const replace = random() < 0.5;
    const out = new Uint8Array(bytes.length + chunk.length - (replace ? Math.min(chunk.length, bytes.length - at) : 0));
    out.set(bytes.subarray(0, at));
    out.set(chunk, at);
    out.set(bytes.subarray(replace ? at + chunk.length : at), at + chunk.length);
    bytes = out;
  } else {
    const tail = Uint8Array.from({ length: 1 + below(12) }, () => (random() < 0.5 ? INTERESTING_BYTES[below(INTERESTING_BYTES.length)]! : below(256)));
    const out = new Uint8Array(bytes.length + tail.length);
    out.set(bytes);
    out.set(tail, bytes.length);
    bytes = out;
  }
  // Repair for a share of them: the length (so the frame covers the bytes) and the CRC (so the records are walked).
  if (bytes.length >= RECORD_BATCH_HEADER_BYTES && random() < 0.6) {
    const data = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    if (random() < 0.5) data.setInt32(LENGTH_OFFSET, bytes.length - 12);
    data.setUint32(CRC_OFFSET, crc32cTs(bytes.subarray(ATTRIBUTES_OFFSET, Math.min(bytes.length, 12 + data.getInt32(LENGTH_OFFSET)))));
  }
  return bytes;
}

describe("record batch validator fuzz", () => {
  test(`${MUTATIONS} seeded mutations: no throw, wasm == ts, accepted batches decode consistently`, () => {
    const seeds = seedBatches();
    const errors = new Map<string, number>();
    let accepted = 0;
    let disagreements = 0;
    let firstDisagreement = "";
    let inconsistent = 0;
    let firstInconsistency = "";
    for (let i = 0; i < MUTATIONS; i++) {
      const bytes = mutate(seeds);
      // Half the runs read as stored batches (offset gaps allowed), half as a producer's.
      const allowOffsetGaps = (i & 1) === 1;
      let wasmResult;
      let tsResult;
      try {
        wasmResult = validateRecordBatch(bytes, { kernel: "wasm", allowOffsetGaps });
        tsResult = validateRecordBatch(bytes, { kernel: "ts", allowOffsetGaps });
      } catch (error) {
        throw new Error(`mutation ${i} threw ${String(error)}: ${Buffer.from(bytes).toString("hex")}`);
      }
      if (!Bun.deepEquals(wasmResult, tsResult)) {
        disagreements++;
        firstDisagreement ||= `${JSON.stringify(wasmResult, (_, v) => (typeof v === "bigint" ? String(v) : v))} vs ${JSON.stringify(tsResult, (_, v) => (typeof v === "bigint" ? String(v) : v))}: ${Buffer.from(bytes).toString("hex")}`;
      }
      if (!wasmResult.ok) {
        errors.set(wasmResult.error, (errors.get(wasmResult.error) ?? 0) + 1);
        continue;
      }
      accepted++;
      const summary = wasmResult.value;
      const decoded = decodeRecordBatch(bytes, { allowOffsetGaps });
      const decodedTs = decodeRecordBatch(bytes, { kernel: "ts", allowOffsetGaps });
      const cursor = openRecordCursor(bytes, { allowOffsetGaps });
      const lastOffset = summary.baseOffset + summary.lastOffsetDelta;
      let walked = 0;
      if (cursor.ok) while (cursor.value.next()) walked++;
      const consistent =
        decoded.ok &&
        Bun.deepEquals(decoded, decodedTs) &&
        decoded.value.records.length === summary.recordsCount &&
        walked === summary.recordsCount &&
        decoded.value.records.every((r, k, all) => k === 0 || r.offset > all[k - 1]!.offset) &&
        decoded.value.records.every((r) => r.offset >= summary.baseOffset && r.offset <= lastOffset) &&
        (summary.recordsCount === 0 || allowOffsetGaps || decoded.value.records.at(-1)!.offset === lastOffset);
      if (!consistent) {
        inconsistent++;
        firstInconsistency ||= Buffer.from(bytes).toString("hex");
      }
    }
    expect(firstDisagreement).toBe("");
    expect(disagreements).toBe(0);
    expect(firstInconsistency).toBe("");
    expect(inconsistent).toBe(0);
    // The mutations must reach the deep checks, not just bounce off the frame.
    expect(accepted).toBeGreaterThan(100);
    for (const code of ["incomplete", "crc_mismatch", "bad_record", "record_count_mismatch", "offset_delta_mismatch", "decompression_failed"]) {
      expect(errors.get(code) ?? 0).toBeGreaterThan(0);
    }
    // A few seconds on an idle machine; the bound only absorbs a shared, loaded one.
  }, 30_000);
});
