// Kafka's sparse segment indexes (`.index`, `.timeindex`): entry layouts, readers, writers and the lookup that
// turns a target key into an index slot. Entries are BIG-endian, as Kafka's ByteBuffer writes them, so our
// segments stay readable by Kafka's own tools.
//
//   offset index entry (8 bytes)                 time index entry (12 bytes)
//   +------------------+------------------+      +-------------------------------+------------------+
//   | relativeOffset   | position         |      | timestamp                     | relativeOffset   |
//   | u32 BE  [0..4)   | u32 BE  [4..8)   |      | i64 BE  [0..8)                | u32 BE  [8..12)  |
//   +------------------+------------------+      +-------------------------------+------------------+
//
// relativeOffset = record offset - segment base offset; position = byte position of the batch in the `.log`.
// Entries are sorted ascending by key (relativeOffset, resp. timestamp). A search returns the slot of the
// largest entry whose key <= target, or -1 when there is none: Kafka's `largestLowerBoundSlotFor`.
//
// Equal keys: Kafka never writes them (OffsetIndex.append requires offset > last; TimeIndex.maybeAppend only
// appends when timestamp > last), and its bisection returns whichever equal slot it happens to meet. We accept
// non-decreasing keys and pin the answer to the LARGEST slot among equals, so both twins agree deterministically.

import { assert } from "../assert.ts";
import { arena, heap, wasm } from "./wasm.ts";

/** Bytes in one offset-index entry: relativeOffset u32 + position u32. */
export const OFFSET_INDEX_ENTRY_BYTES = 8;
const OFFSET_ENTRY_RELATIVE_OFFSET_OFFSET = 0;
const OFFSET_ENTRY_POSITION_OFFSET = OFFSET_ENTRY_RELATIVE_OFFSET_OFFSET + 4;
assert(OFFSET_ENTRY_POSITION_OFFSET + 4 === OFFSET_INDEX_ENTRY_BYTES, "offset index entry layout");

/** Bytes in one time-index entry: timestamp i64 + relativeOffset u32. */
export const TIME_INDEX_ENTRY_BYTES = 12;
const TIME_ENTRY_TIMESTAMP_OFFSET = 0;
const TIME_ENTRY_RELATIVE_OFFSET_OFFSET = TIME_ENTRY_TIMESTAMP_OFFSET + 8;
assert(TIME_ENTRY_RELATIVE_OFFSET_OFFSET + 4 === TIME_INDEX_ENTRY_BYTES, "time index entry layout");

const U32_MAX = 0xffffffff;
const TWO_POW_32 = 4294967296;
const TWO_POW_63 = 2 ** 63;
const SIGN_BIT = 0x80000000 | 0;

function readU32BE(buf: Uint8Array, at: number): number {
  return ((buf[at]! << 24) | (buf[at + 1]! << 16) | (buf[at + 2]! << 8) | buf[at + 3]!) >>> 0;
}

function readI32BE(buf: Uint8Array, at: number): number {
  return (buf[at]! << 24) | (buf[at + 1]! << 16) | (buf[at + 2]! << 8) | buf[at + 3]!;
}

function writeU32BE(buf: Uint8Array, at: number, value: number): void {
  buf[at] = value >>> 24;
  buf[at + 1] = value >>> 16;
  buf[at + 2] = value >>> 8;
  buf[at + 3] = value;
}

function assertU32(value: number, what: string): void {
  assert(Number.isInteger(value) && value >= 0 && value <= U32_MAX, `${what} must be a u32`);
}

function assertSlot(buf: Uint8Array, slot: number, entryBytes: number): void {
  assert(Number.isInteger(slot) && slot >= 0 && (slot + 1) * entryBytes <= buf.length, "index slot out of range");
}

function assertEntryCount(entries: Uint8Array, entryCount: number, entryBytes: number): void {
  assert(
    Number.isInteger(entryCount) && entryCount >= 0 && entryCount * entryBytes <= entries.length,
    "index entry count exceeds the buffer",
  );
}

