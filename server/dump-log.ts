// `rivulet dump-log FILE [--print-data-log]`: prints a segment's batches the way Kafka's DumpLogSegments does, so
// an operator can read a Rivulet `.log` file with the same eyes (and the same greps) as a Kafka one.
//
//   Dumping 00000000000000000000.log
//   Log starting offset: 0
//   baseOffset: 0 lastOffset: 2 count: 3 baseSequence: -1 lastSequence: -1 producerId: -1 producerEpoch: -1
//     partitionLeaderEpoch: -1 isTransactional: false isControl: false deleteHorizonMs: OptionalLong.empty
//     position: 0 CreateTime: 1700000000002 size: 109 magic: 2 compresscodec: none crc: 3741101384 isvalid: true
//   | offset: 0 CreateTime: 1700000000000 keySize: 2 valueSize: 7 sequence: -1 headerKeys: [] key: k0 payload: hello 0
//
// (each batch is one line; it is wrapped here). Records are printed with --print-data-log only, as in Kafka.
// `.index` and `.timeindex` files are dumped entry by entry (dumpIndexFile).
// The file is read one batch at a time (never whole): each length is checked against DUMP_LOG_BATCH_BYTES_MAX
// before its bytes are read. A batch whose CRC does not match is printed with `isvalid: false` and the dump goes on
// (its length was sane); a torn tail (a batch cut short by a crash) or bytes that are not a batch at all end the
// dump with a line saying where and why. Nothing in a damaged file makes it throw.
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { basename } from "node:path";
import { parseSegmentFileName } from "../core/engine/segment.ts";
import { CODEC_NAMES } from "../core/formats/codecs.ts";
import { OFFSET_INDEX_ENTRY_BYTES, TIME_INDEX_ENTRY_BYTES } from "../core/formats/index-search.ts";
import {
  ATTRIBUTE_CONTROL_BIT,
  ATTRIBUTE_DELETE_HORIZON_BIT,
  ATTRIBUTE_TIMESTAMP_TYPE_BIT,
  ATTRIBUTE_TRANSACTIONAL_BIT,
  ATTRIBUTE_CODEC_MASK,
  LENGTH_OFFSET,
  LOG_OVERHEAD_BYTES,
  RECORD_BATCH_HEADER_BYTES,
  type RecordBatchHeader,
  readBatchFrame,
  readBatchFrameUnchecked,
} from "../core/formats/record-batch-header.ts";
import { type DecodedRecord, decodeRecordBatch, readControlRecord } from "../core/formats/record-batch.ts";
import { type Result, err, ok } from "../core/formats/result.ts";
import { BATCH_BYTES_MAX } from "../core/limits.ts";

/** Largest batch the dump reads into memory: Rivulet's batch ceiling (a larger length is reported as corrupt). */
export const DUMP_LOG_BATCH_BYTES_MAX = BATCH_BYTES_MAX;

/** How the file ended: every byte was a whole batch, a batch was cut short, or bytes that are not a batch. */
export type DumpLogTail = "clean" | "torn" | "corrupt";

/** What a dump found. */
export interface DumpLogSummary {
  batches: number;
  records: number;
  /** Batches whose CRC did not match. */
  invalidBatches: number;
  fileBytes: number;
  /** Bytes from the start of the file up to the end of the last whole batch read. */
  readBytes: number;
  tail: DumpLogTail;
  /** Why the dump stopped early (empty when clean). */
  tailDetail: string;
}

/** Options of a dump. */
export interface DumpLogOptions {
  /** Print every record (offset, timestamp, key, value, headers) under its batch. */
  printDataLog?: boolean;
}

/** Why a file could not be dumped at all. */
export type DumpLogError = "unreadable";

const fatalUtf8 = new TextDecoder("utf-8", { fatal: true });

