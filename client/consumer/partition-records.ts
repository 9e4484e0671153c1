// One partition's share of one Fetch answer: the stored RecordBatch v2 bytes exactly as the broker sent them (a
// view into the response frame), turned into messages lazily, batch by batch, as the user consumes them.
//
//   records := batch* partial?      batches back to back; the last may be cut short by the size limits
//   batch   := baseOffset i64 | length i32 | ... (61-byte header, core/formats/record-batch-header.ts) | records
//
// Two passes over the bytes, for two reasons:
//   1. On arrival, only the batch frames are walked (lengths, offsets; no CRC, no records), which is cheap and
//      tells the fetcher where the next fetch starts, so that fetch can fly while the user reads this one.
//   2. On delivery, each batch is checked in full (CRC-32C when check.crcs, every record's framing) by the WASM
//      kernel and decoded; a corrupt batch stops the partition there, with nothing after it delivered.
// The first batch may start before the fetch offset (the broker sends the batch that holds it): records before
// the offset are skipped. Control batches (transaction markers) advance the position and deliver nothing.
import { ATTRIBUTE_CODEC_MASK, ATTRIBUTE_CONTROL_BIT, RECORD_BATCH_HEADER_BYTES, readBatchFrameUnchecked } from "../../core/formats/record-batch-header.ts";
import type { RecordBatchHeader } from "../../core/formats/record-batch-header.ts";
import { CODEC_NONE, decompressRecords } from "../../core/formats/codecs.ts";
import { type RecordBatchError, type RecordHeader, RecordCursor, openRecordCursor, scanRecordsTs } from "../../core/formats/record-batch.ts";
import { type Result, err, ok } from "../../core/formats/result.ts";
import { VarintCursor, readVarint } from "../../core/formats/varint.ts";
import { BATCH_BYTES_MAX, BATCH_RECORDS_MAX, DECOMPRESSED_BATCH_BYTES_MAX } from "../../core/limits.ts";
import { type ConsumedMessage, text } from "../records.ts";

const textDecoder = new TextDecoder();

/** Headers of a record that has none: one frozen empty list shared by every such message (no allocation). */
const NO_HEADERS: readonly RecordHeader[] = Object.freeze([]) as readonly RecordHeader[];

/** One consumed record, with helpers to read its value and key as text. */
export class Message implements ConsumedMessage {
  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly offset: bigint,
    readonly timestamp: number,
    readonly key: Uint8Array | null,
    readonly value: Uint8Array | null,
    readonly headers: readonly RecordHeader[],
  ) {}

  /** The value as UTF-8 text, or null for a null value (a tombstone). */
  text(): string | null {
    return text(this.value);
  }

  /** The key as UTF-8 text, or null for a null key. */
  keyText(): string | null {
    return text(this.key);
  }
}

/** What the frame walk found: where the complete batches end, and the offset after the last of them. */
export interface FrameWalk {
  /** Bytes of whole batches at the start of the records (a partial batch after them is ignored, as Kafka does). */
  completeBytes: number;
  /** The offset the next fetch of this partition starts at. */
  nextFetchOffset: number;
  /** Set when a batch frame is invalid (not merely cut short): the partition can not move past it. */
  error: RecordBatchError | null;
}

/**
 * Walks the batch frames of a partition's fetched records without checking CRCs or records: the bytes of whole
 * batches, and the offset after the last of them (never before `fetchOffset`). Never throws.
 */
export function walkBatchFrames(records: Uint8Array, fetchOffset: number): FrameWalk {
  let position = 0;
  let nextFetchOffset = fetchOffset;
  while (position < records.length) {
    const frame = readBatchFrameUnchecked(records, position, BATCH_BYTES_MAX);
    if (!frame.ok) {
      if (frame.error === "incomplete") break;
      return { completeBytes: position, nextFetchOffset, error: frame.error };
    }
    const header = frame.value;
    const lastOffset = header.baseOffset + header.lastOffsetDelta;
    if (!Number.isSafeInteger(lastOffset) || header.baseOffset < 0) return { completeBytes: position, nextFetchOffset, error: "out_of_range" };
    if (lastOffset + 1 > nextFetchOffset) nextFetchOffset = lastOffset + 1;
    position += header.sizeBytes;
  }
  return { completeBytes: position, nextFetchOffset, error: null };
}

