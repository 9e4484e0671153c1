// Record-level work of the log cleaner on one stored v2 batch: walk its records (key, tombstone, offset) and
// rewrite it keeping only some of them, with every surviving record's offset unchanged.
//
// Why records are copied byte for byte: a v2 record stores its offset and timestamp as deltas from the batch's
// baseOffset and baseTimestamp. The rewritten batch keeps baseOffset, baseTimestamp, maxTimestamp,
// lastOffsetDelta, partitionLeaderEpoch, attributes and the producer fields (producerId, producerEpoch,
// baseSequence), so each kept record's raw bytes stay valid as they are and its offset stays the same; only
// recordsCount, the length, the records section (recompressed with the batch's codec when compressed) and the
// CRC change. Keeping lastOffsetDelta means a batch still spans its original offset range, so a consumer moves
// past it to the same next offset and an idempotent producer's last sequence (baseSequence + lastOffsetDelta) is
// unchanged. maxTimestamp is kept too (still an upper bound of the kept records), so time-based retention and the
// time index see the same segment times after cleaning.
//
// Record layout inside the (decompressed) records section, Kafka's v2:
//
//   length varint | attributes i8 | timestampDelta varlong | offsetDelta varint |
//   keyLength varint (-1 = null) | key | valueLength varint (-1 = null: a tombstone) | value |
//   headerCount varint | headers...
//
// The batches come from our own log, where they were validated at append and their CRC is checked again before
// use here; still, every length is bounds-checked and a bad one is a typed error, never a throw.
import {
  ATTRIBUTES_OFFSET,
  ATTRIBUTE_CODEC_MASK,
  ATTRIBUTE_CONTROL_BIT,
  CRC_OFFSET,
  LENGTH_OFFSET,
  LOG_OVERHEAD_BYTES,
  RECORDS_COUNT_OFFSET,
  RECORD_BATCH_HEADER_BYTES,
  readBatchFrame,
  type RecordBatchHeader,
} from "../formats/record-batch-header.ts";
import { CODEC_NONE, compressRecords, decompressRecords } from "../formats/codecs.ts";
import { crc32c } from "../formats/crc32c.ts";
import { type Result, err, ok } from "../formats/result.ts";
import { SCAN_ERRORS, SCAN_OK, type RecordVisitor, scanRecordsTs } from "../formats/record-batch.ts";
import { BATCH_BYTES_MAX, BATCH_RECORDS_MAX, DECOMPRESSED_BATCH_BYTES_MAX } from "../limits.ts";

/** Why a stored batch could not be walked or rewritten. */
export type CompactionBatchError =
  | "bad_frame"
  | "bad_record"
  | "record_count_mismatch"
  | "unsupported_codec"
  | "decompression_failed"
  | "decompressed_too_large";

/** What the cleaner learns about one record; `key` is a view valid only during the visit. */
export interface RecordEntry {
  offset: number;
  timestamp: number;
  /** Key bytes, or null for a keyless record. */
  key: Uint8Array | null;
  /** True when the value is null: a tombstone. */
  tombstone: boolean;
}

/** A walked batch: its header and its records section (decompressed), for visiting records. */
export interface OpenedBatch {
  header: RecordBatchHeader;
  isControl: boolean;
  codec: number;
  /** The whole batch as stored. */
  bytes: Uint8Array;
  /** Uncompressed records section. */
  records: Uint8Array;
}

/** Checks a stored batch's frame and CRC and decompresses its records section. */
export function openBatch(bytes: Uint8Array): Result<OpenedBatch, CompactionBatchError> {
  const frame = readBatchFrame(bytes, 0, BATCH_BYTES_MAX);
  if (!frame.ok || frame.value.sizeBytes !== bytes.length) return err("bad_frame");
  const header = frame.value;
  if (header.recordsCount < 0 || header.recordsCount > BATCH_RECORDS_MAX) return err("bad_record");
  const codec = header.attributes & ATTRIBUTE_CODEC_MASK;
  const section = bytes.subarray(RECORD_BATCH_HEADER_BYTES);
  const records = decompressRecords(codec, section, codec === CODEC_NONE ? section.length : DECOMPRESSED_BATCH_BYTES_MAX);
  if (!records.ok) return err(records.error);
  return ok({ header, isControl: (header.attributes & ATTRIBUTE_CONTROL_BIT) !== 0, codec, bytes, records: records.value });
}

/**
 * Calls `visit` for every record of `batch` in order with its offset, timestamp, key and tombstone flag, and
 * the byte range of the record inside `batch.records`. The records are checked by the shared record walk
 * (core/formats/record-batch.ts scanRecordsTs, offset gaps allowed: a cleaned batch has them); `visit` sees only
 * records that passed, and a walk that fails after some visits returns the error (the caller discards the pass).
 */
