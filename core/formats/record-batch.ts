// Kafka RecordBatch v2: build, validate, decode and walk the records after the 61-byte header
// (core/formats/record-batch-header.ts draws the header).
//
//   record := length varint            bytes after this varint, up to the end of the record
//             attributes i8            unused by Kafka, written 0
//             timestampDelta varlong   record timestamp - baseTimestamp
//             offsetDelta varint       record offset - baseOffset (strictly increasing within a batch)
//             keyLength varint | key   -1 = null key
//             valueLength varint | value    -1 = null value (a tombstone)
//             headersCount varint
//             headers := (keyLength varint | key utf8 | valueLength varint (-1 null) | value)*
//   varints are zigzag (core/formats/varint.ts). With a codec (attributes bits 0-2) the whole records section is
//   compressed as one block (core/formats/codecs.ts) and the CRC covers the compressed bytes.
//
//   control record (transaction marker, batch attribute bit 5):
//             key   = version i16 (0) | type i16 (0 ABORT, 1 COMMIT)
//             value = version i16 (0) | coordinatorEpoch i32
//
// Two implementations of each kernel with one contract (test/core/formats/record-batch.test.ts): the WASM kernels in
// asm/record_batch.ts (default) and the TypeScript twins here (oracle, and fallback when the arena cannot grow).
// Everything about the header (frame checks, codec, counts) is shared TypeScript; the twins differ only in the record
// framing of the builder, the CRC and the record walk of the validator.
import {
  ATTRIBUTES_OFFSET,
  ATTRIBUTE_CODEC_MASK,
  ATTRIBUTE_CONTROL_BIT,
  ATTRIBUTE_TIMESTAMP_TYPE_BIT,
  ATTRIBUTE_TRANSACTIONAL_BIT,
  BASE_OFFSET_OFFSET,
  BASE_SEQUENCE_OFFSET,
  BASE_TIMESTAMP_OFFSET,
  CRC_OFFSET,
  LAST_OFFSET_DELTA_OFFSET,
  LENGTH_OFFSET,
  LOG_OVERHEAD_BYTES,
  MAGIC_OFFSET,
  MAGIC_V2,
  MAX_TIMESTAMP_OFFSET,
  NO_PARTITION_LEADER_EPOCH,
  NO_PRODUCER_EPOCH,
  NO_PRODUCER_ID,
  NO_SEQUENCE,
  PARTITION_LEADER_EPOCH_OFFSET,
  PRODUCER_EPOCH_OFFSET,
  PRODUCER_ID_OFFSET,
  RECORDS_COUNT_OFFSET,
  RECORD_BATCH_HEADER_BYTES,
  type BatchFrameError,
  type RecordBatchHeader,
  readBatchFrameUnchecked,
} from "./record-batch-header.ts";
import { CODEC_NONE, CODEC_ZSTD, compressRecords, decompressRecords } from "./codecs.ts";
import { crc32c } from "./crc32c.ts";
import { type Result, err, ok } from "./result.ts";
import { VarintCursor, readVarint, readVarlong, varintSize, varlongSize, writeVarint, writeVarlong } from "./varint.ts";
import { arena, heap, wasm } from "./wasm.ts";
import { assert } from "../assert.ts";
import { BATCH_BYTES_MAX, BATCH_RECORDS_MAX, DECOMPRESSED_BATCH_BYTES_MAX } from "../limits.ts";

/** Smallest record body: attributes, timestampDelta, offsetDelta, keyLength, valueLength, headersCount (1 byte each). */
export const RECORD_BODY_BYTES_MIN = 6;
/** Most framing bytes one record can add around its key, value and header entries (length..headersCount). */
export const RECORD_FRAMING_BYTES_MAX = 5 + 1 + 10 + 5 + 5 + 5 + 5;
/** First buffer of the incremental builder when its batch size is above BUILDER_PREALLOC_BYTES_MAX (it doubles). */
export const BUILDER_INITIAL_BYTES = 16 * 1024;
/**
 * Largest batch size the incremental builder allocates whole up front, so appends never grow and copy the buffer
 * (the producer's batch.size, 16-64 KiB as usually set). Above it the builder starts at BUILDER_INITIAL_BYTES: a
 * zeroed 1 MiB buffer per batch cost more than the doublings when the batch closes far from full (measured with
 * bench/producer.bench.ts append, 1,000 x 100 B into a 1 MiB builder: x0.71 -> x0.60 of the one-call encoder).
 */
export const BUILDER_PREALLOC_BYTES_MAX = 256 * 1024;
/** Control record type of an ABORT transaction marker. */
export const CONTROL_TYPE_ABORT = 0;
/** Control record type of a COMMIT transaction marker. */
export const CONTROL_TYPE_COMMIT = 1;

/**
 * Why a batch is not a valid v2 batch: the frame errors of readBatchFrame, then record-level and codec errors.
 * "out_of_range": a negative base offset, or an offset or timestamp in the header past 2^53 (not exact as a number).
 */
export type RecordBatchError =
  | BatchFrameError
  | "bad_record"
  | "record_count_mismatch"
  | "offset_delta_mismatch"
  | "varint_overflow"
  | "out_of_range"
  | "unsupported_codec"
  | "decompression_failed"
  | "decompressed_too_large";

