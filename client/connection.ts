// One TCP connection to one broker, speaking Rivulet's framed msgpack protocol (docs/protocol.md). Written on
// node:net so the same code runs on Bun and on Node.
//
// Requests are pipelined: each is written as soon as it has a slot, and responses come back in the order the
// requests were sent (the broker's rule), so the oldest pending request owns the next response; its correlation
// id is checked, and a mismatch means the stream can not be trusted (the connection closes). At most
// `maxInFlightRequests` requests wait for an answer; further callers wait for a slot, in a bounded queue.
//
// Writes are coalesced: every request made in the same tick goes out in one burst, small frames copied together
// into one buffer (one syscall instead of one per request), record chunks of RECORD_CHUNK_BYTES_MIN and more
// written as they are, uncorked, so neither the SDK nor node:net copies the producer's batch bytes. A caller must
// not modify a buffer it passed in a request until the request settles.
//
// Failure: when the socket dies, every request in flight rejects with an indeterminate RivuletConnectionError (it
// may have been processed) and every request still waiting for a slot with a definite one (it was never sent).
// A request past its deadline rejects with RivuletTimeoutError and closes the connection, as Kafka's client does:
// the late answer would still hold its place in the response order, so the connection is no longer useful.
import { createConnection, type Socket } from "node:net";
import { assert } from "../core/assert.ts";
import { BATCH_BYTES_MAX } from "../core/limits.ts";
import type { ApiDefinition, RequestInputOf, ResponseOf } from "../core/formats/protocol/api-keys.ts";
import { ApiVersionsApi } from "../core/formats/protocol/api-versions.ts";
import { decodeResponseBody, decodeResponseEnvelope, encodeRequestParts } from "../core/formats/protocol/envelope.ts";
import { ErrorCode, RivuletError } from "../core/formats/protocol/errors.ts";
import { FRAME_BYTES_MAX, type FramePart } from "../core/formats/protocol/frame.ts";
import { RivuletClosedError, RivuletConnectionError, RivuletTimeoutError } from "./errors.ts";
import { ResponseReceiver } from "./response-receiver.ts";

/** Room for a response's envelope and per-partition fields around its record bytes. */
export const RESPONSE_ENVELOPE_BYTES_SLACK = 1024 * 1024;
/**
 * Largest response frame body accepted. A Fetch answer holds up to fetch.max.bytes (at most one batch ceiling
 * here) plus, as Kafka allows, one whole batch past it so a consumer always progresses; the envelope adds a
 * little. The reader allocates only once a frame's bytes have arrived, so the bound costs nothing until used.
 */
export const CONNECTION_RESPONSE_BYTES_MAX = 2 * BATCH_BYTES_MAX + RESPONSE_ENVELOPE_BYTES_SLACK;
assert(CONNECTION_RESPONSE_BYTES_MAX <= FRAME_BYTES_MAX, "the response limit must fit a frame length prefix");

/** Most callers that may wait for an in-flight slot on one connection before request() rejects. */
export const CONNECTION_WAITING_REQUESTS_MAX = 65_536;
/** Highest accepted maxInFlightRequests (the broker bounds what it reads ahead anyway). */
export const CONNECTION_IN_FLIGHT_REQUESTS_MAX = 1024;
/** Record chunks at least this large are written as they are; smaller parts are copied into one buffer. */
export const RECORD_CHUNK_BYTES_MIN = 16 * 1024;
/** Software name sent in ApiVersions. */
export const CLIENT_SOFTWARE_NAME = "rivulet-js";
/** Software version sent in ApiVersions. */
export const CLIENT_SOFTWARE_VERSION = "0.1.0";

/** How to open a connection. */
export interface ConnectionOptions {
  host: string;
  port: number;
  /** Sent in every request header (Kafka's client.id); null sends nil. */
  clientId: string | null;
  /** Deadline for the TCP connect and the ApiVersions exchange together. */
  connectTimeoutMs: number;
  /** Default deadline of each request. */
  requestTimeoutMs: number;
  /** Requests awaiting an answer at once; more callers wait for a slot. */
  maxInFlightRequests: number;
  /** Largest response frame body accepted (default CONNECTION_RESPONSE_BYTES_MAX). */
  maxResponseBytes?: number;
}

