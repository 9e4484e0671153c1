// Producer-state snapshot: the idempotent producers' state of one partition at one log offset, kept beside the
// segments as `<20-digit offset>.snapshot` (Kafka's ProducerStateManager writes the same files at segment rolls
// and on clean shutdown). `offset` is the log end offset the state covers: every batch below it is in the state,
// none at or above it. On open the log restores the newest readable snapshot at or below its end and replays the
// batch headers from there (partition-log.ts), so snapshots are an optimisation and a keeper of state that
// retention removed from the log, never the only copy of recent state.
//
// Layout, big-endian:
//
//   0         4          6        10         18          22
//   +---------+----------+--------+----------+-----------+------------------------------+
//   | magic   | version  | crc    | offset   | producers | entry * producers            |
//   | "RVPS"  | i16 = 1  | u32    | i64      | i32       |                              |
//   +---------+----------+--------+----------+-----------+------------------------------+
//
//   entry:  producerId i64 | epoch i16 | lastAppendMs i64 | batches i8 | batch * batches
//   batch:  firstSequence i32 | lastSequence i32 | firstOffset i64 | lastOffset i64 | timestamp i64
//
// The CRC-32C covers every byte after the crc field. Files are written to a temp name, fdatasync'ed and renamed
// (the old snapshot or the new, never a mix); a file that fails any check is a typed error and the log falls back
// to an older snapshot or to the log itself.
import * as fs from "node:fs";
import { join } from "node:path";
import { crc32c } from "../formats/crc32c.ts";
import { type Result, err, ok } from "../formats/result.ts";
import { TEMPORARY_FILE_SUFFIX, readBoundedFile, writeFileAtomically } from "./durable-file.ts";
import { type Offset, asOffset } from "./offsets.ts";
import {
  type BatchMetadata,
  type ProducerEntry,
  type ProducerId,
  type Sequence,
  PRODUCER_BATCHES_RETAINED,
  PRODUCER_EPOCH_MAX,
  PRODUCER_ID_MAX,
  PRODUCERS_PER_PARTITION_MAX,
  SEQUENCE_MAX,
} from "./producer-state.ts";

/** First four bytes of every snapshot: "RVPS". */
export const SNAPSHOT_MAGIC = 0x52565053;
/** The only layout version written and read. */
export const SNAPSHOT_VERSION = 1;

// Header field positions, as a chain (the total is pinned by a test).

export const SNAPSHOT_MAGIC_OFFSET = 0;
export const SNAPSHOT_MAGIC_BYTES = 4;
export const SNAPSHOT_VERSION_OFFSET = SNAPSHOT_MAGIC_OFFSET + SNAPSHOT_MAGIC_BYTES;
export const SNAPSHOT_VERSION_BYTES = 2;
export const SNAPSHOT_CRC_OFFSET = SNAPSHOT_VERSION_OFFSET + SNAPSHOT_VERSION_BYTES;
export const SNAPSHOT_CRC_BYTES = 4;
export const SNAPSHOT_OFFSET_OFFSET = SNAPSHOT_CRC_OFFSET + SNAPSHOT_CRC_BYTES;
export const SNAPSHOT_OFFSET_BYTES = 8;
export const SNAPSHOT_COUNT_OFFSET = SNAPSHOT_OFFSET_OFFSET + SNAPSHOT_OFFSET_BYTES;
export const SNAPSHOT_COUNT_BYTES = 4;
/** Size of the snapshot header: 22 bytes. */
export const SNAPSHOT_HEADER_BYTES = SNAPSHOT_COUNT_OFFSET + SNAPSHOT_COUNT_BYTES;

const ENTRY_PRODUCER_ID_BYTES = 8;
const ENTRY_EPOCH_BYTES = 2;
const ENTRY_LAST_APPEND_MS_BYTES = 8;
const ENTRY_BATCH_COUNT_BYTES = 1;
/** Bytes of an entry before its batches: 19. */
export const SNAPSHOT_ENTRY_HEADER_BYTES = ENTRY_PRODUCER_ID_BYTES + ENTRY_EPOCH_BYTES + ENTRY_LAST_APPEND_MS_BYTES + ENTRY_BATCH_COUNT_BYTES;
/** Bytes of one batch record: 32. */
export const SNAPSHOT_BATCH_BYTES = 4 + 4 + 8 + 8 + 8;
/** The largest snapshot a partition can write (a full producer table); larger files are not read. */
export const SNAPSHOT_BYTES_MAX = SNAPSHOT_HEADER_BYTES + PRODUCERS_PER_PARTITION_MAX * (SNAPSHOT_ENTRY_HEADER_BYTES + PRODUCER_BATCHES_RETAINED * SNAPSHOT_BATCH_BYTES);
/** Snapshots a partition keeps (the newest ones): one spare for when the newest turns out unreadable. */
export const SNAPSHOTS_KEPT = 2;

