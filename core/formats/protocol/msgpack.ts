// The two msgpack tools of the protocol: msgpackr, configured once, for decoding untrusted frames and for the
// general encoder; and a small hand-written writer that emits a frame as parts, so record bytes are referenced
// instead of copied (the zero-copy rule in docs/protocol.md).
//
// msgpackr options, chosen deliberately:
//   useRecords: false      plain msgpack, no msgpackr record extension: any client in any language can speak it.
//   mapsAsObjects: false   the protocol uses no maps; one that arrives becomes a Map, which no schema accepts,
//                          and no attacker-chosen key ever lands on a plain object.
//   int64AsType: "auto"    int64/uint64 within +-2^53 decode as numbers, larger ones as bigint, which the
//                          schemas reject; nothing is rounded silently.
//   copyBuffers: false     `bin` values decode as subarrays of the frame: record batches are never copied.
//   moreTypes: false       a Uint8Array packs as plain `bin`.
import { type Options, Packr, Unpackr } from "msgpackr";
import { type Result, err, ok } from "../result.ts";
import { assert } from "../../assert.ts";
import { FRAME_LENGTH_BYTES, type FramePart, writeFrameLength } from "./frame.ts";

// msgpackr 2.1 implements int64AsType "auto" but its typings list only "number" | "bigint" | "string".
const unpackOptions = { useRecords: false, mapsAsObjects: false, int64AsType: "auto", copyBuffers: false };
const unpackr = new Unpackr(unpackOptions as unknown as Options);
const packr = new Packr({ useRecords: false, moreTypes: false });

/**
 * Decodes exactly one msgpack value filling all of `bytes`. Never throws: anything msgpackr rejects, and trailing
 * bytes after the value, are "malformed".
 */
export function unpackValue(bytes: Uint8Array): Result<unknown, "malformed"> {
  let value: unknown;
  let end = -1;
  try {
    // unpackMultiple stops after the first value when the callback returns false. Used instead of `unpack`
    // because `unpack` reports trailing bytes by JSON-stringifying the whole decoded value: a cost an attacker
    // could choose (a 100 MiB `bin` plus one stray byte).
    unpackr.unpackMultiple(bytes, (decoded: unknown, _start?: number, stop?: number) => {
      value = decoded;
      end = stop ?? -1;
      return false;
    });
  } catch {
    return err("malformed");
  }
  if (end !== bytes.byteLength) return err("malformed");
  return ok(value);
}

/** Packs a plain value (arrays, numbers, bigints, strings, booleans, null, Uint8Array) with msgpackr. */
export function packValue(value: unknown): Uint8Array {
  return packr.pack(value);
}

/** Encodes one msgpack value as a full frame (length prefix included) with msgpackr: one copy of the body. */
export function packFrame(value: unknown): Uint8Array {
  const body = packr.pack(value);
  const frame = new Uint8Array(FRAME_LENGTH_BYTES + body.byteLength);
  writeFrameLength(frame, 0, body.byteLength);
  frame.set(body, FRAME_LENGTH_BYTES);
  return frame;
}

/** Bins up to this size are copied into the frame's own bytes: one more part costs more than the copy. */
export const INLINE_BIN_BYTES_MAX = 2048;

/** Msgpack header of a bin32 value: 0xc6 + u32 length. */
export const BIN32_HEADER_BYTES = 5;

const textEncoder = new TextEncoder();

/**
 * Writes msgpack for one frame, starting with room for its length prefix, and ends in a list of parts: its own
 * bytes, interleaved with caller buffers and file ranges that `binParts` referenced instead of copying. Integers
 * and strings take the same smallest encodings msgpackr picks, so both encoders agree byte for byte on
 * everything but bin headers.
 */