/** Why delivery stopped at a batch: its offset and the decoder's reason. */
export interface CorruptBatch {
  /** Offset of the first record the consumer had not yet received when the bad batch was met. */
  offset: number;
  error: RecordBatchError;
}

/**
 * A partition's fetched records, consumed front to back: `take()` hands out messages in order, decoding one batch
 * at a time. `position` is the offset of the next message to hand out (the consumer's position for this partition).
 */
export class PartitionRecords {
  /** Offset of the next message `take()` returns, or the offset after everything delivered so far. */
  position: number;
  /** The offset the next fetch starts at once everything here is consumed. */
  readonly nextFetchOffset: number;
  /** Record bytes of the whole batches held (for the fetcher's buffer bound). */
  readonly bytes: number;
  readonly #records: Uint8Array;
  readonly #checkCrcs: boolean;
  #batchAt = 0;
  #pending: Message[] = [];
  #pendingAt = 0;
  // The offset after the batch #pending came from (records compacted away at its end are passed over too).
  #batchEndOffset = 0;
  #corrupt: CorruptBatch | null = null;
  // The frame walk's error, reported once the batches before it are delivered.
  readonly #frameError: RecordBatchError | null;

  constructor(
    readonly topic: string,
    readonly partition: number,
    /** The offset the fetch asked for. */
    fetchOffset: number,
    /** The partition's high watermark in this answer. */
    readonly highWatermark: number,
    records: Uint8Array,
    checkCrcs: boolean,
  ) {
    const walk = walkBatchFrames(records, fetchOffset);
    this.position = fetchOffset;
    this.nextFetchOffset = walk.nextFetchOffset;
    this.bytes = walk.completeBytes;
    this.#records = records.subarray(0, walk.completeBytes);
    this.#checkCrcs = checkCrcs;
    this.#frameError = walk.error;
  }

  /** True when every message has been handed out (or a corrupt batch stopped delivery). */
  get isEmpty(): boolean {
    return this.#pendingAt >= this.#pending.length && (this.#corrupt !== null || (this.#batchAt >= this.#records.length && this.#frameError === null));
  }

  /** The corrupt batch that stopped delivery, once met. */
  get corrupt(): CorruptBatch | null {
    return this.#corrupt;
  }

