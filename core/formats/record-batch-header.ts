// Kafka RecordBatch v2 (magic 2) header: 61 bytes, big-endian, byte for byte as Kafka writes it.
//
//   0                   8          12                    16      17      21           23
//   +-------------------+----------+---------------------+-------+-------+------------+
//   | baseOffset  i64   | length   | partitionLeaderEpoch| magic | crc   | attributes |
//   |                   | i32      | i32                 | i8=2  | u32   | i16        |
//   +-------------------+----------+---------------------+-------+-------+------------+
//   23                27                35               43            51        53      57        61
//   +-----------------+-----------------+----------------+-------------+---------+-------+---------+
//   | lastOffsetDelta | baseTimestamp   | maxTimestamp   | producerId  | prodEp. | baseSeq| count   | records...
//   | i32             | i64             | i64            | i64         | i16     | i32    | i32     |
//   +-----------------+-----------------+----------------+-------------+---------+-------+---------+
//
// `length` counts the bytes after itself (from partitionLeaderEpoch to the end of the records), so a batch
// occupies LOG_OVERHEAD_BYTES + length bytes. The CRC-32C covers attributes .. end, so baseOffset and
// partitionLeaderEpoch can be patched by the broker without recomputing it.
//
// Attributes: bits 0-2 codec (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd), bit 3 timestamp type (1 = LogAppendTime),
// bit 4 transactional, bit 5 control, bit 6 hasDeleteHorizonMs (compaction).
import { crc32c } from "./crc32c.ts";
import { type Result, err, ok } from "./result.ts";
import { BATCH_BYTES_MAX } from "../limits.ts";

export const BASE_OFFSET_OFFSET = 0;
export const BASE_OFFSET_BYTES = 8;
export const LENGTH_OFFSET = BASE_OFFSET_OFFSET + BASE_OFFSET_BYTES;
export const LENGTH_BYTES = 4;
export const PARTITION_LEADER_EPOCH_OFFSET = LENGTH_OFFSET + LENGTH_BYTES;
export const PARTITION_LEADER_EPOCH_BYTES = 4;
export const MAGIC_OFFSET = PARTITION_LEADER_EPOCH_OFFSET + PARTITION_LEADER_EPOCH_BYTES;
export const MAGIC_BYTES = 1;
export const CRC_OFFSET = MAGIC_OFFSET + MAGIC_BYTES;
export const CRC_BYTES = 4;
export const ATTRIBUTES_OFFSET = CRC_OFFSET + CRC_BYTES;
export const ATTRIBUTES_BYTES = 2;
export const LAST_OFFSET_DELTA_OFFSET = ATTRIBUTES_OFFSET + ATTRIBUTES_BYTES;
export const LAST_OFFSET_DELTA_BYTES = 4;
export const BASE_TIMESTAMP_OFFSET = LAST_OFFSET_DELTA_OFFSET + LAST_OFFSET_DELTA_BYTES;
export const BASE_TIMESTAMP_BYTES = 8;
export const MAX_TIMESTAMP_OFFSET = BASE_TIMESTAMP_OFFSET + BASE_TIMESTAMP_BYTES;
export const MAX_TIMESTAMP_BYTES = 8;
export const PRODUCER_ID_OFFSET = MAX_TIMESTAMP_OFFSET + MAX_TIMESTAMP_BYTES;
export const PRODUCER_ID_BYTES = 8;
export const PRODUCER_EPOCH_OFFSET = PRODUCER_ID_OFFSET + PRODUCER_ID_BYTES;
export const PRODUCER_EPOCH_BYTES = 2;
export const BASE_SEQUENCE_OFFSET = PRODUCER_EPOCH_OFFSET + PRODUCER_EPOCH_BYTES;
export const BASE_SEQUENCE_BYTES = 4;
export const RECORDS_COUNT_OFFSET = BASE_SEQUENCE_OFFSET + BASE_SEQUENCE_BYTES;
export const RECORDS_COUNT_BYTES = 4;
export const RECORDS_OFFSET = RECORDS_COUNT_OFFSET + RECORDS_COUNT_BYTES;

/** Size of the v2 header: 61 bytes (pinned by a test). */
export const RECORD_BATCH_HEADER_BYTES = RECORDS_OFFSET;
/** Bytes before `length`'s count begins: baseOffset + length (Kafka's LOG_OVERHEAD). */
export const LOG_OVERHEAD_BYTES = LENGTH_OFFSET + LENGTH_BYTES;
/** The only magic we read or write. */
export const MAGIC_V2 = 2;

export const ATTRIBUTE_CODEC_MASK = 0x07;
export const ATTRIBUTE_TIMESTAMP_TYPE_BIT = 0x08;
export const ATTRIBUTE_TRANSACTIONAL_BIT = 0x10;
export const ATTRIBUTE_CONTROL_BIT = 0x20;
export const ATTRIBUTE_DELETE_HORIZON_BIT = 0x40;