// Kafka prints keys and values as UTF-8 strings; bytes that are not UTF-8 are shown in hex instead of mangled.
function bytesText(bytes: Uint8Array | null): string {
  if (bytes === null) return "null";
  try {
    return fatalUtf8.decode(bytes);
  } catch {
    return `0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex")}`;
  }
}

function timestampLabel(attributes: number): string {
  return attributes & ATTRIBUTE_TIMESTAMP_TYPE_BIT ? "LogAppendTime" : "CreateTime";
}

// Kafka's lastSequence: the sequence wraps at Integer.MAX_VALUE.
function lastSequence(header: RecordBatchHeader): number {
  if (header.baseSequence < 0) return -1;
  const last = header.baseSequence + header.lastOffsetDelta;
  return last > 0x7fffffff ? last - 0x80000000 : last;
}

/** One batch as Kafka's DumpLogSegments prints it. */
export function formatBatchLine(header: RecordBatchHeader, position: number, valid: boolean): string {
  const attributes = header.attributes;
  const codec = CODEC_NAMES[attributes & ATTRIBUTE_CODEC_MASK] ?? `unknown(${attributes & ATTRIBUTE_CODEC_MASK})`;
  // With hasDeleteHorizonMs, baseTimestamp holds the delete horizon (compaction), as in Kafka.
  const deleteHorizon = attributes & ATTRIBUTE_DELETE_HORIZON_BIT ? `OptionalLong[${header.baseTimestamp}]` : "OptionalLong.empty";
  return (
    `baseOffset: ${header.baseOffset} lastOffset: ${header.baseOffset + header.lastOffsetDelta} count: ${header.recordsCount}` +
    ` baseSequence: ${header.baseSequence} lastSequence: ${lastSequence(header)} producerId: ${header.producerId}` +
    ` producerEpoch: ${header.producerEpoch} partitionLeaderEpoch: ${header.partitionLeaderEpoch}` +
    ` isTransactional: ${(attributes & ATTRIBUTE_TRANSACTIONAL_BIT) !== 0} isControl: ${(attributes & ATTRIBUTE_CONTROL_BIT) !== 0}` +
    ` deleteHorizonMs: ${deleteHorizon} position: ${position} ${timestampLabel(attributes)}: ${header.maxTimestamp}` +
    ` size: ${header.sizeBytes} magic: ${header.magic} compresscodec: ${codec} crc: ${header.crc} isvalid: ${valid}`
  );
}

/** One record as Kafka's DumpLogSegments prints it with --print-data-log (plus header values). */
export function formatRecordLine(header: RecordBatchHeader, record: DecodedRecord): string {
  const sequence = header.baseSequence < 0 ? -1 : header.baseSequence + (record.offset - header.baseOffset);
  let line =
    `| offset: ${record.offset} ${timestampLabel(header.attributes)}: ${record.timestamp}` +
    ` keySize: ${record.key === null ? -1 : record.key.length} valueSize: ${record.value === null ? -1 : record.value.length}` +
    ` sequence: ${sequence} headerKeys: [${record.headers.map((h) => h.key).join(",")}]`;
  if (header.attributes & ATTRIBUTE_CONTROL_BIT) {
    const control = readControlRecord(record.key, record.value);
    if (!control.ok) return `${line} controlRecord: unreadable`;
    const type = control.value.type === 0 ? "ABORT" : control.value.type === 1 ? "COMMIT" : `type ${control.value.type}`;
    return `${line} endTxnMarker: ${type} coordinatorEpoch: ${control.value.coordinatorEpoch}`;
  }
  line += ` key: ${bytesText(record.key)} payload: ${bytesText(record.value)}`;
  if (record.headers.length > 0) line += ` headers: [${record.headers.map((h) => `${h.key}=${bytesText(h.value)}`).join(", ")}]`;
  return line;
}

// Reads exactly `length` bytes at `position` (the caller has checked they exist and are bounded).
function readAt(fd: number, position: number, length: number): Uint8Array {
  const buffer = new Uint8Array(length);
  let filled = 0;
  while (filled < length) {
    const n = readSync(fd, buffer, filled, length - filled, position + filled);
    if (n === 0) break;
    filled += n;
  }
  return filled === length ? buffer : buffer.subarray(0, filled);
}

