// One partition's share of one Fetch answer: the stored RecordBatch v2 bytes exactly as the broker sent them (a
// view into the response frame), turned into messages lazily, batch by batch, as the user consumes them.
//
//   records := batch* partial?      batches back to back; the last may be cut short by the size limits
//   batch   := baseOffset i64 | length i32 | ... (61-byte header, core/formats/record-batch-header.ts) | records
//   record  := length varint | attributes i8 | timestampDelta varlong | offsetDelta varint
//              | keyLength varint | key | valueLength varint | value | headersCount varint | header*
//
// Two passes over the bytes, for two reasons:
//   1. On arrival, only the batch frames are walked (lengths, offsets; no CRC, no records), which is cheap and
//      tells the fetcher where the next fetch starts, so that fetch can fly while the user reads this one.
//   2. On delivery, each batch is checked in full (CRC-32C when check.crcs, then every record's framing) and
//      decoded in the same walk: one pass that checks a record and makes its Message (issue 7: validating first
//      and walking again cost a second pass per record). A corrupt batch stops the partition there, with nothing
//      of it or after it delivered (the Messages already made for it are dropped).
// A Message holds positions, not views: key, value and headers are made when first read (the bigint offset on each
// read), so a consumer that reads only values pays for one view per record, and one that only counts bytes
// (serializedValueSize) for none. What a batch's messages share (topic, partition, bytes) is one object.
// The first batch may start before the fetch offset (the broker sends the batch that holds it): records before
// the offset are skipped. Control batches (transaction markers) advance the position and deliver nothing.
import {
  ATTRIBUTES_OFFSET,
  ATTRIBUTE_CODEC_MASK,
  ATTRIBUTE_CONTROL_BIT,
  ATTRIBUTE_TIMESTAMP_TYPE_BIT,
  RECORD_BATCH_HEADER_BYTES,
  readBatchFrameUnchecked,
} from "../../core/formats/record-batch-header.ts";
import type { RecordBatchHeader } from "../../core/formats/record-batch-header.ts";
import { CODEC_NONE, decompressRecords } from "../../core/formats/codecs.ts";
import { crc32c } from "../../core/formats/crc32c.ts";
import { SCAN_ERRORS, SCAN_OK, checkHeaderRanges, type RecordBatchError, type RecordHeader, type RecordVisitor, scanRecordsTs } from "../../core/formats/record-batch.ts";
import { type Result, err, ok } from "../../core/formats/result.ts";
import { VarintCursor, readVarint } from "../../core/formats/varint.ts";
import { BATCH_BYTES_MAX, DECOMPRESSED_BATCH_BYTES_MAX } from "../../core/limits.ts";
import { type ConsumedMessage, text } from "../records.ts";

const textDecoder = new TextDecoder();

/** Headers of a record that has none: one frozen empty list shared by every such message (no allocation). */
const NO_HEADERS: readonly RecordHeader[] = Object.freeze([]) as readonly RecordHeader[];

// A lazily made part not made yet (undefined never is a part's value: parts are views, null, or a list).
const NOT_MADE = undefined;

/** What every message of one batch shares: one object per batch, so a Message carries one field for all of it. */
class MessageSource {
  constructor(
    readonly topic: string,
    readonly partition: number,
    // The (uncompressed) records section that messages' positions point into.
    readonly bytes: Uint8Array,
  ) {}
}

/**
 * One consumed record, with helpers to read its value and key as text. Key, value and headers are made on first
 * read from positions in the fetched bytes (and kept, so each read returns the same object).
 * HOT PATH (bench/consumer.bench.ts, `rivulet perf consume`): one is made per record, so it holds few fields:
 * what its batch shares sits in one MessageSource; the headers are found after the value (their count varint
 * starts where the value ends); the bigint offset is made on each read (bigints compare by value, so it is the
 * same offset each time).
 */