// Status codes of the record walk, the same numbers as asm/record_batch.ts's SCAN_*; SCAN_ERRORS maps them to codes.
export const SCAN_OK = 0;
const SCAN_BAD_RECORD = 1;
const SCAN_VARINT_OVERFLOW = 2;
const SCAN_RECORD_COUNT_MISMATCH = 3;
const SCAN_OFFSET_DELTA_MISMATCH = 4;
/** The error of each record-walk status code (index = status; SCAN_OK has none). */
export const SCAN_ERRORS: readonly RecordBatchError[] = ["bad_record", "bad_record", "varint_overflow", "record_count_mismatch", "offset_delta_mismatch"];

/**
 * Told about each record by scanRecordsTs once the record is fully checked (positions index the records bytes).
 * A visitor that builds values keeps them only if the whole walk ends in SCAN_OK.
 */
export interface RecordVisitor {
  record(
    offsetDelta: number,
    timestamp: number,
    recordStart: number,
    recordEnd: number,
    keyStart: number,
    keyLength: number,
    valueStart: number,
    valueLength: number,
    headersStart: number,
    headersCount: number,
  ): void;
}

/** A record header to write: the key is a string (UTF-8 on the wire), the value bytes, a string or null. */
export interface RecordHeaderInput {
  key: string;
  value: Uint8Array | string | null;
}

/** A record header as decoded. */
export interface RecordHeader {
  key: string;
  value: Uint8Array | null;
}

/** A record to write. Strings are written as UTF-8; a null or absent key is a null key; a null value a tombstone. */
export interface RecordInput {
  key?: Uint8Array | string | null;
  value: Uint8Array | string | null;
  headers?: readonly RecordHeaderInput[];
  /** Milliseconds since the epoch (CreateTime): a safe integer >= 0, or -1 for none (Kafka's NO_TIMESTAMP). */
  timestamp: number;
}

/** Batch-level fields of a batch to write; every field defaults to what Kafka's producer writes without it. */
export interface RecordBatchOptions {
  /** Offset of the first record (the broker patches it on append); default 0. */
  baseOffset?: number;
  /** Default -1 (no leader epoch; the broker sets it). */
  partitionLeaderEpoch?: number;
  /** Kafka codec id (core/formats/codecs.ts); default 0 (none). */
  codec?: number;
  /** When set, the batch is LogAppendTime (attribute bit 3) and maxTimestamp is this time. */
  logAppendTime?: number;
  transactional?: boolean;
  /** A control batch (transaction markers, built with controlRecord). */
  control?: boolean;
  /** Default -1 (not idempotent). */
  producerId?: number | bigint;
  /** Default -1. */
  producerEpoch?: number;
  /** Default -1. */
  baseSequence?: number;
}

/** A whole batch to write in one call. */
export interface RecordBatchInput extends RecordBatchOptions {
  records: readonly RecordInput[];
}

/** What validateRecordBatch learned: the header, the codec and the size of the uncompressed records section. */
export interface RecordBatchSummary extends RecordBatchHeader {
  codec: number;
  recordsBytes: number;
}

/** One decoded record; key, value and header values are views into the batch bytes (or its decompressed copy). */
export interface DecodedRecord {
  offset: number;
  timestamp: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: RecordHeader[];
}

/** A decoded batch: header fields, flags spelled out, and its records. */
export interface DecodedRecordBatch extends RecordBatchSummary {
  timestampType: "create" | "log_append";
  transactional: boolean;
  control: boolean;
  records: DecodedRecord[];
}

