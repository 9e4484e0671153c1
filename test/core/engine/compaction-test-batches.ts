// Test helper (not a test): builds valid Kafka v2 batches with chosen keys, values (null = tombstone), offset
// deltas and timestamps, independently of core/formats/record-batch.ts, so the cleaner's tests do not depend on
// the encoder under test elsewhere. Also a naive decoder of the records the tests read back.
import { compressRecords } from "../../../core/formats/codecs.ts";
import { crc32c } from "../../../core/formats/crc32c.ts";
import {
  ATTRIBUTES_OFFSET,
  ATTRIBUTE_CODEC_MASK,
  ATTRIBUTE_CONTROL_BIT,
  BASE_OFFSET_OFFSET,
  BASE_SEQUENCE_OFFSET,
  BASE_TIMESTAMP_OFFSET,
  CRC_OFFSET,
  LAST_OFFSET_DELTA_OFFSET,
  LENGTH_OFFSET,
  LOG_OVERHEAD_BYTES,
  MAGIC_OFFSET,
  MAX_TIMESTAMP_OFFSET,
  PARTITION_LEADER_EPOCH_OFFSET,
  PRODUCER_EPOCH_OFFSET,
  PRODUCER_ID_OFFSET,
  RECORDS_COUNT_OFFSET,
  RECORD_BATCH_HEADER_BYTES,
  readBatchFrame,
} from "../../../core/formats/record-batch-header.ts";
import { decompressRecords } from "../../../core/formats/codecs.ts";
import { VarintCursor, readVarint, readVarlong, writeVarint, writeVarlong } from "../../../core/formats/varint.ts";
import type { PartitionLog } from "../../../core/engine/partition-log.ts";

export interface TestRecord {
  key: string | null;
  value: string | null;
  /** Defaults to the record's index in the batch. */
  offsetDelta?: number;
  /** Absolute timestamp; defaults to the batch's baseTimestamp. */
  timestamp?: number;
}

export interface TestBatchOptions {
  baseOffset?: number;
  baseTimestamp?: number;
  codec?: number;
  producerId?: bigint;
  producerEpoch?: number;
  baseSequence?: number;
  control?: boolean;
  /** Defaults to the last record's offsetDelta. */
  lastOffsetDelta?: number;
}

const encoder = new TextEncoder();

function encodeRecord(record: TestRecord, index: number, baseTimestamp: number): Uint8Array {
  const key = record.key === null ? null : encoder.encode(record.key);
  const value = record.value === null ? null : encoder.encode(record.value);
  const body = new Uint8Array(64 + (key?.length ?? 0) + (value?.length ?? 0));
  let at = 0;
  body[at++] = 0;
  at = writeVarlong(body, at, (record.timestamp ?? baseTimestamp) - baseTimestamp);
  at = writeVarint(body, at, record.offsetDelta ?? index);
  at = writeVarint(body, at, key === null ? -1 : key.length);
  if (key !== null) {
    body.set(key, at);
    at += key.length;
  }
  at = writeVarint(body, at, value === null ? -1 : value.length);
  if (value !== null) {
    body.set(value, at);
    at += value.length;
  }
  at = writeVarint(body, at, 0);
  const out = new Uint8Array(5 + at);
  const start = writeVarint(out, 0, at);
  out.set(body.subarray(0, at), start);
  return out.subarray(0, start + at);
}