export class MsgpackWriter {
  // HOT PATH (bench/protocol.bench.ts, "parts"): one growing buffer; parts are subarrays of it, so a grow copies
  // only the bytes written since the last referenced part.
  #buffer: Uint8Array;
  #view: DataView;
  #position: number;
  #segmentStart = 0;
  #parts: FramePart[] = [];
  #prefixBuffer: Uint8Array;
  #totalBytes = 0;

  constructor(initialBytes = 2048) {
    this.#buffer = new Uint8Array(Math.max(initialBytes, 64));
    this.#view = new DataView(this.#buffer.buffer);
    this.#prefixBuffer = this.#buffer;
    this.#position = FRAME_LENGTH_BYTES;
  }

  /** Writes nil. */
  nil(): void {
    this.#reserve(1);
    this.#buffer[this.#position++] = 0xc0;
  }

  /** Writes a boolean. */
  bool(value: boolean): void {
    this.#reserve(1);
    this.#buffer[this.#position++] = value ? 0xc3 : 0xc2;
  }

  /** Writes a safe integer in its smallest msgpack form (int64 beyond 32 bits). */
  int(value: number): void {
    assert(Number.isSafeInteger(value), "msgpack writer takes safe integers only");
    this.#reserve(9);
    const b = this.#buffer;
    let p = this.#position;
    if (value >= 0) {
      if (value < 0x80) b[p++] = value;
      else if (value < 0x100) {
        b[p++] = 0xcc;
        b[p++] = value;
      } else if (value < 0x10000) {
        b[p++] = 0xcd;
        this.#view.setUint16(p, value);
        p += 2;
      } else if (value <= 0xffffffff) {
        b[p++] = 0xce;
        this.#view.setUint32(p, value);
        p += 4;
      } else {
        b[p++] = 0xd3;
        this.#view.setBigInt64(p, BigInt(value));
        p += 8;
      }
    } else if (value >= -0x20) b[p++] = 0x100 + value;
    else if (value >= -0x80) {
      b[p++] = 0xd0;
      b[p++] = value + 0x100;
    } else if (value >= -0x8000) {
      b[p++] = 0xd1;
      this.#view.setInt16(p, value);
      p += 2;
    } else if (value >= -0x80000000) {
      b[p++] = 0xd2;
      this.#view.setInt32(p, value);
      p += 4;
    } else {
      b[p++] = 0xd3;
      this.#view.setBigInt64(p, BigInt(value));
      p += 8;
    }
    this.#position = p;
  }

