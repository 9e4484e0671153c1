// Kafka's zigzag varints (ByteUtils.writeVarint / writeVarlong): protobuf-style base-128 groups, least significant
// first, high bit = "more bytes follow", applied to the zigzag mapping (0, -1, 1, -2, ... -> 0, 1, 2, 3, ...).
//
//   varint  (int32): 1..5 bytes       varlong (int64): 1..10 bytes
//   byte:  +---+---------------+
//          | c | 7 payload bits|   c = 1: another byte follows
//          +---+---------------+
//
// Readers never throw: they report "truncated" (the bytes end inside the varint) or "overflow" (more bytes than the
// type allows) and, for varlongs, "out_of_range" when the value is not a safe JS integer (|v| > 2^53 - 1), because
// Rivulet carries offsets and timestamps as numbers. As in Kafka's reader, payload bits above bit 31 of a 5th varint
// byte (or bit 63 of a 10th varlong byte) are dropped rather than rejected.
//
// The hot-path readers (`readVarint`, `readVarlong`) return the value and leave the next position and any error in a
// `VarintCursor`, so a record walk allocates nothing; `decodeVarint` / `decodeVarlong` wrap them as Results.
import { type Result, err, ok } from "./result.ts";

/** Largest encoded size of a zigzag varint (int32). */
export const VARINT_BYTES_MAX = 5;
/** Largest encoded size of a zigzag varlong (int64). */
export const VARLONG_BYTES_MAX = 10;

/** Why a varint could not be read. */
export type VarintError = "truncated" | "overflow" | "out_of_range";

const TWO_POW_27 = 2 ** 27;
const TWO_POW_28 = 2 ** 28;
// A varlong whose bytes 5.. carry this much or more decodes to |v| >= 2^53: not a safe integer.
const VARLONG_HIGH_PART_LIMIT = 2 ** 26;

/** Position and error state shared by the hot-path readers; reset `error` to null before a walk. */
export class VarintCursor {
  /** Next byte to read. */
  position = 0;
  /** Exclusive end of the readable region. */
  end = 0;
  /** First error met, or null. */
  error: VarintError | null = null;
  constructor(public bytes: Uint8Array) {
    this.end = bytes.length;
  }
}

/** Reads one zigzag varint at `cursor.position` (advancing it); on error sets `cursor.error` and returns 0. */
export function readVarint(cursor: VarintCursor): number {
  const bytes = cursor.bytes;
  const end = cursor.end;
  let position = cursor.position;
  let raw = 0;
  for (let i = 0; i < VARINT_BYTES_MAX; i++) {
    if (position >= end) {
      cursor.error = "truncated";
      return 0;
    }
    const b = bytes[position++]!;
    // Shifting by 28 keeps only the low 4 payload bits of a 5th byte, as Java's int shift does.
    raw |= (b & 0x7f) << (7 * i);
    if ((b & 0x80) === 0) {
      cursor.position = position;
      return (raw >>> 1) ^ -(raw & 1);
    }
  }
  cursor.error = "overflow";
  return 0;
}

/** Reads one zigzag varlong at `cursor.position` (advancing it); on error sets `cursor.error` and returns 0. */
export function readVarlong(cursor: VarintCursor): number {
  const bytes = cursor.bytes;
  const end = cursor.end;
  let position = cursor.position;
  // The 64-bit unsigned value is high * 2^28 + low: low takes bytes 1-4 (28 bits), high takes bytes 5-8.
  // Bytes 9 and 10 only carry bits 56..63, so any payload there means the value is out of the safe range.
  let low = 0;
  let high = 0;
  let beyond = false;
  for (let i = 0; i < VARLONG_BYTES_MAX; i++) {
    if (position >= end) {
      cursor.error = "truncated";
      return 0;
    }
    const b = bytes[position++]!;
    const payload = b & 0x7f;
    if (i < 4) low |= payload << (7 * i);
    else if (i < 8) high += payload * 2 ** (7 * (i - 4));
    else if (i === 8 ? payload !== 0 : (payload & 1) !== 0) beyond = true; // a 10th byte only has bit 63 left
    if ((b & 0x80) === 0) {
      cursor.position = position;
      if (beyond || high >= VARLONG_HIGH_PART_LIMIT) {
        cursor.error = "out_of_range";
        return 0;
      }
      // unsigned < 2^54, so the halved magnitude is < 2^53 and exact.
      const magnitude = high * TWO_POW_27 + (low >>> 1);
      if ((low & 1) === 0) return magnitude;
      if (magnitude === Number.MAX_SAFE_INTEGER) {
        cursor.error = "out_of_range";
        return 0;
      }
      return -magnitude - 1;
    }
  }
  cursor.error = "overflow";
  return 0;
}

