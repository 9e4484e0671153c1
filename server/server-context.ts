// What every request handler gets: the engine, the server's settings and limits, the parked-fetch index, and a
// scope that says whether the request's connection is still open. Handlers answer with a Reply: a response frame
// (one buffer, or parts with file ranges for Fetch), NO_REPLY (Produce with acks=0) or CLOSE_CONNECTION (acks=0
// that failed: Kafka closes the connection so the producer notices).
import type { Broker } from "../core/engine/broker.ts";
import { ErrorCode, type ErrorName } from "../core/formats/protocol/errors.ts";
import type { FramePart } from "../core/formats/protocol/frame.ts";
import type { FetchWaiters } from "./fetch-waiters.ts";
import type { PinnedRange } from "./file-range.ts";
import type { ServerLimits } from "./server-limits.ts";

/** The node id this single broker reports in Metadata (Kafka's broker.id; one node today). */
export const NODE_ID = 0;

/** Produce with acks=0: nothing is sent back. */
export const NO_REPLY: unique symbol = Symbol("no reply");
/** The request failed in a way the client can only learn by losing the connection (acks=0). */
export const CLOSE_CONNECTION: unique symbol = Symbol("close connection");

/**
 * A handler's answer: one frame, or frame parts (Fetch). File ranges may be fresh (FileRange: only when the answer
 * is returned synchronously, in the block that read them) or pinned (PinnedRange: any answer that arrives later).
 */
export type Reply = Uint8Array | (FramePart | PinnedRange)[] | typeof NO_REPLY | typeof CLOSE_CONNECTION;

/** Server-wide state the handlers read. */
export interface ServerContext {
  readonly broker: Broker;
  readonly limits: ServerLimits;
  /** Where clients reach this broker (Metadata's broker list). */
  readonly advertisedHost: string;
  advertisedPort: number;
  readonly autoCreateTopicsEnable: boolean;
  readonly numPartitions: number;
  readonly fetchWaiters: FetchWaiters;
}

/** The life of the connection a request came on. */
export interface RequestScope {
  /** True once the connection is gone: a late answer is dropped. */
  readonly closed: boolean;
  /** Runs `callback` when the connection closes (parked fetches leave the index); returns its unregistration. */
  onClose(callback: () => void): () => void;
}

/** The wire code of an error name from the shared table. */
export function errorCode(name: ErrorName): number {
  return ErrorCode[name];
}
