// The SDK's error classes. Everything that goes wrong talking to a broker is a RivuletError from the protocol's one
// error table (core/formats/protocol/errors.ts), so callers test `instanceof RivuletError` and branch on `code`,
// `retriable` and `definite` whatever the cause: a broker's answer, a lost connection (NETWORK_EXCEPTION) or a
// deadline (REQUEST_TIMED_OUT). Misuse of the SDK itself (a bad option) is a RivuletConfigError, which is not
// retriable and never comes from the wire.
import { ErrorCode, RivuletError, errorInfo } from "../core/formats/protocol/errors.ts";

export { ErrorCode, RivuletError, errorInfo };
export type { ErrorCodeInfo, ErrorName } from "../core/formats/protocol/errors.ts";

/** A protocol error as the SDK raises it: the wire code with its name, retriable and definite (an alias). */
export const RivuletProtocolError = RivuletError;
/** A protocol error as the SDK raises it (an alias of RivuletError). */
export type RivuletProtocolError = RivuletError;

/** An options object (or one option in it) is unknown, of the wrong type or out of range. */
export class RivuletConfigError extends Error {
  override name = "RivuletConfigError";
  /** The option at fault as the caller spelled it (e.g. "batch.size"), or null when the whole object is wrong. */
  readonly option: string | null;

  constructor(message: string, option: string | null = null) {
    super(message);
    this.option = option;
  }
}

/**
 * The connection to a broker failed or was lost. `definite` is true only when nothing was sent (the connection
 * could not be opened); a request that was in flight when the socket died may have been processed.
 */
export class RivuletConnectionError extends RivuletError {
  override readonly definite: boolean;
  /** "host:port" of the broker. */
  readonly broker: string;

  constructor(broker: string, message: string, options: { definite?: boolean; cause?: unknown } = {}) {
    super(ErrorCode.NETWORK_EXCEPTION, `${broker}: ${message}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "RivuletConnectionError";
    this.broker = broker;
    this.definite = options.definite ?? false;
  }
}

/** A request got no answer within its deadline; for a write the outcome is unknown (indeterminate). */
export class RivuletTimeoutError extends RivuletError {
  /** The deadline that passed, in milliseconds. */
  readonly timeoutMs: number;

  constructor(message: string, timeoutMs: number) {
    super(ErrorCode.REQUEST_TIMED_OUT, message);
    this.name = "RivuletTimeoutError";
    this.timeoutMs = timeoutMs;
  }
}

/** The client (or the producer, consumer or admin using it) was closed: nothing more will be sent. */
export class RivuletClosedError extends RivuletError {
  override readonly retriable: boolean;
  override readonly definite: boolean;

  constructor(what: string) {
    super(ErrorCode.NETWORK_EXCEPTION, `${what} is closed`);
    this.name = "RivuletClosedError";
    this.retriable = false;
    this.definite = true;
  }
}

/** True when `error` is a RivuletError its code marks retriable. */
export function isRetriable(error: unknown): boolean {
  return error instanceof RivuletError && error.retriable;
}

/** A protocol error for `code` with the broker's message, naming the resource it is about (a topic, "topic/3"). */
export function protocolError(code: number, resource: string | null, message?: string | null): RivuletError {
  const text = message ?? errorInfo(code).message;
  return new RivuletError(code, resource === null ? text : `${resource}: ${text}`);
}
