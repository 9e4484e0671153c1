// One client connection: bytes in through the framer, requests dispatched in arrival order, responses out in the
// same order through the connection's OutboundQueue, whatever order their handlers finish in.
//
//   data ─► FrameReader ─► decodeRequest ─► dispatch ─► slot (pending | done) ─► in order ─► OutboundQueue ─► socket
//
// Ordering: every request that gets an answer takes a slot at the tail of `slots` when it is read; a handler
// that finishes fills its slot; only the head slot is ever written. So a Produce with acks=all waiting on fsync
// holds back the Metadata answer read after it, as Kafka's one-in-flight-per-connection response order requires.
//
// Coalescing: answers are pushed to the queue and written by one flush per data callback (synchronous handlers)
// or one flush per microtask (asynchronous ones), never one write per response.
//
// Backpressure: a connection stops reading (socket.pause(), and no more frames are taken from the framer) while
// it has queuedRequestsMax unanswered requests or its queue is over its high-water mark; it resumes when both
// drop back. Frames already buffered stay in the framer meanwhile, bounded by what arrived before the pause.
//
// Hostile input: a length prefix that is zero, negative or over the limit closes the connection before anything
// is allocated for the body; msgpack that does not decode or an envelope of the wrong shape closes it; a bad
// api key, version or field gets a typed error answer. Until the connection's first decodable request, frames
// are held to HANDSHAKE_FRAME_BYTES_MAX (docs/protocol.md section 4), so a port scanner is dropped cheaply.
import type { Socket } from "bun";
import { FrameReader, HANDSHAKE_FRAME_BYTES_MAX } from "../core/formats/protocol/frame.ts";
import { encodeErrorResponse } from "../core/formats/protocol/envelope.ts";
import { ErrorCode } from "../core/formats/protocol/errors.ts";
import { decodeRequest, encodeRequestFailureResponse } from "../core/formats/protocol/messages.ts";
import type { FramePart } from "../core/formats/protocol/frame.ts";
import { type FileRangeSender, type FileRangeTarget, type PinnedRange, isPinnedRange, pinRanges, unpinRange } from "./file-range.ts";
import { dispatch } from "./handlers/dispatch.ts";
import { OutboundQueue } from "./outbound-queue.ts";
import { CLOSE_CONNECTION, NO_REPLY, type Reply, type RequestScope, type ServerContext } from "./server-context.ts";

/** Why a connection was closed by the server (for tests and logs). */
export type CloseReason =
  | "bad_length"
  | "too_large"
  | "malformed"
  | "bad_envelope"
  | "idle"
  | "header_timeout"
  | "acks0_failed"
  | "handler_failed"
  | "send_failed"
  | "server_closing";

interface Slot {
  reply: Reply | typeof CLOSE_CONNECTION_SEND_FAILED | null;
  written: boolean;
  /** The handler failed: after its error answer is written, the connection closes. */
  closeAfter: boolean;
}

/** The server-side state of one client connection. */
export class Connection implements RequestScope {
  private readonly reader: FrameReader;
  private readonly queue: OutboundQueue;
  private readonly slots: Slot[] = [];
  private slotsHead = 0;
  private readonly closeCallbacks = new Set<() => void>();
  // Resolved when nothing is in flight (shutdown) / when the queue is empty (a file range sender's turn).
  private readonly quietWaiters: (() => void)[] = [];
  private readonly emptyWaiters: (() => void)[] = [];
  private readonly rangeTarget: FileRangeTarget;
  private greeted = false;
  // Frames are no longer taken from the framer (too many unanswered requests, or the queue over its mark)...
  private readingPaused = false;
  // ...and the Bun socket is paused too, so the kernel stops handing us bytes.
  private socketPaused = false;
  private flushScheduled = false;
  private sending: Promise<unknown> | null = null;
  private stopReading = false;
  private inProgress = 0;
  private isClosed = false;
  /** Why the server closed it, if it did. */
  closeReason: CloseReason | null = null;
  /** Last time a byte arrived or a response finished (connections.max.idle.ms). */
  lastActivityMs: number;
  /** When the frame now partly received started arriving, 0 when none is (the header-read timeout). */
  partialSinceMs = 0;

  constructor(
    private readonly socket: Socket<unknown>,
    private readonly context: ServerContext,
    private readonly fileRangeSender: FileRangeSender,
    nowMs: number,
    readonly remoteAddress: string,
  ) {
    this.reader = new FrameReader(Math.min(HANDSHAKE_FRAME_BYTES_MAX, context.limits.socketRequestMaxBytes));
    this.queue = new OutboundQueue({ write: (data) => socket.write(data) }, context.limits.outboundHighWaterBytes);
    this.lastActivityMs = nowMs;
    this.rangeTarget = { queue: this.queue, socket, drained: () => this.drained() };
  }

  /** True once the connection is gone. */
  get closed(): boolean {
    return this.isClosed;
  }

  /** Requests read and not yet answered. */
  get pendingRequests(): number {
    return this.slots.length - this.slotsHead;
  }

  /** True while the server itself stopped reading this connection (backpressure): its timeouts do not run. */
  get readingPausedByServer(): boolean {
    return this.readingPaused;
  }

