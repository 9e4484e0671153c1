// Errors only the producer raises. Both are timeouts (code REQUEST_TIMED_OUT, retriable by the table's rule), but
// unlike a request timeout each says whether the write may have happened: a send that waited for buffer space
// never sent anything (definite), a batch that expired after an attempt whose answer never came may be in the log
// (indeterminate), one that expired before any attempt is definitely not.
import { RivuletError, RivuletTimeoutError } from "../errors.ts";

/** send() or produce() waited max.block.ms for buffer space or topic metadata; the record was not taken. */
export class RivuletBufferTimeoutError extends RivuletTimeoutError {
  override readonly definite: boolean;
  /** Messages of the send that were taken before the wait (they are delivered or fail on their own). */
  readonly acceptedMessages: number;

  constructor(message: string, timeoutMs: number, acceptedMessages: number) {
    super(message, timeoutMs);
    this.name = "RivuletBufferTimeoutError";
    this.acceptedMessages = acceptedMessages;
    // Nothing of this send was taken: it definitely did not happen. Part of it taken: the send as a whole is mixed.
    this.definite = acceptedMessages === 0;
  }
}

/** A batch was not acknowledged within delivery.timeout.ms (or before disconnect's deadline). */
export class RivuletDeliveryTimeoutError extends RivuletTimeoutError {
  override readonly definite: boolean;

  constructor(message: string, timeoutMs: number, maybeWritten: boolean, cause?: unknown) {
    super(message, timeoutMs);
    this.name = "RivuletDeliveryTimeoutError";
    this.definite = !maybeWritten;
    if (cause !== undefined) (this as { cause?: unknown }).cause = cause;
  }
}

/**
 * A batch failed with a definite error after an earlier attempt whose outcome is unknown (e.g. a lost connection,
 * then UNKNOWN_TOPIC_OR_PARTITION): the final error is indeterminate, whatever its code says. `cause` is the error.
 */
export class RivuletMaybeWrittenError extends RivuletError {
  override readonly definite = false;

  constructor(error: RivuletError) {
    super(error.code, `${error.message} (an earlier attempt may have been written)`, { cause: error });
  }
}
