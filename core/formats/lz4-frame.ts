// The LZ4 frame format (lz4 frame format 1.6.x): what Kafka's lz4 codec (compression.type=lz4, codec id 3) writes
// inside a record batch, and what the `lz4` command-line tool reads and writes.
//
//   frame:      magic(4, LE 0x184D2204) descriptor blocks... endMark(4) [contentChecksum(4)]
//   descriptor: FLG(1) BD(1) [contentSize(8, LE)] [dictId(4, LE)] HC(1)
//     FLG:      bits 7-6 version (must be 01) | 5 block independence | 4 block checksums | 3 content size
//               | 2 content checksum | 1 reserved (0) | 0 dictionary id
//     BD:       bit 7 reserved (0) | bits 6-4 block max size id: 4=64 KiB 5=256 KiB 6=1 MiB 7=4 MiB | 3-0 reserved (0)
//     HC:       (xxh32(FLG..last descriptor byte, seed 0) >> 8) & 0xFF
//   block:      size(4, LE; bit 31 set = stored uncompressed, bits 30-0 = data length) data [blockChecksum(4)]
//               blockChecksum = xxh32(data as stored, seed 0)
//   endMark:    a size word whose length bits are 0 (0x00000000)
//   contentChecksum: xxh32(all decoded content of the frame, seed 0)
//   skippable:  magic(4, LE 0x184D2A50..0x184D2A5F) size(4, LE) data(size): ignored by readers
// Frames may be concatenated; the decoded content is their concatenation.
//
// What we write is exactly what Kafka's Lz4BlockOutputStream writes (FLG 0x60, BD 0x40): version 1, independent
// 64 KiB blocks, no block checksums, no content size, NO content checksum, a block stored raw when its compressed
// form is not smaller. Why no content checksum: Kafka never writes one, and a recent Kafka reader
// (Lz4BlockInputStream) checks it as the XOR of per-block hashes, which differs from the format's xxh32 of the
// content as soon as a frame has two blocks; a frame Kafka cannot read would break the door to Kafka's own tools.
// Integrity of a batch is already covered by its CRC-32C. Options turn the other features on (tests, CLI interop).
// With the WASM kernel or the TS twin the bytes equal what `lz4 -B4 --no-frame-crc` writes (pinned by
// test/core/formats/lz4-frame.test.ts).
import { xxh32 } from "./xxhash32.ts";
import { err, ok, type Result } from "./result.ts";
import { arena, heap } from "./wasm.ts";
import {
  lz4CompressBlockKernel,
  lz4CompressBlockTs,
  lz4CompressBound,
  lz4DecompressBlockIntoTs,
  lz4DecompressBlockWithPrefixKernel,
  LZ4_STATUS_OUTPUT_FULL,
} from "./lz4-block.ts";
import { assert } from "../assert.ts";
import { DECOMPRESSED_BATCH_BYTES_MAX, LZ4_BLOCK_BYTES_MAX } from "../limits.ts";

/** The frame magic number, little-endian on the wire. */
export const LZ4_FRAME_MAGIC = 0x184d2204;
/** Skippable frames carry magic numbers from this value ... */
export const LZ4_SKIPPABLE_MAGIC_MIN = 0x184d2a50;
/** ... to this one, inclusive. */
export const LZ4_SKIPPABLE_MAGIC_MAX = 0x184d2a5f;
/** The legacy frame format (lz4 -l); recognised only to say "unsupported". */
const LZ4_LEGACY_MAGIC = 0x184c2102;

const MAGIC_OFFSET = 0;
const MAGIC_BYTES = 4;
const FLG_OFFSET = MAGIC_OFFSET + MAGIC_BYTES;
const FLG_BYTES = 1;
const BD_OFFSET = FLG_OFFSET + FLG_BYTES;
const BD_BYTES = 1;
const CONTENT_SIZE_OFFSET = BD_OFFSET + BD_BYTES;
const CONTENT_SIZE_BYTES = 8;
const DICT_ID_BYTES = 4;
const HEADER_CHECKSUM_BYTES = 1;
/** Smallest frame header: magic, FLG, BD, HC. */
export const LZ4_FRAME_HEADER_BYTES_MIN = CONTENT_SIZE_OFFSET + HEADER_CHECKSUM_BYTES;
/** Largest frame header: with content size and dictionary id. */
export const LZ4_FRAME_HEADER_BYTES_MAX = LZ4_FRAME_HEADER_BYTES_MIN + CONTENT_SIZE_BYTES + DICT_ID_BYTES;
const BLOCK_SIZE_BYTES = 4;
const BLOCK_CHECKSUM_BYTES = 4;
const CONTENT_CHECKSUM_BYTES = 4;
const SKIPPABLE_SIZE_BYTES = 4;