export class Message implements ConsumedMessage {
  #key: Uint8Array | null | undefined = NOT_MADE;
  #value: Uint8Array | null | undefined = NOT_MADE;
  #headers: readonly RecordHeader[] | undefined = NOT_MADE;

  constructor(
    private readonly source: MessageSource,
    /** The offset as a number (exact: offsets past 2^53 - 1 are refused on decode); `offset` is the same as a bigint. */
    readonly offsetNumber: number,
    readonly timestamp: number,
    private readonly keyStart: number,
    private readonly keyLength: number,
    private readonly valueStart: number,
    private readonly valueLength: number,
  ) {}

  /** The topic the record was read from. */
  get topic(): string {
    return this.source.topic;
  }

  /** The partition the record was read from. */
  get partition(): number {
    return this.source.partition;
  }

  /** The record's offset in its partition. */
  get offset(): bigint {
    return BigInt(this.offsetNumber);
  }

  /** The key as a view into the fetched bytes, or null for a null key. */
  get key(): Uint8Array | null {
    if (this.#key === NOT_MADE) this.#key = this.keyLength < 0 ? null : this.source.bytes.subarray(this.keyStart, this.keyStart + this.keyLength);
    return this.#key;
  }

  /** The value as a view into the fetched bytes, or null for a null value (a tombstone). */
  get value(): Uint8Array | null {
    if (this.#value === NOT_MADE) this.#value = this.valueLength < 0 ? null : this.source.bytes.subarray(this.valueStart, this.valueStart + this.valueLength);
    return this.#value;
  }

  /** Bytes in the value (Kafka's serializedValueSize()), or -1 for a null value; makes no view. */
  get serializedValueSize(): number {
    return this.valueLength;
  }

  /** Bytes in the key (Kafka's serializedKeySize()), or -1 for a null key; makes no view. */
  get serializedKeySize(): number {
    return this.keyLength;
  }

  /** The record's headers in order (a key may repeat); values are views into the fetched bytes. */
  get headers(): readonly RecordHeader[] {
    if (this.#headers === NOT_MADE) this.#headers = readHeaders(this.source.bytes, this.valueStart + Math.max(this.valueLength, 0));
    return this.#headers;
  }

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
    let out: Message[] | null = null;
    let wanted = max;
    while (wanted > 0) {
      const pending = this.#pending;
      const at = this.#pendingAt;
      if (at < pending.length) {
        // Hand out a run of the decoded batch at once: a slice, not a push per message.
        const end = Math.min(pending.length, at + wanted);
        const run = pending.slice(at, end);
        if (out === null) out = run;
        else for (let i = 0; i < run.length; i++) out.push(run[i] as Message);
        wanted -= run.length;
        this.#pendingAt = end;
        this.position = end === pending.length ? this.#batchEndOffset : (pending[end - 1] as Message).offsetNumber + 1;
        continue;
      }
      if (!this.#decodeNextBatch()) break;
    }
    return out ?? [];
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
    const opened = openBatch(this.#records.subarray(this.#batchAt), this.#checkCrcs);
    if (!opened.ok) {
      this.#corrupt = { offset: this.position, error: opened.error };
      return false;
    }
    const { header, records } = opened.value;
    // Control batches are checked all the same, but deliver nothing.
    const deliver = (header.attributes & ATTRIBUTE_CONTROL_BIT) === 0;
    const collector = deliver ? new MessageCollector(this.topic, this.partition, records, header.baseOffset, this.position, header) : null;
    const status = scanRecordsTs(records, 0, records.length, header.recordsCount, header.lastOffsetDelta, header.baseTimestamp, true, collector);
    if (status !== SCAN_OK) {
      this.#corrupt = { offset: this.position, error: SCAN_ERRORS[status]! };
      return false;
    }
    const pending = collector === null ? [] : collector.messages();
    this.#pending = pending;
    this.#batchAt += header.sizeBytes;
    this.#batchEndOffset = Math.max(this.position, header.baseOffset + header.lastOffsetDelta + 1);
    // Empty and control batches still move the position past the batch.
    if (pending.length === 0) this.position = this.#batchEndOffset;
    return true;
  }
}

/**
 * Builds one Message per record at or after `from` while scanRecordsTs checks the batch (one pass: the walk's
 * checks are the shared ones in core/formats/record-batch.ts, offset gaps allowed for compacted topics). On a
 * failed walk the caller drops what was collected.
 * HOT PATH (bench/consumer.bench.ts): one Message and nothing else allocated per record, into a list sized once.
 */
class MessageCollector implements RecordVisitor {
  readonly out: Message[];
  count = 0;
  private readonly source: MessageSource;
  // LogAppendTime batches: every record has the batch's maxTimestamp (as Kafka's consumer reports it).
  private readonly appendTime: number | null;

  constructor(
    topic: string,
    partition: number,
    records: Uint8Array,
    private readonly baseOffset: number,
    private readonly from: number,
    header: RecordBatchHeader,
  ) {
    this.source = new MessageSource(topic, partition, records);
    this.appendTime = (header.attributes & ATTRIBUTE_TIMESTAMP_TYPE_BIT) !== 0 ? header.maxTimestamp : null;
    // recordsCount is checked against the batch's size before the walk (checkHeaderRanges), so this is bounded.
    this.out = new Array<Message>(header.recordsCount);
  }

  record(
    offsetDelta: number,
    timestamp: number,
    _recordStart: number,
    _recordEnd: number,
    keyStart: number,
    keyLength: number,
    valueStart: number,
    valueLength: number,
    _headersStart: number,
    _headersCount: number,
  ): void {
    const offset = this.baseOffset + offsetDelta;
    if (offset < this.from) return;
    this.out[this.count++] = new Message(this.source, offset, this.appendTime ?? timestamp, keyStart, keyLength, valueStart, valueLength);
  }

  /** The messages collected, once the walk ended well. */
  messages(): Message[] {
    const out = this.out;
    if (this.count < out.length) out.length = this.count;
    return out;
  }
}

// RecordCursor.headers() with short ASCII keys decoded without TextDecoder (a call into the decoder costs more
// than the few characters of a typical header key). The record walk already checked every length, so the varints
// here are known to be well-formed and in bounds.
function readHeaders(records: Uint8Array, headersCountAt: number): readonly RecordHeader[] {
  const varints = new VarintCursor(records);
  varints.position = headersCountAt;
  const count = readVarint(varints);
  if (count === 0) return NO_HEADERS;
  const headers: RecordHeader[] = [];
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

/** A batch whose header is checked: its header, and its records section (decompressed when it was compressed). */
interface OpenedBatch {
  header: RecordBatchHeader;
  records: Uint8Array;
}

// The batch-level checks of core/formats' validator, in its order: frame, CRC-32C (when check.crcs), counts, safe
// numbers, decompression bound. The records themselves are checked by decodeRecords, in the same pass that
// decodes them, so unchecked bytes still never index out of bounds.
function openBatch(bytes: Uint8Array, checkCrcs: boolean): Result<OpenedBatch, RecordBatchError> {
  const frame = readBatchFrameUnchecked(bytes, 0, BATCH_BYTES_MAX);
  if (!frame.ok) return frame;
  const header: RecordBatchHeader = frame.value;
  if (checkCrcs && crc32c(bytes.subarray(ATTRIBUTES_OFFSET, header.sizeBytes)) !== header.crc) return err("crc_mismatch");
  const headerError = checkHeaderRanges(header);
  if (headerError !== null) return err(headerError);
  let records = bytes.subarray(RECORD_BATCH_HEADER_BYTES, header.sizeBytes);
  const codec = header.attributes & ATTRIBUTE_CODEC_MASK;
  if (codec !== CODEC_NONE) {
    const decompressed = decompressRecords(codec, records, DECOMPRESSED_BATCH_BYTES_MAX);
    if (!decompressed.ok) return decompressed;
    records = decompressed.value;
  }
  return ok({ header, records });
}
