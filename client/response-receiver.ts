// The client side of the protocol's framing (core/formats/protocol/frame.ts draws the layout: u32 big-endian body
// length, then the body), read straight into buffers this class hands to the socket, so a response is never
// copied together from chunks.
//
//   receive buffer:  | handed out (views live on) | start: unread frame bytes | filled: free ... | end
//                                                   ^ reads land here, only ever after `filled`
//
// Why: node:net's usual 'data' path gives a fresh chunk per read (Bun: up to 512 KiB), and a 1 MiB Fetch answer
// then had to be joined into a new buffer: an allocation and a copy of every record byte (about 17 % of the
// consumer's CPU, docs/benchmarks/consumer.md). With node:net's `onread` the socket reads into the buffer this
// class returns from readBuffer(): once a frame's length prefix is known, the read asks for exactly the rest of
// that frame, into a buffer with room for all of it, and the frame's body is handed out as a view (no copy).
//
// Views handed out stay valid: bytes are only ever written after `filled`, never over a frame already returned,
// and a buffer is never reused; a new one is taken when the current one has no room. The only copy is of a frame's
// first bytes when its prefix arrives in a read at the end of a buffer too small for the whole frame: at most
// RECEIVE_BOUNDARY_READ_BYTES, because reads at a frame boundary ask for no more than that.
import { Buffer } from "node:buffer";
import { assert } from "../core/assert.ts";
import { FRAME_BYTES_MAX, FRAME_LENGTH_BYTES, type FrameError } from "../core/formats/protocol/frame.ts";
import { type Result, err, ok } from "../core/formats/result.ts";

/** Most bytes one read asks for while no frame length is known (bounds the copy when a big frame then needs a new buffer). */
export const RECEIVE_BOUNDARY_READ_BYTES = 32 * 1024;
/** A buffer with less room than this at a frame boundary is replaced rather than read into in small pieces. */
export const RECEIVE_READ_BYTES_MIN = 4 * 1024;
/** Size of a fresh receive buffer for small frames (many small responses share one). */
export const RECEIVE_BUFFER_BYTES = 256 * 1024;
/**
 * Frames up to this size get a buffer for the whole frame as soon as their length prefix is read; larger ones (up
 * to the response limit) grow by doubling as their bytes arrive, so memory follows what the broker actually sent.
 */
export const RECEIVE_FRAME_PREALLOCATE_BYTES_MAX = 16 * 1024 * 1024;
assert(FRAME_LENGTH_BYTES <= RECEIVE_READ_BYTES_MIN && RECEIVE_READ_BYTES_MIN <= RECEIVE_BOUNDARY_READ_BYTES, "a boundary read holds at least a length prefix");
assert(RECEIVE_BOUNDARY_READ_BYTES < RECEIVE_BUFFER_BYTES && RECEIVE_BUFFER_BYTES <= RECEIVE_FRAME_PREALLOCATE_BYTES_MAX, "receive buffer sizes in order");

// Memory that is about to be overwritten by the socket need not be zeroed first (it is never read before it is
// filled: views end at `filled`). Buffer.allocUnsafeSlow gives an ArrayBuffer of its own (no shared pool); the
// plain Uint8Array over it keeps frames plain Uint8Arrays, on Bun and on Node.
function allocate(bytes: number): Uint8Array {
  const buffer = Buffer.allocUnsafeSlow(bytes);
  return new Uint8Array(buffer.buffer, buffer.byteOffset, bytes);
}

/** Frames a connection's response stream read with node:net's `onread` into buffers it provides. */
export class ResponseReceiver {
  #buffer: Uint8Array;
  // Start of the first byte not yet returned in a frame (a length prefix or a partial frame).
  #start = 0;
  // End of the bytes read into #buffer.
  #filled = 0;
  // Body length of the frame at #start once its prefix is read, -1 before.
  #bodyBytes = -1;
  #error: FrameError | null = null;
  readonly #maxFrameBytes: number;

  /** `maxFrameBytes`: the largest body accepted; a larger length prefix is "too_large". */
  constructor(maxFrameBytes: number) {
    assert(Number.isInteger(maxFrameBytes) && maxFrameBytes > 0 && maxFrameBytes <= FRAME_BYTES_MAX, "maxFrameBytes out of range");
    this.#maxFrameBytes = maxFrameBytes;
    this.#buffer = allocate(RECEIVE_BUFFER_BYTES);
  }