/** File extension of producer snapshots. */
export const SNAPSHOT_FILE_EXTENSION = ".snapshot";
const SNAPSHOT_NAME_PATTERN = /^(\d{20})\.snapshot$/;

/** A decoded snapshot. */
export interface ProducerSnapshot {
  offset: Offset;
  entries: ProducerEntry[];
}

/** Why a snapshot cannot be used. */
export type SnapshotError = "missing" | "too_large" | "truncated" | "bad_magic" | "bad_version" | "crc_mismatch" | "malformed";

/** `<20-digit offset>.snapshot`. */
export function snapshotFileName(offset: Offset): string {
  return String(offset).padStart(20, "0") + SNAPSHOT_FILE_EXTENSION;
}

/** The offset of a snapshot file name, or null for any other name. */
export function parseSnapshotFileName(name: string): Offset | null {
  const match = SNAPSHOT_NAME_PATTERN.exec(name);
  if (match === null) return null;
  const offset = Number(match[1]);
  return Number.isSafeInteger(offset) ? asOffset(offset) : null;
}

/** Serializes the state at `offset` (the layout at the top of this file). */
export function encodeProducerSnapshot(offset: Offset, entries: Iterable<ProducerEntry>): Uint8Array {
  const list = [...entries];
  let size = SNAPSHOT_HEADER_BYTES;
  for (const entry of list) size += SNAPSHOT_ENTRY_HEADER_BYTES + entry.batches.length * SNAPSHOT_BATCH_BYTES;
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  view.setUint32(SNAPSHOT_MAGIC_OFFSET, SNAPSHOT_MAGIC);
  view.setInt16(SNAPSHOT_VERSION_OFFSET, SNAPSHOT_VERSION);
  view.setBigInt64(SNAPSHOT_OFFSET_OFFSET, BigInt(offset));
  view.setInt32(SNAPSHOT_COUNT_OFFSET, list.length);
  let at = SNAPSHOT_HEADER_BYTES;
  for (const entry of list) {
    view.setBigInt64(at, BigInt(entry.producerId));
    view.setInt16(at + 8, entry.epoch);
    view.setBigInt64(at + 10, BigInt(entry.lastAppendMs));
    view.setInt8(at + 18, entry.batches.length);
    at += SNAPSHOT_ENTRY_HEADER_BYTES;
    for (const batch of entry.batches) {
      view.setInt32(at, batch.firstSequence);
      view.setInt32(at + 4, batch.lastSequence);
      view.setBigInt64(at + 8, BigInt(batch.firstOffset));
      view.setBigInt64(at + 16, BigInt(batch.lastOffset));
      view.setBigInt64(at + 24, BigInt(batch.timestamp));
      at += SNAPSHOT_BATCH_BYTES;
    }
  }
  view.setUint32(SNAPSHOT_CRC_OFFSET, crc32c(bytes.subarray(SNAPSHOT_OFFSET_OFFSET)));
  return bytes;
}

function safeInteger(value: bigint): number | null {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : null;
}

