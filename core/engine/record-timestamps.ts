// ListOffsets needs the first RECORD whose timestamp >= target, not just the first batch. For uncompressed
// CreateTime batches the record timestamps can be read without decoding values: each record starts with
//
//   length varint | attributes i8 | timestampDelta varlong | offsetDelta varint | key, value, headers ...
//
// so a walk reads three varints per record and skips `length` bytes. Compressed batches would need decompression
// (left to the record-batch codec); the caller then answers at batch granularity.
import { ATTRIBUTE_CODEC_MASK, ATTRIBUTE_TIMESTAMP_TYPE_BIT, RECORD_BATCH_HEADER_BYTES, RECORDS_COUNT_OFFSET, BASE_TIMESTAMP_OFFSET, ATTRIBUTES_OFFSET } from "../formats/record-batch-header.ts";
import { type Result, err, ok } from "../formats/result.ts";
import { VarintCursor, readVarint, readVarlong } from "../formats/varint.ts";
import { BATCH_RECORDS_MAX } from "../limits.ts";

/** The first record at or after a timestamp: its offset delta and timestamp. */
export interface RecordTimestamp {
  offsetDelta: number;
  timestamp: number;
}

/** Why the records could not be walked ("unsupported": compressed or LogAppendTime; the others: bad bytes). */
export type RecordTimestampError = "unsupported" | "malformed";

/**
 * The first record (in offset order) of the whole batch `batch` whose timestamp >= `target`, or null when none.
 * Never throws on bad bytes.
 */
export function firstRecordAtOrAfter(batch: Uint8Array, target: number): Result<RecordTimestamp | null, RecordTimestampError> {
  if (batch.length < RECORD_BATCH_HEADER_BYTES) return err("malformed");
  const view = new DataView(batch.buffer, batch.byteOffset, RECORD_BATCH_HEADER_BYTES);
  const attributes = view.getInt16(ATTRIBUTES_OFFSET);
  if ((attributes & ATTRIBUTE_CODEC_MASK) !== 0 || (attributes & ATTRIBUTE_TIMESTAMP_TYPE_BIT) !== 0) return err("unsupported");
  const count = view.getInt32(RECORDS_COUNT_OFFSET);
  if (count < 0 || count > BATCH_RECORDS_MAX) return err("malformed");
  const baseTimestamp = Number(view.getBigInt64(BASE_TIMESTAMP_OFFSET));
  const cursor = new VarintCursor(batch);
  cursor.position = RECORD_BATCH_HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    const length = readVarint(cursor);
    const start = cursor.position;
    if (cursor.error !== null || length < 1 || start + length > batch.length) return err("malformed");
    cursor.position = start + 1; // attributes
    const timestampDelta = readVarlong(cursor);
    const offsetDelta = readVarint(cursor);
    if (cursor.error !== null || cursor.position > start + length) return err("malformed");
    const timestamp = baseTimestamp + timestampDelta;
    if (timestamp >= target) return ok({ offsetDelta, timestamp });
    cursor.position = start + length;
  }
  return ok(null);
}
