// Framing of the Rivulet protocol: every request and response is one frame on a TCP byte stream.
//
//   0               4
//   +---------------+--------------------------------------+
//   | length  u32   | body: `length` bytes (msgpack        |
//   | big-endian    | envelope, see envelope.ts)           |
//   +---------------+--------------------------------------+
//
// `length` counts the body only, as Kafka's size prefix does. Zero is never valid (an envelope is at least one
// msgpack byte) and neither is a value with the top bit set (Kafka reads the prefix as an int32, so those are
// negative sizes there). The reader checks the prefix against its limit as soon as the 4 bytes are there, before
// it buffers or allocates anything for the body, and says "incomplete" (wait for more bytes) apart from
// "bad_length" / "too_large" (close the connection: the stream can not be resynchronised).
import { type Result, err, ok } from "../result.ts";
import { assert } from "../../assert.ts";
import { BATCH_BYTES_MAX } from "../../limits.ts";

/** Size of the length prefix in front of every frame body. */
export const FRAME_LENGTH_BYTES = 4;

/** Kafka's `socket.request.max.bytes` default (100 MiB): the largest request body a broker accepts. */
export const SOCKET_REQUEST_MAX_BYTES_DEFAULT = 104857600;

/**
 * Largest request body a broker accepts on a connection before its first ApiVersions request: a client that has
 * not said hello yet has no business sending more, and a port scanner or a confused HTTP client gets closed cheaply.
 */
export const HANDSHAKE_FRAME_BYTES_MAX = 64 * 1024;

/**
 * Largest frame body whose buffer a reader keeps for the next one once the body is given back (recycle()): room for
 * a Produce request of the default max.request.size (1 MiB) and its envelope. One such buffer per connection.
 */
export const RECYCLED_FRAME_BYTES_MAX = 2 * 1024 * 1024;

/** Largest value a length prefix may hold at all: Kafka's int32 size, positive. */
export const FRAME_BYTES_MAX = 0x7fffffff;

assert(HANDSHAKE_FRAME_BYTES_MAX <= SOCKET_REQUEST_MAX_BYTES_DEFAULT, "the handshake limit must be the smaller one");
assert(SOCKET_REQUEST_MAX_BYTES_DEFAULT <= FRAME_BYTES_MAX, "the request limit must fit an int32 prefix");
assert(BATCH_BYTES_MAX < SOCKET_REQUEST_MAX_BYTES_DEFAULT, "a Produce request must be able to carry the largest batch");

/**
 * Why no frame could be taken: "incomplete" means more bytes may complete it; "bad_length" (zero, or negative as
 * an int32) and "too_large" (over the reader's limit) mean the stream is unusable and the connection must close.
 */
export type FrameError = "incomplete" | "bad_length" | "too_large";

/** A range of an open file to be sent as part of a frame (read or sendfile'd by the sender, never decoded). */
export interface FileRange {
  readonly fd: number;
  readonly position: number;
  readonly length: number;
}

/** One piece of an encoded frame: bytes in memory, or a file range the sender copies to the socket. */
export type FramePart = Uint8Array | FileRange;

/** Total bytes of a list of frame parts. */
export function framePartsBytes(parts: readonly FramePart[]): number {
  let total = 0;
  for (const part of parts) total += part instanceof Uint8Array ? part.byteLength : part.length;
  return total;
}

/** Joins in-memory frame parts into one buffer (tests, and senders that want one write); file ranges are a bug here. */
export function concatFrameParts(parts: readonly FramePart[]): Uint8Array {
  const out = new Uint8Array(framePartsBytes(parts));
  let position = 0;
  for (const part of parts) {
    assert(part instanceof Uint8Array, "concatFrameParts takes in-memory parts only");
    out.set(part, position);
    position += part.byteLength;
  }
  return out;
}