/** Parses snapshot bytes, checking size, magic, version, CRC and every field's range; never throws. */
export function decodeProducerSnapshot(bytes: Uint8Array): Result<ProducerSnapshot, SnapshotError> {
  if (bytes.length > SNAPSHOT_BYTES_MAX) return err("too_large");
  if (bytes.length < SNAPSHOT_HEADER_BYTES) return err("truncated");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(SNAPSHOT_MAGIC_OFFSET) !== SNAPSHOT_MAGIC) return err("bad_magic");
  if (view.getInt16(SNAPSHOT_VERSION_OFFSET) !== SNAPSHOT_VERSION) return err("bad_version");
  if (crc32c(bytes.subarray(SNAPSHOT_OFFSET_OFFSET)) !== view.getUint32(SNAPSHOT_CRC_OFFSET)) return err("crc_mismatch");
  const offset = safeInteger(view.getBigInt64(SNAPSHOT_OFFSET_OFFSET));
  const count = view.getInt32(SNAPSHOT_COUNT_OFFSET);
  if (offset === null || offset < 0 || count < 0 || count > PRODUCERS_PER_PARTITION_MAX) return err("malformed");
  const entries: ProducerEntry[] = [];
  const seen = new Set<number>();
  let at = SNAPSHOT_HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    if (bytes.length - at < SNAPSHOT_ENTRY_HEADER_BYTES) return err("truncated");
    const producerId = safeInteger(view.getBigInt64(at));
    const epoch = view.getInt16(at + 8);
    const lastAppendMs = safeInteger(view.getBigInt64(at + 10));
    const batchCount = view.getInt8(at + 18);
    at += SNAPSHOT_ENTRY_HEADER_BYTES;
    if (producerId === null || producerId < 0 || producerId > PRODUCER_ID_MAX || seen.has(producerId)) return err("malformed");
    if (epoch < 0 || epoch > PRODUCER_EPOCH_MAX || lastAppendMs === null || batchCount < 0 || batchCount > PRODUCER_BATCHES_RETAINED) return err("malformed");
    if (bytes.length - at < batchCount * SNAPSHOT_BATCH_BYTES) return err("truncated");
    seen.add(producerId);
    const batches: BatchMetadata[] = [];
    for (let b = 0; b < batchCount; b++) {
      const firstSequence = view.getInt32(at);
      const lastSequence = view.getInt32(at + 4);
      const firstOffset = safeInteger(view.getBigInt64(at + 8));
      const lastOffset = safeInteger(view.getBigInt64(at + 16));
      const timestamp = safeInteger(view.getBigInt64(at + 24));
      at += SNAPSHOT_BATCH_BYTES;
      if (firstSequence < 0 || firstSequence > SEQUENCE_MAX || lastSequence < 0 || lastSequence > SEQUENCE_MAX) return err("malformed");
      if (firstOffset === null || lastOffset === null || timestamp === null || firstOffset < 0 || lastOffset < firstOffset || lastOffset >= offset) return err("malformed");
      batches.push({ firstSequence: firstSequence as Sequence, lastSequence: lastSequence as Sequence, firstOffset: asOffset(firstOffset), lastOffset: asOffset(lastOffset), timestamp });
    }
    entries.push({ producerId: producerId as ProducerId, epoch, batches, lastAppendMs });
  }
  if (at !== bytes.length) return err("malformed");
  return ok({ offset: asOffset(offset), entries });
}

/** Offsets of the snapshot files in `dir`, ascending. */
export function listSnapshotOffsets(dir: string): Offset[] {
  const offsets: Offset[] = [];
  for (const name of fs.readdirSync(dir)) {
    const offset = parseSnapshotFileName(name);
    if (offset !== null) offsets.push(offset);
  }
  return offsets.sort((a, b) => a - b);
}

/** Reads and decodes the snapshot at `offset` in `dir`; the size is checked before anything is read. */
export function readProducerSnapshot(dir: string, offset: Offset): Result<ProducerSnapshot, SnapshotError> {
  const bytes = readBoundedFile(join(dir, snapshotFileName(offset)), SNAPSHOT_BYTES_MAX);
  if (!bytes.ok) return bytes;
  const decoded = decodeProducerSnapshot(bytes.value);
  if (decoded.ok && decoded.value.offset !== offset) return err("malformed");
  return decoded;
}

/**
 * Writes encoded snapshot bytes for `offset` atomically (temp file, fdatasync, rename, directory fsync; the syncs
 * off the event loop), then removes all but the SNAPSHOTS_KEPT newest snapshots.
 */
export async function writeProducerSnapshot(dir: string, offset: Offset, bytes: Uint8Array): Promise<void> {
  await writeFileAtomically(dir, snapshotFileName(offset), bytes);
  const offsets = listSnapshotOffsets(dir);
  for (const old of offsets.slice(0, Math.max(0, offsets.length - SNAPSHOTS_KEPT))) removeSnapshot(dir, old);
}

/** Deletes the snapshot at `offset` (a no-op when it is gone). */
export function removeSnapshot(dir: string, offset: Offset): void {
  try {
    fs.unlinkSync(join(dir, snapshotFileName(offset)));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
}

/** Removes temp files of interrupted snapshot writes (start-up, before anything is written). Returns how many. */
export function removeSnapshotTemporaries(dir: string): number {
  let removed = 0;
  for (const name of fs.readdirSync(dir)) {
    if (!name.endsWith(SNAPSHOT_FILE_EXTENSION + TEMPORARY_FILE_SUFFIX)) continue;
    fs.rmSync(join(dir, name), { force: true });
    removed++;
  }
  return removed;
}