const FLG_VERSION_SHIFT = 6;
const FLG_VERSION_1 = 1;
const FLG_BLOCK_INDEPENDENCE = 1 << 5;
const FLG_BLOCK_CHECKSUM = 1 << 4;
const FLG_CONTENT_SIZE = 1 << 3;
const FLG_CONTENT_CHECKSUM = 1 << 2;
const FLG_RESERVED = 1 << 1;
const FLG_DICT_ID = 1 << 0;
const BD_RESERVED_MASK = 0x8f;
const BD_BLOCK_SIZE_ID_SHIFT = 4;
const BD_BLOCK_SIZE_ID_64KIB = 4;
const BLOCK_STORED_BIT = 0x80000000;
const BLOCK_LENGTH_MASK = 0x7fffffff;

/** Largest block any frame may declare (block max size id 7). */
export const LZ4_FRAME_BLOCK_BYTES_MAX = 4 * 1024 * 1024;
/** The block size we write: 64 KiB, as Kafka. */
export const LZ4_FRAME_WRITE_BLOCK_BYTES = LZ4_BLOCK_BYTES_MAX;

assert(LZ4_FRAME_WRITE_BLOCK_BYTES === 1 << (2 * BD_BLOCK_SIZE_ID_64KIB + 8), "written block size must match BD id 4");

/** Why a frame could not be decoded. */
export type Lz4FrameError =
  | "truncated"
  | "bad_magic"
  | "bad_descriptor"
  | "header_checksum"
  | "block_too_large"
  | "corrupt_block"
  | "block_checksum"
  | "content_checksum"
  | "content_size"
  | "output_too_large"
  | "unsupported";

/** Optional frame features for compressLz4Frame; all off by default, which is byte-for-byte Kafka's layout. */
export interface Lz4FrameOptions {
  /** Append xxh32 of each block's stored bytes. */
  blockChecksums?: boolean;
  /** Append xxh32 of the whole content after the end mark. */
  contentChecksum?: boolean;
  /** Write the content size in the descriptor. */
  contentSize?: boolean;
  /** Use the TypeScript block codec instead of the WASM kernel. */
  useTypeScript?: boolean;
}

function readU32(bytes: Uint8Array, i: number): number {
  return (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24)) >>> 0;
}

function writeU32(bytes: Uint8Array, i: number, value: number): void {
  bytes[i] = value & 0xff;
  bytes[i + 1] = (value >>> 8) & 0xff;
  bytes[i + 2] = (value >>> 16) & 0xff;
  bytes[i + 3] = (value >>> 24) & 0xff;
}

/** Upper bound of the frame compressLz4Frame writes for `inputBytes` of content, with every option on. */
export function lz4FrameCompressBound(inputBytes: number): number {
  const blocks = Math.ceil(inputBytes / LZ4_FRAME_WRITE_BLOCK_BYTES);
  const perBlock = BLOCK_SIZE_BYTES + lz4CompressBound(LZ4_FRAME_WRITE_BLOCK_BYTES) + BLOCK_CHECKSUM_BYTES;
  return LZ4_FRAME_HEADER_BYTES_MAX + blocks * perBlock + BLOCK_SIZE_BYTES + CONTENT_CHECKSUM_BYTES;
}

// Where frame writing happens: the output lives in `out()` from index `outBase`; blocks are compressed from input
// positions into output positions. The WASM workspace keeps input and output in the arena so each block costs one
// kernel call and no copies; the TypeScript workspace uses ordinary arrays.
interface WriteWorkspace {
  out(): Uint8Array;
  outBase: number;
  /** Compresses input[pos, pos+len) to output position `at`; returns the compressed length. */
  compress(pos: number, len: number, at: number): number;
  /** Copies input[pos, pos+len) to output position `at`. */
  store(pos: number, len: number, at: number): void;
}