/** Writes `bodyBytes` as a big-endian length prefix at `offset`. */
export function writeFrameLength(target: Uint8Array, offset: number, bodyBytes: number): void {
  assert(Number.isInteger(bodyBytes) && bodyBytes > 0 && bodyBytes <= FRAME_BYTES_MAX, "frame body length out of range");
  target[offset] = bodyBytes >>> 24;
  target[offset + 1] = (bodyBytes >>> 16) & 0xff;
  target[offset + 2] = (bodyBytes >>> 8) & 0xff;
  target[offset + 3] = bodyBytes & 0xff;
}

/** Wraps one body into a frame (copies it once; the hot paths write their prefix in place instead). */
export function encodeFrame(body: Uint8Array): Uint8Array {
  const frame = new Uint8Array(FRAME_LENGTH_BYTES + body.byteLength);
  writeFrameLength(frame, 0, body.byteLength);
  frame.set(body, FRAME_LENGTH_BYTES);
  return frame;
}

/**
 * Incremental framer for one connection's byte stream: `push` every chunk as it arrives, then call `next` until
 * it says "incomplete". A body that lies inside one pushed chunk is returned as a subarray of it (no copy), so
 * pushed chunks must not be reused by the caller; a body split across chunks is copied once, when its last byte
 * has arrived, into a buffer of its own, or into the buffer of an earlier body the caller gave back (recycle()):
 * a broker's 1 MiB Produce requests then cost no allocation, zero-fill and page faults each (measured: the broker's
 * CPU per GB 0.84x with 1 KiB records, 0.93x with 100 B; docs/benchmarks/perf.md "Third pass"). Errors are sticky:
 * after "bad_length" or "too_large" every call returns the same error.
 */
export class FrameReader {
  // HOT PATH (bench/protocol.bench.ts, "frame reader"): a queue of chunks with a moving head instead of
  // concatenating, so a byte-at-a-time sender costs O(n) and a large frame is copied exactly once. The body buffer
  // is allocated only when the last byte has arrived, not when the prefix is read: memory then follows the bytes
  // a peer has actually sent, and a peer that announces 100 MiB and goes quiet costs nothing.
  #chunks: (Uint8Array | undefined)[] = [];
  #head = 0;
  #headOffset = 0;
  #bufferedBytes = 0;
  #bodyBytes = -1;
  #error: FrameError | null = null;
  #maxFrameBytes: number;
  // The buffer of the last body assembled from chunks (the only one recycle() takes back), and a given-back one.
  #lent: ArrayBuffer | null = null;
  #spare: ArrayBuffer | null = null;

  constructor(maxFrameBytes: number = SOCKET_REQUEST_MAX_BYTES_DEFAULT) {
    this.#maxFrameBytes = checkLimit(maxFrameBytes);
  }

  /** The body limit applied to the next length prefix read (e.g. raised after the ApiVersions handshake). */
  get maxFrameBytes(): number {
    return this.#maxFrameBytes;
  }

  set maxFrameBytes(value: number) {
    this.#maxFrameBytes = checkLimit(value);
  }

  /** Bytes pushed but not yet returned in a frame (the caller bounds this by draining `next` after each push). */
  get bufferedBytes(): number {
    return this.#bufferedBytes;
  }

