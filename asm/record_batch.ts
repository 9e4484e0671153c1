// Kafka RecordBatch v2 kernels: record framing for the builder, header + CRC writer, and the record walk of the
// validator. TypeScript twins and the byte layouts live in core/formats/record-batch.ts and
// core/formats/record-batch-header.ts; one contract suite (test/core/formats/record-batch.test.ts) runs both.
//
// Record (after the 61-byte header, possibly inside a compressed records section):
//   length varint | attributes i8 | timestampDelta varlong | offsetDelta varint | keyLength varint (-1 null) | key
//   | valueLength varint (-1 null) | value | headersCount varint | (hKeyLength varint | hKey | hValueLength | hValue)*
//
// Timestamps and offsets cross the boundary as f64 holding integers (exact to 2^53): an i64 parameter would
// become a BigInt on the JS side, which costs more than the whole record's framing.
import { crc32c } from "./crc32c";

// Header layout (mirrors core/formats/record-batch-header.ts; pinned by test/core/formats/record-batch-header.test.ts).
const LENGTH_OFFSET: usize = 8;
const PARTITION_LEADER_EPOCH_OFFSET: usize = 12;
const MAGIC_OFFSET: usize = 16;
const CRC_OFFSET: usize = 17;
const ATTRIBUTES_OFFSET: usize = 21;
const LAST_OFFSET_DELTA_OFFSET: usize = 23;
const BASE_TIMESTAMP_OFFSET: usize = 27;
const MAX_TIMESTAMP_OFFSET: usize = 35;
const PRODUCER_ID_OFFSET: usize = 43;
const PRODUCER_EPOCH_OFFSET: usize = 51;
const BASE_SEQUENCE_OFFSET: usize = 53;
const RECORDS_COUNT_OFFSET: usize = 57;
const LOG_OVERHEAD_BYTES: usize = 12;
const MAGIC_V2: u8 = 2;

// Record-walk status codes (mirrored as RECORD_SCAN_STATUS in core/formats/record-batch.ts).
const SCAN_OK: i32 = 0;
const SCAN_BAD_RECORD: i32 = 1;
const SCAN_VARINT_OVERFLOW: i32 = 2;
const SCAN_RECORD_COUNT_MISMATCH: i32 = 3;
const SCAN_OFFSET_DELTA_MISMATCH: i32 = 4;

// attributes + timestampDelta + offsetDelta + keyLength + valueLength + headersCount, one byte each at least.
const RECORD_BODY_BYTES_MIN: i32 = 6;
const SAFE_INTEGER_MAX: i64 = 9007199254740991;

// Walk state: the read position and the first error (kernels never allocate, so these are module globals).
let position: usize = 0;
let status: i32 = SCAN_OK;

// A varint running past `end` is a malformed record; more than 5 (10) bytes is an overflow.
@inline
function readVarint(end: usize): i32 {
  let raw: u32 = 0;
  for (let i: u32 = 0; i < 5; i++) {
    if (position >= end) {
      status = SCAN_BAD_RECORD;
      return 0;
    }
    const b = <u32>load<u8>(position++);
    raw |= (b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) return <i32>((raw >>> 1) ^ (0 - (raw & 1)));
  }
  status = SCAN_VARINT_OVERFLOW;
  return 0;
}

// As readVarint for 64 bits; values outside the safe-integer range are malformed records for Rivulet.
@inline
function readVarlong(end: usize): i64 {
  let raw: u64 = 0;
  for (let i: u64 = 0; i < 10; i++) {
    if (position >= end) {
      status = SCAN_BAD_RECORD;
      return 0;
    }
    const b = <u64>load<u8>(position++);
    raw |= (b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) {
      const value = <i64>((raw >>> 1) ^ (0 - (raw & 1)));
      if (value > SAFE_INTEGER_MAX || value < -SAFE_INTEGER_MAX) {
        status = SCAN_BAD_RECORD;
        return 0;
      }
      return value;
    }
  }
  status = SCAN_VARINT_OVERFLOW;
  return 0;
}

/**
 * Walks the uncompressed records section [start, end): every record well-formed and inside its length, exactly
 * `expectedCount` records and no byte after them, every record's timestamp (baseTimestamp + delta) a safe integer,
 * and the offset deltas either exactly 0..count-1 with the last equal to `lastOffsetDelta` (a producer's batch), or,
 * with `allowOffsetGaps` set, strictly increasing within [0, lastOffsetDelta] (a batch the log cleaner rewrote
 * keeps its lastOffsetDelta while records are removed). Returns a SCAN_* status. HOT PATH (bench/record-batch.bench.ts "validate"): one pass, no
 * allocation.
 */
