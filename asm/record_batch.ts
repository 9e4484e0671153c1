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

// Header layout (mirrors core/formats/record-batch-header.ts, whose constants a test pins; the contract suite checks
// that this writer's bytes equal the TS twin's and the golden fixtures').
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

// Record-walk status codes (the same numbers as SCAN_* in core/formats/record-batch.ts).
const SCAN_OK: i32 = 0;
const SCAN_BAD_RECORD: i32 = 1;
const SCAN_VARINT_OVERFLOW: i32 = 2;
const SCAN_RECORD_COUNT_MISMATCH: i32 = 3;
const SCAN_OFFSET_DELTA_MISMATCH: i32 = 4;

// attributes + timestampDelta + offsetDelta + keyLength + valueLength + headersCount, one byte each at least.
const RECORD_BODY_BYTES_MIN: i32 = 6;
const SAFE_INTEGER_MAX: i64 = 9007199254740991;

// Varint reads return the value and the next position packed in one u64 (value << 32 | next position), so the walk
// keeps its position in a local: a module global read and written per byte costs the walk about half its speed.
// No real position is below 2 (the arena starts after static data), so 0 and 1 in the low half mean errors.
const READ_TRUNCATED: u64 = 0;
const READ_OVERFLOW: u64 = 1;

// A varint running past `end` is a malformed record; more than 5 bytes is an overflow.
@inline
function readVarint(p: usize, end: usize): u64 {
  if (p >= end) return READ_TRUNCATED;
  let b = <u32>load<u8>(p);
  // Most varints in a batch are one byte (small lengths, deltas, counts).
  if (b < 0x80) return (<u64>((b >>> 1) ^ (0 - (b & 1))) << 32) | <u64>(p + 1);
  let raw: u32 = b & 0x7f;
  p++;
  for (let i: u32 = 1; i < 5; i++) {
    if (p >= end) return READ_TRUNCATED;
    b = <u32>load<u8>(p++);
    raw |= (b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) return (<u64>((raw >>> 1) ^ (0 - (raw & 1))) << 32) | <u64>p;
  }
  return READ_OVERFLOW;
}

@inline
function failed(read: u64): bool {
  return <u32>read <= 1;
}

@inline
function failure(read: u64): i32 {
  return read == READ_OVERFLOW ? SCAN_VARINT_OVERFLOW : SCAN_BAD_RECORD;
}

@inline
function valueOf(read: u64): i32 {
  return <i32>(read >> 32);
}

@inline
function nextOf(read: u64): usize {
  return <usize><u32>read;
}

// Result of readVarlong beyond its status: the value and the next position (read once per record, so globals
// cost nothing measurable here).
let varlongValue: i64 = 0;
let varlongNext: usize = 0;

// As readVarint for 64 bits, returning a SCAN_* status; values outside the safe-integer range are malformed
// records for Rivulet.
@inline
function readVarlong(p: usize, end: usize): i32 {
  let raw: u64 = 0;
  for (let i: u64 = 0; i < 10; i++) {
    if (p >= end) return SCAN_BAD_RECORD;
    const b = <u64>load<u8>(p++);
    raw |= (b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) {
      const value = <i64>((raw >>> 1) ^ (0 - (raw & 1)));
      if (value > SAFE_INTEGER_MAX || value < -SAFE_INTEGER_MAX) return SCAN_BAD_RECORD;
      varlongValue = value;
      varlongNext = p;
      return SCAN_OK;
    }
  }
  return SCAN_VARINT_OVERFLOW;
}

/**
 * Walks the uncompressed records section [start, end): every record well-formed and inside its length, exactly
 * `expectedCount` records and no byte after them, every record's timestamp (baseTimestamp + delta) a safe integer,
 * and the offset deltas either exactly 0..count-1 with the last equal to `lastOffsetDelta` (a producer's batch), or,
 * with `allowOffsetGaps` set, strictly increasing within [0, lastOffsetDelta] (a batch the log cleaner rewrote
 * keeps its lastOffsetDelta while records are removed). Returns a SCAN_* status. HOT PATH
 * (bench/record-batch.bench.ts "validate"): one pass, no allocation, position in a local.
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
  let p = start;
  let count: i32 = 0;
  let previousOffsetDelta: i32 = -1;
  while (p < end) {
    if (count == expectedCount) return SCAN_RECORD_COUNT_MISMATCH;
    let read = readVarint(p, end);
    if (failed(read)) return failure(read);
    const length = valueOf(read);
    p = nextOf(read);
    if (length < RECORD_BODY_BYTES_MIN || <usize>length > end - p) return SCAN_BAD_RECORD;
    const recordEnd = p + <usize>length;
    p++; // attributes: unused by Kafka, not checked (as Kafka's reader)
    const varlongStatus = readVarlong(p, recordEnd);
    if (varlongStatus != SCAN_OK) return varlongStatus;
    p = varlongNext;
    const timestamp = base + varlongValue;
    if (timestamp > SAFE_INTEGER_MAX || timestamp < -SAFE_INTEGER_MAX) return SCAN_BAD_RECORD;
    read = readVarint(p, recordEnd);
    if (failed(read)) return failure(read);
    const offsetDelta = valueOf(read);
    p = nextOf(read);
    if (allowOffsetGaps ? offsetDelta <= previousOffsetDelta || offsetDelta > lastOffsetDelta : offsetDelta != count) {
      return SCAN_OFFSET_DELTA_MISMATCH;
    }
    read = readVarint(p, recordEnd);
    if (failed(read)) return failure(read);
    const keyLength = valueOf(read);
    p = nextOf(read);
    if (keyLength < -1 || (keyLength > 0 && <usize>keyLength > recordEnd - p)) return SCAN_BAD_RECORD;
    if (keyLength > 0) p += <usize>keyLength;
    read = readVarint(p, recordEnd);
    if (failed(read)) return failure(read);
    const valueLength = valueOf(read);
    p = nextOf(read);
    if (valueLength < -1 || (valueLength > 0 && <usize>valueLength > recordEnd - p)) return SCAN_BAD_RECORD;
    if (valueLength > 0) p += <usize>valueLength;
    read = readVarint(p, recordEnd);
    if (failed(read)) return failure(read);
    const headersCount = valueOf(read);
    p = nextOf(read);
    // Each header takes at least two bytes (two length varints), which bounds the loop before it starts.
    if (headersCount < 0 || <usize>headersCount > (recordEnd - p) >> 1) return SCAN_BAD_RECORD;
    for (let h: i32 = 0; h < headersCount; h++) {
      read = readVarint(p, recordEnd);
      if (failed(read)) return failure(read);
      const headerKeyLength = valueOf(read);
      p = nextOf(read);
      // Header keys are never null (Kafka rejects a negative header key size).
      if (headerKeyLength < 0 || <usize>headerKeyLength > recordEnd - p) return SCAN_BAD_RECORD;
      p += <usize>headerKeyLength;
      read = readVarint(p, recordEnd);
      if (failed(read)) return failure(read);
      const headerValueLength = valueOf(read);
      p = nextOf(read);
      if (headerValueLength < -1 || (headerValueLength > 0 && <usize>headerValueLength > recordEnd - p)) return SCAN_BAD_RECORD;
      if (headerValueLength > 0) p += <usize>headerValueLength;
    }
    if (p != recordEnd) return SCAN_BAD_RECORD;
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
