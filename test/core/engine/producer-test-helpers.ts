// Test helper: idempotent record batches (buildBatch's batches with producer id, epoch and base sequence set and
// the CRC recomputed, since the producer fields lie inside it).
import { crc32c } from "../../../core/formats/crc32c.ts";
import { ATTRIBUTES_OFFSET, BASE_SEQUENCE_OFFSET, CRC_OFFSET, PRODUCER_EPOCH_OFFSET, PRODUCER_ID_OFFSET } from "../../../core/formats/record-batch-header.ts";
import { type TestBatchOptions, buildBatch } from "./batch-builder.ts";

/** Producer fields of a test batch. */
export interface IdempotentBatchOptions extends TestBatchOptions {
  producerId: number;
  epoch?: number;
  sequence: number;
}

/** A valid uncompressed v2 batch of `records` (default 1) records from an idempotent producer. */
export function idempotentBatch(options: IdempotentBatchOptions): Uint8Array {
  const batch = buildBatch(options);
  const view = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
  view.setBigInt64(PRODUCER_ID_OFFSET, BigInt(options.producerId));
  view.setInt16(PRODUCER_EPOCH_OFFSET, options.epoch ?? 0);
  view.setInt32(BASE_SEQUENCE_OFFSET, options.sequence);
  view.setUint32(CRC_OFFSET, crc32c(batch.subarray(ATTRIBUTES_OFFSET)));
  return batch;
}
