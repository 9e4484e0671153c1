import { describe, expect, test } from "bun:test";
import { FetchWaiters, partitionKey } from "../../server/fetch-waiters.ts";

function microtask(): Promise<void> {
  return new Promise((resolve) => queueMicrotask(resolve));
}

describe("FetchWaiters", () => {
  test("an append re-checks only the fetches parked on that partition, once per microtask", async () => {
    const waiters = new FetchWaiters(10);
    const checks: string[] = [];
    let ready = false;
    waiters.park([partitionKey("a", 0), partitionKey("b", 1)], 60_000, { recheck: () => (checks.push("ab"), ready), expire: () => checks.push("ab expired") });
    waiters.park([partitionKey("c", 0)], 60_000, { recheck: () => (checks.push("c"), true), expire: () => checks.push("c expired") });
    waiters.notify(partitionKey("b", 1));
    waiters.notify(partitionKey("b", 1));
    waiters.notify(partitionKey("a", 0));
    waiters.notify(partitionKey("a", 1));
    expect(checks).toEqual([]);
    await microtask();
    expect(checks).toEqual(["ab"]);
    ready = true;
    waiters.notify(partitionKey("a", 0));
    await microtask();
    expect(checks).toEqual(["ab", "ab"]);
    expect(waiters.size).toBe(1);
    waiters.expireAll();
    expect(checks).toEqual(["ab", "ab", "c expired"]);
    expect(waiters.size).toBe(0);
  });

  test("refuses to park over its bound; cancel frees a place and stops the timer", async () => {
    const waiters = new FetchWaiters(2);
    const noop = { recheck: () => false, expire: () => {} };
    const first = waiters.park(["k"], 60_000, noop);
    expect(first).not.toBeNull();
    expect(waiters.park(["k"], 60_000, noop)).not.toBeNull();
    expect(waiters.park(["k"], 60_000, noop)).toBeNull();
    waiters.cancel(first!);
    waiters.cancel(first!);
    expect(waiters.size).toBe(1);
    expect(waiters.park(["k"], 60_000, noop)).not.toBeNull();
    waiters.expireAll();
    expect(waiters.size).toBe(0);
  });

  test("expires at its wait time with what it has", async () => {
    const waiters = new FetchWaiters(2);
    const expired = new Promise<number>((resolve) => waiters.park(["k"], 20, { recheck: () => false, expire: () => resolve(waiters.size) }));
    expect(await expired).toBe(0);
  });
});
