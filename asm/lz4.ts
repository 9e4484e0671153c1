// LZ4 block codec kernel. The block layout and the contract are described in core/formats/lz4-block.ts, whose
// TypeScript twin is the oracle this kernel is tested against (test/core/formats/lz4-block.test.ts).
//
// Compression is greedy, in the manner of LZ4's "fast" level, with one 16 KiB hash table in static memory (two
// modes, see below). Decompression treats its input as hostile: every read is
// inside [src, src + srcLength), every write inside [dst, dst + dstCapacity); a match may read back only to
// dst - prefixLength. Wide (8-byte) copies are used only where the check just before them proves they stay inside
// those bounds.
//
// HOT PATH (bench/lz4.bench.ts): raw loads and stores on integer pointers, no allocation.

/** Status: the input ends inside a sequence (or is empty). */
export const LZ4_STATUS_TRUNCATED: i32 = -1;
/** Status: a match offset is 0 or reaches before the start of the window. */
export const LZ4_STATUS_BAD_OFFSET: i32 = -2;
/** Status: decoding would write past the output bound. */
export const LZ4_STATUS_OUTPUT_FULL: i32 = -3;
/** Status: the compressor's output capacity is below lz4CompressBound(input length). */
export const LZ4_STATUS_DST_TOO_SMALL: i32 = -4;
/** Status: the compressor's input exceeds the largest block it accepts. */
export const LZ4_STATUS_INPUT_TOO_LARGE: i32 = -5;

// Must equal LZ4_COMPRESS_INPUT_BYTES_MAX in core/formats/lz4-block.ts (pinned by the contract test).
const COMPRESS_INPUT_BYTES_MAX: i32 = 4 * 1024 * 1024;
const MIN_MATCH_BYTES: i32 = 4;
const LAST_LITERALS_BYTES: i32 = 5;
const MATCH_FIND_LIMIT_BYTES: i32 = 12;
const OFFSET_MAX: i32 = 65535;
// Two table modes, as the reference does: inputs of at most 64 KiB store 16-bit positions under a 13-bit hash of 4
// bytes in a table cleared per call (16 KiB: stays in L1 next to the input), which makes the same decisions as
// LZ4_compress_fast at acceleration 1 for such blocks (the frame writer's case); larger inputs store 32-bit
// positions under a 12-bit hash of 4 bytes (the reference hashes 5 bytes there, so its output differs slightly).
const SMALL_INPUT_BYTES_MAX: i32 = 65536;
const SMALL_HASH_LOG: i32 = 13;
const LARGE_HASH_LOG: i32 = 12;
const TABLE_BYTES: i32 = 16384;
const SKIP_TRIGGER: i32 = 6;
const GENERATION_LIMIT: i32 = 0x3fffffff;

// In the 32-bit mode positions are stored as `position + generation`; each call moves `generation` past everything
// stored before by more than OFFSET_MAX, so stale entries look too far back and are ignored without clearing.
const hashTable: usize = memory.data(TABLE_BYTES, 16);
let generation: i32 = 0;
// Set while the table holds 16-bit entries, which mean nothing to the 32-bit mode: it clears the table first.
let tableHoldsSmallEntries: bool = false;

/** Worst-case compressed size of `inputBytes` (LZ4's LZ4_COMPRESSBOUND). */
export function lz4CompressBound(inputBytes: i32): i32 {
  return inputBytes + inputBytes / 255 + 16;
}

// @ts-ignore: decorator
@inline
function writeLength(op: usize, extra: i32): usize {
  while (extra >= 255) {
    store<u8>(op++, 255);
    extra -= 255;
  }
  store<u8>(op++, <u8>extra);
  return op;
}

// @ts-ignore: decorator
@inline
function slotOf<T>(sequence: u32): usize {
  const hashLog = sizeof<T>() == 2 ? SMALL_HASH_LOG : LARGE_HASH_LOG;
  return hashTable + (<usize>((sequence * 0x9e3779b1) >> (32 - hashLog)) << alignof<T>());
}

// Copies `length` bytes forward; 8 bytes at a time when the caller has proven 8 bytes of slack after dst + length.
// @ts-ignore: decorator
@inline
function copyLiterals(dst: usize, src: usize, length: usize, slack: bool): void {
  if (slack) {
    const end = dst + length;
    do {
      store<u64>(dst, load<u64>(src));
      dst += 8;
      src += 8;
    } while (dst < end);
  } else {
    memory.copy(dst, src, length);
  }
}

