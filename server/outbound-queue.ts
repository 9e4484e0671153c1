// The bytes a connection still owes its peer, and the one place they are written to the socket.
//
// Why it exists (measured in shared/reference/bun-wasm-spike.md): a Bun socket makes one sendto(2) per `write`
// outside a callback, so small responses must be coalesced here; and under backpressure `write` returns a short
// count (or 0) and does NOT keep the rest, so the unwritten tail must be kept and resent when `drain` fires.
//
// Parts are queued as they are (no copy); `flush()` copies runs of small parts into one coalescing buffer and
// writes large parts directly, so a fetch response's stored record bytes go out without being copied twice.
// The queue is bounded: when it holds more than `highWaterBytes`, `isFull` turns true and the connection stops
// reading requests until `drain` brings it back under the mark.
import { assert } from "../core/assert.ts";

/** What the queue needs of a socket: Bun's `Socket.write` contract (bytes accepted, -1 when closed). */
export interface ByteSink {
  write(data: Uint8Array): number;
}

/** Parts smaller than this are copied into the coalescing buffer; larger ones are written as they are. */
export const COALESCE_PART_BYTES_MAX = 16 * 1024;
/** Size of the coalescing buffer: one syscall carries up to this many bytes of small parts. */
export const COALESCE_BUFFER_BYTES = 64 * 1024;
/** Default mark above which a connection stops reading until its responses drain. */
export const OUTBOUND_HIGH_WATER_BYTES_DEFAULT = 8 * 1024 * 1024;

/** Outcome of a flush: everything written, waiting for `drain`, or the socket is closed. */
export type FlushState = "flushed" | "blocked" | "closed";

/** A bounded, coalescing queue of outbound bytes for one socket. */
export class OutboundQueue {
  private readonly parts: Uint8Array[] = [];
  private head = 0;
  private queued = 0;
  private blocked = false;
  private closed = false;
  private readonly coalesce = new Uint8Array(COALESCE_BUFFER_BYTES);

  constructor(
    private readonly sink: ByteSink,
    private readonly highWaterBytes: number = OUTBOUND_HIGH_WATER_BYTES_DEFAULT,
  ) {
    assert(highWaterBytes > 0, "highWaterBytes must be positive");
  }

  /** Bytes queued and not yet accepted by the socket. */
  get queuedBytes(): number {
    return this.queued;
  }

  /** True while the queue is over its high-water mark: the connection should stop reading requests. */
  get isFull(): boolean {
    return this.queued > this.highWaterBytes;
  }

  /** True while the socket refused bytes and `drain` has not yet been seen. */
  get isBlocked(): boolean {
    return this.blocked;
  }

  /** Queues parts to send, in order. Nothing is written until `flush()`. Empty parts are dropped. */
  push(...parts: Uint8Array[]): void {
    if (this.closed) return;
    for (const part of parts) {
      if (part.length === 0) continue;
      this.parts.push(part);
      this.queued += part.length;
    }
  }

  /**
   * Writes as much as the socket accepts: small neighbouring parts coalesced into one write, large parts as they
   * are. Stops at the first short write and keeps the unwritten tail for `onDrain()`.
   */
  flush(): FlushState {
    if (this.closed) return "closed";
    if (this.blocked) return "blocked";
    while (this.head < this.parts.length) {
      const first = this.parts[this.head]!;
      let chunk: Uint8Array;
      let taken: number;
      if (first.length >= COALESCE_PART_BYTES_MAX || this.head + 1 === this.parts.length) {
        chunk = first;
        taken = 1;
      } else {
        // Copy a run of small parts (and stop before a part that would not fit whole).
        let used = 0;
        let index = this.head;
        while (index < this.parts.length) {
          const part = this.parts[index]!;
          if (part.length >= COALESCE_PART_BYTES_MAX || used + part.length > COALESCE_BUFFER_BYTES) break;
          this.coalesce.set(part, used);
          used += part.length;
          index++;
        }
        chunk = this.coalesce.subarray(0, used);
        taken = index - this.head;
      }
      const written = this.sink.write(chunk);
      if (written < 0) {
        this.close();
        return "closed";
      }
      this.consume(written, taken, chunk.length);
      if (written < chunk.length) {
        this.blocked = true;
        return "blocked";
      }
    }
    this.compact();
    return "flushed";
  }

  /** Call from the socket's `drain` handler: resumes writing the kept tail. */
  onDrain(): FlushState {
    this.blocked = false;
    return this.flush();
  }

  /** Drops everything queued (the socket is gone); later pushes are ignored. */
  close(): void {
    this.closed = true;
    this.parts.length = 0;
    this.head = 0;
    this.queued = 0;
  }

  // Accounts for `written` bytes of a write that covered `taken` parts totalling `chunkBytes`. After a short
  // write, the parts not fully written are replaced by their unwritten tails (copied out of the coalescing
  // buffer's sources as subarrays, never out of the buffer itself, which the next flush reuses).
  private consume(written: number, taken: number, chunkBytes: number): void {
    this.queued -= written;
    if (written === chunkBytes) {
      for (let i = 0; i < taken; i++) this.parts[this.head + i] = EMPTY;
      this.head += taken;
      return;
    }
    let remaining = written;
    while (remaining > 0) {
      const part = this.parts[this.head]!;
      if (remaining >= part.length) {
        remaining -= part.length;
        this.parts[this.head++] = EMPTY;
      } else {
        this.parts[this.head] = part.subarray(remaining);
        remaining = 0;
      }
    }
    // A connection that stays blocked keeps pushing (up to its high-water mark); drop the consumed prefix so the
    // array does not grow with it.
    if (this.head > 1024 && this.head * 2 > this.parts.length) {
      this.parts.splice(0, this.head);
      this.head = 0;
    }
  }

  private compact(): void {
    this.parts.length = 0;
    this.head = 0;
    assert(this.queued === 0, "a flushed queue holds no bytes");
  }
}

const EMPTY = new Uint8Array(0);