export function recordBatchScanRecords(
  start: usize,
  end: usize,
  expectedCount: i32,
  lastOffsetDelta: i32,
  baseTimestamp: f64,
  allowOffsetGaps: i32,
): i32 {
  const base = <i64>baseTimestamp;
  position = start;
  status = SCAN_OK;
  let count: i32 = 0;
  let previousOffsetDelta: i32 = -1;
  while (position < end) {
    if (count == expectedCount) return SCAN_RECORD_COUNT_MISMATCH;
    const length = readVarint(end);
    if (status != SCAN_OK) return status;
    if (length < RECORD_BODY_BYTES_MIN || <usize>length > end - position) return SCAN_BAD_RECORD;
    const recordEnd = position + <usize>length;
    position++; // attributes: unused by Kafka, not checked (as Kafka's reader)
    const timestamp = base + readVarlong(recordEnd);
    if (status != SCAN_OK) return status;
    if (timestamp > SAFE_INTEGER_MAX || timestamp < -SAFE_INTEGER_MAX) return SCAN_BAD_RECORD;
    const offsetDelta = readVarint(recordEnd);
    if (status != SCAN_OK) return status;
    if (allowOffsetGaps ? offsetDelta <= previousOffsetDelta || offsetDelta > lastOffsetDelta : offsetDelta != count) {
      return SCAN_OFFSET_DELTA_MISMATCH;
    }
    const keyLength = readVarint(recordEnd);
    if (status != SCAN_OK) return status;
    if (keyLength < -1 || (keyLength > 0 && <usize>keyLength > recordEnd - position)) return SCAN_BAD_RECORD;
    if (keyLength > 0) position += <usize>keyLength;
    const valueLength = readVarint(recordEnd);
    if (status != SCAN_OK) return status;
    if (valueLength < -1 || (valueLength > 0 && <usize>valueLength > recordEnd - position)) return SCAN_BAD_RECORD;
    if (valueLength > 0) position += <usize>valueLength;
    const headersCount = readVarint(recordEnd);
    if (status != SCAN_OK) return status;
    // Each header takes at least two bytes (two length varints), which bounds the loop before it starts.
    if (headersCount < 0 || <usize>headersCount > (recordEnd - position) >> 1) return SCAN_BAD_RECORD;
    for (let h: i32 = 0; h < headersCount; h++) {
      const headerKeyLength = readVarint(recordEnd);
      if (status != SCAN_OK) return status;
      // Header keys are never null (Kafka rejects a negative header key size).
      if (headerKeyLength < 0 || <usize>headerKeyLength > recordEnd - position) return SCAN_BAD_RECORD;
      position += <usize>headerKeyLength;
      const headerValueLength = readVarint(recordEnd);
      if (status != SCAN_OK) return status;
      if (headerValueLength < -1 || (headerValueLength > 0 && <usize>headerValueLength > recordEnd - position)) return SCAN_BAD_RECORD;
      if (headerValueLength > 0) position += <usize>headerValueLength;
    }
    if (position != recordEnd) return SCAN_BAD_RECORD;
    count++;
    previousOffsetDelta = offsetDelta;
  }
  if (count != expectedCount) return SCAN_RECORD_COUNT_MISMATCH;
  if (!allowOffsetGaps && count > 0 && previousOffsetDelta != lastOffsetDelta) return SCAN_OFFSET_DELTA_MISMATCH;
  return SCAN_OK;
}

@inline
function varintSize(value: i32): i32 {
  const raw = <u32>((value << 1) ^ (value >> 31));
  // Bits needed / 7, rounded up; zero needs one byte.
  return raw == 0 ? 1 : <i32>((38 - clz<u32>(raw)) / 7);
}

@inline
function varlongSize(value: i64): i32 {
  const raw = <u64>((value << 1) ^ (value >> 63));
  return raw == 0 ? 1 : <i32>((70 - clz<u64>(raw)) / 7);
}

@inline
function writeVarint(at: usize, value: i32): usize {
  let raw = <u32>((value << 1) ^ (value >> 31));
  while (raw >= 0x80) {
    store<u8>(at++, <u8>((raw & 0x7f) | 0x80));
    raw >>>= 7;
  }
  store<u8>(at++, <u8>raw);
  return at;
}