  /** Appends a chunk of the stream; the reader keeps a reference to it, not a copy. */
  push(chunk: Uint8Array): void {
    if (chunk.byteLength === 0 || this.#error !== null) return;
    this.#chunks.push(chunk);
    this.#bufferedBytes += chunk.byteLength;
  }

  /** The next whole frame body, or why there is none yet. */
  next(): Result<Uint8Array, FrameError> {
    if (this.#error !== null) return err(this.#error);
    if (this.#bodyBytes < 0) {
      if (this.#bufferedBytes < FRAME_LENGTH_BYTES) return err("incomplete");
      const length = this.#readLength();
      // Checked before a single byte of the body is kept or allocated.
      if (length === 0 || length > FRAME_BYTES_MAX) return this.#fail("bad_length");
      if (length > this.#maxFrameBytes) return this.#fail("too_large");
      this.#bodyBytes = length;
    }
    const bodyBytes = this.#bodyBytes;
    if (this.#bufferedBytes < bodyBytes) return err("incomplete");
    this.#bodyBytes = -1;
    this.#bufferedBytes -= bodyBytes;
    const head = this.#chunks[this.#head];
    assert(head !== undefined, "buffered bytes without a chunk");
    if (head.byteLength - this.#headOffset >= bodyBytes) {
      const body = head.subarray(this.#headOffset, this.#headOffset + bodyBytes);
      this.#advance(bodyBytes);
      return ok(body);
    }
    const body = this.#assemblyBuffer(bodyBytes);
    let filled = 0;
    while (filled < bodyBytes) {
      const chunk = this.#chunks[this.#head];
      assert(chunk !== undefined, "buffered bytes without a chunk");
      const take = Math.min(chunk.byteLength - this.#headOffset, bodyBytes - filled);
      body.set(chunk.subarray(this.#headOffset, this.#headOffset + take), filled);
      filled += take;
      this.#advance(take);
    }
    return ok(body);
  }

  /**
   * Gives back a body returned by next() that nothing refers to any more (its request was handled, and none of its
   * views were kept), so a later body split across chunks may be copied into its bytes. Only the last body
   * assembled from chunks is taken back, and only up to RECYCLED_FRAME_BYTES_MAX; any other body is ignored (a
   * view of a pushed chunk may share its chunk with the next frame).
   */
  recycle(body: Uint8Array): void {
    const buffer = body.buffer;
    if (buffer !== this.#lent || buffer.byteLength > RECYCLED_FRAME_BYTES_MAX) return;
    this.#lent = null;
    this.#spare = buffer;
  }

  // A buffer for a body of `bodyBytes` split across chunks: the given-back one when it is large enough, else a new
  // one, with room to spare (a power of two) when it may be kept, so the next request of about the same size fits.
  #assemblyBuffer(bodyBytes: number): Uint8Array {
    let buffer = this.#spare;
    this.#spare = null;
    if (buffer === null || buffer.byteLength < bodyBytes) {
      const keepable = bodyBytes <= RECYCLED_FRAME_BYTES_MAX;
      buffer = new ArrayBuffer(keepable ? Math.min(2 ** Math.ceil(Math.log2(bodyBytes)), RECYCLED_FRAME_BYTES_MAX) : bodyBytes);
    }
    this.#lent = buffer;
    return new Uint8Array(buffer, 0, bodyBytes);
  }

  #fail(error: FrameError): Result<Uint8Array, FrameError> {
    this.#error = error;
    this.#chunks = [];
    this.#head = 0;
    this.#headOffset = 0;
    this.#bufferedBytes = 0;
    return err(error);
  }

  // Reads the 4-byte prefix byte by byte, since it may straddle chunks (a byte-at-a-time sender).
  #readLength(): number {
    let length = 0;
    for (let i = 0; i < FRAME_LENGTH_BYTES; i++) {
      const chunk = this.#chunks[this.#head];
      assert(chunk !== undefined, "buffered bytes without a chunk");
      length = length * 256 + (chunk[this.#headOffset] as number);
      this.#advance(1);
    }
    this.#bufferedBytes -= FRAME_LENGTH_BYTES;
    return length;
  }

  // Moves the read position forward within the head chunk, dropping chunks that are used up.
  #advance(bytes: number): void {
    this.#headOffset += bytes;
    const chunk = this.#chunks[this.#head];
    if (chunk !== undefined && this.#headOffset === chunk.byteLength) {
      this.#chunks[this.#head] = undefined;
      this.#head += 1;
      this.#headOffset = 0;
      if (this.#head === this.#chunks.length) {
        this.#chunks.length = 0;
        this.#head = 0;
      } else if (this.#head >= 1024) {
        this.#chunks.splice(0, this.#head);
        this.#head = 0;
      }
    }
  }
}

function checkLimit(maxFrameBytes: number): number {
  assert(Number.isInteger(maxFrameBytes) && maxFrameBytes > 0 && maxFrameBytes <= FRAME_BYTES_MAX, "frame limit out of range");
  return maxFrameBytes;
}
