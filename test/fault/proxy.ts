// A fault-injection TCP proxy for Rivulet's protocol, for tests: it listens on 127.0.0.1 (port 0), opens one
// connection to the broker per client connection, and forwards whole frames (u32 length prefix + body) both ways.
// Between frames it can, by seeded random choice or on command:
//
//   drop a response  after the broker handled the request: the response frame is discarded and both connections
//                    are cut, which is exactly what a lost answer looks like to a client (the write happened, the
//                    client cannot know);
//   cut              a connection before a request reaches the broker (the write did not happen);
//   delay            a request by some milliseconds (later requests of the connection wait behind it: order kept).
//
//   const proxy = await FaultProxy.start({ targetPort: server.port, seed: 7, faults: { dropResponse: 0.01 } });
//   const client = await RawClient.connect(proxy.port);   ...   proxy.dropNextResponses(1);   ...
//   await proxy.close();
//
// Bounds: frames larger than `frameBytesMax` cut the connection; bytes waiting to be written to either side are
// bounded by `bufferBytesMax` (the reading side is paused above BACKPRESSURE_BYTES and resumed on drain; a
// connection that still exceeds the bound is cut); at most `connectionsMax` client connections. close() stops
// the listener, cuts every connection and clears every timer it set.
import type { Socket, TCPSocketListener } from "bun";
import { FRAME_LENGTH_BYTES, FrameReader, SOCKET_REQUEST_MAX_BYTES_DEFAULT, writeFrameLength } from "../../core/formats/protocol/frame.ts";
import { seededRandom as random } from "../helpers/seeded-random.ts";

/** Default bound on bytes queued for one socket before its connection is cut. */
export const PROXY_BUFFER_BYTES_MAX_DEFAULT = 256 * 1024 * 1024;
/** Queued bytes above which the proxy stops reading the other side until the queue drains. */
export const PROXY_BACKPRESSURE_BYTES = 4 * 1024 * 1024;
/** Default bound on simultaneous client connections. */
export const PROXY_CONNECTIONS_MAX_DEFAULT = 1024;
/** Default upper bound of a random request delay. */
export const PROXY_DELAY_MS_MAX_DEFAULT = 20;
/** Fault events kept for inspection (the oldest are dropped beyond this). */
export const PROXY_EVENTS_MAX = 10_000;

/** Random fault probabilities, each per frame, in [0, 1]. */
export interface ProxyFaults {
  /** A response is discarded after the broker handled its request, and the connection cut (counted in responsesDropped). */
  dropResponse?: number;
  /** A request cuts its connection instead of being forwarded. */
  cutBeforeRequest?: number;
  /** A request is held back for a random 0..delayMsMax milliseconds. */
  delayRequest?: number;
  delayMsMax?: number;
}

/** Options of FaultProxy.start. */
export interface FaultProxyOptions {
  targetPort: number;
  targetHost?: string;
  /** Seed of the random fault choices (the same seed and the same traffic give the same faults). */
  seed?: number;
  faults?: ProxyFaults;
  frameBytesMax?: number;
  bufferBytesMax?: number;
  connectionsMax?: number;
}

/** What happened, for tests to count and check. */
export type ProxyEvent =
  | { kind: "connect"; connection: number }
  | { kind: "drop_response"; connection: number; frame: number }
  | { kind: "cut"; connection: number; reason: "command" | "random" | "drop_response" | "upstream_closed" | "client_closed" | "frame_error" | "overflow" | "upstream_failed" | "proxy_closed" }
  | { kind: "delay"; connection: number; frame: number; ms: number };

/** Counters of the traffic and faults so far. */
export interface ProxyStats {
  connections: number;
  requestsForwarded: number;
  responsesForwarded: number;
  responsesDropped: number;
  cuts: number;
  delays: number;
}

// Seeded PRNG (mulberry32): small, fast, reproducible.
function frameOf(body: Uint8Array): Uint8Array {
  const frame = new Uint8Array(FRAME_LENGTH_BYTES + body.byteLength);
  writeFrameLength(frame, 0, body.byteLength);
  frame.set(body, FRAME_LENGTH_BYTES);
  return frame;
}

// Bytes for one socket, kept while the socket cannot take them (a short write) and resent on drain.
class Outbox {
  private chunks: Uint8Array[] = [];
  bytes = 0;