/** Decodes the zigzag varint at `position`: its value and the position after it. */
export function decodeVarint(bytes: Uint8Array, position = 0): Result<{ value: number; next: number }, VarintError> {
  const cursor = new VarintCursor(bytes);
  cursor.position = position;
  const value = readVarint(cursor);
  return cursor.error === null ? ok({ value, next: cursor.position }) : err(cursor.error);
}

/** Decodes the zigzag varlong at `position`: its value (a safe integer) and the position after it. */
export function decodeVarlong(bytes: Uint8Array, position = 0): Result<{ value: number; next: number }, VarintError> {
  const cursor = new VarintCursor(bytes);
  cursor.position = position;
  const value = readVarlong(cursor);
  return cursor.error === null ? ok({ value, next: cursor.position }) : err(cursor.error);
}

/** Encoded size in bytes of `value` (an int32) as a zigzag varint. */
export function varintSize(value: number): number {
  let raw = ((value << 1) ^ (value >> 31)) >>> 0;
  let size = 1;
  while (raw >= 0x80) {
    raw >>>= 7;
    size++;
  }
  return size;
}

/** Encoded size in bytes of `value` (a safe integer) as a zigzag varlong. */
export function varlongSize(value: number): number {
  let raw = value >= 0 ? value * 2 : -value * 2 - 1;
  let size = 1;
  while (raw >= 0x80) {
    raw = Math.floor(raw / 128);
    size++;
  }
  return size;
}

/** Writes `value` (an int32) as a zigzag varint at `position`; returns the position after it. */
export function writeVarint(bytes: Uint8Array, position: number, value: number): number {
  let raw = ((value << 1) ^ (value >> 31)) >>> 0;
  while (raw >= 0x80) {
    bytes[position++] = (raw & 0x7f) | 0x80;
    raw >>>= 7;
  }
  bytes[position++] = raw;
  return position;
}

/** Writes `value` (a safe integer) as a zigzag varlong at `position`; returns the position after it. */
export function writeVarlong(bytes: Uint8Array, position: number, value: number): number {
  // Small values share the int32 path (same bytes). Otherwise the zigzag value 2m + sign (m = magnitude, < 2^53)
  // can reach 2^54, past a double's exact range, so it is built in two parts: raw = high * 2^28 + low.
  if (value >= -0x40000000 && value < 0x40000000) return writeVarint(bytes, position, value);
  const magnitude = value >= 0 ? value : -value - 1;
  const shifted = (magnitude % TWO_POW_28) * 2 + (value >= 0 ? 0 : 1); // < 2^29
  let high = Math.floor(magnitude / TWO_POW_28) * 2 + Math.floor(shifted / TWO_POW_28);
  let low = shifted % TWO_POW_28;
  // |value| >= 2^30 here, so raw >= 2^31 and all four low groups carry a continuation bit.
  for (let i = 0; i < 4; i++) {
    bytes[position++] = (low & 0x7f) | 0x80;
    low >>>= 7;
  }
  while (high >= 0x80) {
    bytes[position++] = (high % 128) | 0x80;
    high = Math.floor(high / 128);
  }
  bytes[position++] = high;
  return position;
}
