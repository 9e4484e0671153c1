// The msgpack tools of the protocol: a structure scan that bounds what decoding may allocate; msgpackr, configured
// once, for decoding untrusted frames and for the general encoder; and a small hand-written writer that emits a
// frame as parts, so record bytes are referenced instead of copied (the zero-copy rule in docs/protocol.md).
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

/** Deepest nesting of arrays and maps a frame may have: twice the deepest schema (a Fetch response is 8 deep). */
export const MSGPACK_DEPTH_MAX = 16;

/** Why a msgpack value was refused before decoding: bad bytes, or more elements than the caller's budget. */
export type ScanError = "malformed" | "too_large";

const scanStack = new Float64Array(MSGPACK_DEPTH_MAX);

/**
 * Walks the msgpack structure of `bytes` without allocating: exactly one value must fill them, nesting may not
 * exceed MSGPACK_DEPTH_MAX, and the arrays and maps together may not hold more than `maxElements` elements.
 * Extension types (and the never-used byte 0xc1) are refused: the protocol has none, and msgpackr gives some of
 * them meanings (records, bundled strings) that would read the bytes differently from this scan.
 */
export function scanValue(bytes: Uint8Array, maxElements: number): "ok" | ScanError {
  // HOT PATH (bench/protocol.bench.ts, "decode checked"): one pass over the headers; strings and bins are
  // skipped by their length, so a frame of large batches costs a few dozen steps.
  const end = bytes.byteLength;
  let position = 0;
  let elements = 0;
  let depth = 0;
  let pending = 1; // values still to read in the innermost open container
  for (;;) {
    if (pending === 0) {
      if (depth === 0) break;
      depth -= 1;
      pending = scanStack[depth] as number;
      continue;
    }
    if (position >= end) return "malformed";
    pending -= 1;
    const token = bytes[position] as number;
    let children = 0;
    if (token < 0x80 || token >= 0xe0) position += 1;
    else if (token < 0x90) {
      children = (token & 0x0f) * 2;
      position += 1;
    } else if (token < 0xa0) {
      children = token & 0x0f;
      position += 1;
    } else if (token < 0xc0) position += 1 + (token & 0x1f);
    else {
      switch (token) {
        case 0xc0:
        case 0xc2:
        case 0xc3:
          position += 1;
          break;
        case 0xcc:
        case 0xd0:
          position += 2;
          break;
        case 0xcd:
        case 0xd1:
          position += 3;
          break;
        case 0xca:
        case 0xce:
        case 0xd2:
          position += 5;
          break;
        case 0xcb:
        case 0xcf:
        case 0xd3:
          position += 9;
          break;
        case 0xc4:
        case 0xd9:
          if (position + 2 > end) return "malformed";
          position += 2 + (bytes[position + 1] as number);
          break;
        case 0xc5:
        case 0xda:
          if (position + 3 > end) return "malformed";
          position += 3 + readUint16(bytes, position + 1);
          break;
        case 0xc6:
        case 0xdb:
          if (position + 5 > end) return "malformed";
          position += 5 + readUint32(bytes, position + 1);
          break;
        case 0xdc:
          if (position + 3 > end) return "malformed";
          children = readUint16(bytes, position + 1);
          position += 3;
          break;
        case 0xdd:
          if (position + 5 > end) return "malformed";
          children = readUint32(bytes, position + 1);
          position += 5;
          break;
        case 0xde:
          if (position + 3 > end) return "malformed";
          children = readUint16(bytes, position + 1) * 2;
          position += 3;
          break;
        case 0xdf:
          if (position + 5 > end) return "malformed";
          children = readUint32(bytes, position + 1) * 2;
          position += 5;
          break;
        default:
          return "malformed";
      }
    }
    if (position > end) return "malformed";
    if (children > 0) {
      // Every element takes at least one byte: more children than bytes left can never be satisfied.
      if (children > end - position) return "malformed";
      elements += children;
      if (elements > maxElements) return "too_large";
      if (depth === MSGPACK_DEPTH_MAX) return "malformed";
      scanStack[depth] = pending;
      depth += 1;
      pending = children;
    }
  }
  return position === end ? "ok" : "malformed";
}

function readUint16(bytes: Uint8Array, at: number): number {
  return ((bytes[at] as number) << 8) | (bytes[at + 1] as number);
}

function readUint32(bytes: Uint8Array, at: number): number {
  return (bytes[at] as number) * 0x1000000 + (((bytes[at + 1] as number) << 16) | ((bytes[at + 2] as number) << 8) | (bytes[at + 3] as number));
}

/**
 * Decodes exactly one msgpack value filling all of `bytes`. Never throws. The structure is scanned first
 * (scanValue), so msgpackr only ever sees plain msgpack within the element budget: decoding expands a frame
 * about 8x in memory (a one-byte nil becomes an array slot), and the budget bounds that independently of the
 * frame size. Anything msgpackr still rejects is "malformed".
 */
export function unpackValue(bytes: Uint8Array, maxElements: number): Result<unknown, ScanError> {
  const scanned = scanValue(bytes, maxElements);
  if (scanned !== "ok") return err(scanned);
  let value: unknown;
  let end = -1;
  try {
    // unpackMultiple stops after the first value when the callback returns false. Used instead of `unpack`
    // because `unpack` reports trailing bytes by JSON-stringifying the whole decoded value: a cost an attacker
    // could choose (a 100 MiB `bin` plus one stray byte). The scan already refuses trailing bytes; this is the
    // second lock on the same door.
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
    for (const chunk of chunks) {
      if (chunk instanceof Uint8Array) length += chunk.byteLength;
      else {
        const valid = Number.isInteger(chunk.fd) && Number.isSafeInteger(chunk.position) && chunk.position >= 0;
        if (!(valid && Number.isSafeInteger(chunk.length) && chunk.length >= 0)) assert(false, "file range out of range");
        length += chunk.length;
      }
    }
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