/** A valid v2 batch holding `records`. */
export function buildTestBatch(records: TestRecord[], options: TestBatchOptions = {}): Uint8Array {
  const baseTimestamp = options.baseTimestamp ?? 1_000;
  const parts = records.map((record, index) => encodeRecord(record, index, baseTimestamp));
  const raw = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    raw.set(part, at);
    at += part.length;
  }
  const codec = options.codec ?? 0;
  const compressed = compressRecords(codec, raw);
  if (!compressed.ok) throw new Error(compressed.error);
  const section = compressed.value;
  const out = new Uint8Array(RECORD_BATCH_HEADER_BYTES + section.length);
  const view = new DataView(out.buffer);
  const lastDelta = options.lastOffsetDelta ?? records.reduce((max, r, i) => Math.max(max, r.offsetDelta ?? i), 0);
  const maxTimestamp = records.reduce((max, r) => Math.max(max, r.timestamp ?? baseTimestamp), baseTimestamp);
  view.setBigInt64(BASE_OFFSET_OFFSET, BigInt(options.baseOffset ?? 0));
  view.setInt32(LENGTH_OFFSET, out.length - LOG_OVERHEAD_BYTES);
  view.setInt32(PARTITION_LEADER_EPOCH_OFFSET, 0);
  view.setInt8(MAGIC_OFFSET, 2);
  view.setInt16(ATTRIBUTES_OFFSET, codec | (options.control ? ATTRIBUTE_CONTROL_BIT : 0));
  view.setInt32(LAST_OFFSET_DELTA_OFFSET, lastDelta);
  view.setBigInt64(BASE_TIMESTAMP_OFFSET, BigInt(baseTimestamp));
  view.setBigInt64(MAX_TIMESTAMP_OFFSET, BigInt(maxTimestamp));
  view.setBigInt64(PRODUCER_ID_OFFSET, options.producerId ?? -1n);
  view.setInt16(PRODUCER_EPOCH_OFFSET, options.producerEpoch ?? -1);
  view.setInt32(BASE_SEQUENCE_OFFSET, options.baseSequence ?? -1);
  view.setInt32(RECORDS_COUNT_OFFSET, records.length);
  out.set(section, RECORD_BATCH_HEADER_BYTES);
  view.setUint32(CRC_OFFSET, crc32c(out.subarray(ATTRIBUTES_OFFSET)));
  return out;
}

export interface ReadRecord {
  offset: number;
  timestamp: number;
  key: string | null;
  value: string | null;
}

const decoder = new TextDecoder();

/** Naive decoder for tests: every record of every batch in `bytes` (checked frames), in order. */
export function readTestRecords(bytes: Uint8Array): ReadRecord[] {
  const out: ReadRecord[] = [];
  let position = 0;
  while (position < bytes.length) {
    const frame = readBatchFrame(bytes, position);
    if (!frame.ok) throw new Error(`bad batch at ${position}: ${frame.error}`);
    const header = frame.value;
    const codec = header.attributes & ATTRIBUTE_CODEC_MASK;
    const section = bytes.subarray(position + RECORD_BATCH_HEADER_BYTES, position + header.sizeBytes);
    const records = decompressRecords(codec, section, 64 * 1024 * 1024);
    if (!records.ok) throw new Error(records.error);
    const cursor = new VarintCursor(records.value);
    for (let i = 0; i < header.recordsCount; i++) {
      const length = readVarint(cursor);
      const end = cursor.position + length;
      cursor.position += 1;
      const timestampDelta = readVarlong(cursor);
      const offsetDelta = readVarint(cursor);
      const keyLength = readVarint(cursor);
      const key = keyLength < 0 ? null : decoder.decode(records.value.subarray(cursor.position, cursor.position + keyLength));
      cursor.position += Math.max(0, keyLength);
      const valueLength = readVarint(cursor);
      const value = valueLength < 0 ? null : decoder.decode(records.value.subarray(cursor.position, cursor.position + valueLength));
      if (cursor.error !== null) throw new Error(cursor.error);
      out.push({ offset: header.baseOffset + offsetDelta, timestamp: header.baseTimestamp + timestampDelta, key, value });
      cursor.position = end;
    }
    position += header.sizeBytes;
  }
  return out;
}

/** Every record of `log` from its start to the high watermark, through read() + readRanges(), in order. */
export function readLogRecords(log: PartitionLog): ReadRecord[] {
  const out: ReadRecord[] = [];
  let offset: number = log.logStartOffset;
  while (offset < log.highWatermark) {
    const read = log.read(offset, 1 << 20);
    if (!read.ok) throw new Error(`read failed: ${read.error}`);
    if (read.value.ranges.length === 0) break;
    out.push(...readTestRecords(log.readRanges(read.value.ranges)).filter((record) => record.offset >= offset));
    offset = read.value.nextOffset;
  }
  return out;
}