/** Options of the validator and decoders. */
export interface RecordBatchReadOptions {
  /** Largest batch accepted (bytes, whole batch); at most BATCH_BYTES_MAX, which is the default. */
  maxBatchBytes?: number;
  /** Largest uncompressed records section accepted; at most DECOMPRESSED_BATCH_BYTES_MAX, the default. */
  maxDecompressedBytes?: number;
  /** Which record walk and CRC to use: the WASM kernel (default) or the TypeScript twin. */
  kernel?: "wasm" | "ts";
  /**
   * Accept offset deltas with gaps (strictly increasing within [0, lastOffsetDelta]), as in batches the log cleaner
   * rewrote; for batches read back from the log. Default false: a producer's batch has deltas exactly 0..count-1.
   */
  allowOffsetGaps?: boolean;
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

interface RecordBatchKernels {
  recordBatchScanRecords(
    start: number,
    end: number,
    expectedCount: number,
    lastOffsetDelta: number,
    baseTimestamp: number,
    allowOffsetGaps: number,
  ): number;
  recordBatchAppendRecord(
    at: number,
    timestampDelta: number,
    offsetDelta: number,
    keyLength: number,
    valueLength: number,
    headersCount: number,
    headersBytes: number,
  ): number;
  recordBatchWriteHeader(
    base: number,
    end: number,
    baseOffset: number,
    partitionLeaderEpoch: number,
    attributes: number,
    lastOffsetDelta: number,
    baseTimestamp: number,
    maxTimestamp: number,
    producerId: number,
    producerEpoch: number,
    baseSequence: number,
    recordsCount: number,
  ): void;
  recordBatchComputeCrc(base: number, end: number): number;
}
const kernels = wasm as unknown as RecordBatchKernels;

/** Number of bytes `text` takes as UTF-8 (lone surrogates count as U+FFFD, as TextEncoder writes them). */
export function utf8Length(text: string): number {
  let bytes = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

function byteLength(data: Uint8Array | string | null | undefined): number {
  if (data === null || data === undefined) return -1;
  return typeof data === "string" ? utf8Length(data) : data.length;
}

// Writes `data` (its UTF-8 length already known as `length` >= 0) at `at` in `target`.
// HOT PATH (bench/record-batch.bench.ts "build keyed"): a UTF-8 length equal to the UTF-16 length means pure ASCII,
// written by a plain loop; encodeInto needs a subarray view per call, which costs more than short keys themselves.
function writeBytes(target: Uint8Array, at: number, data: Uint8Array | string, length: number): void {
  if (typeof data !== "string") target.set(data, at);
  else if (length === data.length) for (let i = 0; i < length; i++) target[at + i] = data.charCodeAt(i);
  else textEncoder.encodeInto(data, target.subarray(at, at + length));
}

// Bytes of the header entries of a record (after its headersCount varint).
function headersBytesOf(headers: readonly RecordHeaderInput[] | undefined): number {
  if (headers === undefined) return 0;
  let bytes = 0;
  for (let i = 0; i < headers.length; i++) {
    const header = headers[i]!;
    const keyLength = utf8Length(header.key);
    const valueLength = byteLength(header.value);
    bytes += varintSize(keyLength) + keyLength + varintSize(valueLength) + Math.max(valueLength, 0);
  }
  return bytes;
}

// Writes the header entries at `at` (TS: shared by both builders, headers are rare and small).
function writeHeaderEntries(target: Uint8Array, at: number, headers: readonly RecordHeaderInput[] | undefined): number {
  if (headers === undefined) return at;
  for (let i = 0; i < headers.length; i++) {
    const header = headers[i]!;
    const keyLength = utf8Length(header.key);
    at = writeVarint(target, at, keyLength);
    writeBytes(target, at, header.key, keyLength);
    at += keyLength;
    const valueLength = byteLength(header.value);
    at = writeVarint(target, at, valueLength);
    if (header.value !== null) {
      writeBytes(target, at, header.value, valueLength);
      at += valueLength;
    }
  }
  return at;
}

interface ResolvedOptions {
  baseOffset: number;
  partitionLeaderEpoch: number;
  attributes: number;
  logAppendTime: number | undefined;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  codec: number;
}

function resolveOptions(options: RecordBatchOptions): ResolvedOptions {
  const codec = options.codec ?? CODEC_NONE;
  assert(Number.isInteger(codec) && codec >= CODEC_NONE && codec <= CODEC_ZSTD, "codec must be a Kafka codec id 0..4");
  const producerId = Number(options.producerId ?? NO_PRODUCER_ID);
  const resolved: ResolvedOptions = {
    baseOffset: options.baseOffset ?? 0,
    partitionLeaderEpoch: options.partitionLeaderEpoch ?? NO_PARTITION_LEADER_EPOCH,
    attributes:
      codec |
      (options.logAppendTime !== undefined ? ATTRIBUTE_TIMESTAMP_TYPE_BIT : 0) |
      (options.transactional ? ATTRIBUTE_TRANSACTIONAL_BIT : 0) |
      (options.control ? ATTRIBUTE_CONTROL_BIT : 0),
    logAppendTime: options.logAppendTime,
    producerId,
    producerEpoch: options.producerEpoch ?? NO_PRODUCER_EPOCH,
    baseSequence: options.baseSequence ?? NO_SEQUENCE,
    codec,
  };
  assert(Number.isSafeInteger(resolved.baseOffset) && resolved.baseOffset >= 0, "baseOffset must be a non-negative safe integer");
  assert(Number.isSafeInteger(producerId), "producerId must be a safe integer");
  assert(resolved.logAppendTime === undefined || Number.isSafeInteger(resolved.logAppendTime), "logAppendTime must be a safe integer");
  return resolved;
}

// Kafka's rule (MemoryRecordsBuilder): a timestamp is non-negative, or -1 for "no timestamp". With both ends safe,
// a delta from the first record is safe too, except the one absurd pair (2^53 - 1, then -1) the second assert stops.
function assertTimestamp(timestamp: number, baseTimestamp: number): void {
  assert(Number.isSafeInteger(timestamp) && timestamp >= -1, "record timestamp must be a safe integer >= -1 (milliseconds)");
  assert(Number.isSafeInteger(timestamp - baseTimestamp), "record timestamp delta must be a safe integer");
}

// Writes the header fields and the CRC of the batch occupying all of `bytes` (records already in place).
function writeHeaderTs(
  bytes: Uint8Array,
  options: ResolvedOptions,
  lastOffsetDelta: number,
  baseTimestamp: number,
  maxTimestamp: number,
  recordsCount: number,
): void {
  const data = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  data.setBigInt64(BASE_OFFSET_OFFSET, BigInt(options.baseOffset));
  data.setInt32(LENGTH_OFFSET, bytes.length - LOG_OVERHEAD_BYTES);
  data.setInt32(PARTITION_LEADER_EPOCH_OFFSET, options.partitionLeaderEpoch);
  data.setInt8(MAGIC_OFFSET, MAGIC_V2);
  data.setInt16(ATTRIBUTES_OFFSET, options.attributes);
  data.setInt32(LAST_OFFSET_DELTA_OFFSET, lastOffsetDelta);
  data.setBigInt64(BASE_TIMESTAMP_OFFSET, BigInt(baseTimestamp));
  data.setBigInt64(MAX_TIMESTAMP_OFFSET, BigInt(maxTimestamp));
  data.setBigInt64(PRODUCER_ID_OFFSET, BigInt(options.producerId));
  data.setInt16(PRODUCER_EPOCH_OFFSET, options.producerEpoch);
  data.setInt32(BASE_SEQUENCE_OFFSET, options.baseSequence);
  data.setInt32(RECORDS_COUNT_OFFSET, recordsCount);
  data.setUint32(CRC_OFFSET, crc32c(bytes.subarray(ATTRIBUTES_OFFSET)));
}

// Compresses the records section and writes the final batch (header + compressed records + CRC).
function finishCompressed(
  records: Uint8Array,
  options: ResolvedOptions,
  lastOffsetDelta: number,
  baseTimestamp: number,
  maxTimestamp: number,
  recordsCount: number,
): Uint8Array {
  const compressed = compressRecords(options.codec, records);
  // The builder's caller picked the codec: a codec this runtime lacks is a configuration bug, caught up front by
  // isCodecSupported in the producer.
  assert(compressed.ok, "codec not supported by this runtime");
  const out = new Uint8Array(RECORD_BATCH_HEADER_BYTES + compressed.value.length);
  out.set(compressed.value, RECORD_BATCH_HEADER_BYTES);
  writeHeaderTs(out, options, lastOffsetDelta, baseTimestamp, maxTimestamp, recordsCount);
  return out;
}

/** Bytes of the buffer a RecordBatchBuilder for `batchSizeBytes` starts with (whole up to the preallocation bound). */
export function builderBufferBytes(batchSizeBytes: number): number {
  return batchSizeBytes <= BUILDER_PREALLOC_BYTES_MAX ? batchSizeBytes : BUILDER_INITIAL_BYTES;
}

/**
 * Incremental batch builder (TypeScript): open with the batch fields, append records one at a time until `append`
 * says the next one does not fit `batchSizeBytes` (uncompressed), then `close` for the batch bytes. Kafka's rule
 * for an oversized record holds: an empty builder takes one record larger than batchSizeBytes, never one past
 * BATCH_BYTES_MAX. Also the TypeScript twin of encodeRecordBatch.
 */
export class RecordBatchBuilder {
  private buffer: Uint8Array;
  private position = RECORD_BATCH_HEADER_BYTES;
  private count = 0;
  private baseTimestamp = 0;
  private maxTimestamp = -1;
  private closed = false;
  private readonly options: ResolvedOptions;

  constructor(
    options: RecordBatchOptions = {},
    private readonly batchSizeBytes: number = BATCH_BYTES_MAX,
    /** A buffer to build in (a producer's pooled batch buffer, old bytes are overwritten), else a new one. */
    buffer?: Uint8Array,
  ) {
    assert(batchSizeBytes > RECORD_BATCH_HEADER_BYTES && batchSizeBytes <= BATCH_BYTES_MAX, "batchSizeBytes out of range");
    this.options = resolveOptions(options);
    this.buffer = buffer ?? new Uint8Array(builderBufferBytes(batchSizeBytes));
    assert(this.buffer.length > RECORD_BATCH_HEADER_BYTES, "the builder's buffer holds at least the header");
  }

  /** The buffer the batch is built in: close() returns a view of it or a copy (see there). */
  get backingBuffer(): Uint8Array {
    return this.buffer;
  }

  /** Records appended so far. */
  get recordCount(): number {
    return this.count;
  }

  /** Uncompressed size so far: header + records. */
  get sizeBytes(): number {
    return this.position;
  }

  /** Appends `record` and returns true, or returns false (writing nothing) when it does not fit. */
  append(record: RecordInput): boolean {
    assert(!this.closed, "append after close");
    if (this.count === 0) this.baseTimestamp = record.timestamp;
    assertTimestamp(record.timestamp, this.baseTimestamp);
    const timestampDelta = record.timestamp - this.baseTimestamp;
    const offsetDelta = this.count;
    const keyLength = byteLength(record.key);
    const valueLength = byteLength(record.value);
    const headersCount = record.headers?.length ?? 0;
    const bodyBytes =
      1 +
      varlongSize(timestampDelta) +
      varintSize(offsetDelta) +
      varintSize(keyLength) +
      Math.max(keyLength, 0) +
      varintSize(valueLength) +
      Math.max(valueLength, 0) +
      varintSize(headersCount) +
      headersBytesOf(record.headers);
    const end = this.position + varintSize(bodyBytes) + bodyBytes;
    if (end > BATCH_BYTES_MAX || (this.count > 0 && end > this.batchSizeBytes)) return false;
    this.ensureCapacity(end);
    const buffer = this.buffer;
    let at = writeVarint(buffer, this.position, bodyBytes);
    buffer[at++] = 0;
    at = writeVarlong(buffer, at, timestampDelta);
    at = writeVarint(buffer, at, offsetDelta);
    at = writeVarint(buffer, at, keyLength);
    if (keyLength >= 0) {
      writeBytes(buffer, at, record.key!, keyLength);
      at += keyLength;
    }
    at = writeVarint(buffer, at, valueLength);
    if (valueLength >= 0) {
      writeBytes(buffer, at, record.value!, valueLength);
      at += valueLength;
    }
    at = writeVarint(buffer, at, headersCount);
    at = writeHeaderEntries(buffer, at, record.headers);
    assert(at === end, "record size computation disagrees with the bytes written");
    this.position = end;
    this.count++;
    if (record.timestamp > this.maxTimestamp) this.maxTimestamp = record.timestamp;
    return true;
  }

  /**
   * Finishes the batch (compressing the records section when a codec is set) and returns its bytes: a view of the
   * builder's buffer when the batch fills at least half of it (no copy), else a copy sized to the batch, so a
   * small batch does not hold a mostly empty buffer. The builder never writes again after close.
   */
  close(): Uint8Array {
    assert(!this.closed, "close twice");
    assert(this.count > 0, "a batch holds at least one record");
    this.closed = true;
    const maxTimestamp = this.options.logAppendTime ?? this.maxTimestamp;
    const lastOffsetDelta = this.count - 1;
    if (this.options.codec !== CODEC_NONE) {
      const records = this.buffer.subarray(RECORD_BATCH_HEADER_BYTES, this.position);
      return finishCompressed(records, this.options, lastOffsetDelta, this.baseTimestamp, maxTimestamp, this.count);
    }
    const out = this.position * 2 >= this.buffer.length ? this.buffer.subarray(0, this.position) : this.buffer.slice(0, this.position);
    writeHeaderTs(out, this.options, lastOffsetDelta, this.baseTimestamp, maxTimestamp, this.count);
    return out;
  }

  private ensureCapacity(bytes: number): void {
    if (bytes <= this.buffer.length) return;
    let capacity = this.buffer.length * 2;
    while (capacity < bytes) capacity *= 2;
    const grown = new Uint8Array(Math.min(capacity, BATCH_BYTES_MAX));
    grown.set(this.buffer.subarray(0, this.position));
    this.buffer = grown;
  }
}

/** TypeScript twin of encodeRecordBatch. */
export function encodeRecordBatchTs(batch: RecordBatchInput): Uint8Array {
  const builder = new RecordBatchBuilder(batch);
  for (const record of batch.records) assert(builder.append(record), "batch exceeds BATCH_BYTES_MAX");
  return builder.close();
}

/**
 * Builds Kafka's exact v2 bytes for `batch`: baseTimestamp is the first record's timestamp (as Kafka's
 * MemoryRecordsBuilder), maxTimestamp the largest (or logAppendTime), offset deltas 0..n-1, CRC-32C last.
 * HOT PATH (bench/record-batch.bench.ts "build"): keys and values are copied once, straight into wasm memory where
 * the kernel has framed them; strings are UTF-8 encoded in place.
 */
export function encodeRecordBatch(batch: RecordBatchInput): Uint8Array {
  const records = batch.records;
  const count = records.length;
  assert(count > 0, "a batch holds at least one record");
  const options = resolveOptions(batch);
  // Upper bound of the batch, so the arena is reserved once and the heap view stays valid for the whole build.
  let boundBytes = RECORD_BATCH_HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    const record = records[i]!;
    boundBytes += RECORD_FRAMING_BYTES_MAX + boundOf(record.key) + boundOf(record.value);
    const headers = record.headers;
    if (headers !== undefined) for (let h = 0; h < headers.length; h++) boundBytes += 10 + boundOf(headers[h]!.key) + boundOf(headers[h]!.value);
  }
  const base = boundBytes <= BATCH_BYTES_MAX + RECORD_BATCH_HEADER_BYTES ? arena(boundBytes) : -1;
  if (base < 0) return encodeRecordBatchTs(batch);
  const memory = heap();
  const baseTimestamp = records[0]!.timestamp;
  let maxTimestamp = -1;
  let at = base + RECORD_BATCH_HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    const record = records[i]!;
    const timestamp = record.timestamp;
    assertTimestamp(timestamp, baseTimestamp);
    if (timestamp > maxTimestamp) maxTimestamp = timestamp;
    const key = record.key;
    const value = record.value;
    const keyLength = byteLength(key);
    const valueLength = byteLength(value);
    const headers = record.headers;
    const headersCount = headers?.length ?? 0;
    const headersBytes = headersCount === 0 ? 0 : headersBytesOf(headers);
    const keyAt = kernels.recordBatchAppendRecord(at, timestamp - baseTimestamp, i, keyLength, valueLength, headersCount, headersBytes);
    at = keyAt;
    if (keyLength >= 0) {
      writeBytes(memory, at, key!, keyLength);
      at += keyLength;
    }
    at += varintSize(valueLength);
    if (valueLength >= 0) {
      writeBytes(memory, at, value!, valueLength);
      at += valueLength;
    }
    at += varintSize(headersCount);
    if (headersCount > 0) at = writeHeaderEntries(memory, at, headers);
  }
  assert(at - base <= BATCH_BYTES_MAX, "batch exceeds BATCH_BYTES_MAX");
  const finalMaxTimestamp = options.logAppendTime ?? maxTimestamp;
  if (options.codec !== CODEC_NONE) {
    // Copy out before compressing: the LZ4 codec uses the same arena.
    const section = memory.slice(base + RECORD_BATCH_HEADER_BYTES, at);
    return finishCompressed(section, options, count - 1, baseTimestamp, finalMaxTimestamp, count);
  }
  kernels.recordBatchWriteHeader(
    base,
    at,
    options.baseOffset,
    options.partitionLeaderEpoch,
    options.attributes,
    count - 1,
    baseTimestamp,
    finalMaxTimestamp,
    options.producerId,
    options.producerEpoch,
    options.baseSequence,
    count,
  );
  return heap().slice(base, at);
}