/** Per-request settings. */
export interface RequestOptions {
  /** Deadline of this request (default: the connection's requestTimeoutMs). */
  timeoutMs?: number;
  /**
   * False for requests the broker never answers (Produce with acks=0): the promise resolves with undefined once
   * the bytes are handed to the socket, and the request takes no in-flight slot.
   */
  expectResponse?: boolean;
}

interface PendingRequest {
  readonly api: ApiDefinition<any, any, any, any>;
  readonly version: number;
  readonly correlationId: number;
  readonly resolve: (value: any) => void;
  readonly reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout> | null;
}

interface SlotWaiter {
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/** An open, handshaken connection to one broker. */
export class Connection {
  /** "host:port" of the broker. */
  readonly broker: string;
  readonly #socket: Socket;
  readonly #options: ConnectionOptions;
  readonly #receiver: ResponseReceiver;
  // Requests awaiting an answer, oldest first (a queue with a moving head: shift() is O(n)).
  #pending: (PendingRequest | undefined)[] = [];
  #pendingHead = 0;
  #inFlight = 0;
  #maxInFlight: number;
  #slotWaiters: SlotWaiter[] = [];
  #slotWaitersHead = 0;
  #nextCorrelationId = 0;
  #versions = new Map<number, { minVersion: number; maxVersion: number }>();
  #outgoing: FramePart[] = [];
  #flushScheduled = false;
  #onFlushed: (() => void)[] = [];
  #closeError: RivuletError | null = null;
  #closedFlag = false;
  #resolveClosed!: (reason: RivuletError | null) => void;
  #closeListeners: ((reason: RivuletError | null) => void)[] = [];