  constructor(private readonly socket: () => Socket<unknown> | null) {}

  write(bytes: Uint8Array): void {
    if (this.chunks.length === 0) {
      const socket = this.socket();
      if (socket !== null) {
        const written = socket.write(bytes);
        if (written >= bytes.byteLength) return;
        bytes = bytes.subarray(Math.max(0, written));
      }
    }
    this.chunks.push(bytes);
    this.bytes += bytes.byteLength;
  }

  flush(): void {
    const socket = this.socket();
    if (socket === null) return;
    while (this.chunks.length > 0) {
      const chunk = this.chunks[0]!;
      const written = socket.write(chunk);
      if (written <= 0) return;
      this.bytes -= Math.min(written, chunk.byteLength);
      if (written < chunk.byteLength) {
        this.chunks[0] = chunk.subarray(written);
        return;
      }
      this.chunks.shift();
    }
  }
}

interface PendingRequest {
  frame: Uint8Array;
  readyAtMs: number;
}

class ProxiedConnection {
  upstream: Socket<ProxiedConnection> | null = null;
  readonly requests: FrameReader;
  readonly responses: FrameReader;
  readonly toUpstream = new Outbox(() => this.upstream as Socket<unknown> | null);
  readonly toClient = new Outbox(() => this.client as Socket<unknown>);
  readonly queue: PendingRequest[] = [];
  queuedBytes = 0;
  timer: ReturnType<typeof setTimeout> | null = null;
  closed = false;
  requestFrames = 0;
  responseFrames = 0;
  clientPaused = false;
  upstreamPaused = false;

  constructor(
    readonly id: number,
    readonly client: Socket<ProxiedConnection>,
    frameBytesMax: number,
  ) {
    this.requests = new FrameReader(frameBytesMax);
    this.responses = new FrameReader(frameBytesMax);
  }
}

/** The fault-injection proxy. */
export class FaultProxy {
  private listener!: TCPSocketListener<ProxiedConnection>;
  private readonly connections = new Set<ProxiedConnection>();
  private readonly rng: () => number;
  private faults: Required<ProxyFaults>;
  private nextConnectionId = 1;
  private commandedDrops = 0;
  private commandedCuts = 0;
  private commandedDelays: number[] = [];
  private closing = false;
  private targetPort: number;
  /** Fault events in order (at most PROXY_EVENTS_MAX, oldest dropped). */
  readonly events: ProxyEvent[] = [];
  /** Counters so far. */
  readonly stats: ProxyStats = { connections: 0, requestsForwarded: 0, responsesForwarded: 0, responsesDropped: 0, cuts: 0, delays: 0 };

  private constructor(private readonly options: FaultProxyOptions) {
    this.rng = random(options.seed ?? 1);
    this.targetPort = options.targetPort;
    this.faults = FaultProxy.resolveFaults(options.faults ?? {});
  }

  private static resolveFaults(faults: ProxyFaults): Required<ProxyFaults> {
    const resolved = { dropResponse: 0, cutBeforeRequest: 0, delayRequest: 0, delayMsMax: PROXY_DELAY_MS_MAX_DEFAULT, ...faults };
    for (const name of ["dropResponse", "cutBeforeRequest", "delayRequest"] as const) {
      if (!(resolved[name] >= 0 && resolved[name] <= 1)) throw new RangeError(`${name} must be a probability in [0, 1]`);
    }
    if (!(Number.isInteger(resolved.delayMsMax) && resolved.delayMsMax >= 0)) throw new RangeError("delayMsMax must be a non-negative integer");
    return resolved;
  }