function boundOf(data: Uint8Array | string | null | undefined): number {
  if (data === null || data === undefined) return 0;
  return typeof data === "string" ? data.length * 3 : data.length;
}

/**
 * TypeScript twin of the record walk (asm/record_batch.ts recordBatchScanRecords, same rules, same codes): every
 * record of [start, end) well-formed and inside its length, exactly `expectedCount` records and nothing after them,
 * every record's timestamp (baseTimestamp + delta) a safe integer, offset deltas 0..count-1 ending at
 * `lastOffsetDelta`, or with `allowOffsetGaps` strictly increasing within [0, lastOffsetDelta]. A `visitor` is
 * told about each record once it is checked (the consumer builds its messages in this same pass).
 */
export function scanRecordsTs(
  records: Uint8Array,
  start: number,
  end: number,
  expectedCount: number,
  lastOffsetDelta: number,
  baseTimestamp: number,
  allowOffsetGaps: boolean,
  visitor: RecordVisitor | null = null,
): number {
  const cursor = new VarintCursor(records);
  cursor.position = start;
  cursor.end = end;
  let count = 0;
  let previousOffsetDelta = -1;
  while (cursor.position < end) {
    if (count === expectedCount) return SCAN_RECORD_COUNT_MISMATCH;
    const recordStart = cursor.position;
    const length = readVarint(cursor);
    if (cursor.error !== null) return scanStatus(cursor);
    if (length < RECORD_BODY_BYTES_MIN || length > end - cursor.position) return SCAN_BAD_RECORD;
    const recordEnd = cursor.position + length;
    cursor.end = recordEnd;
    cursor.position++; // attributes: unused by Kafka, not checked (as Kafka's reader)
    const timestampDelta = readVarlong(cursor);
    if (cursor.error !== null) return scanStatus(cursor);
    // Both terms are safe integers, so a true sum past 2^53 - 1 rounds to at least 2^53: never a false "safe".
    if (!Number.isSafeInteger(baseTimestamp + timestampDelta)) return SCAN_BAD_RECORD;
    const offsetDelta = readVarint(cursor);
    if (cursor.error !== null) return scanStatus(cursor);
    if (allowOffsetGaps ? offsetDelta <= previousOffsetDelta || offsetDelta > lastOffsetDelta : offsetDelta !== count) return SCAN_OFFSET_DELTA_MISMATCH;
    const keyLength = readVarint(cursor);
    if (cursor.error !== null) return scanStatus(cursor);
    if (keyLength < -1 || keyLength > recordEnd - cursor.position) return SCAN_BAD_RECORD;
    const keyStart = cursor.position;
    if (keyLength > 0) cursor.position += keyLength;
    const valueLength = readVarint(cursor);
    if (cursor.error !== null) return scanStatus(cursor);
    if (valueLength < -1 || valueLength > recordEnd - cursor.position) return SCAN_BAD_RECORD;
    const valueStart = cursor.position;
    if (valueLength > 0) cursor.position += valueLength;
    const headersCount = readVarint(cursor);
    if (cursor.error !== null) return scanStatus(cursor);
    if (headersCount < 0 || headersCount > (recordEnd - cursor.position) >> 1) return SCAN_BAD_RECORD;
    const headersStart = cursor.position;
    for (let h = 0; h < headersCount; h++) {
      const headerKeyLength = readVarint(cursor);
      if (cursor.error !== null) return scanStatus(cursor);
      if (headerKeyLength < 0 || headerKeyLength > recordEnd - cursor.position) return SCAN_BAD_RECORD;
      cursor.position += headerKeyLength;
      const headerValueLength = readVarint(cursor);
      if (cursor.error !== null) return scanStatus(cursor);
      if (headerValueLength < -1 || headerValueLength > recordEnd - cursor.position) return SCAN_BAD_RECORD;
      if (headerValueLength > 0) cursor.position += headerValueLength;
    }
    if (cursor.position !== recordEnd) return SCAN_BAD_RECORD;
    cursor.end = end;
    if (visitor !== null) {
      visitor.record(offsetDelta, baseTimestamp + timestampDelta, recordStart, recordEnd, keyStart, keyLength, valueStart, valueLength, headersStart, headersCount);
    }
    count++;
    previousOffsetDelta = offsetDelta;
  }
  if (count !== expectedCount) return SCAN_RECORD_COUNT_MISMATCH;
  if (!allowOffsetGaps && count > 0 && previousOffsetDelta !== lastOffsetDelta) return SCAN_OFFSET_DELTA_MISMATCH;
  return SCAN_OK;
}

