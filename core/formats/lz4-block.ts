// The LZ4 block format: a compressed block is a run of sequences, each a token, literals and a back-reference.
//
//   sequence:  token(1) [literal length extra bytes] literals(literalLength) offset(2, LE) [match length extra bytes]
//   token:     high nibble = literal length (15 means "more bytes follow"), low nibble = match length - 4 (same)
//   extra:     bytes of 255 continue, the first byte < 255 ends the run; each byte is added to the nibble's 15
//   offset:    1..65535, counted back from the current output position; the match may overlap its own output
//   last:      the final sequence is literals only (token, literals, end of input: no offset)
//
// Two implementations with one contract (test/core/formats/lz4-block.test.ts): the TypeScript twin below (the
// oracle and the fallback) and the WASM kernel in asm/lz4.ts, wrapped here. Both compress greedily in the manner
// of LZ4's "fast" level and honour the format's end rules, so the reference decoder and ours accept their output:
// the last 5 bytes of a block are literals and the last match starts at least 12 bytes before the end.
// Both decoders treat their input as hostile: they never read outside the input, never write past the caller's
// output bound, and reject zero offsets, offsets before the start of the window and truncated sequences.
import { arena, heap, wasm } from "./wasm.ts";
import { err, ok, type Result } from "./result.ts";
import { assert } from "../assert.ts";

/** Largest block this module compresses in one call (the frame writer uses 64 KiB; the frame format allows 4 MiB). */
export const LZ4_COMPRESS_INPUT_BYTES_MAX = 4 * 1024 * 1024;

/** Status: the input ends inside a sequence (or is empty). */
export const LZ4_STATUS_TRUNCATED = -1;
/** Status: a match offset is 0 or reaches before the start of the window. */
export const LZ4_STATUS_BAD_OFFSET = -2;
/** Status: decoding would write past the output bound. */
export const LZ4_STATUS_OUTPUT_FULL = -3;
/** Status: the compressor's output capacity is below lz4CompressBound(input length). */
export const LZ4_STATUS_DST_TOO_SMALL = -4;
/** Status: the compressor's input exceeds LZ4_COMPRESS_INPUT_BYTES_MAX. */
export const LZ4_STATUS_INPUT_TOO_LARGE = -5;

const MIN_MATCH_BYTES = 4;
/** The format's end rule: the last 5 bytes of a block are always literals. */
const LAST_LITERALS_BYTES = 5;
/** The format's end rule: the last match starts at least 12 bytes before the end of the block. */
const MATCH_FIND_LIMIT_BYTES = 12;
const OFFSET_MAX = 65535;
/** LZ4 "fast" acceleration: after 2^SKIP_TRIGGER misses in a row the search stride grows by one byte. */
const SKIP_TRIGGER = 6;
// Two table modes, as in asm/lz4.ts: inputs of at most 64 KiB use a 13-bit hash over a table cleared per call (the
// reference's decisions for such blocks); larger inputs a 12-bit hash over generation-tagged positions. The twin
// and the kernel make the same decisions, so their output is byte-identical (pinned by the contract test).
const SMALL_INPUT_BYTES_MAX = 65536;
const SMALL_HASH_LOG = 13;
const LARGE_HASH_LOG = 12;

/** Worst-case compressed size of `inputBytes` (LZ4's LZ4_COMPRESSBOUND: all literals plus run-length bytes). */
export function lz4CompressBound(inputBytes: number): number {
  return inputBytes + Math.floor(inputBytes / 255) + 16;
}

// Hash tables shared by every call of the TS twin. In the large mode entries are stored as `position + generation`
// where `generation` grows by more than any input length per call: an entry from an earlier call then points more
// than 64 KiB back and is ignored, so that table never needs clearing.
const smallTable = new Int32Array(1 << SMALL_HASH_LOG);
const largeTable = new Int32Array(1 << LARGE_HASH_LOG);
let generation = 0;
const GENERATION_LIMIT = 0x3fffffff;

function readU32(bytes: Uint8Array, i: number): number {
  return bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
}