  /** Writes a UTF-8 string. */
  str(value: string): void {
    const length = value.length;
    let ascii = true;
    for (let i = 0; i < length; i++) {
      if (value.charCodeAt(i) >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (!ascii) {
      const bytes = textEncoder.encode(value);
      this.#strHeader(bytes.byteLength);
      this.#reserve(bytes.byteLength);
      this.#buffer.set(bytes, this.#position);
      this.#position += bytes.byteLength;
      return;
    }
    this.#strHeader(length);
    this.#reserve(length);
    const b = this.#buffer;
    let p = this.#position;
    for (let i = 0; i < length; i++) b[p++] = value.charCodeAt(i);
    this.#position = p;
  }

  /** Writes an array header for `count` elements (the elements follow). */
  arrayHeader(count: number): void {
    this.#reserve(5);
    if (count < 16) this.#buffer[this.#position++] = 0x90 | count;
    else if (count < 0x10000) {
      this.#buffer[this.#position++] = 0xdc;
      this.#view.setUint16(this.#position, count);
      this.#position += 2;
    } else {
      this.#buffer[this.#position++] = 0xdd;
      this.#view.setUint32(this.#position, count);
      this.#position += 4;
    }
  }

  /** Writes a bin value by copying it, with the smallest header (as msgpackr does). */
  bin(bytes: Uint8Array): void {
    const length = bytes.byteLength;
    this.#reserve(5 + length);
    if (length < 0x100) {
      this.#buffer[this.#position++] = 0xc4;
      this.#buffer[this.#position++] = length;
    } else if (length < 0x10000) {
      this.#buffer[this.#position++] = 0xc5;
      this.#view.setUint16(this.#position, length);
      this.#position += 2;
    } else {
      this.#buffer[this.#position++] = 0xc6;
      this.#view.setUint32(this.#position, length);
      this.#position += 4;
    }
    this.#buffer.set(bytes, this.#position);
    this.#position += length;
  }

  /**
   * Writes one bin value whose content is the concatenation of `chunks`, under a hand-written bin32 header.
   * Chunks over INLINE_BIN_BYTES_MAX and all file ranges become parts of their own: referenced, never copied.
   */
  binParts(chunks: readonly FramePart[]): void {
    let length = 0;
    for (const chunk of chunks) length += chunk instanceof Uint8Array ? chunk.byteLength : chunk.length;
    assert(length <= 0xffffffff, "bin longer than a bin32 can say");
    this.#reserve(BIN32_HEADER_BYTES);
    this.#buffer[this.#position++] = 0xc6;
    this.#view.setUint32(this.#position, length);
    this.#position += 4;
    for (const chunk of chunks) {
      if (chunk instanceof Uint8Array && chunk.byteLength <= INLINE_BIN_BYTES_MAX) {
        this.#reserve(chunk.byteLength);
        this.#buffer.set(chunk, this.#position);
        this.#position += chunk.byteLength;
      } else {
        const chunkBytes = chunk instanceof Uint8Array ? chunk.byteLength : chunk.length;
        if (chunkBytes === 0) continue;
        this.#flushSegment();
        this.#parts.push(chunk);
        this.#totalBytes += chunkBytes;
      }
    }
  }

  /** Ends the frame: writes its length prefix and returns its parts in order. The writer is spent. */
  finishParts(): FramePart[] {
    this.#flushSegment();
    writeFrameLength(this.#prefixBuffer, 0, this.#totalBytes - FRAME_LENGTH_BYTES);
    const parts = this.#parts;
    this.#parts = [];
    return parts;
  }

  #flushSegment(): void {
    if (this.#position > this.#segmentStart) {
      this.#parts.push(this.#buffer.subarray(this.#segmentStart, this.#position));
      this.#totalBytes += this.#position - this.#segmentStart;
    }
    this.#segmentStart = this.#position;
  }

  #strHeader(byteLength: number): void {
    this.#reserve(5);
    if (byteLength < 32) this.#buffer[this.#position++] = 0xa0 | byteLength;
    else if (byteLength < 0x100) {
      this.#buffer[this.#position++] = 0xd9;
      this.#buffer[this.#position++] = byteLength;
    } else if (byteLength < 0x10000) {
      this.#buffer[this.#position++] = 0xda;
      this.#view.setUint16(this.#position, byteLength);
      this.#position += 2;
    } else {
      this.#buffer[this.#position++] = 0xdb;
      this.#view.setUint32(this.#position, byteLength);
      this.#position += 4;
    }
  }

  // Makes room for `bytes` more; earlier parts keep the old buffer alive, so only the open segment moves.
  #reserve(bytes: number): void {
    if (this.#position + bytes <= this.#buffer.byteLength) return;
    const pending = this.#position - this.#segmentStart;
    // Growing by 4x: with record chunks inlined, a frame often needs several KiB, and each grow is an allocation.
    const grown = new Uint8Array(Math.max(this.#buffer.byteLength * 4, pending + bytes + 64));
    grown.set(this.#buffer.subarray(this.#segmentStart, this.#position));
    // The prefix lives in the first buffer; if it has not been flushed yet it moves along with the segment.
    if (this.#prefixBuffer === this.#buffer && this.#segmentStart === 0) this.#prefixBuffer = grown;
    this.#buffer = grown;
    this.#view = new DataView(grown.buffer);
    this.#segmentStart = 0;
    this.#position = pending;
  }
}