// The greedy compressor, specialised at compile time for a 16-bit (T = u16) or 32-bit (T = i32) table.
// @ts-ignore: decorator
@inline
function compressWith<T>(src: usize, srcLength: i32, dst: usize, dstCapacity: i32, base: i32): i32 {
  let op = dst;
  const dstEnd = dst + <usize>dstCapacity;
  let anchor: i32 = 0;
  const matchLimit: i32 = srcLength - LAST_LITERALS_BYTES;
  const lastMatchStart: i32 = srcLength - MATCH_FIND_LIMIT_BYTES;
  let ip: i32 = 0;
  if (srcLength >= MATCH_FIND_LIMIT_BYTES + 1) {
    while (true) {
      let attempts: i32 = 1 << SKIP_TRIGGER;
      let ref: i32 = -1;
      if (ip > lastMatchStart) break;
      // Software-pipelined search: the word at the next probe is loaded before the current candidate is tested, so
      // the load latency overlaps the compare. Decisions are the same as probing one position at a time.
      let sequence = load<u32>(src + <usize>ip);
      while (true) {
        const slot = slotOf<T>(sequence);
        const candidate = <i32>load<T>(slot) - base;
        store<T>(slot, <T>(ip + base));
        const nextIp = ip + (attempts++ >> SKIP_TRIGGER);
        const nextSequence = nextIp <= lastMatchStart ? load<u32>(src + <usize>nextIp) : 0;
        // Distances must be 1..OFFSET_MAX: a zeroed 16-bit entry reads as position 0, which at ip 0 is the byte
        // itself; in 32-bit mode stale entries sit more than OFFSET_MAX back. 16-bit positions are never negative
        // nor (inputs <= 64 KiB) too far back, so that mode tests only the first condition.
        const inRange = sizeof<T>() == 2 ? candidate < ip : candidate >= 0 && candidate < ip && ip - candidate <= OFFSET_MAX;
        if (inRange && load<u32>(src + <usize>candidate) == sequence) {
          ref = candidate;
          break;
        }
        ip = nextIp;
        if (ip > lastMatchStart) break;
        sequence = nextSequence;
      }
      if (ref < 0) break;
      while (ip > anchor && ref > 0 && load<u8>(src + <usize>(ip - 1)) == load<u8>(src + <usize>(ref - 1))) {
        ip--;
        ref--;
      }
      // Extend forward 8 bytes at a time while a whole word fits before matchLimit, then byte by byte.
      let end: i32 = ip + MIN_MATCH_BYTES;
      let r: i32 = ref + MIN_MATCH_BYTES;
      let stopped = false;
      while (end + 8 <= matchLimit) {
        const diff = load<u64>(src + <usize>end) ^ load<u64>(src + <usize>r);
        if (diff != 0) {
          end += <i32>(ctz(diff) >> 3);
          stopped = true;
          break;
        }
        end += 8;
        r += 8;
      }
      if (!stopped) {
        while (end < matchLimit && load<u8>(src + <usize>end) == load<u8>(src + <usize>r)) {
          end++;
          r++;
        }
      }
      const literalLength = ip - anchor;
      const matchExtra = end - ip - MIN_MATCH_BYTES;
      const tokenAt = op++;
      let token: i32;
      if (literalLength >= 15) {
        token = 15 << 4;
        op = writeLength(op, literalLength - 15);
      } else {
        token = literalLength << 4;
      }
      // Slack: the rest of this sequence (offset, length bytes) and the last literals (>= 5 bytes) still follow,
      // and dstCapacity >= the bound; the check keeps the 8-byte copy inside dst + dstCapacity regardless.
      copyLiterals(op, src + <usize>anchor, <usize>literalLength, dstEnd - op >= <usize>literalLength + 8);
      op += <usize>literalLength;
      store<u16>(op, <u16>(ip - ref));
      op += 2;
      if (matchExtra >= 15) {
        token |= 15;
        op = writeLength(op, matchExtra - 15);
      } else {
        token |= matchExtra;
      }
      store<u8>(tokenAt, <u8>token);
      ip = end;
      anchor = ip;
      if (ip > lastMatchStart) break;
      const behind = ip - 2;
      store<T>(slotOf<T>(load<u32>(src + <usize>behind)), <T>(behind + base));
    }
  }
  const literalLength = srcLength - anchor;
  if (literalLength >= 15) {
    store<u8>(op++, 15 << 4);
    op = writeLength(op, literalLength - 15);
  } else {
    store<u8>(op++, <u8>(literalLength << 4));
  }
  memory.copy(op, src + <usize>anchor, <usize>literalLength);
  op += <usize>literalLength;
  return <i32>(op - dst);
}

/**
 * Compresses [src, src + srcLength) into one LZ4 block at dst; returns the compressed length, or
 * LZ4_STATUS_DST_TOO_SMALL when dstCapacity < lz4CompressBound(srcLength), or LZ4_STATUS_INPUT_TOO_LARGE.
 */