// Below this length a plain loop beats subarray() + set(), which allocate a view per call.
const COPY_LOOP_BYTES_MAX = 32;

// Copies src[from, from + length) to dst at `to`; returns `to + length`.
function copyBytes(src: Uint8Array, from: number, dst: Uint8Array, to: number, length: number): number {
  if (length <= COPY_LOOP_BYTES_MAX) {
    const end = from + length;
    while (from < end) dst[to++] = src[from++]!;
    return to;
  }
  dst.set(src.subarray(from, from + length), to);
  return to + length;
}

function writeLength(dst: Uint8Array, op: number, extra: number): number {
  while (extra >= 255) {
    dst[op++] = 255;
    extra -= 255;
  }
  dst[op++] = extra;
  return op;
}

/**
 * TypeScript twin: compresses `src` into `dst` as one LZ4 block; returns the compressed length, or
 * LZ4_STATUS_DST_TOO_SMALL when dst.length < lz4CompressBound(src.length), or LZ4_STATUS_INPUT_TOO_LARGE.
 * HOT PATH (bench/lz4.bench.ts): index loops over typed arrays, one shared hash table, no allocation.
 */
export function lz4CompressBlockTs(src: Uint8Array, dst: Uint8Array): number {
  const n = src.length;
  if (n > LZ4_COMPRESS_INPUT_BYTES_MAX) return LZ4_STATUS_INPUT_TOO_LARGE;
  if (dst.length < lz4CompressBound(n)) return LZ4_STATUS_DST_TOO_SMALL;
  const small = n <= SMALL_INPUT_BYTES_MAX;
  const table = small ? smallTable : largeTable;
  const shift = 32 - (small ? SMALL_HASH_LOG : LARGE_HASH_LOG);
  let base = 0;
  if (small) {
    table.fill(0);
  } else {
    if (generation > GENERATION_LIMIT) {
      table.fill(0);
      generation = 0;
    }
    // Everything stored before this call is at least OFFSET_MAX + 1 below `base`, so it never matches.
    base = generation + OFFSET_MAX + 1;
    generation = base + n;
  }

  let op = 0;
  let anchor = 0;
  const matchLimit = n - LAST_LITERALS_BYTES;
  const lastMatchStart = n - MATCH_FIND_LIMIT_BYTES;
  let ip = 0;
  if (n >= MATCH_FIND_LIMIT_BYTES + 1) {
    for (;;) {
      // Find a 4-byte match, striding faster through data that does not compress.
      let attempts = 1 << SKIP_TRIGGER;
      let ref = -1;
      while (ip <= lastMatchStart) {
        const sequence = readU32(src, ip);
        const h = Math.imul(sequence, 0x9e3779b1) >>> shift;
        const candidate = table[h]! - base;
        table[h] = ip + base;
        // A zeroed entry reads as position 0, which at ip 0 is the byte itself: distances must be 1..OFFSET_MAX.
        if (candidate >= 0 && candidate < ip && ip - candidate <= OFFSET_MAX && readU32(src, candidate) === sequence) {
          ref = candidate;
          break;
        }
        ip += attempts++ >> SKIP_TRIGGER;
      }
      if (ref < 0) break;
      // Extend backwards over literals that also match.
      while (ip > anchor && ref > 0 && src[ip - 1] === src[ref - 1]) {
        ip--;
        ref--;
      }
      let end = ip + MIN_MATCH_BYTES;
      let r = ref + MIN_MATCH_BYTES;
      while (end < matchLimit && src[end] === src[r]) {
        end++;
        r++;
      }
      const literalLength = ip - anchor;
      const matchExtra = end - ip - MIN_MATCH_BYTES;
      const tokenPos = op++;
      let token: number;
      if (literalLength >= 15) {
        token = 15 << 4;
        op = writeLength(dst, op, literalLength - 15);
      } else {
        token = literalLength << 4;
      }
      op = copyBytes(src, anchor, dst, op, literalLength);
      const offset = ip - ref;
      dst[op++] = offset & 0xff;
      dst[op++] = offset >>> 8;
      if (matchExtra >= 15) {
        token |= 15;
        op = writeLength(dst, op, matchExtra - 15);
      } else {
        token |= matchExtra;
      }
      dst[tokenPos] = token;
      ip = end;
      anchor = ip;
      if (ip > lastMatchStart) break;
      // Index a position inside the match just emitted, as the reference does, to find the next match sooner.
      table[Math.imul(readU32(src, ip - 2), 0x9e3779b1) >>> shift] = ip - 2 + base;
    }
  }
  // Last literals: everything from the anchor to the end.
  const literalLength = n - anchor;
  if (literalLength >= 15) {
    dst[op++] = 15 << 4;
    op = writeLength(dst, op, literalLength - 15);
  } else {
    dst[op++] = literalLength << 4;
  }
  dst.set(src.subarray(anchor, n), op);
  op += literalLength;
  return op;
}