function tsWriteWorkspace(input: Uint8Array, capacity: number): WriteWorkspace {
  const output = new Uint8Array(capacity);
  return {
    out: () => output,
    outBase: 0,
    compress(pos, len, at) {
      return lz4CompressBlockTs(input.subarray(pos, pos + len), output.subarray(at, at + lz4CompressBound(len)));
    },
    store(pos, len, at) {
      output.set(input.subarray(pos, pos + len), at);
    },
  };
}

function wasmWriteWorkspace(input: Uint8Array, capacity: number): WriteWorkspace | undefined {
  const base = arena(input.length + capacity);
  if (base < 0) return undefined;
  heap().set(input, base);
  const outBase = base + input.length;
  return {
    out: heap,
    outBase,
    compress(pos, len, at) {
      return lz4CompressBlockKernel(base + pos, len, outBase + at, lz4CompressBound(len));
    },
    store(pos, len, at) {
      heap().copyWithin(outBase + at, base + pos, base + pos + len);
    },
  };
}

/**
 * Compresses `bytes` into one LZ4 frame laid out as Kafka's Lz4BlockOutputStream writes it (independent 64 KiB
 * blocks, incompressible blocks stored raw, no checksums beyond the header's); `options` can add the others.
 */
export function compressLz4Frame(bytes: Uint8Array, options: Lz4FrameOptions = {}): Uint8Array {
  const capacity = lz4FrameCompressBound(bytes.length);
  const work = (options.useTypeScript ? undefined : wasmWriteWorkspace(bytes, capacity)) ?? tsWriteWorkspace(bytes, capacity);
  let flg = (FLG_VERSION_1 << FLG_VERSION_SHIFT) | FLG_BLOCK_INDEPENDENCE;
  if (options.blockChecksums) flg |= FLG_BLOCK_CHECKSUM;
  if (options.contentSize) flg |= FLG_CONTENT_SIZE;
  if (options.contentChecksum) flg |= FLG_CONTENT_CHECKSUM;
  const o = work.outBase;
  let out = work.out();
  writeU32(out, o + MAGIC_OFFSET, LZ4_FRAME_MAGIC);
  out[o + FLG_OFFSET] = flg;
  out[o + BD_OFFSET] = BD_BLOCK_SIZE_ID_64KIB << BD_BLOCK_SIZE_ID_SHIFT;
  let at = CONTENT_SIZE_OFFSET;
  if (options.contentSize) {
    writeU32(out, o + at, bytes.length >>> 0);
    writeU32(out, o + at + 4, Math.floor(bytes.length / 0x100000000));
    at += CONTENT_SIZE_BYTES;
  }
  out[o + at] = (xxh32(out, 0, o + FLG_OFFSET, o + at) >>> 8) & 0xff;
  at += HEADER_CHECKSUM_BYTES;
  for (let pos = 0; pos < bytes.length; pos += LZ4_FRAME_WRITE_BLOCK_BYTES) {
    const len = Math.min(LZ4_FRAME_WRITE_BLOCK_BYTES, bytes.length - pos);
    const dataAt = at + BLOCK_SIZE_BYTES;
    let size = work.compress(pos, len, dataAt);
    assert(size > 0, "lz4 block compression failed with a bound-sized output");
    let word = size;
    // Kafka's rule: keep the compressed form only when it is strictly smaller.
    if (size >= len) {
      work.store(pos, len, dataAt);
      size = len;
      word = (len | BLOCK_STORED_BIT) >>> 0;
    }
    out = work.out();
    writeU32(out, o + at, word);
    at = dataAt + size;
    if (options.blockChecksums) {
      writeU32(out, o + at, xxh32(out, 0, o + dataAt, o + at));
      at += BLOCK_CHECKSUM_BYTES;
    }
  }
  out = work.out();
  writeU32(out, o + at, 0);
  at += BLOCK_SIZE_BYTES;
  if (options.contentChecksum) {
    writeU32(out, o + at, xxh32(bytes));
    at += CONTENT_CHECKSUM_BYTES;
  }
  assert(at <= capacity, "lz4 frame overran its bound");
  return out.slice(o, o + at);
}

// Where frame reading happens: decoded content goes to `out()` from index `outBase`, at positions counted from the
// start of the whole decoded output. `reserve` must succeed before a block writes below the given total.
interface ReadWorkspace {
  out(): Uint8Array;
  outBase: number;
  /** Makes room for `totalBytes` of output; false when the memory for it cannot be had. */
  reserve(totalBytes: number): boolean;
  /** Decodes input[pos, pos+len) at output position `at`, below `end`, matches reaching back to `window`. */
  decode(pos: number, len: number, at: number, end: number, window: number): number;
  /** Copies input[pos, pos+len) to output position `at` (already reserved). */
  store(pos: number, len: number, at: number): void;
}