export function lz4CompressBlock(src: usize, srcLength: i32, dst: usize, dstCapacity: i32): i32 {
  if (srcLength < 0 || srcLength > COMPRESS_INPUT_BYTES_MAX) return LZ4_STATUS_INPUT_TOO_LARGE;
  if (dstCapacity < lz4CompressBound(srcLength)) return LZ4_STATUS_DST_TOO_SMALL;
  if (srcLength <= SMALL_INPUT_BYTES_MAX) {
    memory.fill(hashTable, 0, TABLE_BYTES);
    tableHoldsSmallEntries = true;
    return compressWith<u16>(src, srcLength, dst, dstCapacity, 0);
  }
  if (tableHoldsSmallEntries || generation > GENERATION_LIMIT) {
    memory.fill(hashTable, 0, TABLE_BYTES);
    tableHoldsSmallEntries = false;
    generation = 0;
  }
  const base: i32 = generation + OFFSET_MAX + 1;
  generation = base + srcLength;
  return compressWith<i32>(src, srcLength, dst, dstCapacity, base);
}

/**
 * Decodes the block [src, src + srcLength) into [dst, dst + dstCapacity), letting matches reach `prefixLength`
 * bytes before dst (the output of earlier linked blocks); returns the output length or a negative LZ4_STATUS_*.
 */
export function lz4DecompressBlockWithPrefix(
  src: usize,
  srcLength: i32,
  dst: usize,
  dstCapacity: i32,
  prefixLength: i32,
): i32 {
  if (srcLength < 0 || dstCapacity < 0 || prefixLength < 0) return LZ4_STATUS_TRUNCATED;
  let ip = src;
  const srcEnd = src + <usize>srcLength;
  let op = dst;
  const dstEnd = dst + <usize>dstCapacity;
  const windowStart = dst - <usize>prefixLength;
  while (true) {
    if (ip >= srcEnd) return LZ4_STATUS_TRUNCATED;
    const token = <i32>load<u8>(ip++);
    let literalLength = <usize>(token >> 4);
    if (literalLength == 15) {
      let b: usize;
      do {
        if (ip >= srcEnd) return LZ4_STATUS_TRUNCATED;
        b = <usize>load<u8>(ip++);
        literalLength += b;
      } while (b == 255);
    }
    if (literalLength > srcEnd - ip) return LZ4_STATUS_TRUNCATED;
    if (literalLength > dstEnd - op) return LZ4_STATUS_OUTPUT_FULL;
    // Short literals: two 8-byte copies when 16 bytes are readable and writable; the bytes past the literals are
    // overwritten by what follows or lie beyond the output length the caller reads.
    if (literalLength <= 16 && srcEnd - ip >= 16 && dstEnd - op >= 16) {
      store<u64>(op, load<u64>(ip));
      store<u64>(op + 8, load<u64>(ip + 8));
    } else {
      memory.copy(op, ip, literalLength);
    }
    ip += literalLength;
    op += literalLength;
    if (ip == srcEnd) return <i32>(op - dst);
    if (srcEnd - ip < 2) return LZ4_STATUS_TRUNCATED;
    const offset = <usize>load<u16>(ip);
    ip += 2;
    if (offset == 0 || offset > op - windowStart) return LZ4_STATUS_BAD_OFFSET;
    let matchLength = <usize>(token & 15);
    if (matchLength == 15) {
      let b: usize;
      do {
        if (ip >= srcEnd) return LZ4_STATUS_TRUNCATED;
        b = <usize>load<u8>(ip++);
        matchLength += b;
      } while (b == 255);
    }
    matchLength += MIN_MATCH_BYTES;
    if (matchLength > dstEnd - op) return LZ4_STATUS_OUTPUT_FULL;
    let from = op - offset;
    const end = op + matchLength;
    if (offset >= 8 && dstEnd - end >= 8) {
      // Each 8-byte chunk reads bytes at least 8 behind what it writes, so they are final; the last chunk may
      // spill up to 7 bytes past `end`, which the check above keeps inside the output.
      do {
        store<u64>(op, load<u64>(from));
        op += 8;
        from += 8;
      } while (op < end);
      op = end;
    } else {
      while (op < end) store<u8>(op++, load<u8>(from++));
    }
  }
  return LZ4_STATUS_TRUNCATED;
}

/** Decodes the independent block [src, src + srcLength) into [dst, dst + dstCapacity); length or LZ4_STATUS_*. */
export function lz4DecompressBlock(src: usize, srcLength: i32, dst: usize, dstCapacity: i32): i32 {
  return lz4DecompressBlockWithPrefix(src, srcLength, dst, dstCapacity, 0);
}