/**
 * Dumps the segment file at `path`, one line at a time through `print`. Fails only when the file cannot be opened
 * or read; damage inside it is reported in the output and the summary.
 */
export function dumpLogSegment(path: string, options: DumpLogOptions, print: (line: string) => void): Result<DumpLogSummary, DumpLogError> & { message?: string } {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (error) {
    return { ...err("unreadable"), message: `cannot open ${path}: ${(error as Error).message}` };
  }
  try {
    const fileBytes = fstatSync(fd).size;
    const summary: DumpLogSummary = { batches: 0, records: 0, invalidBatches: 0, fileBytes, readBytes: 0, tail: "clean", tailDetail: "" };
    print(`Dumping ${path}`);
    const name = parseSegmentFileName(basename(path));
    if (name !== null && name.extension === ".log") print(`Log starting offset: ${name.baseOffset}`);
    let position = 0;
    while (position < fileBytes) {
      const available = fileBytes - position;
      if (available < LOG_OVERHEAD_BYTES) {
        stop(summary, "torn", `incomplete batch at position ${position}: ${available} bytes left, a batch header needs ${RECORD_BATCH_HEADER_BYTES}`);
        break;
      }
      const head = readAt(fd, position, Math.min(available, RECORD_BATCH_HEADER_BYTES));
      const frame = readBatchFrameUnchecked(head, 0, DUMP_LOG_BATCH_BYTES_MAX);
      if (!frame.ok && frame.error !== "incomplete") {
        stop(summary, "corrupt", `not a record batch at position ${position}: ${frame.error}`);
        break;
      }
      const sizeBytes = LOG_OVERHEAD_BYTES + new DataView(head.buffer, head.byteOffset).getInt32(LENGTH_OFFSET);
      if (sizeBytes > available) {
        stop(summary, "torn", `incomplete batch at position ${position}: it needs ${sizeBytes} bytes, ${available} are left`);
        break;
      }
      const bytes = readAt(fd, position, sizeBytes);
      if (bytes.length !== sizeBytes) {
        stop(summary, "torn", `file shrank while reading the batch at position ${position}`);
        break;
      }
      const checked = readBatchFrame(bytes, 0, DUMP_LOG_BATCH_BYTES_MAX);
      const header = checked.ok ? checked : readBatchFrameUnchecked(bytes, 0, DUMP_LOG_BATCH_BYTES_MAX);
      if (!header.ok) {
        stop(summary, "corrupt", `not a record batch at position ${position}: ${header.error}`);
        break;
      }
      print(formatBatchLine(header.value, position, checked.ok));
      summary.batches++;
      if (!checked.ok) summary.invalidBatches++;
      else summary.records += header.value.recordsCount;
      if (options.printDataLog) {
        if (!checked.ok) {
          print(`| records not printed: ${checked.error}`);
        } else {
          const decoded = decodeRecordBatch(bytes);
          if (!decoded.ok) print(`| records unreadable: ${decoded.error}`);
          else for (const record of decoded.value.records) print(formatRecordLine(header.value, record));
        }
      }
      position += sizeBytes;
      summary.readBytes = position;
    }
    if (summary.tail !== "clean") print(`Stopped: ${summary.tail === "torn" ? "torn tail" : "corrupt data"}: ${summary.tailDetail}`);
    print(
      `Summary: ${summary.batches} batches, ${summary.records} records, ${summary.invalidBatches} with a bad CRC, ` +
        `${summary.readBytes} of ${summary.fileBytes} bytes read, tail ${summary.tail}`,
    );
    return ok(summary);
  } catch (error) {
    return { ...err("unreadable"), message: `cannot read ${path}: ${(error as Error).message}` };
  } finally {
    closeSync(fd);
  }
}

