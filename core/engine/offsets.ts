// Branded integer types for the three kinds of position the log deals in (STYLE.md habit 7). Mixing them up is the
// classic storage bug (a relative offset used as an absolute one, a byte position used as an offset); the brands
// make the compiler catch it. All three are plain numbers at run time: offsets stay exact below 2^53.
import { assert } from "../assert.ts";

/** An absolute record offset in a partition (Kafka's int64, exact here below 2^53). */
export type Offset = number & { readonly __brand: "Offset" };
/** A record offset minus its segment's base offset, as stored in `.index` and `.timeindex` entries. */
export type RelativeOffset = number & { readonly __brand: "RelativeOffset" };
/** A byte position inside one segment's `.log` file. */
export type FilePosition = number & { readonly __brand: "FilePosition" };

/**
 * Largest relative offset a segment may hold. Kafka stores it as a u32 on disk but checks it against
 * Integer.MAX_VALUE, so we do the same: our segments stay readable by Kafka's tools.
 */
export const RELATIVE_OFFSET_MAX = 0x7fffffff;
/** Largest byte position inside a segment (Kafka's positions are Java ints; segment.bytes is bounded by this). */
export const FILE_POSITION_MAX = 0x7fffffff;

/** Brands a non-negative safe integer as an Offset. */
export function asOffset(value: number): Offset {
  assert(Number.isSafeInteger(value) && value >= 0, "offset must be a non-negative safe integer");
  return value as Offset;
}

/** Brands a value in [0, RELATIVE_OFFSET_MAX] as a RelativeOffset. */
export function asRelativeOffset(value: number): RelativeOffset {
  assert(Number.isInteger(value) && value >= 0 && value <= RELATIVE_OFFSET_MAX, "relative offset out of range");
  return value as RelativeOffset;
}

/** Brands a value in [0, FILE_POSITION_MAX] as a FilePosition. */
export function asFilePosition(value: number): FilePosition {
  assert(Number.isInteger(value) && value >= 0 && value <= FILE_POSITION_MAX, "file position out of range");
  return value as FilePosition;
}