/**
 * TypeScript twin, general form: decodes the block `src[srcStart, srcEnd)` into `dst` starting at `dstStart`,
 * writing below `dstEnd`; matches may reach back to `windowStart` (= dstStart for an independent block, earlier for
 * a block linked to the output before it). Returns the new output position, or a negative LZ4_STATUS_*.
 */
export function lz4DecompressBlockIntoTs(
  src: Uint8Array,
  srcStart: number,
  srcEnd: number,
  dst: Uint8Array,
  dstStart: number,
  dstEnd: number,
  windowStart: number,
): number {
  assert(0 <= srcStart && srcStart <= srcEnd && srcEnd <= src.length, "lz4 source range out of bounds");
  assert(0 <= windowStart && windowStart <= dstStart && dstStart <= dstEnd && dstEnd <= dst.length, "lz4 output range out of bounds");
  let ip = srcStart;
  let op = dstStart;
  for (;;) {
    if (ip >= srcEnd) return LZ4_STATUS_TRUNCATED;
    const token = src[ip++]!;
    let literalLength = token >>> 4;
    if (literalLength === 15) {
      let b: number;
      do {
        if (ip >= srcEnd) return LZ4_STATUS_TRUNCATED;
        b = src[ip++]!;
        literalLength += b;
      } while (b === 255);
    }
    // Literals must lie inside the input and fit the output; both checked before any copy.
    if (literalLength > srcEnd - ip) return LZ4_STATUS_TRUNCATED;
    if (literalLength > dstEnd - op) return LZ4_STATUS_OUTPUT_FULL;
    op = copyBytes(src, ip, dst, op, literalLength);
    ip += literalLength;
    if (ip === srcEnd) return op; // The last sequence has no match part.
    if (srcEnd - ip < 2) return LZ4_STATUS_TRUNCATED;
    const offset = src[ip]! | (src[ip + 1]! << 8);
    ip += 2;
    if (offset === 0 || offset > op - windowStart) return LZ4_STATUS_BAD_OFFSET;
    let matchLength = token & 15;
    if (matchLength === 15) {
      let b: number;
      do {
        if (ip >= srcEnd) return LZ4_STATUS_TRUNCATED;
        b = src[ip++]!;
        matchLength += b;
      } while (b === 255);
    }
    matchLength += MIN_MATCH_BYTES;
    if (matchLength > dstEnd - op) return LZ4_STATUS_OUTPUT_FULL;
    let from = op - offset;
    if (offset >= matchLength && matchLength > COPY_LOOP_BYTES_MAX) {
      dst.copyWithin(op, from, from + matchLength);
      op += matchLength;
    } else {
      // Short or overlapping match: copied forward byte by byte, which is also how the format defines overlap.
      const end = op + matchLength;
      while (op < end) dst[op++] = dst[from++]!;
    }
  }
}

/** TypeScript twin: decodes the independent block `src` into `dst`; returns the output length or a negative LZ4_STATUS_*. */
export function lz4DecompressBlockTs(src: Uint8Array, dst: Uint8Array): number {
  return lz4DecompressBlockIntoTs(src, 0, src.length, dst, 0, dst.length, 0);
}

type CompressKernel = (src: number, srcLength: number, dst: number, dstCapacity: number) => number;
type DecompressKernel = (src: number, srcLength: number, dst: number, dstCapacity: number) => number;
type DecompressWithPrefixKernel = (src: number, srcLength: number, dst: number, dstCapacity: number, prefixLength: number) => number;