  /** Starts a proxy on 127.0.0.1 and a free port, in front of the broker at targetPort. */
  static async start(options: FaultProxyOptions): Promise<FaultProxy> {
    const proxy = new FaultProxy(options);
    const frameBytesMax = options.frameBytesMax ?? SOCKET_REQUEST_MAX_BYTES_DEFAULT;
    proxy.listener = Bun.listen<ProxiedConnection>({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        open: (client) => {
          const connection = new ProxiedConnection(proxy.nextConnectionId++, client, frameBytesMax);
          client.data = connection;
          proxy.onClientOpen(connection);
        },
        data: (client, chunk) => proxy.onRequestBytes(client.data, chunk),
        drain: (client) => proxy.onDrain(client.data, "client"),
        close: (client) => proxy.cut(client.data, "client_closed"),
        error: (client) => proxy.cut(client.data, "client_closed"),
        end: (client) => proxy.cut(client.data, "client_closed"),
      },
    });
    return proxy;
  }

  /** The port clients connect to. */
  get port(): number {
    return this.listener.port;
  }

  /** Client connections open right now. */
  get openConnections(): number {
    return this.connections.size;
  }

  /** Points new connections at another broker port (a broker restarted on a new port); open ones are left alone. */
  setTarget(port: number): void {
    this.targetPort = port;
  }

  /** Replaces the random fault probabilities. */
  setFaults(faults: ProxyFaults): void {
    this.faults = FaultProxy.resolveFaults(faults);
  }

  /** Drops the next `count` responses (whichever connections they come on), cutting each one's connection. */
  dropNextResponses(count = 1): void {
    this.commandedDrops += count;
  }

  /** Cuts the connection of each of the next `count` requests instead of forwarding them. */
  cutNextRequests(count = 1): void {
    this.commandedCuts += count;
  }

  /** Holds each of the next `count` requests back for `ms` milliseconds. */
  delayNextRequests(count: number, ms: number): void {
    for (let i = 0; i < count; i++) this.commandedDelays.push(ms);
  }

  /** Cuts every open connection now; returns how many. */
  cutAll(): number {
    const all = [...this.connections];
    for (const connection of all) this.cut(connection, "command");
    return all.length;
  }

  /** Stops listening, cuts every connection and clears every timer. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.listener.stop(true);
    for (const connection of [...this.connections]) this.cut(connection, "proxy_closed");
  }

  private record(event: ProxyEvent): void {
    if (this.events.length >= PROXY_EVENTS_MAX) this.events.shift();
    this.events.push(event);
  }

  private onClientOpen(connection: ProxiedConnection): void {
    if (this.closing || this.connections.size >= (this.options.connectionsMax ?? PROXY_CONNECTIONS_MAX_DEFAULT)) {
      connection.closed = true;
      connection.client.end();
      return;
    }
    this.connections.add(connection);
    this.stats.connections++;
    this.record({ kind: "connect", connection: connection.id });
    Bun.connect<ProxiedConnection>({
      hostname: this.options.targetHost ?? "127.0.0.1",
      port: this.targetPort,
      data: connection,
      socket: {
        open: (upstream) => {
          if (connection.closed) {
            upstream.end();
            return;
          }
          connection.upstream = upstream;
          this.pump(connection);
        },
        data: (upstream, chunk) => this.onResponseBytes(upstream.data, chunk),
        drain: (upstream) => this.onDrain(upstream.data, "upstream"),
        close: (upstream) => this.cut(upstream.data, "upstream_closed"),
        error: (upstream) => this.cut(upstream.data, "upstream_closed"),
        end: (upstream) => this.cut(upstream.data, "upstream_closed"),
      },
    }).catch(() => this.cut(connection, "upstream_failed"));
  }

  private onRequestBytes(connection: ProxiedConnection, chunk: Uint8Array): void {
    if (connection.closed) return;
    // Bun may reuse the chunk's memory after this callback: the framer keeps references, so copy.
    connection.requests.push(chunk.slice());
    for (;;) {
      const next = connection.requests.next();
      if (!next.ok) {
        if (next.error !== "incomplete") this.cut(connection, "frame_error");
        return;
      }
      const frameIndex = connection.requestFrames++;
      if (this.commandedCuts > 0 || (this.faults.cutBeforeRequest > 0 && this.rng() < this.faults.cutBeforeRequest)) {
        const commanded = this.commandedCuts > 0;
        if (commanded) this.commandedCuts--;
        this.cut(connection, commanded ? "command" : "random");
        return;
      }
      let delayMs = 0;
      const commandedDelay = this.commandedDelays.shift();
      if (commandedDelay !== undefined) delayMs = commandedDelay;
      else if (this.faults.delayRequest > 0 && this.rng() < this.faults.delayRequest) delayMs = Math.floor(this.rng() * (this.faults.delayMsMax + 1));
      if (commandedDelay !== undefined || delayMs > 0) {
        this.stats.delays++;
        this.record({ kind: "delay", connection: connection.id, frame: frameIndex, ms: delayMs });
      }
      const frame = frameOf(next.value);
      connection.queue.push({ frame, readyAtMs: Date.now() + delayMs });
      connection.queuedBytes += frame.byteLength;
      this.pump(connection);
      if (connection.closed || !this.withinBounds(connection)) return;
    }
  }

  // Forwards queued requests whose delay has passed, in order; schedules itself for a delayed head.
  private pump(connection: ProxiedConnection): void {
    if (connection.closed || connection.upstream === null) return;
    const nowMs = Date.now();
    while (connection.queue.length > 0) {
      const head = connection.queue[0]!;
      if (head.readyAtMs > nowMs) {
        if (connection.timer === null) {
          connection.timer = setTimeout(() => {
            connection.timer = null;
            this.pump(connection);
          }, head.readyAtMs - nowMs);
        }
        return;
      }
      connection.queue.shift();
      connection.queuedBytes -= head.frame.byteLength;
      connection.toUpstream.write(head.frame);
      this.stats.requestsForwarded++;
    }
    this.withinBounds(connection);
  }

  private onResponseBytes(connection: ProxiedConnection, chunk: Uint8Array): void {
    if (connection.closed) return;
    connection.responses.push(chunk.slice());
    for (;;) {
      const next = connection.responses.next();
      if (!next.ok) {
        if (next.error !== "incomplete") this.cut(connection, "frame_error");
        return;
      }
      const frameIndex = connection.responseFrames++;
      if (this.commandedDrops > 0 || (this.faults.dropResponse > 0 && this.rng() < this.faults.dropResponse)) {
        if (this.commandedDrops > 0) this.commandedDrops--;
        this.stats.responsesDropped++;
        this.record({ kind: "drop_response", connection: connection.id, frame: frameIndex });
        this.cut(connection, "drop_response");
        return;
      }
      connection.toClient.write(frameOf(next.value));
      this.stats.responsesForwarded++;
      if (!this.withinBounds(connection)) return;
    }
  }

  private onDrain(connection: ProxiedConnection, side: "client" | "upstream"): void {
    if (connection.closed) return;
    (side === "client" ? connection.toClient : connection.toUpstream).flush();
    this.withinBounds(connection);
  }

  // Applies backpressure (pause the reading side above PROXY_BACKPRESSURE_BYTES, resume below) and the hard bound.
  private withinBounds(connection: ProxiedConnection): boolean {
    const towardsUpstream = connection.queuedBytes + connection.toUpstream.bytes;
    const towardsClient = connection.toClient.bytes;
    if (Math.max(towardsUpstream, towardsClient) > (this.options.bufferBytesMax ?? PROXY_BUFFER_BYTES_MAX_DEFAULT)) {
      this.cut(connection, "overflow");
      return false;
    }
    const pauseClient = towardsUpstream > PROXY_BACKPRESSURE_BYTES;
    if (pauseClient !== connection.clientPaused) {
      connection.clientPaused = pauseClient;
      if (pauseClient) connection.client.pause();
      else connection.client.resume();
    }
    const pauseUpstream = towardsClient > PROXY_BACKPRESSURE_BYTES;
    if (connection.upstream !== null && pauseUpstream !== connection.upstreamPaused) {
      connection.upstreamPaused = pauseUpstream;
      if (pauseUpstream) connection.upstream.pause();
      else connection.upstream.resume();
    }
    return true;
  }

  // Closes both sides of a connection at once, dropping whatever the proxy still holds for it.
  private cut(connection: ProxiedConnection | undefined, reason: Extract<ProxyEvent, { kind: "cut" }>["reason"]): void {
    if (connection === undefined || connection.closed) return;
    connection.closed = true;
    this.connections.delete(connection);
    if (connection.timer !== null) clearTimeout(connection.timer);
    connection.timer = null;
    connection.queue.length = 0;
    connection.queuedBytes = 0;
    // Only faults count as cuts; a side closing by itself is recorded but is not one.
    if (reason === "command" || reason === "random") this.stats.cuts++;
    this.record({ kind: "cut", connection: connection.id, reason });
    connection.client.terminate();
    connection.upstream?.terminate();
  }
}