  /** Requests whose handler has not finished yet (answers waiting only for their turn to be written excluded). */
  get requestsInProgress(): number {
    return this.inProgress;
  }

  /** True when nothing is in flight: no unanswered request and no unsent byte. */
  get isQuiet(): boolean {
    return this.pendingRequests === 0 && this.queue.queuedBytes === 0 && this.sending === null;
  }

  /** Registers a callback run once when the connection closes; returns a function that unregisters it. */
  onClose(callback: () => void): () => void {
    if (this.isClosed) {
      callback();
      return () => {};
    }
    this.closeCallbacks.add(callback);
    return () => this.closeCallbacks.delete(callback);
  }

  /** Bun `data` handler: frames the chunk and dispatches every whole request, then flushes once. */
  onData(chunk: Uint8Array, nowMs: number): void {
    if (this.isClosed || this.stopReading) return;
    this.lastActivityMs = nowMs;
    this.reader.push(chunk);
    this.processFrames(nowMs);
    this.flush();
  }

  /** Bun `drain` handler: resends the kept tail and resumes reading when the queue fell under its mark. */
  onDrain(): void {
    if (this.isClosed) return;
    this.lastActivityMs = Date.now();
    const state = this.queue.onDrain();
    if (state === "closed") return this.close(null);
    this.afterFlush();
  }

  /** Bun `close` handler (or our own close): drops everything and tells parked requests. */
  onSocketClosed(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.queue.close();
    const callbacks = [...this.closeCallbacks];
    this.closeCallbacks.clear();
    for (const callback of callbacks) callback();
    for (const resolve of this.quietWaiters.splice(0)) resolve();
    for (const resolve of this.emptyWaiters.splice(0)) resolve();
  }

  /** Closes the connection (flushing what is queued first when it can), recording why. */
  close(reason: CloseReason | null): void {
    if (this.isClosed) return;
    if (this.closeReason === null) this.closeReason = reason;
    this.queue.flush();
    this.socket.end();
    this.onSocketClosed();
  }

  /** Stops taking new requests (server shutdown); requests already read are still answered. */
  stopTakingRequests(): void {
    this.stopReading = true;
    this.socket.pause();
  }

  /** Resolves once every request read so far is answered and written (or the connection is gone). */
  whenQuiet(): Promise<void> {
    if (this.isClosed || this.isQuiet) return Promise.resolve();
    return new Promise((resolve) => this.quietWaiters.push(resolve));
  }

  private processFrames(nowMs: number): void {
    for (;;) {
      if (this.isClosed || this.stopReading) return;
      if (this.mustPause()) {
        // Frames may still wait in the framer: afterFlush takes them once the answers drain.
        this.readingPaused = true;
        return;
      }
      const next = this.reader.next();
      if (!next.ok) {
        if (next.error !== "incomplete") return this.close(next.error);
        // A frame is partly here: start (or keep) its header-read clock.
        if (this.reader.bufferedBytes > 0) {
          if (this.partialSinceMs === 0) this.partialSinceMs = nowMs;
        } else this.partialSinceMs = 0;
        return;
      }
      this.partialSinceMs = 0;
      this.handleFrame(next.value);
    }
  }

  private handleFrame(body: Uint8Array): void {
    const decoded = decodeRequest(body);
    if (!decoded.ok) {
      const answer = encodeRequestFailureResponse(decoded);
      if (answer === null) return this.close(decoded.error as CloseReason);
      this.slots.push({ reply: answer, written: false, closeAfter: false });
      this.writeReady();
      return;
    }
    if (!this.greeted) {
      this.greeted = true;
      this.reader.maxFrameBytes = this.context.limits.socketRequestMaxBytes;
    }
    const slot: Slot = { reply: null, written: false, closeAfter: false };
    this.slots.push(slot);
    let result: Reply | Promise<Reply>;
    try {
      result = dispatch(this.context, this, decoded.value);
    } catch (error) {
      result = this.handlerFailed(slot, decoded.value.header.correlationId, error);
    }
    if (result instanceof Promise) {
      this.inProgress++;
      result.then(
        (reply) => this.complete(slot, reply),
        (error: unknown) => this.complete(slot, this.handlerFailed(slot, decoded.value.header.correlationId, error)),
      );
    } else {
      slot.reply = result;
      this.writeReady();
      this.pinIfWaiting(slot);
    }
    // Produce appends while it is dispatched (handlers/produce.ts): its batches (views of the frame) are written,
    // and nothing else holds them, so the frame's buffer may take the next request's bytes.
    if (decoded.value.api === "Produce") this.reader.recycle(body);
  }

  // A reply that could not be written at once (an earlier answer is still pending) pins its file ranges now:
  // their descriptors are only trusted in the synchronous block that produced them (see file-range.ts).
  private pinIfWaiting(slot: Slot): void {
    const reply = slot.reply;
    if (slot.written || !Array.isArray(reply)) return;
    const pinned = pinRanges(reply);
    slot.reply = pinned ?? CLOSE_CONNECTION_SEND_FAILED;
  }