function tsReadWorkspace(input: Uint8Array, initialBytes: number, maxOutputBytes: number): ReadWorkspace {
  let output = new Uint8Array(initialBytes);
  return {
    out: () => output,
    outBase: 0,
    reserve(totalBytes) {
      if (totalBytes <= output.length) return true;
      const grown = new Uint8Array(Math.max(totalBytes, Math.min(maxOutputBytes, output.length * 2)));
      grown.set(output);
      output = grown;
      return true;
    },
    decode(pos, len, at, end, window) {
      return lz4DecompressBlockIntoTs(input, pos, pos + len, output, at, end, window);
    },
    store(pos, len, at) {
      output.set(input.subarray(pos, pos + len), at);
    },
  };
}

function wasmReadWorkspace(input: Uint8Array, initialBytes: number): ReadWorkspace | undefined {
  const base = arena(input.length + initialBytes);
  if (base < 0) return undefined;
  heap().set(input, base);
  const outBase = base + input.length;
  return {
    out: heap,
    outBase,
    reserve(totalBytes) {
      return arena(input.length + totalBytes) >= 0;
    },
    decode(pos, len, at, end, window) {
      const written = lz4DecompressBlockWithPrefixKernel(base + pos, len, outBase + at, end - at, at - window);
      return written < 0 ? written : at + written;
    },
    store(pos, len, at) {
      heap().copyWithin(outBase + at, base + pos, base + pos + len);
    },
  };
}

/** Decoder options for decompressLz4Frame. */
export interface Lz4FrameDecodeOptions {
  /** Use the TypeScript block codec instead of the WASM kernel. */
  useTypeScript?: boolean;
}

/**
 * Decodes one or more concatenated LZ4 frames (skippable frames are skipped) whose total content is at most
 * `maxOutputBytes`; never throws on bad bytes. The bound is enforced before memory is taken for output.
 */
export function decompressLz4Frame(
  bytes: Uint8Array,
  maxOutputBytes: number,
  options: Lz4FrameDecodeOptions = {},
): Result<Uint8Array, Lz4FrameError> {
  assert(
    Number.isInteger(maxOutputBytes) && maxOutputBytes >= 0 && maxOutputBytes <= DECOMPRESSED_BATCH_BYTES_MAX,
    "maxOutputBytes must be an integer in [0, DECOMPRESSED_BATCH_BYTES_MAX]",
  );
  if (bytes.length < MAGIC_BYTES) return err("truncated");
  // A first guess at the output size that avoids regrowth for typical JSON ratios without trusting the input.
  const initialBytes = Math.min(maxOutputBytes, Math.max(LZ4_FRAME_WRITE_BLOCK_BYTES, bytes.length * 4));
  const work =
    (options.useTypeScript ? undefined : wasmReadWorkspace(bytes, initialBytes)) ??
    tsReadWorkspace(bytes, initialBytes, maxOutputBytes);
  let ip = 0;
  let op = 0;
  while (ip < bytes.length) {
    if (bytes.length - ip < MAGIC_BYTES) return err("truncated");
    const magic = readU32(bytes, ip);
    if (magic >= LZ4_SKIPPABLE_MAGIC_MIN && magic <= LZ4_SKIPPABLE_MAGIC_MAX) {
      if (bytes.length - ip < MAGIC_BYTES + SKIPPABLE_SIZE_BYTES) return err("truncated");
      const skip = readU32(bytes, ip + MAGIC_BYTES);
      if (skip > bytes.length - ip - MAGIC_BYTES - SKIPPABLE_SIZE_BYTES) return err("truncated");
      ip += MAGIC_BYTES + SKIPPABLE_SIZE_BYTES + skip;
      continue;
    }
    if (magic === LZ4_LEGACY_MAGIC) return err("unsupported");
    if (magic !== LZ4_FRAME_MAGIC) return err("bad_magic");
    const frame = decodeFrame(bytes, ip, op, maxOutputBytes, work);
    if (!frame.ok) return frame;
    ip = frame.value.ip;
    op = frame.value.op;
  }
  return ok(work.out().slice(work.outBase, work.outBase + op));
}