// "truncated" and "out_of_range" inside a record are malformed records; "overflow" has its own code.
function scanStatus(cursor: VarintCursor): number {
  return cursor.error === "overflow" ? SCAN_VARINT_OVERFLOW : SCAN_BAD_RECORD;
}

interface CheckedBatch {
  header: RecordBatchHeader;
  codec: number;
  /** The uncompressed records section (a view of the input when not compressed). */
  records: Uint8Array;
}

// The validator proper: frame, CRC, counts, codec, decompression, record walk, in that order for both twins.
function checkRecordBatch(bytes: Uint8Array, options: RecordBatchReadOptions): Result<CheckedBatch, RecordBatchError> {
  const maxBatchBytes = options.maxBatchBytes ?? BATCH_BYTES_MAX;
  const maxDecompressedBytes = options.maxDecompressedBytes ?? DECOMPRESSED_BATCH_BYTES_MAX;
  const allowOffsetGaps = options.allowOffsetGaps ?? false;
  assert(maxBatchBytes <= BATCH_BYTES_MAX, "maxBatchBytes is bounded by BATCH_BYTES_MAX");
  assert(maxDecompressedBytes <= DECOMPRESSED_BATCH_BYTES_MAX, "maxDecompressedBytes is bounded by DECOMPRESSED_BATCH_BYTES_MAX");
  const frame = readBatchFrameUnchecked(bytes, 0, maxBatchBytes);
  if (!frame.ok) return frame;
  const header = frame.value;
  const size = header.sizeBytes;
  let base = options.kernel === "ts" ? -1 : arena(size);
  let crc: number;
  if (base >= 0) {
    heap().set(bytes.subarray(0, size), base);
    crc = kernels.recordBatchComputeCrc(base, base + size) >>> 0;
  } else crc = crc32c(bytes.subarray(ATTRIBUTES_OFFSET, size));
  if (crc !== header.crc) return err("crc_mismatch");
  const headerError = checkHeaderRanges(header);
  if (headerError !== null) return err(headerError);
  const codec = header.attributes & ATTRIBUTE_CODEC_MASK;
  let records = bytes.subarray(RECORD_BATCH_HEADER_BYTES, size);
  let start = base + RECORD_BATCH_HEADER_BYTES;
  if (codec !== CODEC_NONE) {
    const decompressed = decompressRecords(codec, records, maxDecompressedBytes);
    if (!decompressed.ok) return decompressed;
    records = decompressed.value;
    if (base >= 0) {
      // The compressed copy is done with (and the LZ4 codec may have used the arena): copy the records in afresh.
      base = arena(records.length);
      if (base >= 0) heap().set(records, base);
      start = base;
    }
  }
  const status =
    base >= 0
      ? kernels.recordBatchScanRecords(start, start + records.length, header.recordsCount, header.lastOffsetDelta, header.baseTimestamp, allowOffsetGaps ? 1 : 0)
      : scanRecordsTs(records, 0, records.length, header.recordsCount, header.lastOffsetDelta, header.baseTimestamp, allowOffsetGaps);
  if (status !== SCAN_OK) return err(SCAN_ERRORS[status]!);
  return ok({ header, codec, records });
}

