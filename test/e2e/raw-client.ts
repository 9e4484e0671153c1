// A small client that speaks Rivulet's frames directly (no SDK): for end-to-end tests of the broker, hostile
// input tests (send any bytes), and the raw protocol perf driver. Responses are read with the same FrameReader the
// broker uses and decoded with the protocol's own decoders; every wait is bounded by a timeout, nothing sleeps.
//
//   const client = await RawClient.connect(server.port);
//   const versions = await client.request(ApiVersionsApi, { clientSoftwareName: "t", clientSoftwareVersion: "0" });
//   client.send(MetadataApi, {...}); client.send(MetadataApi, {...});   // pipelined
//   const first = await client.nextResponse(); ...
import type { Socket } from "bun";
import type { ApiDefinition, RequestInputOf, ResponseOf } from "../../core/formats/protocol/api-keys.ts";
import {
  type ResponseEnvelope,
  decodeResponseBody,
  decodeResponseEnvelope,
  encodeRequest,
  encodeRequestParts,
} from "../../core/formats/protocol/envelope.ts";
import { FRAME_BYTES_MAX, FrameReader, concatFrameParts } from "../../core/formats/protocol/frame.ts";

/** How long a wait for a response or a close lasts before it fails the test. */
export const RAW_CLIENT_TIMEOUT_MS_DEFAULT = 10_000;

/** A response frame: its envelope and raw body bytes. */
export interface RawResponse extends ResponseEnvelope {
  frame: Uint8Array;
}

interface Waiter {
  resolve: (frame: Uint8Array) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** One raw protocol connection to a broker. */
export class RawClient {
  private readonly reader = new FrameReader(FRAME_BYTES_MAX);
  private readonly frames: Uint8Array[] = [];
  private readonly waiters: Waiter[] = [];
  private nextCorrelationId = 1;
  // Bytes the socket did not take yet (written on drain, in order).
  private readonly unsent: Uint8Array[] = [];
  private socket!: Socket<undefined>;
  private closedFlag = false;
  private resolveClosed!: () => void;
  /** Resolves when the connection is closed (by either side). */
  readonly closed: Promise<void> = new Promise((resolve) => (this.resolveClosed = resolve));
  /** Bytes handed to send* since connect (for tests that count). */
  bytesSent = 0;

  /** Opens a connection to a broker on 127.0.0.1 (or `host`). */
  static async connect(port: number, host = "127.0.0.1"): Promise<RawClient> {
    const client = new RawClient();
    client.socket = await Bun.connect<undefined>({
      hostname: host,
      port,
      socket: {
        data: (_socket, chunk) => client.onData(chunk),
        drain: () => client.onDrain(),
        close: () => client.onClosed(),
        error: () => client.onClosed(),
        end: () => client.onClosed(),
      },
    });
    return client;
  }

  /** True once the connection is closed. */
  get isClosed(): boolean {
    return this.closedFlag;
  }

  private onData(chunk: Uint8Array): void {
    this.reader.push(chunk);
    for (;;) {
      const next = this.reader.next();
      if (!next.ok) break;
      const waiter = this.waiters.shift();
      if (waiter === undefined) this.frames.push(next.value);
      else {
        clearTimeout(waiter.timer);
        waiter.resolve(next.value);
      }
    }
  }

  private onClosed(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    for (const waiter of this.waiters.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(new Error("connection closed before a response arrived"));
    }
    this.resolveClosed();
  }

  /**
   * Writes raw bytes (any bytes at all), in order: what the socket does not take now is kept and written on
   * `drain`. Returns how many bytes the socket took at once.
   */
  sendBytes(bytes: Uint8Array): number {
    this.bytesSent += bytes.byteLength;
    if (this.unsent.length > 0) {
      this.unsent.push(bytes);
      return 0;
    }
    const n = Math.max(this.socket.write(bytes), 0);
    if (n < bytes.byteLength && !this.closedFlag) this.unsent.push(bytes.subarray(n));
    return n;
  }

  private onDrain(): void {
    while (this.unsent.length > 0) {
      const head = this.unsent[0]!;
      const n = this.socket.write(head);
      if (n < 0) {
        this.unsent.length = 0;
        return;
      }
      if (n < head.byteLength) {
        this.unsent[0] = head.subarray(n);
        return;
      }
      this.unsent.shift();
    }
  }

  /** Sends one request frame; returns its correlation id. */
  send<A extends ApiDefinition<any, any, any, any>>(
    api: A,
    request: RequestInputOf<A>,
    options: { apiVersion?: number; correlationId?: number; clientId?: string | null; parts?: boolean } = {},
  ): number {
    const correlationId = options.correlationId ?? this.nextCorrelationId++;
    const header = { apiVersion: options.apiVersion ?? 0, correlationId, clientId: options.clientId === undefined ? "raw-client" : options.clientId };
    const frame = options.parts ? concatFrameParts(encodeRequestParts(api, header, request)) : encodeRequest(api, header, request);
    this.sendBytes(frame);
    return correlationId;
  }

  /** The next response frame body, in arrival order. */
  nextFrame(timeoutMs = RAW_CLIENT_TIMEOUT_MS_DEFAULT): Promise<Uint8Array> {
    const ready = this.frames.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    if (this.closedFlag) return Promise.reject(new Error("connection closed"));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          const at = this.waiters.indexOf(waiter);
          if (at >= 0) this.waiters.splice(at, 1);
          reject(new Error(`no response within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  /** The next response's envelope (body still undecoded). */
  async nextResponse(timeoutMs = RAW_CLIENT_TIMEOUT_MS_DEFAULT): Promise<RawResponse> {
    const frame = await this.nextFrame(timeoutMs);
    const envelope = decodeResponseEnvelope(frame);
    if (!envelope.ok) throw new Error(`bad response envelope: ${envelope.error}`);
    return { ...envelope.value, frame };
  }

  /** Reads the next response and decodes it as `api`'s answer to `correlationId`; throws on an envelope error. */
  async receive<A extends ApiDefinition<any, any, any, any>>(api: A, correlationId: number, apiVersion = 0, timeoutMs?: number): Promise<ResponseOf<A>> {
    const response = await this.nextResponse(timeoutMs);
    if (response.correlationId !== correlationId) throw new Error(`expected correlation id ${correlationId}, got ${response.correlationId}`);
    if (response.errorCode !== 0) throw new Error(`request failed with error code ${response.errorCode}`);
    const body = decodeResponseBody(api, apiVersion, response.body);
    if (!body.ok) throw new Error(`bad ${api.name} response body: ${body.error}${"field" in body ? ` at ${body.field}` : ""}`);
    return body.value as ResponseOf<A>;
  }

  /** Sends a request and waits for its decoded answer. */
  async request<A extends ApiDefinition<any, any, any, any>>(api: A, request: RequestInputOf<A>, timeoutMs?: number): Promise<ResponseOf<A>> {
    return this.receive(api, this.send(api, request), 0, timeoutMs);
  }

  /** Resolves when the broker closes the connection; rejects after `timeoutMs`. */
  async waitClosed(timeoutMs = RAW_CLIENT_TIMEOUT_MS_DEFAULT): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`connection still open after ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([this.closed, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops reading the socket (the broker's responses back up in the kernel and then in its queue). */
  pauseReading(): void {
    this.socket.pause();
  }

  /** Reads the socket again after pauseReading(). */
  resumeReading(): void {
    this.socket.resume();
  }

  /** Closes the connection from this side. */
  close(): void {
    this.socket.end();
  }
}
