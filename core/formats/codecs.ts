// Kafka's compression codec table: the id in bits 0-2 of a batch's attributes names how the records section (every
// byte after the 61-byte header) is compressed as one block.
//
//   id | name   | here
//   ---+--------+------------------------------------------------------------------------------
//    0 | none   | bytes as they are
//    1 | gzip   | node:zlib gzipSync / gunzipSync (Bun and Node)
//    2 | snappy | not supported yet: "unsupported_codec"
//    3 | lz4    | LZ4 frame format (what Kafka and the `lz4` CLI write): core/formats/lz4-frame.ts
//    4 | zstd   | node:zlib zstdCompressSync / zstdDecompressSync where the runtime has them (Bun, Node >= 22.15)
//   5-7| -      | "unsupported_codec"
//
// Decompression is always bounded by the caller's byte limit (a decompression bomb is an error, not an
// allocation), and never throws: the zlib family throws on bad input and on the limit, so those throws are caught
// here, at the one boundary, and turned into typed codes.
import zlib from "node:zlib";
import { compressLz4Frame, decompressLz4Frame } from "./lz4-frame.ts";
import { type Result, err, ok } from "./result.ts";
import { assert } from "../assert.ts";
import { DECOMPRESSED_BATCH_BYTES_MAX } from "../limits.ts";

/** Codec id of uncompressed records. */
export const CODEC_NONE = 0;
/** Codec id of gzip. */
export const CODEC_GZIP = 1;
/** Codec id of snappy (Kafka's xerial framing). */
export const CODEC_SNAPPY = 2;
/** Codec id of LZ4 (frame format). */
export const CODEC_LZ4 = 3;
/** Codec id of zstd. */
export const CODEC_ZSTD = 4;

/** Kafka's `compression.type` names, indexed by codec id. */
export const CODEC_NAMES = ["none", "gzip", "snappy", "lz4", "zstd"] as const;
/** A `compression.type` name. */
export type CodecName = (typeof CODEC_NAMES)[number];

/** Why a codec could not compress or decompress. */
export type CodecError = "unsupported_codec" | "decompression_failed" | "decompressed_too_large";

type ZstdZlib = {
  zstdCompressSync?: (input: Uint8Array) => Uint8Array;
  zstdDecompressSync?: (input: Uint8Array, options: { maxOutputLength: number }) => Uint8Array;
};
const zstd = zlib as unknown as ZstdZlib;

/** Codec id of a `compression.type` name, or -1 when the name is unknown. */
export function codecId(name: string): number {
  return (CODEC_NAMES as readonly string[]).indexOf(name);
}

/** Whether this runtime can compress and decompress with codec `codec`. */
export function isCodecSupported(codec: number): boolean {
  switch (codec) {
    case CODEC_NONE:
    case CODEC_GZIP:
    case CODEC_LZ4:
      return true;
    case CODEC_ZSTD:
      return typeof zstd.zstdCompressSync === "function" && typeof zstd.zstdDecompressSync === "function";
    default:
      return false;
  }
}

/** Compresses `bytes` (a whole records section) with codec `codec`. */
export function compressRecords(codec: number, bytes: Uint8Array): Result<Uint8Array, "unsupported_codec"> {
  switch (codec) {
    case CODEC_NONE:
      return ok(bytes);
    case CODEC_GZIP:
      return ok(toUint8Array(zlib.gzipSync(bytes)));
    case CODEC_LZ4:
      return ok(compressLz4Frame(bytes));
    case CODEC_ZSTD:
      if (!isCodecSupported(CODEC_ZSTD)) return err("unsupported_codec");
      return ok(toUint8Array(zstd.zstdCompressSync!(bytes)));
    default:
      return err("unsupported_codec");
  }
}

/**
 * Decompresses `bytes` with codec `codec`, producing at most `maxBytes` bytes: more is "decompressed_too_large",
 * malformed input is "decompression_failed". Never throws.
 */