/**
 * The header checks every reader of a batch makes after its frame: a record count within bounds, and offsets and
 * timestamps a number holds exactly (the header reader rounds past 2^53). Null when the header is usable.
 */
export function checkHeaderRanges(header: RecordBatchHeader): RecordBatchError | null {
  if (header.recordsCount < 0) return "record_count_mismatch";
  if (header.recordsCount > BATCH_RECORDS_MAX) return "too_large";
  if (
    header.baseOffset < 0 ||
    !Number.isSafeInteger(header.baseOffset + Math.max(header.lastOffsetDelta, 0)) ||
    !Number.isSafeInteger(header.baseTimestamp) ||
    !Number.isSafeInteger(header.maxTimestamp)
  ) {
    return "out_of_range";
  }
  return null;
}

/**
 * Validates the batch at the start of `bytes` (bytes after it are not looked at): frame, magic, CRC, record count
 * and every record, decompressing first when compressed (bounded). Never throws.
 * HOT PATH (bench/record-batch.bench.ts "validate"): no per-record allocation in either twin.
 */
export function validateRecordBatch(bytes: Uint8Array, options: RecordBatchReadOptions = {}): Result<RecordBatchSummary, RecordBatchError> {
  const checked = checkRecordBatch(bytes, options);
  if (!checked.ok) return checked;
  return ok({ ...checked.value.header, codec: checked.value.codec, recordsBytes: checked.value.records.length });
}