  // A handler that throws is a bug (handlers answer bad input with error codes): the request is answered with
  // UNKNOWN_SERVER_ERROR and the connection closed, and only this connection is affected.
  private handlerFailed(slot: Slot, correlationId: number, error: unknown): Reply {
    console.error(`rivulet: request handler failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    slot.closeAfter = true;
    return encodeErrorResponse(correlationId, ErrorCode.UNKNOWN_SERVER_ERROR);
  }

  private complete(slot: Slot, reply: Reply): void {
    this.inProgress--;
    if (this.isClosed) return;
    slot.reply = reply;
    this.lastActivityMs = Date.now();
    this.writeReady();
    this.pinIfWaiting(slot);
    this.scheduleFlush();
  }

  // Moves every finished answer at the head of the order into the queue; stops at the first unfinished one, or
  // while a file range sender is busy.
  private writeReady(): void {
    while (this.sending === null && this.slotsHead < this.slots.length && !this.isClosed) {
      const slot = this.slots[this.slotsHead]!;
      const reply = slot.reply;
      if (reply === null) return;
      slot.written = true;
      this.slots[this.slotsHead++] = EMPTY_SLOT;
      if (this.slotsHead === this.slots.length) {
        this.slots.length = 0;
        this.slotsHead = 0;
      } else if (this.slotsHead >= 1024) {
        this.slots.splice(0, this.slotsHead);
        this.slotsHead = 0;
      }
      if (reply === NO_REPLY) continue;
      if (reply === CLOSE_CONNECTION) return this.close("acks0_failed");
      if (reply === CLOSE_CONNECTION_SEND_FAILED) return this.close("send_failed");
      if (reply instanceof Uint8Array) this.queue.push(reply);
      else this.writeParts(reply, 0);
      if (slot.closeAfter) return this.close("handler_failed");
    }
  }

  // Queues a response's parts; a file range goes through the sender, which may finish later. Fresh ranges are
  // trusted (this runs in the block that produced them); pinned ones are checked first.
  private writeParts(parts: readonly (FramePart | PinnedRange)[], from: number): void {
    for (let i = from; i < parts.length; i++) {
      const part = parts[i]!;
      if (part instanceof Uint8Array) {
        this.queue.push(part);
        continue;
      }
      const range = isPinnedRange(part) ? unpinRange(part) : part;
      if (range === null) return this.close("send_failed");
      const sent = this.fileRangeSender.send(this.rangeTarget, range);
      if (sent instanceof Promise) {
        // The rest of this response waits for the sender: its fresh ranges are pinned now, while still trusted.
        const rest = pinRanges(parts, i + 1);
        if (rest === null) return this.close("send_failed");
        this.sending = sent.then(
          (done) => {
            this.sending = null;
            if (done === false) return this.close("send_failed");
            this.writeParts(rest, 0);
            this.writeReady();
            this.scheduleFlush();
          },
          () => {
            this.sending = null;
            this.close("send_failed");
          },
        );
        return;
      }
      if (sent === false) return this.close("send_failed");
    }
  }

  private drained(): Promise<void> {
    this.flush();
    if (this.isClosed || this.queue.queuedBytes === 0) return Promise.resolve();
    return new Promise((resolve) => this.emptyWaiters.push(resolve));
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.isClosed) return;
    const state = this.queue.flush();
    if (state === "closed") return this.close(null);
    this.afterFlush();
  }

  // After a write attempt: wake those waiting for quiet or an empty queue, then take held frames or pause the
  // socket. The socket is paused after the write, never before it.
  private afterFlush(): void {
    if (this.emptyWaiters.length > 0 && this.queue.queuedBytes === 0) for (const resolve of this.emptyWaiters.splice(0)) resolve();
    if (this.quietWaiters.length > 0 && this.isQuiet) for (const resolve of this.quietWaiters.splice(0)) resolve();
    while (this.readingPaused && !this.mustPause() && !this.stopReading && !this.isClosed) {
      this.readingPaused = false;
      // A partial frame's clock restarts: the time we were not reading is not the peer's delay.
      if (this.partialSinceMs > 0) this.partialSinceMs = Date.now();
      this.processFrames(Date.now());
      const state = this.queue.flush();
      if (state === "closed") return this.close(null);
      if (this.emptyWaiters.length > 0 && this.queue.queuedBytes === 0) for (const resolve of this.emptyWaiters.splice(0)) resolve();
    }
    const pause = this.readingPaused && !this.isClosed;
    if (pause !== this.socketPaused && !this.stopReading) {
      this.socketPaused = pause;
      if (pause) this.socket.pause();
      else this.socket.resume();
    }
  }

  private mustPause(): boolean {
    return this.pendingRequests >= this.context.limits.queuedRequestsMax || this.queue.isFull;
  }
}

// A pinned reply whose file ranges could not be read: the connection closes when it comes up.
const CLOSE_CONNECTION_SEND_FAILED: unique symbol = Symbol("close: send failed");

// Replaces a written slot so the array does not keep its answer alive.
const EMPTY_SLOT: Slot = { reply: NO_REPLY, written: true, closeAfter: false };
