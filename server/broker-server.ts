// The broker's network server: a Bun TCP listener around an open Broker (core/engine/broker.ts).
//
//   const broker = await Broker.open({ dataDir });
//   const server = await startBrokerServer(broker, { host: "127.0.0.1", port: 9192 });
//   ...
//   await server.close();   // stop accepting, answer what was read, close connections
//   await broker.close();   // then fsync + checkpoint (the caller's job)
//
// Admission: a new connection over max.connections or max.connections.per.ip is closed at once, before any of
// its bytes are read. Timers: one sweep timer for the whole server (never one per connection) closes
// connections idle for connections.max.idle.ms and those that sat on a partly received frame for
// requestHeaderTimeoutMs. Each connection's framing, ordering and backpressure live in connection.ts.
import type { Socket, TCPSocketListener } from "bun";
import type { Broker } from "../core/engine/broker.ts";
import { assert } from "../core/assert.ts";
import { Connection } from "./connection.ts";
import { FetchWaiters } from "./fetch-waiters.ts";
import type { FileRangeSender } from "./file-range.ts";
import { sendfileFileRangeSender } from "./sendfile.ts";
import type { ServerContext } from "./server-context.ts";
import { type ServerLimits, resolveServerLimits } from "./server-limits.ts";

/** Kafka's num.partitions default: partitions of an auto-created topic. */
export const NUM_PARTITIONS_DEFAULT = 1;
/** The sweep never runs more often than this, whatever the timeouts (a bound on its cost). */
export const SWEEP_INTERVAL_MS_MIN = 50;
/** The sweep runs at least this often, so timeouts fire within this much of their due time. */
export const SWEEP_INTERVAL_MS_MAX = 1_000;
/** How long close() waits for in-flight requests to be answered and written before closing connections anyway. */
export const CLOSE_DRAIN_MS_MAX = 10_000;

/** How to run the server. */
export interface ServerOptions {
  /** Address to bind (127.0.0.1 by default in the CLI). */
  host: string;
  /** Port to bind; 0 picks a free one (read it back from BrokerServer.port). */
  port: number;
  /** Overrides of SERVER_LIMITS_DEFAULT. */
  limits?: Partial<ServerLimits>;
  /** auto.create.topics.enable (default true): Metadata creates unknown topics a client asks to create. */
  autoCreateTopicsEnable?: boolean;
  /** num.partitions (default 1): partitions of an auto-created topic, and of CreateTopics with -1. */
  numPartitions?: number;
  /**
   * advertised.listeners: the address Metadata reports for this broker, when clients must reach it through
   * something else (a proxy, a NAT). Default: the bound address and port.
   */
  advertised?: { host: string; port: number };
  /** How Fetch puts stored file ranges on the wire (default: sendfile(2), falling back to read+write where unavailable). */
  fileRangeSender?: FileRangeSender;
}

/** A running server. */
export interface BrokerServer {
  /** The bound address. */
  readonly host: string;
  /** The bound port (the real one when 0 was asked for). */
  readonly port: number;
  /** Connections open now. */
  connectionCount(): number;
  /** Stops accepting, answers every request already read, closes every connection; the caller closes the Broker after. */
  close(): Promise<void>;
}

interface SocketData {
  connection: Connection | null;
}