  /**
   * Up to `max` next messages, in offset order; an empty list once everything is delivered. When a corrupt batch
   * is met, the messages before it come first and `corrupt` is set; nothing after it is ever returned.
   */
  take(max: number): Message[] {
    const out: Message[] = [];
    while (out.length < max) {
      if (this.#pendingAt < this.#pending.length) {
        const message = this.#pending[this.#pendingAt] as Message;
        this.#pendingAt += 1;
        this.position = this.#pendingAt === this.#pending.length ? this.#batchEndOffset : Number(message.offset) + 1;
        out.push(message);
        continue;
      }
      if (!this.#decodeNextBatch()) break;
    }
    return out;
  }

  // Decodes the next whole batch into #pending; false when there is none left or a corrupt one stopped delivery.
  #decodeNextBatch(): boolean {
    if (this.#corrupt !== null) return false;
    this.#pending = [];
    this.#pendingAt = 0;
    if (this.#batchAt >= this.#records.length) {
      if (this.#frameError !== null) this.#corrupt = { offset: this.position, error: this.#frameError };
      return false;
    }
    const bytes = this.#records.subarray(this.#batchAt);
    const opened = this.#checkCrcs ? openRecordCursor(bytes, { allowOffsetGaps: true }) : openWithoutCrc(bytes);
    if (!opened.ok) {
      this.#corrupt = { offset: this.position, error: opened.error };
      return false;
    }
    const cursor = opened.value;
    const header = cursor.header;
    this.#batchAt += header.sizeBytes;
    this.#batchEndOffset = Math.max(this.position, header.baseOffset + header.lastOffsetDelta + 1);
    if ((header.attributes & ATTRIBUTE_CONTROL_BIT) === 0) this.#decodeRecords(cursor);
    // Empty and control batches still move the position past the batch.
    if (this.#pending.length === 0) this.position = this.#batchEndOffset;
    return true;
  }

  // HOT PATH (bench/consumer.bench.ts): one Message per record, headers list only when the record has headers.
  #decodeRecords(cursor: RecordCursor): void {
    const pending = this.#pending;
    const from = this.position;
    const topic = this.topic;
    const partition = this.partition;
    const varints = new VarintCursor(cursor.records);
    while (cursor.next()) {
      const offset = cursor.offset;
      if (offset < from) continue;
      const headers = cursor.headersCount === 0 ? NO_HEADERS : readHeaders(cursor.records, varints, cursor.headersStart, cursor.headersCount);
      pending.push(new Message(topic, partition, BigInt(offset), cursor.timestamp, cursor.key(), cursor.value(), headers));
    }
  }
}

// HOT PATH (bench/consumer.bench.ts): RecordCursor.headers() with short ASCII keys decoded without TextDecoder
// (a call into the decoder costs more than the few characters of a typical header key). The record walk already
// checked every length, so the varints here are known to be well-formed and in bounds.
function readHeaders(records: Uint8Array, varints: VarintCursor, start: number, count: number): RecordHeader[] {
  const headers: RecordHeader[] = [];
  varints.position = start;
  varints.end = records.length;
  for (let h = 0; h < count; h++) {
    const keyLength = readVarint(varints);
    const key = utf8(records, varints.position, keyLength);
    varints.position += keyLength;
    const valueLength = readVarint(varints);
    const value = valueLength < 0 ? null : records.subarray(varints.position, varints.position + valueLength);
    if (valueLength > 0) varints.position += valueLength;
    headers.push({ key, value });
  }
  return headers;
}

const SHORT_TEXT_BYTES_MAX = 32;

function utf8(bytes: Uint8Array, start: number, length: number): string {
  if (length <= SHORT_TEXT_BYTES_MAX) {
    let text = "";
    for (let i = start; i < start + length; i++) {
      const byte = bytes[i] as number;
      if (byte >= 0x80) return textDecoder.decode(bytes.subarray(start, start + length));
      text += String.fromCharCode(byte);
    }
    return text;
  }
  return textDecoder.decode(bytes.subarray(start, start + length));
}

// check.crcs=false: the same checks as the validator except the CRC (frame, counts, safe numbers, decompression
// bound, every record's framing via the TypeScript walk), so unchecked bytes still never index out of bounds.
function openWithoutCrc(bytes: Uint8Array): Result<RecordCursor, RecordBatchError> {
  const frame = readBatchFrameUnchecked(bytes, 0, BATCH_BYTES_MAX);
  if (!frame.ok) return frame;
  const header: RecordBatchHeader = frame.value;
  if (header.recordsCount < 0) return err("record_count_mismatch");
  if (header.recordsCount > BATCH_RECORDS_MAX) return err("too_large");
  if (
    header.baseOffset < 0 ||
    !Number.isSafeInteger(header.baseOffset + Math.max(header.lastOffsetDelta, 0)) ||
    !Number.isSafeInteger(header.baseTimestamp) ||
    !Number.isSafeInteger(header.maxTimestamp)
  ) {
    return err("out_of_range");
  }
  let records = bytes.subarray(RECORD_BATCH_HEADER_BYTES, header.sizeBytes);
  const codec = header.attributes & ATTRIBUTE_CODEC_MASK;
  if (codec !== CODEC_NONE) {
    const decompressed = decompressRecords(codec, records, DECOMPRESSED_BATCH_BYTES_MAX);
    if (!decompressed.ok) return decompressed;
    records = decompressed.value;
  }
  const status = scanRecordsTs(records, 0, records.length, header.recordsCount, header.lastOffsetDelta, header.baseTimestamp, true);
  if (status !== 0) return err(status === 2 ? "varint_overflow" : status === 3 ? "record_count_mismatch" : status === 4 ? "offset_delta_mismatch" : "bad_record");
  return ok(new RecordCursor(records, header));
}
