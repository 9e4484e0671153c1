// The network server's limits: every queue, buffer, count and timer of server/ is bounded by one of these.
// Names follow Kafka's broker configs where Kafka has one (in the comment next to each field), with the
// defaults Kafka ships; the rest are Rivulet's own and say why they exist. resolveServerLimits() checks the
// relations between them once, at start-up.
import { assert } from "../core/assert.ts";
import { BATCH_BYTES_MAX, MESSAGE_MAX_BYTES_DEFAULT } from "../core/limits.ts";
import { FRAME_BYTES_MAX, HANDSHAKE_FRAME_BYTES_MAX, SOCKET_REQUEST_MAX_BYTES_DEFAULT } from "../core/formats/protocol/frame.ts";
import { OUTBOUND_HIGH_WATER_BYTES_DEFAULT } from "./outbound-queue.ts";

/** Limits of one broker server. */
export interface ServerLimits {
  /** socket.request.max.bytes: the largest request body; a larger length prefix closes the connection unread. */
  socketRequestMaxBytes: number;
  /**
   * message.max.bytes: the broker-wide default of every topic's max.message.bytes (the largest record batch).
   * The Broker applies it to topics (pass it in Broker.open's `defaults`); the server checks each produced batch
   * against the topic's effective max.message.bytes and asserts here that one batch fits in one request.
   */
  messageMaxBytes: number;
  /** max.connections: open connections across the listener; Kafka's default is unbounded, ours is bounded. */
  maxConnections: number;
  /** max.connections.per.ip: open connections from one remote address. */
  maxConnectionsPerIp: number;
  /** connections.max.idle.ms: a connection with no handler running and no byte in or out for this long is closed. */
  connectionsMaxIdleMs: number;
  /**
   * A connection whose current frame has been arriving for this long (since its first byte) without completing
   * is closed (Rivulet's; Kafka leans on connections.max.idle.ms). Stops slow-loris senders from holding buffers;
   * the clock stops while the server itself paused reading.
   */
  requestHeaderTimeoutMs: number;
  /** Requests read but not yet answered on one connection (pipelining depth); over it, reading pauses. */
  queuedRequestsMax: number;
  /** Response bytes queued for one connection above which it stops reading requests until they drain. */
  outboundHighWaterBytes: number;
  /** Fetches parked across the server waiting for fetch.min.bytes; when full, a fetch is answered at once. */
  fetchWaitersMax: number;
  /** The longest maxWaitMs a Fetch may ask for; larger values are clamped (a Kafka consumer asks for 500 by default). */
  fetchMaxWaitMsMax: number;
  /** fetch.max.bytes (broker side): the most record bytes one Fetch response carries (beyond one whole batch). */
  fetchMaxBytes: number;
}

/** Kafka's socket.request.max.bytes default (100 MiB). */
export const SOCKET_REQUEST_MAX_BYTES = SOCKET_REQUEST_MAX_BYTES_DEFAULT;
/** Bounded stand-in for Kafka's unbounded max.connections default (Int.MAX): each connection costs buffers and a descriptor. */
export const MAX_CONNECTIONS_DEFAULT = 10_000;
/** Kafka's max.connections.per.ip default is Int.MAX too; we allow every connection max.connections allows. */
export const MAX_CONNECTIONS_PER_IP_DEFAULT = MAX_CONNECTIONS_DEFAULT;
/** Kafka's connections.max.idle.ms default (10 minutes). */
export const CONNECTIONS_MAX_IDLE_MS_DEFAULT = 600_000;
/** Time a connection may sit on a partly received frame. */
export const REQUEST_HEADER_TIMEOUT_MS_DEFAULT = 10_000;
/** Pipelining depth per connection (Kafka's clients default max.in.flight.requests.per.connection to 5). */
export const QUEUED_REQUESTS_MAX_DEFAULT = 128;
/** Parked long-poll fetches across the server. */
export const FETCH_WAITERS_MAX_DEFAULT = 10_000;
/** Longest Fetch maxWaitMs honoured (Kafka's consumers ask for 500 by default). */
export const FETCH_MAX_WAIT_MS_MAX_DEFAULT = 30_000;
/** Kafka's fetch.max.bytes broker default (55 MiB). */
export const FETCH_MAX_BYTES_DEFAULT = 57_671_680;

/** The server's defaults (Kafka's where Kafka has the config). */
export const SERVER_LIMITS_DEFAULT: Readonly<ServerLimits> = Object.freeze({
  socketRequestMaxBytes: SOCKET_REQUEST_MAX_BYTES,
  messageMaxBytes: MESSAGE_MAX_BYTES_DEFAULT,
  maxConnections: MAX_CONNECTIONS_DEFAULT,
  maxConnectionsPerIp: MAX_CONNECTIONS_PER_IP_DEFAULT,
  connectionsMaxIdleMs: CONNECTIONS_MAX_IDLE_MS_DEFAULT,
  requestHeaderTimeoutMs: REQUEST_HEADER_TIMEOUT_MS_DEFAULT,
  queuedRequestsMax: QUEUED_REQUESTS_MAX_DEFAULT,
  outboundHighWaterBytes: OUTBOUND_HIGH_WATER_BYTES_DEFAULT,
  fetchWaitersMax: FETCH_WAITERS_MAX_DEFAULT,
  fetchMaxWaitMsMax: FETCH_MAX_WAIT_MS_MAX_DEFAULT,
  fetchMaxBytes: FETCH_MAX_BYTES_DEFAULT,
});

function positiveInteger(limits: ServerLimits, name: keyof ServerLimits): void {
  const value = limits[name];
  assert(Number.isSafeInteger(value) && value > 0, `server limit ${name} must be a positive integer, got ${value}`);
}

/** Fills unset limits with the defaults and checks every value and the relations between them. */
export function resolveServerLimits(overrides: Partial<ServerLimits> = {}): ServerLimits {
  const limits: ServerLimits = { ...SERVER_LIMITS_DEFAULT };
  for (const [name, value] of Object.entries(overrides)) if (value !== undefined) (limits as unknown as Record<string, number>)[name] = value;
  for (const name of Object.keys(SERVER_LIMITS_DEFAULT) as (keyof ServerLimits)[]) positiveInteger(limits, name);
  assert(limits.socketRequestMaxBytes <= FRAME_BYTES_MAX, "socket.request.max.bytes must fit an int32 length prefix");
  assert(limits.socketRequestMaxBytes >= HANDSHAKE_FRAME_BYTES_MAX, "socket.request.max.bytes must be at least the handshake frame limit");
  // One batch of message.max.bytes must fit in one Produce request.
  assert(limits.messageMaxBytes < limits.socketRequestMaxBytes, "message.max.bytes must be below socket.request.max.bytes");
  assert(limits.messageMaxBytes <= BATCH_BYTES_MAX, "message.max.bytes must be at most BATCH_BYTES_MAX");
  assert(limits.fetchMaxWaitMsMax <= 0x7fffffff, "fetch wait must fit a timer");
  return limits;
}