/** The WASM kernel's block compressor (asm/lz4.ts), on wasm memory addresses. */
export const lz4CompressBlockKernel = wasm.lz4CompressBlock as CompressKernel;
/** The WASM kernel's independent-block decoder, on wasm memory addresses. */
export const lz4DecompressBlockKernel = wasm.lz4DecompressBlock as DecompressKernel;
/** The WASM kernel's decoder for a block whose matches may reach `prefixLength` bytes before `dst` (linked blocks). */
export const lz4DecompressBlockWithPrefixKernel = wasm.lz4DecompressBlockWithPrefix as DecompressWithPrefixKernel;

/** WASM kernel with the twin's contract: compresses `src` into `dst`; returns the length or a negative LZ4_STATUS_*. */
export function lz4CompressBlockWasm(src: Uint8Array, dst: Uint8Array): number {
  if (src.length > LZ4_COMPRESS_INPUT_BYTES_MAX) return LZ4_STATUS_INPUT_TOO_LARGE;
  if (dst.length < lz4CompressBound(src.length)) return LZ4_STATUS_DST_TOO_SMALL;
  const capacity = lz4CompressBound(src.length);
  const base = arena(src.length + capacity);
  if (base < 0) return lz4CompressBlockTs(src, dst);
  heap().set(src, base);
  const written = lz4CompressBlockKernel(base, src.length, base + src.length, capacity);
  if (written > 0) dst.set(heap().subarray(base + src.length, base + src.length + written));
  return written;
}

/** WASM kernel with the twin's contract: decodes the block `src` into `dst`; returns the length or a negative LZ4_STATUS_*. */
export function lz4DecompressBlockWasm(src: Uint8Array, dst: Uint8Array): number {
  const base = arena(src.length + dst.length);
  if (base < 0) return lz4DecompressBlockTs(src, dst);
  heap().set(src, base);
  const written = lz4DecompressBlockKernel(base, src.length, base + src.length, dst.length);
  if (written > 0) dst.set(heap().subarray(base + src.length, base + src.length + written));
  return written;
}

/** Why a block could not be decoded. */
export type Lz4BlockError = "truncated" | "bad_offset" | "output_too_large";

function statusError(status: number): Lz4BlockError {
  if (status === LZ4_STATUS_BAD_OFFSET) return "bad_offset";
  if (status === LZ4_STATUS_OUTPUT_FULL) return "output_too_large";
  assert(status === LZ4_STATUS_TRUNCATED, "unexpected lz4 decoder status");
  return "truncated";
}

/** Compresses `bytes` (at most LZ4_COMPRESS_INPUT_BYTES_MAX) into a new LZ4 block. */
export function compressLz4Block(bytes: Uint8Array): Uint8Array {
  assert(bytes.length <= LZ4_COMPRESS_INPUT_BYTES_MAX, "lz4 block input exceeds LZ4_COMPRESS_INPUT_BYTES_MAX");
  const out = new Uint8Array(lz4CompressBound(bytes.length));
  const written = lz4CompressBlockWasm(bytes, out);
  assert(written >= 0, "lz4 compression failed with a bound-sized output");
  return out.slice(0, written);
}

/** Decodes one independent LZ4 block whose output is at most `maxOutputBytes`; never throws on bad bytes. */
export function decompressLz4Block(bytes: Uint8Array, maxOutputBytes: number): Result<Uint8Array, Lz4BlockError> {
  assert(Number.isInteger(maxOutputBytes) && maxOutputBytes >= 0, "maxOutputBytes must be a non-negative integer");
  // A block expands at most 255x plus a little (one match byte of 255 adds 255 output bytes): cap the buffer by that.
  const capacity = Math.min(maxOutputBytes, bytes.length * 255 + 16);
  const out = new Uint8Array(capacity);
  const written = lz4DecompressBlockWasm(bytes, out);
  if (written < 0) return err(statusError(written));
  return ok(out.slice(0, written));
}