// A target past u32 range is above every key: clamping keeps the comparison in u32 space. Keys are integers, so
// key <= target iff key <= floor(target).
function clampRelativeOffsetTarget(targetRelativeOffset: number): number {
  return targetRelativeOffset > U32_MAX ? U32_MAX : Math.floor(targetRelativeOffset);
}

const NOT_OUTSIDE = -2;

// The answer when the index is empty or the target lies outside i64 (where its high word would not fit an
// i32), else NOT_OUTSIDE. Inside, floor(target) split as hi * 2^32 + lo is exact even past 2^53: such doubles
// are integers already and 2^32 is a power of two.
function timestampTargetOutsideI64(entryCount: number, targetTimestamp: number): number {
  assert(!Number.isNaN(targetTimestamp), "target timestamp must be a number");
  if (entryCount === 0 || targetTimestamp < -TWO_POW_63) return -1;
  if (targetTimestamp >= TWO_POW_63) return entryCount - 1;
  return NOT_OUTSIDE;
}

/**
 * Splits a timestamp (an integer ms value, |t| <= 2^53) into the signed high and unsigned low 32-bit halves of
 * its i64 two's-complement form; comparing (hi signed, lo unsigned) pairs orders timestamps exactly.
 */
export function splitTimestamp(timestamp: number): { high: number; low: number } {
  assert(Number.isSafeInteger(timestamp), "timestamp must be a safe integer");
  const high = Math.floor(timestamp / TWO_POW_32);
  return { high, low: timestamp - high * TWO_POW_32 };
}

/** Writes offset-index entry `slot` of `buf`. */
export function writeOffsetIndexEntry(buf: Uint8Array, slot: number, relativeOffset: number, position: number): void {
  assertSlot(buf, slot, OFFSET_INDEX_ENTRY_BYTES);
  assertU32(relativeOffset, "relativeOffset");
  assertU32(position, "position");
  const at = slot * OFFSET_INDEX_ENTRY_BYTES;
  writeU32BE(buf, at + OFFSET_ENTRY_RELATIVE_OFFSET_OFFSET, relativeOffset);
  writeU32BE(buf, at + OFFSET_ENTRY_POSITION_OFFSET, position);
}

/** Reads the relative offset of offset-index entry `slot`. */
export function readOffsetIndexRelativeOffset(buf: Uint8Array, slot: number): number {
  assertSlot(buf, slot, OFFSET_INDEX_ENTRY_BYTES);
  return readU32BE(buf, slot * OFFSET_INDEX_ENTRY_BYTES + OFFSET_ENTRY_RELATIVE_OFFSET_OFFSET);
}

/** Reads the log file position of offset-index entry `slot`. */
export function readOffsetIndexPosition(buf: Uint8Array, slot: number): number {
  assertSlot(buf, slot, OFFSET_INDEX_ENTRY_BYTES);
  return readU32BE(buf, slot * OFFSET_INDEX_ENTRY_BYTES + OFFSET_ENTRY_POSITION_OFFSET);
}

/** Writes time-index entry `slot` of `buf` (timestamp: integer ms, a safe integer). */
export function writeTimeIndexEntry(buf: Uint8Array, slot: number, timestamp: number, relativeOffset: number): void {
  assertSlot(buf, slot, TIME_INDEX_ENTRY_BYTES);
  assertU32(relativeOffset, "relativeOffset");
  const { high, low } = splitTimestamp(timestamp);
  const at = slot * TIME_INDEX_ENTRY_BYTES;
  writeU32BE(buf, at + TIME_ENTRY_TIMESTAMP_OFFSET, high);
  writeU32BE(buf, at + TIME_ENTRY_TIMESTAMP_OFFSET + 4, low);
  writeU32BE(buf, at + TIME_ENTRY_RELATIVE_OFFSET_OFFSET, relativeOffset);
}

/**
 * Reads the timestamp of time-index entry `slot` as a number; exact for |t| <= 2^53 (every real ms timestamp),
 * rounded beyond that (searches compare the raw 64 bits and are exact everywhere).
 */