/** Bytes of an index file read per call (entries are read in chunks, never the whole file). */
export const DUMP_INDEX_CHUNK_BYTES = 64 * 1024;

/** What an index dump found. */
export interface DumpIndexSummary {
  kind: "offset" | "time";
  entries: number;
  /** Entries that break the index's order (each is printed with the reason), and a partial entry at the end. */
  problems: number;
}

/**
 * Dumps a `.index` (offset: relativeOffset u32 + position u32) or `.timeindex` (timestamp i64 + relativeOffset u32)
 * file as Kafka's tool does ("offset: 3 position: 4182" / "timestamp: 1700000000002 offset: 2"), with offsets made
 * absolute from the base offset in the file name. Entries out of order and a partial entry at the end are reported
 * (indexes are caches the broker rebuilds from the log, but a dump should show what is there).
 */
export function dumpIndexFile(path: string, print: (line: string) => void): Result<DumpIndexSummary, DumpLogError> & { message?: string } {
  const name = parseSegmentFileName(basename(path));
  const kind = name?.extension === ".timeindex" || path.endsWith(".timeindex") ? "time" : "offset";
  const entryBytes = kind === "time" ? TIME_INDEX_ENTRY_BYTES : OFFSET_INDEX_ENTRY_BYTES;
  const baseOffset = name?.baseOffset ?? 0;
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (error) {
    return { ...err("unreadable"), message: `cannot open ${path}: ${(error as Error).message}` };
  }
  try {
    const fileBytes = fstatSync(fd).size;
    const summary: DumpIndexSummary = { kind, entries: 0, problems: 0 };
    print(`Dumping ${path}`);
    if (name === null) print(`(no base offset in the file name: offsets are relative)`);
    const chunkEntries = Math.floor(DUMP_INDEX_CHUNK_BYTES / entryBytes);
    let previousKey = -1;
    let previousSecond = -1;
    for (let position = 0; position + entryBytes <= fileBytes; ) {
      const want = Math.min(chunkEntries, Math.floor((fileBytes - position) / entryBytes)) * entryBytes;
      const chunk = readAt(fd, position, want);
      const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      for (let at = 0; at + entryBytes <= chunk.length; at += entryBytes) {
        const index = summary.entries++;
        if (kind === "offset") {
          const offset = baseOffset + view.getUint32(at);
          const filePosition = view.getUint32(at + 4);
          print(`offset: ${offset} position: ${filePosition}`);
          if (index > 0 && (offset <= previousKey || filePosition <= previousSecond)) {
            summary.problems++;
            print(`  entry ${index} is not above the previous one (offset ${previousKey}, position ${previousSecond})`);
          }
          previousKey = offset;
          previousSecond = filePosition;
        } else {
          const timestamp = Number(view.getBigInt64(at));
          const offset = baseOffset + view.getUint32(at + 8);
          print(`timestamp: ${timestamp} offset: ${offset}`);
          if (index > 0 && (timestamp <= previousKey || offset < previousSecond)) {
            summary.problems++;
            print(`  entry ${index} is not above the previous one (timestamp ${previousKey}, offset ${previousSecond})`);
          }
          previousKey = timestamp;
          previousSecond = offset;
        }
      }
      if (chunk.length < want) break;
      position += want;
    }
    const trailing = fileBytes % entryBytes;
    if (trailing !== 0) {
      summary.problems++;
      print(`Stopped: partial entry: ${trailing} bytes at the end (entries are ${entryBytes} bytes)`);
    }
    print(`Summary: ${summary.entries} ${kind === "offset" ? "offset" : "time"} index entries, ${summary.problems} problems`);
    return ok(summary);
  } catch (error) {
    return { ...err("unreadable"), message: `cannot read ${path}: ${(error as Error).message}` };
  } finally {
    closeSync(fd);
  }
}

function stop(summary: DumpLogSummary, tail: DumpLogTail, detail: string): void {
  summary.tail = tail;
  summary.tailDetail = detail;
}