/**
 * Walks the records of a validated batch without allocating per record: after each `next()` the fields give the
 * record's deltas and the positions and lengths of its parts inside `records` (the uncompressed records section),
 * for the consumer and the compaction cleaner.
 */
export class RecordCursor {
  /** Offset delta of the current record. */
  offsetDelta = -1;
  /** Timestamp delta of the current record. */
  timestampDelta = 0;
  /** Position of the current record's length varint in `records`. */
  recordStart = 0;
  /** Position just after the current record. */
  recordEnd = 0;
  /** Position of the key, and its length (-1 = null key). */
  keyStart = 0;
  keyLength = -1;
  /** Position of the value, and its length (-1 = null value, a tombstone). */
  valueStart = 0;
  valueLength = -1;
  /** Position of the first header entry, and the number of headers. */
  headersStart = 0;
  headersCount = 0;
  private readonly varints: VarintCursor;

  constructor(
    /** The uncompressed records section the positions point into. */
    readonly records: Uint8Array,
    /** Header of the batch the records belong to. */
    readonly header: RecordBatchHeader,
  ) {
    this.varints = new VarintCursor(records);
  }

  /** Moves to the next record; false after the last. */
  next(): boolean {
    const varints = this.varints;
    if (varints.position >= varints.end) return false;
    this.recordStart = varints.position;
    const length = readVarint(varints);
    this.recordEnd = varints.position + length;
    varints.position++;
    this.timestampDelta = readVarlong(varints);
    this.offsetDelta = readVarint(varints);
    this.keyLength = readVarint(varints);
    this.keyStart = varints.position;
    if (this.keyLength > 0) varints.position += this.keyLength;
    this.valueLength = readVarint(varints);
    this.valueStart = varints.position;
    if (this.valueLength > 0) varints.position += this.valueLength;
    this.headersCount = readVarint(varints);
    this.headersStart = varints.position;
    varints.position = this.recordEnd;
    return true;
  }