/** Kafka's "no producer" values for non-idempotent batches. */
export const NO_PRODUCER_ID = -1n;
export const NO_PRODUCER_EPOCH = -1;
export const NO_SEQUENCE = -1;
export const NO_PARTITION_LEADER_EPOCH = -1;

/** Header fields of one batch, as read from its bytes. Offsets and timestamps are exact within 2^53. */
export interface RecordBatchHeader {
  baseOffset: number;
  /** Total bytes the batch occupies: LOG_OVERHEAD_BYTES + length field. */
  sizeBytes: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  recordsCount: number;
}

/**
 * Why a batch frame could not be read. "incomplete" means more bytes may complete it (a framer waits, recovery
 * treats it as a torn tail); everything else means the bytes are wrong.
 */
export type BatchFrameError = "incomplete" | "bad_length" | "too_large" | "bad_magic" | "crc_mismatch";

/**
 * Reads and checks the frame of the batch starting at `position`: the length is sane and bounded by
 * `maxBatchBytes` before anything else is looked at, the magic is 2, all bytes are present and the CRC matches.
 * Records are not looked at (that is the full validator's job). Never throws.
 */
export function readBatchFrame(
  bytes: Uint8Array,
  position = 0,
  maxBatchBytes: number = BATCH_BYTES_MAX,
): Result<RecordBatchHeader, BatchFrameError> {
  const frame = readBatchFrameUnchecked(bytes, position, maxBatchBytes);
  if (!frame.ok) return frame;
  const start = position + ATTRIBUTES_OFFSET;
  if (crc32c(bytes.subarray(start, position + frame.value.sizeBytes)) !== frame.value.crc) return err("crc_mismatch");
  return frame;
}

/**
 * readBatchFrame without the CRC check, for callers that compute the CRC elsewhere (the WASM validator does it
 * on its own copy of the bytes): same checks in the same order, so both report the same error for the same bytes.
 */
export function readBatchFrameUnchecked(
  bytes: Uint8Array,
  position = 0,
  maxBatchBytes: number = BATCH_BYTES_MAX,
): Result<RecordBatchHeader, Exclude<BatchFrameError, "crc_mismatch">> {
  const available = bytes.length - position;
  if (available < LOG_OVERHEAD_BYTES) return err("incomplete");
  const data = new DataView(bytes.buffer, bytes.byteOffset + position, available);
  const length = data.getInt32(LENGTH_OFFSET);
  const sizeBytes = LOG_OVERHEAD_BYTES + length;
  if (length < RECORD_BATCH_HEADER_BYTES - LOG_OVERHEAD_BYTES) return err("bad_length");
  if (sizeBytes > maxBatchBytes) return err("too_large");
  if (available <= MAGIC_OFFSET) return err("incomplete");
  if (data.getInt8(MAGIC_OFFSET) !== MAGIC_V2) return err("bad_magic");
  if (available < sizeBytes) return err("incomplete");
  return ok(readHeaderFields(data, sizeBytes));
}

/** Reads the header fields without checking anything; the caller has checked that all 61 bytes are there. */
export function readHeaderFields(data: DataView, sizeBytes: number): RecordBatchHeader {
  return {
    baseOffset: Number(data.getBigInt64(BASE_OFFSET_OFFSET)),
    sizeBytes,
    partitionLeaderEpoch: data.getInt32(PARTITION_LEADER_EPOCH_OFFSET),
    magic: data.getInt8(MAGIC_OFFSET),
    crc: data.getUint32(CRC_OFFSET),
    attributes: data.getInt16(ATTRIBUTES_OFFSET),
    lastOffsetDelta: data.getInt32(LAST_OFFSET_DELTA_OFFSET),
    baseTimestamp: Number(data.getBigInt64(BASE_TIMESTAMP_OFFSET)),
    maxTimestamp: Number(data.getBigInt64(MAX_TIMESTAMP_OFFSET)),
    producerId: data.getBigInt64(PRODUCER_ID_OFFSET),
    producerEpoch: data.getInt16(PRODUCER_EPOCH_OFFSET),
    baseSequence: data.getInt32(BASE_SEQUENCE_OFFSET),
    recordsCount: data.getInt32(RECORDS_COUNT_OFFSET),
  };
}

/** Writes a new baseOffset into the batch at `position` (outside the CRC, so the CRC stays valid). */
export function patchBaseOffset(bytes: Uint8Array, position: number, baseOffset: number): void {
  new DataView(bytes.buffer, bytes.byteOffset + position, LOG_OVERHEAD_BYTES).setBigInt64(BASE_OFFSET_OFFSET, BigInt(baseOffset));
}