export function readTimeIndexTimestamp(buf: Uint8Array, slot: number): number {
  assertSlot(buf, slot, TIME_INDEX_ENTRY_BYTES);
  const at = slot * TIME_INDEX_ENTRY_BYTES + TIME_ENTRY_TIMESTAMP_OFFSET;
  return readI32BE(buf, at) * TWO_POW_32 + readU32BE(buf, at + 4);
}

/** Reads the relative offset of time-index entry `slot`. */
export function readTimeIndexRelativeOffset(buf: Uint8Array, slot: number): number {
  assertSlot(buf, slot, TIME_INDEX_ENTRY_BYTES);
  return readU32BE(buf, slot * TIME_INDEX_ENTRY_BYTES + TIME_ENTRY_RELATIVE_OFFSET_OFFSET);
}

/**
 * TypeScript twin: slot of the last offset-index entry whose relativeOffset <= target, or -1.
 * HOT PATH (bench/index-search.bench.ts): bisection on raw bytes in int32 arithmetic, no allocation, no DataView.
 */
export function searchOffsetIndexTs(entries: Uint8Array, entryCount: number, targetRelativeOffset: number): number {
  assertEntryCount(entries, entryCount, OFFSET_INDEX_ENTRY_BYTES);
  if (entryCount === 0 || targetRelativeOffset < 0) return -1;
  // Unsigned order of u32 keys == signed order of (key ^ SIGN_BIT): the loop compares int32s only, which the JIT
  // keeps in registers (a u32 above 2^31 would be a double to it).
  const targetBiased = clampRelativeOffsetTarget(targetRelativeOffset) ^ SIGN_BIT;
  // Invariant: key(lo) <= target when lo >= 0; key(hi) > target when hi < entryCount.
  let lo = -1;
  let hi = entryCount;
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if ((readI32BE(entries, mid * OFFSET_INDEX_ENTRY_BYTES) ^ SIGN_BIT) <= targetBiased) lo = mid;
    else hi = mid;
  }
  return lo;
}

/**
 * TypeScript twin: slot of the last time-index entry whose timestamp <= target, or -1.
 * HOT PATH (bench/index-search.bench.ts): compares the i64 as (signed high, unsigned low) words, exact for all
 * 64-bit keys, without BigInt.
 */
export function searchTimeIndexTs(entries: Uint8Array, entryCount: number, targetTimestamp: number): number {
  assertEntryCount(entries, entryCount, TIME_INDEX_ENTRY_BYTES);
  const outside = timestampTargetOutsideI64(entryCount, targetTimestamp);
  if (outside !== NOT_OUTSIDE) return outside;
  const target = Math.floor(targetTimestamp);
  const targetHigh = Math.floor(target / TWO_POW_32);
  const targetLowBiased = (target - targetHigh * TWO_POW_32) ^ SIGN_BIT; // int32 compare of the u32 low words
  let lo = -1;
  let hi = entryCount;
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    const at = mid * TIME_INDEX_ENTRY_BYTES;
    const high = readI32BE(entries, at);
    if (high < targetHigh || (high === targetHigh && (readI32BE(entries, at + 4) ^ SIGN_BIT) <= targetLowBiased)) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return lo;
}

type OffsetKernel = (entriesPtr: number, entryCount: number, target: number) => number;
type TimeKernel = (entriesPtr: number, entryCount: number, targetHigh: number, targetLow: number) => number;
const indexSearchOffset = wasm.indexSearchOffset as OffsetKernel;
const indexSearchTime = wasm.indexSearchTime as TimeKernel;

// Cheap shape check only: reading `wasm.memory.buffer` per lookup cost more than the search itself
// (bench/index-search.bench.ts). A region past the end of memory traps in the kernel (a RuntimeError: a bug).
function assertResidentRegion(entriesPtr: number, entryCount: number): void {
  assert(
    (entriesPtr | 0) === entriesPtr && entriesPtr >= 0 && (entryCount | 0) === entryCount && entryCount >= 0,
    "resident index region must be non-negative i32s",
  );
}