  /** Resolves once the connection is closed: null after close(), the error when it failed. */
  readonly closed: Promise<RivuletError | null> = new Promise((resolve) => (this.#resolveClosed = resolve));

  private constructor(socket: Socket, receiving: Receiving, options: ConnectionOptions) {
    this.#socket = socket;
    this.#options = options;
    this.broker = `${options.host}:${options.port}`;
    this.#receiver = receiving.receiver;
    this.#maxInFlight = options.maxInFlightRequests;
    receiving.onRead = (bytes) => this.#onRead(bytes);
    socket.on("error", (error: Error) => this.#fail(new RivuletConnectionError(this.broker, `socket error: ${error.message}`, { cause: error })));
    socket.on("close", () => this.#fail(new RivuletConnectionError(this.broker, "connection closed by the broker")));
  }

  /** Connects, exchanges ApiVersions and resolves with the ready connection; rejects with RivuletConnectionError. */
  static async open(options: ConnectionOptions): Promise<Connection> {
    checkOptions(options);
    const broker = `${options.host}:${options.port}`;
    const deadline = Date.now() + options.connectTimeoutMs;
    const receiving = new Receiving(new ResponseReceiver(options.maxResponseBytes ?? CONNECTION_RESPONSE_BYTES_MAX));
    const socket = await connectSocket(options.host, options.port, options.connectTimeoutMs, broker, receiving);
    const connection = new Connection(socket, receiving, options);
    try {
      const remainingMs = Math.max(1, deadline - Date.now());
      const versions = await connection.#send(ApiVersionsApi, 0, { clientSoftwareName: CLIENT_SOFTWARE_NAME, clientSoftwareVersion: CLIENT_SOFTWARE_VERSION }, remainingMs);
      if (versions.errorCode !== ErrorCode.NONE) throw new RivuletError(versions.errorCode, `${broker}: ApiVersions failed`);
      for (const range of versions.apiKeys) connection.#versions.set(range.apiKey, { minVersion: range.minVersion, maxVersion: range.maxVersion });
    } catch (error) {
      connection.#fail(error instanceof RivuletError ? error : new RivuletConnectionError(broker, "handshake failed", { cause: error }));
      // Nothing but the handshake was sent: the caller may try again freely.
      if (error instanceof RivuletTimeoutError) throw new RivuletConnectionError(broker, `no ApiVersions answer within ${options.connectTimeoutMs} ms`, { definite: true });
      throw error;
    }
    return connection;
  }

  /** True once the connection is closed or failed; every request then rejects. */
  get isClosed(): boolean {
    return this.#closedFlag;
  }

  /** Requests awaiting an answer now. */
  get inFlightRequests(): number {
    return this.#inFlight;
  }

  /** Callers waiting for an in-flight slot now. */
  get waitingRequests(): number {
    return this.#slotWaiters.length - this.#slotWaitersHead;
  }

  /** The in-flight bound; raising it lets waiting callers through at once, lowering it applies as slots free up. */
  get maxInFlightRequests(): number {
    return this.#maxInFlight;
  }

  set maxInFlightRequests(value: number) {
    assert(Number.isInteger(value) && value >= 1 && value <= CONNECTION_IN_FLIGHT_REQUESTS_MAX, "maxInFlightRequests out of range");
    this.#maxInFlight = value;
    while (this.#inFlight < this.#maxInFlight && this.waitingRequests > 0) {
      this.#inFlight += 1;
      this.#takeSlotWaiter().resolve();
    }
  }

  /** The version this connection uses for `api`: the highest both sides speak, or null when there is none. */
  apiVersion(api: ApiDefinition<any, any, any, any>): number | null {
    const theirs = this.#versions.get(api.apiKey);
    if (theirs === undefined) return null;
    const version = Math.min(api.maxVersion, theirs.maxVersion);
    return version >= Math.max(api.minVersion, theirs.minVersion) ? version : null;
  }

  /** Registers a listener called once when the connection closes (null reason after close()). */
  onClose(listener: (reason: RivuletError | null) => void): void {
    if (this.#closedFlag) queueMicrotask(() => listener(this.#closeError));
    else this.#closeListeners.push(listener);
  }

  /**
   * Sends a request and resolves with the broker's decoded answer. Rejects with RivuletError for an error code
   * on the whole request, RivuletConnectionError when the connection fails, RivuletTimeoutError at the deadline.
   * Errors about single topics or partitions are inside the response body, for the caller to read.
   */
  request<A extends ApiDefinition<any, any, any, any>>(api: A, body: RequestInputOf<A>, options?: RequestOptions & { expectResponse?: true }): Promise<ResponseOf<A>>;
  /** Sends a request the broker does not answer (Produce with acks=0); resolves once it is written. */
  request<A extends ApiDefinition<any, any, any, any>>(api: A, body: RequestInputOf<A>, options: RequestOptions & { expectResponse: false }): Promise<undefined>;
  request<A extends ApiDefinition<any, any, any, any>>(api: A, body: RequestInputOf<A>, options: RequestOptions = {}): Promise<ResponseOf<A> | undefined> {
    if (this.#closedFlag) return Promise.reject(this.#notSentError());
    const version = this.apiVersion(api);
    if (version === null) return Promise.reject(new RivuletError(ErrorCode.UNSUPPORTED_VERSION, `${this.broker} does not speak ${api.name} v${api.minVersion}..v${api.maxVersion}`));
    const timeoutMs = options.timeoutMs ?? this.#options.requestTimeoutMs;
    assert(Number.isInteger(timeoutMs) && timeoutMs > 0, "timeoutMs must be a positive integer");
    if (options.expectResponse === false) return this.#sendUnanswered(api, version, body);
    if (this.#inFlight < this.#maxInFlight && this.waitingRequests === 0) {
      this.#inFlight += 1;
      return this.#send(api, version, body, timeoutMs, true);
    }
    if (this.waitingRequests >= CONNECTION_WAITING_REQUESTS_MAX) {
      return Promise.reject(new RivuletConnectionError(this.broker, `more than ${CONNECTION_WAITING_REQUESTS_MAX} requests waiting for a slot`, { definite: true }));
    }
    return new Promise<void>((resolve, reject) => this.#slotWaiters.push({ resolve, reject })).then(() => this.#send(api, version, body, timeoutMs, true));
  }

  /** Closes the connection; requests in flight reject (indeterminate), waiting ones reject (definite). */
  close(): Promise<void> {
    if (!this.#closedFlag) {
      this.#flush();
      this.#teardown(null, new RivuletConnectionError(this.broker, "connection closed by the client"));
      this.#socket.end();
      // end() flushes what is queued; the socket is destroyed if the broker does not close its side promptly.
      const timer = setTimeout(() => this.#socket.destroy(), this.#options.requestTimeoutMs);
      timer.unref?.();
      this.#socket.once("close", () => clearTimeout(timer));
    }
    return this.closed.then(() => undefined);
  }

  // Writes a request whose slot is already taken (or that needs none: the handshake) and tracks its answer.
  #send<A extends ApiDefinition<any, any, any, any>>(api: A, version: number, body: RequestInputOf<A>, timeoutMs: number, holdsSlot = false): Promise<ResponseOf<A>> {
    if (this.#closedFlag) {
      // The slot was handed over while the connection failed; it is gone with the connection.
      return Promise.reject(this.#notSentError());
    }
    const correlationId = this.#takeCorrelationId();
    let parts: FramePart[];
    try {
      parts = encodeRequestParts(api, { apiVersion: version, correlationId, clientId: this.#options.clientId }, body);
    } catch (error) {
      if (holdsSlot) this.#releaseSlot();
      return Promise.reject(error);
    }
    return new Promise<ResponseOf<A>>((resolve, reject) => {
      const pending: PendingRequest = { api, version, correlationId, resolve, reject, timer: null };
      pending.timer = setTimeout(() => this.#onTimeout(pending, timeoutMs), timeoutMs);
      if (!holdsSlot) this.#inFlight += 1;
      this.#pending.push(pending);
      this.#enqueue(parts);
    });
  }

  #sendUnanswered<A extends ApiDefinition<any, any, any, any>>(api: A, version: number, body: RequestInputOf<A>): Promise<undefined> {
    const parts = encodeRequestParts(api, { apiVersion: version, correlationId: this.#takeCorrelationId(), clientId: this.#options.clientId }, body);
    return new Promise<undefined>((resolve) => {
      this.#enqueue(parts);
      this.#onFlushed.push(() => resolve(undefined));
    });
  }

  #takeCorrelationId(): number {
    const id = this.#nextCorrelationId;
    this.#nextCorrelationId = id === 0x7fffffff ? 0 : id + 1;
    return id;
  }

  #notSentError(): RivuletError {
    const reason = this.#closeError;
    if (reason === null) return new RivuletClosedError(`connection to ${this.broker}`);
    return new RivuletConnectionError(this.broker, `not sent: ${reason.message}`, { definite: true, cause: reason });
  }

  #takeSlotWaiter(): SlotWaiter {
    const waiter = this.#slotWaiters[this.#slotWaitersHead];
    assert(waiter !== undefined, "no slot waiter");
    this.#slotWaitersHead += 1;
    if (this.#slotWaitersHead === this.#slotWaiters.length) {
      this.#slotWaiters = [];
      this.#slotWaitersHead = 0;
    } else if (this.#slotWaitersHead >= 1024) {
      this.#slotWaiters = this.#slotWaiters.slice(this.#slotWaitersHead);
      this.#slotWaitersHead = 0;
    }
    return waiter;
  }

  // A finished request's slot goes straight to the oldest waiter (no window for a newer caller to overtake it).
  #releaseSlot(): void {
    if (this.waitingRequests > 0 && this.#inFlight <= this.#maxInFlight) this.#takeSlotWaiter().resolve();
    else this.#inFlight -= 1;
  }

  #enqueue(parts: FramePart[]): void {
    for (const part of parts) {
      assert(part instanceof Uint8Array, "requests carry in-memory parts only");
      this.#outgoing.push(part);
    }
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      queueMicrotask(() => this.#flush());
    }
  }

  /** Writes the requests queued so far now instead of at the end of this tick (a no-op when none are queued). */
  flush(): void {
    if (this.#flushScheduled) this.#flush();
  }

  // HOT PATH (bench/client-connection.bench.ts, "metadata x100" and "produce 64KiB x16"): one burst per
  // tick, small parts joined, large record chunks passed through.
  #flush(): void {
    this.#flushScheduled = false;
    if (this.#outgoing.length === 0 || this.#closedFlag) return;
    const parts = this.#outgoing as Uint8Array[];
    this.#outgoing = [];
    const flushed = this.#onFlushed;
    this.#onFlushed = [];
    const chunks: Uint8Array[] = [];
    let start = 0;
    while (start < parts.length) {
      const part = parts[start] as Uint8Array;
      if (part.byteLength >= RECORD_CHUNK_BYTES_MIN) {
        chunks.push(part);
        start += 1;
        continue;
      }
      let end = start;
      let bytes = 0;
      while (end < parts.length && (parts[end] as Uint8Array).byteLength < RECORD_CHUNK_BYTES_MIN) {
        bytes += (parts[end] as Uint8Array).byteLength;
        end += 1;
      }
      if (end - start === 1) chunks.push(part);
      else {
        const joined = new Uint8Array(bytes);
        let at = 0;
        for (let i = start; i < end; i++) {
          const piece = parts[i] as Uint8Array;
          joined.set(piece, at);
          at += piece.byteLength;
        }
        chunks.push(joined);
      }
      start = end;
    }
    // No cork: a corked socket hands the queued chunks to node:net's _writev, which joins them with Buffer.concat
    // (a full copy of every batch; 16-35 % of producer CPU, docs/benchmarks/perf.md). Uncorked, each write goes to
    // the socket as it is, on Bun and on Node; the small parts were already joined above.
    const socket = this.#socket;
    const last = chunks.length - 1;
    for (let i = 0; i < last; i++) socket.write(chunks[i] as Uint8Array);
    if (flushed.length === 0) socket.write(chunks[last] as Uint8Array);
    else {
      socket.write(chunks[last] as Uint8Array, () => {
        for (const done of flushed) done();
      });
    }
  }

  // HOT PATH (bench/consumer.bench.ts is the decode; `rivulet perf consume` the whole): frames are views into the
  // receive buffer the socket read into (response-receiver.ts), handed on without a copy.
  #onRead(bytes: number): void {
    if (this.#closedFlag) return;
    this.#receiver.received(bytes);
    for (;;) {
      const next = this.#receiver.next();
      if (!next.ok) {
        if (next.error !== "incomplete") this.#fail(new RivuletConnectionError(this.broker, `bad response frame (${next.error})`));
        return;
      }
      this.#onFrame(next.value);
      if (this.#closedFlag) return;
    }
  }

  #onFrame(frame: Uint8Array): void {
    const envelope = decodeResponseEnvelope(frame);
    if (!envelope.ok) return this.#fail(new RivuletConnectionError(this.broker, `bad response envelope (${envelope.error})`));
    const pending = this.#pending[this.#pendingHead];
    if (pending === undefined) return this.#fail(new RivuletConnectionError(this.broker, "a response arrived with no request waiting"));
    const { correlationId, errorCode, body } = envelope.value;
    if (correlationId !== pending.correlationId) {
      return this.#fail(new RivuletConnectionError(this.broker, `response correlation id ${correlationId}, expected ${pending.correlationId}`));
    }
    if (errorCode === ErrorCode.NONE) {
      const decoded = decodeResponseBody(pending.api, pending.version, body);
      if (!decoded.ok) {
        const field = "field" in decoded ? ` at ${decoded.field}` : "";
        return this.#fail(new RivuletConnectionError(this.broker, `bad ${pending.api.name} response (${decoded.error}${field})`));
      }
      this.#finish(pending);
      pending.resolve(decoded.value);
    } else {
      this.#finish(pending);
      pending.reject(new RivuletError(errorCode, `${this.broker} refused ${pending.api.name}: ${errorCodeMessage(errorCode)}`));
    }
  }

  // Removes the oldest pending request (the one just answered) and frees its slot.
  #finish(pending: PendingRequest): void {
    if (pending.timer !== null) clearTimeout(pending.timer);
    this.#pending[this.#pendingHead] = undefined;
    this.#pendingHead += 1;
    if (this.#pendingHead === this.#pending.length) {
      this.#pending = [];
      this.#pendingHead = 0;
    } else if (this.#pendingHead >= 1024) {
      this.#pending = this.#pending.slice(this.#pendingHead);
      this.#pendingHead = 0;
    }
    this.#releaseSlot();
  }

  #onTimeout(pending: PendingRequest, timeoutMs: number): void {
    pending.timer = null;
    if (this.#closedFlag) return;
    const message = `${this.broker}: no ${pending.api.name} answer within ${timeoutMs} ms`;
    const index = this.#pending.indexOf(pending, this.#pendingHead);
    assert(index >= 0, "a timed-out request is pending");
    this.#pending[index] = undefined;
    pending.reject(new RivuletTimeoutError(message, timeoutMs));
    this.#fail(new RivuletConnectionError(this.broker, `closed after a request timed out (${message})`));
  }

  #fail(error: RivuletError): void {
    if (this.#closedFlag) return;
    this.#teardown(error, error);
    this.#socket.destroy();
  }

  // Settles everything that waits on this connection; `reason` is what `closed` reports (null for close()).
  #teardown(reason: RivuletError | null, inFlightError: RivuletError): void {
    this.#closedFlag = true;
    this.#closeError = reason;
    const pending = this.#pending;
    const head = this.#pendingHead;
    this.#pending = [];
    this.#pendingHead = 0;
    this.#inFlight = 0;
    for (let i = head; i < pending.length; i++) {
      const request = pending[i];
      if (request === undefined) continue;
      if (request.timer !== null) clearTimeout(request.timer);
      request.reject(inFlightError);
    }
    const waiters = this.#slotWaiters.slice(this.#slotWaitersHead);
    this.#slotWaiters = [];
    this.#slotWaitersHead = 0;
    const notSent = this.#notSentError();
    for (const waiter of waiters) waiter.reject(notSent);
    // Unanswered requests not yet flushed were never sent; their callers learn it from the next request.
    this.#outgoing = [];
    for (const done of this.#onFlushed.splice(0)) done();
    this.#resolveClosed(reason);
    for (const listener of this.#closeListeners.splice(0)) listener(reason);
  }
}

function errorCodeMessage(code: number): string {
  return new RivuletError(code).message;
}

function checkOptions(options: ConnectionOptions): void {
  assert(typeof options.host === "string" && options.host.length > 0, "host must be a non-empty string");
  assert(Number.isInteger(options.port) && options.port > 0 && options.port <= 65535, "port must be 1..65535");
  assert(Number.isInteger(options.connectTimeoutMs) && options.connectTimeoutMs > 0, "connectTimeoutMs must be a positive integer");
  assert(Number.isInteger(options.requestTimeoutMs) && options.requestTimeoutMs > 0, "requestTimeoutMs must be a positive integer");
  assert(
    Number.isInteger(options.maxInFlightRequests) && options.maxInFlightRequests >= 1 && options.maxInFlightRequests <= CONNECTION_IN_FLIGHT_REQUESTS_MAX,
    "maxInFlightRequests out of range",
  );
}

// The socket's read side: node:net's `onread` asks it where to read (the receiver's buffer) and tells it how much
// arrived; the connection attaches its handler once it exists (nothing arrives before the first request).
class Receiving {
  // Bytes that come before the connection exists are kept for it (a broker never speaks first; if one does, the
  // connection's first read sees them as an unexpected response and closes).
  onRead: (bytes: number) => void = (bytes) => this.receiver.received(bytes);

  constructor(readonly receiver: ResponseReceiver) {}
}

// Opens the TCP socket, reading through `receiving`; rejects with a definite RivuletConnectionError (nothing was sent).
function connectSocket(host: string, port: number, timeoutMs: number, broker: string, receiving: Receiving): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({
      host,
      port,
      onread: {
        buffer: () => receiving.receiver.readBuffer(),
        callback: (bytes: number) => {
          receiving.onRead(bytes);
          return true;
        },
      },
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new RivuletConnectionError(broker, `connect timed out after ${timeoutMs} ms`, { definite: true }));
    }, timeoutMs);
    const onError = (error: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(new RivuletConnectionError(broker, `connect failed: ${error.message}`, { definite: true, cause: error }));
    };
    socket.once("error", onError);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.off("error", onError);
      socket.setNoDelay(true);
      resolve(socket);
    });
  });
}