/** Starts listening; resolves once the port is bound. */
export async function startBrokerServer(broker: Broker, options: ServerOptions): Promise<BrokerServer> {
  const limits = resolveServerLimits(options.limits);
  const numPartitions = options.numPartitions ?? NUM_PARTITIONS_DEFAULT;
  assert(Number.isInteger(numPartitions) && numPartitions >= 1, "num.partitions must be a positive integer");
  const fileRangeSender = options.fileRangeSender ?? sendfileFileRangeSender;
  const context: ServerContext = {
    broker,
    limits,
    advertisedHost: options.advertised?.host ?? options.host,
    advertisedPort: options.advertised?.port ?? options.port,
    autoCreateTopicsEnable: options.autoCreateTopicsEnable ?? true,
    numPartitions,
    fetchWaiters: new FetchWaiters(limits.fetchWaitersMax),
  };
  const connections = new Set<Connection>();
  const perIp = new Map<string, number>();
  let closing: Promise<void> | null = null;

  const release = (connection: Connection): void => {
    if (!connections.delete(connection)) return;
    const count = (perIp.get(connection.remoteAddress) ?? 1) - 1;
    if (count <= 0) perIp.delete(connection.remoteAddress);
    else perIp.set(connection.remoteAddress, count);
  };

  const listener: TCPSocketListener<SocketData> = Bun.listen<SocketData>({
    hostname: options.host,
    port: options.port,
    data: { connection: null },
    socket: {
      open(socket: Socket<SocketData>) {
        const address = socket.remoteAddress;
        // Admission before a byte is read: Kafka closes connections over its quotas the same way.
        if (closing !== null || connections.size >= limits.maxConnections || (perIp.get(address) ?? 0) >= limits.maxConnectionsPerIp) {
          socket.data = { connection: null };
          socket.end();
          return;
        }
        socket.setNoDelay(true);
        const connection = new Connection(socket as Socket<unknown>, context, fileRangeSender, Date.now(), address);
        socket.data = { connection };
        connections.add(connection);
        perIp.set(address, (perIp.get(address) ?? 0) + 1);
        connection.onClose(() => release(connection));
      },
      data(socket: Socket<SocketData>, chunk: Uint8Array) {
        socket.data.connection?.onData(chunk, Date.now());
      },
      drain(socket: Socket<SocketData>) {
        socket.data.connection?.onDrain();
      },
      close(socket: Socket<SocketData>) {
        socket.data.connection?.onSocketClosed();
      },
      error(socket: Socket<SocketData>) {
        socket.data.connection?.onSocketClosed();
      },
    },
  });
  // Port 0 means "any": advertise the one bound, unless advertised.listeners names another.
  if (options.advertised === undefined) context.advertisedPort = listener.port;

  // One timer for every connection: idle and header-read timeouts are checked here, not by per-socket timers.
  const sweepMs = Math.max(SWEEP_INTERVAL_MS_MIN, Math.min(SWEEP_INTERVAL_MS_MAX, Math.floor(Math.min(limits.connectionsMaxIdleMs, limits.requestHeaderTimeoutMs) / 4)));
  const sweep = setInterval(() => {
    const nowMs = Date.now();
    for (const connection of connections) {
      // The header-read clock does not run while the server itself stopped reading (backpressure).
      const headerLate = !connection.readingPausedByServer && connection.partialSinceMs > 0 && nowMs - connection.partialSinceMs >= limits.requestHeaderTimeoutMs;
      // Idle: no request in progress and no byte in or out for the whole time (a peer that stopped reading
      // counts as idle too, so it cannot hold its queued answers forever).
      const idle = connection.requestsInProgress === 0 && nowMs - connection.lastActivityMs >= limits.connectionsMaxIdleMs;
      if (headerLate) connection.close("header_timeout");
      else if (idle) connection.close("idle");
    }
  }, sweepMs);
  sweep.unref();

  return {
    host: options.host,
    port: listener.port,
    connectionCount: () => connections.size,
    close(): Promise<void> {
      closing ??= (async () => {
        listener.stop(false);
        clearInterval(sweep);
        const open = [...connections];
        for (const connection of open) connection.stopTakingRequests();
        // Parked fetches answer now with what they have rather than holding shutdown for their maxWaitMs.
        context.fetchWaiters.expireAll();
        let timer: ReturnType<typeof setTimeout> | undefined;
        const deadline = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, CLOSE_DRAIN_MS_MAX);
        });
        await Promise.race([Promise.all(open.map((connection) => connection.whenQuiet())), deadline]);
        clearTimeout(timer);
        for (const connection of open) connection.close("server_closing");
        listener.stop(true);
      })();
      return closing;
    },
  };
}