/**
 * WASM kernel on an index already resident in wasm memory at `entriesPtr` (no copy): slot of the last
 * offset-index entry whose relativeOffset <= target, or -1. The caller owns that region and its bounds.
 */
export function searchOffsetIndexResident(entriesPtr: number, entryCount: number, targetRelativeOffset: number): number {
  assertResidentRegion(entriesPtr, entryCount);
  if (entryCount === 0 || targetRelativeOffset < 0) return -1;
  return indexSearchOffset(entriesPtr, entryCount, clampRelativeOffsetTarget(targetRelativeOffset));
}

/**
 * WASM kernel on an index already resident in wasm memory at `entriesPtr` (no copy): slot of the last
 * time-index entry whose timestamp <= target, or -1. The caller owns that region and its bounds.
 */
export function searchTimeIndexResident(entriesPtr: number, entryCount: number, targetTimestamp: number): number {
  assertResidentRegion(entriesPtr, entryCount);
  const outside = timestampTargetOutsideI64(entryCount, targetTimestamp);
  if (outside !== NOT_OUTSIDE) return outside;
  const target = Math.floor(targetTimestamp);
  const targetHigh = Math.floor(target / TWO_POW_32);
  return indexSearchTime(entriesPtr, entryCount, targetHigh, target - targetHigh * TWO_POW_32);
}

/**
 * WASM kernel with copy-in: copies the index into the scratch arena, then searches it. Same contract as
 * searchOffsetIndexTs; the copy is O(n) per lookup, which is why it is not the default (see searchOffsetIndex).
 */
export function searchOffsetIndexWasm(entries: Uint8Array, entryCount: number, targetRelativeOffset: number): number {
  assertEntryCount(entries, entryCount, OFFSET_INDEX_ENTRY_BYTES);
  const bytes = entryCount * OFFSET_INDEX_ENTRY_BYTES;
  const base = arena(bytes);
  if (base < 0) return searchOffsetIndexTs(entries, entryCount, targetRelativeOffset);
  heap().set(entries.subarray(0, bytes), base);
  return searchOffsetIndexResident(base, entryCount, targetRelativeOffset);
}

/**
 * WASM kernel with copy-in: copies the index into the scratch arena, then searches it. Same contract as
 * searchTimeIndexTs; the copy is O(n) per lookup, which is why it is not the default (see searchTimeIndex).
 */
export function searchTimeIndexWasm(entries: Uint8Array, entryCount: number, targetTimestamp: number): number {
  assertEntryCount(entries, entryCount, TIME_INDEX_ENTRY_BYTES);
  const bytes = entryCount * TIME_INDEX_ENTRY_BYTES;
  const base = arena(bytes);
  if (base < 0) return searchTimeIndexTs(entries, entryCount, targetTimestamp);
  heap().set(entries.subarray(0, bytes), base);
  return searchTimeIndexResident(base, entryCount, targetTimestamp);
}

/**
 * Slot of the last offset-index entry whose relativeOffset <= target, or -1: what the storage engine calls.
 * DEFAULT = the TS twin, by measurement (bench/index-search.bench.ts, docs/benchmarks/crc-and-index.md): a lookup
 * is ~10-20 probes, and in Bun a JS->wasm call alone costs about as much as the whole TS bisection, so even the
 * resident kernel (index already in wasm memory, no copy) is 0.5-1.0x the twin at 1k..1M entries across runs;
 * copying the index in per lookup is O(n): 3-5x slower at 1k entries, ~100x at 64k, >1000x at 1M.
 */
export function searchOffsetIndex(entries: Uint8Array, entryCount: number, targetRelativeOffset: number): number {
  return searchOffsetIndexTs(entries, entryCount, targetRelativeOffset);
}

/**
 * Slot of the last time-index entry whose timestamp <= target, or -1: what the storage engine calls.
 * DEFAULT = the TS twin, for the same measured reasons as searchOffsetIndex.
 */
export function searchTimeIndex(entries: Uint8Array, entryCount: number, targetTimestamp: number): number {
  return searchTimeIndexTs(entries, entryCount, targetTimestamp);
}
