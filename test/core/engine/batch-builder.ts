// Test helper: builds valid Kafka v2 record batches (header + uncompressed records + CRC-32C) without the full
// encoder, so the log's tests do not depend on it. Records carry a key, a value and no headers.
import { crc32c } from "../../../core/formats/crc32c.ts";
import { ATTRIBUTES_OFFSET, CRC_OFFSET, LOG_OVERHEAD_BYTES, RECORD_BATCH_HEADER_BYTES } from "../../../core/formats/record-batch-header.ts";

function zigzagVarint(out: number[], value: number): void {
  let v = BigInt.asUintN(64, (BigInt(value) << 1n) ^ (BigInt(value) >> 63n));
  while (v >= 0x80n) {
    out.push(Number((v & 0x7fn) | 0x80n));
    v >>= 7n;
  }
  out.push(Number(v));
}

/** Options of one test batch. */
export interface TestBatchOptions {
  records?: number;
  baseOffset?: number;
  baseTimestamp?: number;
  /** Timestamp delta per record (so maxTimestamp = baseTimestamp + (records-1) * step). */
  timestampStep?: number;
  valueBytes?: number;
  /** Fills values with this byte (default: derived from the record index). */
  fill?: number;
}

/** A valid uncompressed v2 batch. */
export function buildBatch(options: TestBatchOptions = {}): Uint8Array {
  const records = options.records ?? 1;
  const baseTimestamp = options.baseTimestamp ?? 1_700_000_000_000;
  const step = options.timestampStep ?? 0;
  const valueBytes = options.valueBytes ?? 16;
  const body: number[] = [];
  for (let i = 0; i < records; i++) {
    const record: number[] = [0];
    zigzagVarint(record, i * step);
    zigzagVarint(record, i);
    const key = new TextEncoder().encode(`k${i}`);
    zigzagVarint(record, key.length);
    record.push(...key);
    zigzagVarint(record, valueBytes);
    for (let b = 0; b < valueBytes; b++) record.push(options.fill ?? (i + b) & 0xff);
    zigzagVarint(record, 0);
    zigzagVarint(body, record.length);
    body.push(...record);
  }
  const size = RECORD_BATCH_HEADER_BYTES + body.length;
  const batch = new Uint8Array(size);
  const view = new DataView(batch.buffer);
  view.setBigInt64(0, BigInt(options.baseOffset ?? 0));
  view.setInt32(8, size - LOG_OVERHEAD_BYTES);
  view.setInt32(12, -1);
  view.setInt8(16, 2);
  view.setInt16(21, 0);
  view.setInt32(23, records - 1);
  view.setBigInt64(27, BigInt(baseTimestamp));
  view.setBigInt64(35, BigInt(baseTimestamp + (records - 1) * step));
  view.setBigInt64(43, -1n);
  view.setInt16(51, -1);
  view.setInt32(53, -1);
  view.setInt32(57, records);
  batch.set(body, RECORD_BATCH_HEADER_BYTES);
  view.setUint32(CRC_OFFSET, crc32c(batch.subarray(ATTRIBUTES_OFFSET)));
  return batch;
}

/** A batch of about `bytes` total size holding one record (for size-driven tests and benchmarks). */
export function buildBatchOfSize(bytes: number, options: TestBatchOptions = {}): Uint8Array {
  // 61 header + ~10 bytes of record framing + key.
  return buildBatch({ ...options, records: 1, valueBytes: Math.max(0, bytes - RECORD_BATCH_HEADER_BYTES - 12) });
}