export function walkRecords(
  batch: OpenedBatch,
  visit: (record: RecordEntry, start: number, end: number) => void,
): Result<number, CompactionBatchError> {
  const { header, records } = batch;
  const status = scanRecordsTs(
    records,
    0,
    records.length,
    header.recordsCount,
    header.lastOffsetDelta,
    header.baseTimestamp,
    true,
    new EntryVisitor(header.baseOffset, records, visit),
  );
  if (status === SCAN_OK) return ok(header.recordsCount);
  return err(SCAN_ERRORS[status] === "record_count_mismatch" ? "record_count_mismatch" : "bad_record");
}

// Fills one RecordEntry per record (reused: the cleaner reads it during the visit only).
class EntryVisitor implements RecordVisitor {
  private readonly entry: RecordEntry = { offset: 0, timestamp: 0, key: null, tombstone: false };

  constructor(
    private readonly baseOffset: number,
    private readonly records: Uint8Array,
    private readonly visit: (record: RecordEntry, start: number, end: number) => void,
  ) {}

  record(offsetDelta: number, timestamp: number, recordStart: number, recordEnd: number, keyStart: number, keyLength: number, _valueStart: number, valueLength: number): void {
    const entry = this.entry;
    entry.offset = this.baseOffset + offsetDelta;
    entry.timestamp = timestamp;
    entry.key = keyLength < 0 ? null : this.records.subarray(keyStart, keyStart + keyLength);
    entry.tombstone = valueLength < 0;
    this.visit(entry, recordStart, recordEnd);
  }
}

/** The outcome of filtering one batch. */
export type FilteredBatch =
  | { kind: "unchanged" }
  | { kind: "removed" }
  | { kind: "rewritten"; bytes: Uint8Array; keptRecords: number };

/**
 * Keeps the records of `batch` for which `keep` says yes. All kept: "unchanged" (the stored bytes go to the
 * cleaned segment as they are). None kept: "removed", unless `keepEmpty` (an idempotent producer's last batch,
 * kept as an empty batch so its producer state survives, as Kafka does). Otherwise a rewritten batch.
 */
export function filterBatch(
  batch: OpenedBatch,
  keep: (record: RecordEntry) => boolean,
  keepEmpty: boolean,
): Result<FilteredBatch, CompactionBatchError> {
  const ranges: number[] = [];
  let keptBytes = 0;
  let keptRecords = 0;
  const walked = walkRecords(batch, (record, start, end) => {
    if (!keep(record)) return;
    const last = ranges.length;
    // Adjacent kept records form one range, so the copy below is one set() per run of survivors.
    if (last > 0 && ranges[last - 1] === start) ranges[last - 1] = end;
    else ranges.push(start, end);
    keptBytes += end - start;
    keptRecords++;
  });
  if (!walked.ok) return walked;
  if (keptRecords === walked.value) return ok({ kind: "unchanged" });
  if (keptRecords === 0 && !keepEmpty) return ok({ kind: "removed" });
  const section = new Uint8Array(keptBytes);
  let at = 0;
  for (let i = 0; i < ranges.length; i += 2) {
    const part = batch.records.subarray(ranges[i]!, ranges[i + 1]!);
    section.set(part, at);
    at += part.length;
  }
  // An empty batch carries no records section, so it is written uncompressed, as Kafka writes empty batches.
  const codec = keptRecords === 0 ? CODEC_NONE : batch.codec;
  const compressed = compressRecords(codec, section);
  if (!compressed.ok) return compressed;
  return ok({ kind: "rewritten", bytes: buildBatch(batch.bytes, compressed.value, keptRecords, codec), keptRecords });
}

function buildBatch(original: Uint8Array, section: Uint8Array, recordsCount: number, codec: number): Uint8Array {
  const out = new Uint8Array(RECORD_BATCH_HEADER_BYTES + section.length);
  out.set(original.subarray(0, RECORD_BATCH_HEADER_BYTES), 0);
  out.set(section, RECORD_BATCH_HEADER_BYTES);
  const view = new DataView(out.buffer, out.byteOffset, out.length);
  view.setInt32(LENGTH_OFFSET, out.length - LOG_OVERHEAD_BYTES);
  view.setInt32(RECORDS_COUNT_OFFSET, recordsCount);
  const attributes = view.getInt16(ATTRIBUTES_OFFSET);
  view.setInt16(ATTRIBUTES_OFFSET, (attributes & ~ATTRIBUTE_CODEC_MASK) | codec);
  view.setUint32(CRC_OFFSET, crc32c(out.subarray(ATTRIBUTES_OFFSET)));
  return out;
}
