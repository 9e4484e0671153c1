// The SDK's error classes: every one a RivuletError with the table's classification, except misuse (config).
import { describe, expect, test } from "bun:test";
import { ERROR_TABLE } from "../../core/formats/protocol/errors.ts";
import {
  ErrorCode,
  RivuletClosedError,
  RivuletConfigError,
  RivuletConnectionError,
  RivuletError,
  RivuletProtocolError,
  RivuletTimeoutError,
  isRetriable,
  protocolError,
} from "../../client/errors.ts";

describe("client errors", () => {
  test("protocol errors carry code, name, retriable and definite from the one table", () => {
    for (const row of ERROR_TABLE) {
      const error = protocolError(row.code, "orders/3", null);
      expect(error).toBeInstanceOf(RivuletError);
      expect(error).toBeInstanceOf(RivuletProtocolError);
      expect([error.code, error.name, error.retriable, error.definite]).toEqual([row.code, row.name, row.retriable, row.definite]);
      expect(error.message).toBe(`orders/3: ${row.message}`);
    }
    expect(protocolError(ErrorCode.INVALID_CONFIG, null, "bad retention.ms").message).toBe("bad retention.ms");
  });

  test("connection errors are retriable NETWORK_EXCEPTIONs, indeterminate unless nothing was sent", () => {
    const lost = new RivuletConnectionError("127.0.0.1:9192", "connection closed by the broker");
    expect([lost.code, lost.name, lost.retriable, lost.definite, lost.broker]).toEqual([ErrorCode.NETWORK_EXCEPTION, "RivuletConnectionError", true, false, "127.0.0.1:9192"]);
    expect(lost.message).toBe("127.0.0.1:9192: connection closed by the broker");
    const refused = new RivuletConnectionError("h:1", "connect failed", { definite: true, cause: new Error("ECONNREFUSED") });
    expect(refused.definite).toBe(true);
    expect((refused.cause as Error).message).toBe("ECONNREFUSED");
  });

  test("timeouts are retriable and indeterminate; closed clients are neither", () => {
    const timeout = new RivuletTimeoutError("no answer", 30_000);
    expect([timeout.code, timeout.retriable, timeout.definite, timeout.timeoutMs]).toEqual([ErrorCode.REQUEST_TIMED_OUT, true, false, 30_000]);
    const closed = new RivuletClosedError("producer");
    expect([closed.retriable, closed.definite, closed.message]).toEqual([false, true, "producer is closed"]);
    expect(closed).toBeInstanceOf(RivuletError);
  });

  test("isRetriable classifies by the code, never by message", () => {
    expect(isRetriable(new RivuletError(ErrorCode.NOT_LEADER_OR_FOLLOWER, "moved"))).toBe(true);
    expect(isRetriable(new RivuletError(ErrorCode.TOPIC_ALREADY_EXISTS, "retriable"))).toBe(false);
    expect(isRetriable(new RivuletConfigError("bad", "x"))).toBe(false);
    expect(isRetriable(new Error("NOT_LEADER_OR_FOLLOWER"))).toBe(false);
  });
});
