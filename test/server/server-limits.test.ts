import { describe, expect, test } from "bun:test";
import { AssertionError } from "../../core/assert.ts";
import { SERVER_LIMITS_DEFAULT, resolveServerLimits } from "../../server/server-limits.ts";

describe("server limits", () => {
  test("defaults are Kafka's where Kafka has the config", () => {
    expect(SERVER_LIMITS_DEFAULT.socketRequestMaxBytes).toBe(104857600);
    expect(SERVER_LIMITS_DEFAULT.messageMaxBytes).toBe(1048588);
    expect(SERVER_LIMITS_DEFAULT.connectionsMaxIdleMs).toBe(600000);
    expect(SERVER_LIMITS_DEFAULT.fetchMaxBytes).toBe(57671680);
    expect(SERVER_LIMITS_DEFAULT.maxConnections).toBe(10000);
    expect(resolveServerLimits()).toEqual({ ...SERVER_LIMITS_DEFAULT });
  });

  test("overrides apply; undefined leaves the default", () => {
    const limits = resolveServerLimits({ maxConnections: 5, connectionsMaxIdleMs: undefined });
    expect(limits.maxConnections).toBe(5);
    expect(limits.connectionsMaxIdleMs).toBe(600000);
  });

  test.each([
    [{ maxConnections: 0 }],
    [{ queuedRequestsMax: 1.5 }],
    [{ socketRequestMaxBytes: 2 ** 31 }],
    [{ socketRequestMaxBytes: 1024 }],
    [{ messageMaxBytes: 200 * 1024 * 1024 }],
  ])("refuses %p", (overrides) => {
    expect(() => resolveServerLimits(overrides)).toThrow(AssertionError);
  });
});