// Decodes the frame whose magic is at `start`, appending to the output at `outStart`; returns the positions after it.
function decodeFrame(
  bytes: Uint8Array,
  start: number,
  outStart: number,
  maxOutputBytes: number,
  work: ReadWorkspace,
): Result<{ ip: number; op: number }, Lz4FrameError> {
  const n = bytes.length;
  if (n - start < CONTENT_SIZE_OFFSET) return err("truncated");
  const flg = bytes[start + FLG_OFFSET]!;
  const bd = bytes[start + BD_OFFSET]!;
  if (flg >>> FLG_VERSION_SHIFT !== FLG_VERSION_1) return err("unsupported");
  if (flg & FLG_RESERVED || bd & BD_RESERVED_MASK) return err("bad_descriptor");
  const blockSizeId = bd >>> BD_BLOCK_SIZE_ID_SHIFT;
  if (blockSizeId < BD_BLOCK_SIZE_ID_64KIB) return err("bad_descriptor");
  const blockMax = 1 << (2 * blockSizeId + 8);
  assert(blockMax <= LZ4_FRAME_BLOCK_BYTES_MAX, "block size id 7 is the largest");
  let ip = start + CONTENT_SIZE_OFFSET;
  let frameEnd = maxOutputBytes;
  let contentSize = -1;
  if (flg & FLG_CONTENT_SIZE) {
    if (n - ip < CONTENT_SIZE_BYTES) return err("truncated");
    const low = readU32(bytes, ip);
    const high = readU32(bytes, ip + 4);
    // Checked before any allocation: a declared size beyond the bound is a bomb, whatever the blocks say.
    if (high !== 0 || outStart + low > maxOutputBytes) return err("output_too_large");
    contentSize = low;
    frameEnd = outStart + low;
    ip += CONTENT_SIZE_BYTES;
  }
  if (flg & FLG_DICT_ID) return err("unsupported");
  if (n - ip < HEADER_CHECKSUM_BYTES) return err("truncated");
  if (bytes[ip] !== ((xxh32(bytes, 0, start + FLG_OFFSET, ip) >>> 8) & 0xff)) return err("header_checksum");
  ip += HEADER_CHECKSUM_BYTES;
  const linked = (flg & FLG_BLOCK_INDEPENDENCE) === 0;
  const blockChecksums = (flg & FLG_BLOCK_CHECKSUM) !== 0;
  let op = outStart;
  for (;;) {
    if (n - ip < BLOCK_SIZE_BYTES) return err("truncated");
    const word = readU32(bytes, ip);
    ip += BLOCK_SIZE_BYTES;
    const len = word & BLOCK_LENGTH_MASK;
    if (len === 0) break; // End mark (the reference reader also ends on a stored block of length 0).
    if (len > blockMax) return err("block_too_large");
    const trailer = blockChecksums ? BLOCK_CHECKSUM_BYTES : 0;
    if (n - ip < len + trailer) return err("truncated");
    if (blockChecksums && readU32(bytes, ip + len) !== xxh32(bytes, 0, ip, ip + len)) return err("block_checksum");
    // The most this block may write: its declared maximum, clipped by what the frame and caller still allow.
    const room = frameEnd - op;
    const end = op + Math.min(blockMax, room);
    if (!work.reserve(end)) return err("output_too_large");
    if (word & BLOCK_STORED_BIT) {
      if (len > room) return err(contentSize >= 0 ? "content_size" : "output_too_large");
      work.store(ip, len, op);
      op += len;
    } else {
      const result = work.decode(ip, len, op, end, linked ? outStart : op);
      if (result < 0) {
        if (result === LZ4_STATUS_OUTPUT_FULL && room < blockMax) {
          return err(contentSize >= 0 ? "content_size" : "output_too_large");
        }
        return err("corrupt_block");
      }
      op = result;
    }
    ip += len + trailer;
  }
  if (flg & FLG_CONTENT_CHECKSUM) {
    if (n - ip < CONTENT_CHECKSUM_BYTES) return err("truncated");
    const out = work.out();
    if (readU32(bytes, ip) !== xxh32(out, 0, work.outBase + outStart, work.outBase + op)) return err("content_checksum");
    ip += CONTENT_CHECKSUM_BYTES;
  }
  if (contentSize >= 0 && op - outStart !== contentSize) return err("content_size");
  return ok({ ip, op });
}