  /** Offset of the current record. */
  get offset(): number {
    return this.header.baseOffset + this.offsetDelta;
  }

  /** Timestamp of the current record (the batch's maxTimestamp for LogAppendTime batches, as Kafka's consumer). */
  get timestamp(): number {
    if (this.header.attributes & ATTRIBUTE_TIMESTAMP_TYPE_BIT) return this.header.maxTimestamp;
    return this.header.baseTimestamp + this.timestampDelta;
  }

  /** The current key as a view into `records`, or null. */
  key(): Uint8Array | null {
    return this.keyLength < 0 ? null : this.records.subarray(this.keyStart, this.keyStart + this.keyLength);
  }

  /** The current value as a view into `records`, or null (a tombstone). */
  value(): Uint8Array | null {
    return this.valueLength < 0 ? null : this.records.subarray(this.valueStart, this.valueStart + this.valueLength);
  }

  /** The current record's headers (allocates). */
  headers(): RecordHeader[] {
    const headers: RecordHeader[] = [];
    if (this.headersCount === 0) return headers;
    const varints = new VarintCursor(this.records);
    varints.position = this.headersStart;
    for (let h = 0; h < this.headersCount; h++) {
      const keyLength = readVarint(varints);
      const key = textDecoder.decode(this.records.subarray(varints.position, varints.position + keyLength));
      varints.position += keyLength;
      const valueLength = readVarint(varints);
      const value = valueLength < 0 ? null : this.records.subarray(varints.position, varints.position + valueLength);
      if (valueLength > 0) varints.position += valueLength;
      headers.push({ key, value });
    }
    return headers;
  }
}

/** Validates the batch at the start of `bytes` and opens a cursor over its records. */
export function openRecordCursor(bytes: Uint8Array, options: RecordBatchReadOptions = {}): Result<RecordCursor, RecordBatchError> {
  const checked = checkRecordBatch(bytes, options);
  if (!checked.ok) return checked;
  return ok(new RecordCursor(checked.value.records, checked.value.header));
}

/**
 * Validates and decodes the batch at the start of `bytes`: header fields and records with absolute offsets and
 * timestamps. Keys and values are views (no copy) into `bytes`, or into the decompressed section. Never throws.
 */
export function decodeRecordBatch(bytes: Uint8Array, options: RecordBatchReadOptions = {}): Result<DecodedRecordBatch, RecordBatchError> {
  const checked = checkRecordBatch(bytes, options);
  if (!checked.ok) return checked;
  const { header, codec, records } = checked.value;
  const cursor = new RecordCursor(records, header);
  const decoded: DecodedRecord[] = [];
  while (cursor.next()) {
    decoded.push({ offset: cursor.offset, timestamp: cursor.timestamp, key: cursor.key(), value: cursor.value(), headers: cursor.headers() });
  }
  return ok({
    ...header,
    codec,
    recordsBytes: records.length,
    timestampType: header.attributes & ATTRIBUTE_TIMESTAMP_TYPE_BIT ? "log_append" : "create",
    transactional: (header.attributes & ATTRIBUTE_TRANSACTIONAL_BIT) !== 0,
    control: (header.attributes & ATTRIBUTE_CONTROL_BIT) !== 0,
    records: decoded,
  });
}

/** A transaction marker record (COMMIT or ABORT) for a control batch, as Kafka's EndTransactionMarker writes it. */
export function controlRecord(type: typeof CONTROL_TYPE_ABORT | typeof CONTROL_TYPE_COMMIT, coordinatorEpoch: number, timestamp: number): RecordInput {
  const key = new Uint8Array(4);
  new DataView(key.buffer).setInt16(2, type);
  const value = new Uint8Array(6);
  new DataView(value.buffer).setInt32(2, coordinatorEpoch);
  return { key, value, timestamp };
}

/**
 * Reads a control record's type and, for COMMIT/ABORT markers, its coordinator epoch (-1 for other control types,
 * such as KRaft's, which carry none); "bad_record" when the key or a marker's value is not version 0.
 */
export function readControlRecord(
  key: Uint8Array | null,
  value: Uint8Array | null,
): Result<{ type: number; coordinatorEpoch: number }, "bad_record"> {
  if (key === null || key.length < 4) return err("bad_record");
  const keyData = new DataView(key.buffer, key.byteOffset, key.length);
  if (keyData.getInt16(0) !== 0) return err("bad_record");
  const type = keyData.getInt16(2);
  if (type !== CONTROL_TYPE_ABORT && type !== CONTROL_TYPE_COMMIT) return ok({ type, coordinatorEpoch: -1 });
  if (value === null || value.length < 6) return err("bad_record");
  const valueData = new DataView(value.buffer, value.byteOffset, value.length);
  if (valueData.getInt16(0) !== 0) return err("bad_record");
  return ok({ type, coordinatorEpoch: valueData.getInt32(2) });
}