export function decompressRecords(codec: number, bytes: Uint8Array, maxBytes: number): Result<Uint8Array, CodecError> {
  assert(
    Number.isSafeInteger(maxBytes) && maxBytes >= 0 && maxBytes <= DECOMPRESSED_BATCH_BYTES_MAX,
    "decompression bound must be an integer in [0, DECOMPRESSED_BATCH_BYTES_MAX]",
  );
  // zlib rejects a zero maxOutputLength; ask for one byte more and check the real bound after.
  const zlibBound = Math.max(1, maxBytes);
  switch (codec) {
    case CODEC_NONE:
      return bytes.length > maxBytes ? err("decompressed_too_large") : ok(bytes);
    case CODEC_GZIP:
      return boundedZlib(() => zlib.gunzipSync(bytes, { maxOutputLength: zlibBound }), maxBytes);
    case CODEC_LZ4: {
      const result = decompressLz4Frame(bytes, maxBytes);
      if (result.ok) return result;
      return err(result.error === "output_too_large" ? "decompressed_too_large" : "decompression_failed");
    }
    case CODEC_ZSTD:
      if (!isCodecSupported(CODEC_ZSTD)) return err("unsupported_codec");
      // Bun's zstdDecompressSync returns what it has for a truncated frame instead of failing, so completeness is
      // checked on the frame structure first.
      if (!zstdFramesComplete(bytes)) return err("decompression_failed");
      return boundedZlib(() => zstd.zstdDecompressSync!(bytes, { maxOutputLength: zlibBound }), maxBytes);
    default:
      return err("unsupported_codec");
  }
}

// Zstandard frame layout (RFC 8878), just enough to see that every frame is whole:
//   frame     := magic u32le 0xFD2FB528 | descriptor u8 | [window u8] | [dictId 0/1/2/4] | [contentSize 0/1/2/4/8]
//                | block* (last one flagged) | [checksum u32, when descriptor bit 2]
//   block     := header u24le (bit 0 last, bits 1-2 type: 0 raw, 1 RLE, 2 compressed, 3 reserved; bits 3.. size)
//                | size bytes (raw, compressed) or 1 byte (RLE)
//   skippable := magic u32le 0x184D2A50..0x184D2A5F | size u32le | size bytes
const ZSTD_MAGIC = 0xfd2fb528;
const ZSTD_SKIPPABLE_MAGIC_MASK = 0xfffffff0;
const ZSTD_SKIPPABLE_MAGIC = 0x184d2a50;
const ZSTD_DICT_ID_BYTES = [0, 1, 2, 4];
const ZSTD_CONTENT_SIZE_BYTES = [0, 2, 4, 8];

/** Whether `bytes` is one or more whole zstd frames (skippable frames allowed) and nothing else. */
export function zstdFramesComplete(bytes: Uint8Array): boolean {
  const n = bytes.length;
  let at = 0;
  let frames = 0;
  while (at < n) {
    if (n - at < 4) return false;
    const magic = (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
    at += 4;
    if (((magic & ZSTD_SKIPPABLE_MAGIC_MASK) >>> 0) === ZSTD_SKIPPABLE_MAGIC) {
      if (n - at < 4) return false;
      at += 4 + ((bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0);
      if (at > n) return false;
      continue;
    }
    if (magic !== ZSTD_MAGIC || at >= n) return false;
    const descriptor = bytes[at++]!;
    const singleSegment = (descriptor & 0x20) !== 0;
    const contentSizeFlag = descriptor >> 6;
    at += (singleSegment ? 0 : 1) + ZSTD_DICT_ID_BYTES[descriptor & 0x03]!;
    at += contentSizeFlag === 0 && singleSegment ? 1 : ZSTD_CONTENT_SIZE_BYTES[contentSizeFlag]!;
    for (;;) {
      if (n - at < 3) return false;
      const header = bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16);
      at += 3;
      const type = (header >> 1) & 0x03;
      if (type === 3) return false;
      at += type === 1 ? 1 : header >>> 3;
      if (at > n) return false;
      if (header & 1) break;
    }
    if (descriptor & 0x04) at += 4;
    if (at > n) return false;
    frames++;
  }
  return frames > 0;
}

function boundedZlib(run: () => Uint8Array, maxBytes: number): Result<Uint8Array, CodecError> {
  let output: Uint8Array;
  try {
    output = run();
  } catch (error) {
    // Classified by code, never by message: the output bound shows up as ERR_BUFFER_TOO_LARGE.
    const code = (error as { code?: unknown }).code;
    return err(code === "ERR_BUFFER_TOO_LARGE" ? "decompressed_too_large" : "decompression_failed");
  }
  if (output.length > maxBytes) return err("decompressed_too_large");
  return ok(toUint8Array(output));
}

// zlib returns Buffers; callers get plain Uint8Array views of the same memory (no copy).
function toUint8Array(bytes: Uint8Array): Uint8Array {
  return bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}