  /** Bytes read but not yet returned in a frame. */
  get bufferedBytes(): number {
    return this.#filled - this.#start;
  }

  /**
   * Where the next read goes (node:net's `onread.buffer`): never empty, never over a byte already returned. Up to
   * the end of the frame being read when its length is known, else at most RECEIVE_BOUNDARY_READ_BYTES.
   */
  readBuffer(): Uint8Array {
    if (this.#bodyBytes >= 0) {
      const frameBytes = FRAME_LENGTH_BYTES + this.#bodyBytes;
      if (this.#filled < this.#start + frameBytes) {
        if (this.#filled === this.#buffer.length) this.#grow(frameBytes);
        return this.#buffer.subarray(this.#filled, Math.min(this.#start + frameBytes, this.#buffer.length));
      }
    }
    if (this.#buffer.length - this.#filled < RECEIVE_READ_BYTES_MIN) this.#replace(this.#filled - this.#start + RECEIVE_BUFFER_BYTES);
    return this.#buffer.subarray(this.#filled, Math.min(this.#filled + RECEIVE_BOUNDARY_READ_BYTES, this.#buffer.length));
  }

  /** Counts `bytes` just read into the last readBuffer() (node:net's `onread.callback`). */
  received(bytes: number): void {
    assert(Number.isInteger(bytes) && bytes >= 0 && this.#filled + bytes <= this.#buffer.length, "received more than the read buffer holds");
    if (this.#error === null) this.#filled += bytes;
  }

  /**
   * The next whole frame body, as a view that stays valid; "incomplete" until its bytes are in, "bad_length" or
   * "too_large" (sticky) when the stream can not be trusted any more.
   */
  next(): Result<Uint8Array, FrameError> {
    if (this.#error !== null) return err(this.#error);
    const buffer = this.#buffer;
    if (this.#bodyBytes < 0) {
      if (this.#filled - this.#start < FRAME_LENGTH_BYTES) return err("incomplete");
      const at = this.#start;
      // Checked before anything is allocated for the body.
      const length = (buffer[at] as number) * 0x1000000 + (((buffer[at + 1] as number) << 16) | ((buffer[at + 2] as number) << 8) | (buffer[at + 3] as number));
      if (length === 0 || length > FRAME_BYTES_MAX) return this.#fail("bad_length");
      if (length > this.#maxFrameBytes) return this.#fail("too_large");
      this.#bodyBytes = length;
      const frameBytes = FRAME_LENGTH_BYTES + length;
      // Room for the whole frame now, while few of its bytes are here to copy (see the top of the file).
      if (at + frameBytes > buffer.length && frameBytes <= RECEIVE_FRAME_PREALLOCATE_BYTES_MAX) {
        this.#replace(Math.max(frameBytes + RECEIVE_BOUNDARY_READ_BYTES, RECEIVE_BUFFER_BYTES));
      }
    }
    const bodyStart = this.#start + FRAME_LENGTH_BYTES;
    const bodyEnd = bodyStart + this.#bodyBytes;
    if (this.#filled < bodyEnd) return err("incomplete");
    this.#start = bodyEnd;
    this.#bodyBytes = -1;
    return ok(this.#buffer.subarray(bodyStart, bodyEnd));
  }

  #fail(error: FrameError): Result<Uint8Array, FrameError> {
    this.#error = error;
    return err(error);
  }

  // A bigger buffer for a frame past RECEIVE_FRAME_PREALLOCATE_BYTES_MAX: double what is here, up to the frame.
  #grow(frameBytes: number): void {
    const have = this.#filled - this.#start;
    this.#replace(Math.min(frameBytes, Math.max(2 * have, RECEIVE_FRAME_PREALLOCATE_BYTES_MAX)));
  }

  // Moves the unreturned bytes to the front of a new buffer of `bytes`; the old one stays with the views into it.
  #replace(bytes: number): void {
    const pending = this.#buffer.subarray(this.#start, this.#filled);
    assert(bytes > pending.length, "a new receive buffer must have room to read into");
    const next = allocate(bytes);
    next.set(pending, 0);
    this.#buffer = next;
    this.#start = 0;
    this.#filled = pending.length;
  }
}
