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
      return boundedZlib(() => zstd.zstdDecompressSync!(bytes, { maxOutputLength: zlibBound }), maxBytes);
    default:
      return err("unsupported_codec");
  }
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