@inline
function writeVarlong(at: usize, value: i64): usize {
  let raw = <u64>((value << 1) ^ (value >> 63));
  while (raw >= 0x80) {
    store<u8>(at++, <u8>((raw & 0x7f) | 0x80));
    raw >>>= 7;
  }
  store<u8>(at++, <u8>raw);
  return at;
}

/**
 * Writes one record's framing at `at` for a record whose key, value and encoded header entries (headersBytes, the
 * entries after the count) the caller then writes in place, and returns the key's address. Layout the caller
 * relies on: value at key + max(keyLength, 0) + varintSize(valueLength); header entries at value +
 * max(valueLength, 0) + varintSize(headersCount); the record ends headersBytes after that.
 * HOT PATH (bench/record-batch.bench.ts "build"): JS copies each key and value once, straight into place.
 */
export function recordBatchAppendRecord(
  at: usize,
  timestampDelta: f64,
  offsetDelta: i32,
  keyLength: i32,
  valueLength: i32,
  headersCount: i32,
  headersBytes: i32,
): usize {
  const delta = <i64>timestampDelta;
  const keyBytes = keyLength > 0 ? keyLength : 0;
  const valueBytes = valueLength > 0 ? valueLength : 0;
  const bodyBytes =
    1 +
    varlongSize(delta) +
    varintSize(offsetDelta) +
    varintSize(keyLength) +
    keyBytes +
    varintSize(valueLength) +
    valueBytes +
    varintSize(headersCount) +
    headersBytes;
  at = writeVarint(at, bodyBytes);
  store<u8>(at++, 0); // record attributes: unused
  at = writeVarlong(at, delta);
  at = writeVarint(at, offsetDelta);
  const keyAt = writeVarint(at, keyLength);
  const valueLengthAt = keyAt + <usize>keyBytes;
  const headersCountAt = writeVarint(valueLengthAt, valueLength) + <usize>valueBytes;
  writeVarint(headersCountAt, headersCount);
  return keyAt;
}

/**
 * Writes the 61-byte header of the batch occupying [base, end) (records already in place after the header),
 * then its CRC-32C over attributes .. end.
 */
export function recordBatchWriteHeader(
  base: usize,
  end: usize,
  baseOffset: f64,
  partitionLeaderEpoch: i32,
  attributes: i32,
  lastOffsetDelta: i32,
  baseTimestamp: f64,
  maxTimestamp: f64,
  producerId: f64,
  producerEpoch: i32,
  baseSequence: i32,
  recordsCount: i32,
): void {
  store<u64>(base, bswap<u64>(<u64>(<i64>baseOffset)));
  store<u32>(base + LENGTH_OFFSET, bswap<u32>(<u32>(end - base - LOG_OVERHEAD_BYTES)));
  store<u32>(base + PARTITION_LEADER_EPOCH_OFFSET, bswap<u32>(<u32>partitionLeaderEpoch));
  store<u8>(base + MAGIC_OFFSET, MAGIC_V2);
  store<u16>(base + ATTRIBUTES_OFFSET, bswap<u16>(<u16>attributes));
  store<u32>(base + LAST_OFFSET_DELTA_OFFSET, bswap<u32>(<u32>lastOffsetDelta));
  store<u64>(base + BASE_TIMESTAMP_OFFSET, bswap<u64>(<u64>(<i64>baseTimestamp)));
  store<u64>(base + MAX_TIMESTAMP_OFFSET, bswap<u64>(<u64>(<i64>maxTimestamp)));
  store<u64>(base + PRODUCER_ID_OFFSET, bswap<u64>(<u64>(<i64>producerId)));
  store<u16>(base + PRODUCER_EPOCH_OFFSET, bswap<u16>(<u16>producerEpoch));
  store<u32>(base + BASE_SEQUENCE_OFFSET, bswap<u32>(<u32>baseSequence));
  store<u32>(base + RECORDS_COUNT_OFFSET, bswap<u32>(<u32>recordsCount));
  const crc = crc32c(base + ATTRIBUTES_OFFSET, end - base - ATTRIBUTES_OFFSET, 0);
  store<u32>(base + CRC_OFFSET, bswap<u32>(crc));
}

/** CRC-32C of the batch at [base, end) as stored in its header's CRC field's coverage (attributes .. end). */
export function recordBatchComputeCrc(base: usize, end: usize): u32 {
  return crc32c(base + ATTRIBUTES_OFFSET, end - base - ATTRIBUTES_OFFSET, 0);
}
