// The fetcher's pipelining and bounds, watched through a connection wrapper that counts Fetch requests: the next
// fetch goes out while the user holds the current answer, and no further one until that answer is taken.
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Connection } from "../../../client/connection.ts";
import { resolveConsumerOptions } from "../../../client/consumer/consumer-options.ts";
import { type ClusterAccess, Fetcher } from "../../../client/consumer/fetcher.ts";
import { FetchApi } from "../../../core/formats/protocol/fetch.ts";
import { type InProcessBroker, startBroker, topicName, within } from "../helpers.ts";
import { appendBatch, createTopic, makeRecords, openConnection } from "./consumer-helpers.ts";

const WAIT_MS = 10_000;

let broker: InProcessBroker;
let connection: Connection;

beforeAll(async () => {
  broker = await startBroker();
  connection = await openConnection(broker.port);
});

afterAll(async () => {
  await connection.close();
  await broker.stop();
});

// Lets the event loop run `turns` macrotasks (answers arrive, timers fire); bounded, no wall-clock sleep.
async function turns(count: number): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise((resolve) => setImmediate(resolve));
}

async function until(predicate: () => boolean, what: string): Promise<void> {
  await within(
    (async () => {
      while (!predicate()) await turns(1);
    })(),
    WAIT_MS,
    what,
  );
}

test("the next fetch flies while the user holds an answer; the one after waits until it is taken", async () => {
  const topic = topicName("f");
  await createTopic(connection, topic, 1);
  // Five batches; max.partition.fetch.bytes below one batch: each fetch answers exactly one batch.
  for (let i = 0; i < 5; i++) await appendBatch(connection, topic, 0, makeRecords(i * 10, 10));
  let fetches = 0;
  const counting = new Proxy(connection, {
    get(target, property) {
      if (property === "request") {
        return (api: unknown, body: unknown, options: unknown) => {
          if (api === FetchApi) fetches += 1;
          return (target.request as (a: unknown, b: unknown, c: unknown) => Promise<unknown>)(api, body, options);
        };
      }
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const cluster: ClusterAccess = { connectionFor: async () => counting, invalidate: () => undefined };
  const fetcher = new Fetcher(cluster, resolveConsumerOptions({ "max.partition.fetch.bytes": 1, "fetch.max.wait.ms": 50 }), 5_000);
  fetcher.assign([{ topic, partition: 0, offset: 0 }], "earliest");
  fetcher.start();

  const first = await within(fetcher.next(100), WAIT_MS, "first batch");
  expect(first?.messages.map((m) => Number(m.offset))).toEqual(Array.from({ length: 10 }, (_, i) => i));
  // While the user holds the first answer, the second is fetched and buffered...
  await until(() => fetcher.bufferedEntries === 1, "second answer buffered");
  expect(fetches).toBe(2);
  // ...and nothing more is fetched until it is taken (the buffer bound).
  await turns(50);
  expect(fetches).toBe(2);
  const second = await fetcher.next(100);
  expect(Number(second?.messages[0]?.offset)).toBe(10);
  await until(() => fetches === 3, "third fetch after the second answer is taken");
  for (let expected = 20; expected < 50; expected += 10) {
    const batch = await within(fetcher.next(100), WAIT_MS, `batch at ${expected}`);
    expect(Number(batch?.messages[0]?.offset)).toBe(expected);
  }
  expect(fetcher.position(topic, 0)).toBe(50);
  fetcher.stop();
  expect(await fetcher.next(100)).toBeNull();
});

test("a seek drops what was fetched ahead and starts again at the new position", async () => {
  const topic = topicName("f");
  await createTopic(connection, topic, 1);
  for (let i = 0; i < 3; i++) await appendBatch(connection, topic, 0, makeRecords(i * 10, 10));
  const cluster: ClusterAccess = { connectionFor: async () => connection, invalidate: () => undefined };
  const fetcher = new Fetcher(cluster, resolveConsumerOptions({ "max.partition.fetch.bytes": 1, "fetch.max.wait.ms": 50 }), 5_000);
  fetcher.assign([{ topic, partition: 0, offset: 0 }], "earliest");
  fetcher.start();
  expect(Number((await within(fetcher.next(3), WAIT_MS, "first"))?.messages[0]?.offset)).toBe(0);
  await until(() => fetcher.bufferedEntries === 1, "read-ahead buffered");
  fetcher.seek(topic, 0, 25);
  expect(fetcher.bufferedEntries).toBe(0);
  const after = await within(fetcher.next(100), WAIT_MS, "after seek");
  expect(after?.messages.map((m) => Number(m.offset))).toEqual([25, 26, 27, 28, 29]);
  fetcher.stop();
});

test("a reader that never waits still lets the in-flight fetch be read: the next answer is buffered before this one is used up", async () => {
  const topic = topicName("f");
  await createTopic(connection, topic, 1);
  const perBatch = 10_000;
  for (let i = 0; i < 2; i++) await appendBatch(connection, topic, 0, makeRecords(i * perBatch, perBatch));
  const cluster: ClusterAccess = { connectionFor: async () => connection, invalidate: () => undefined };
  // One batch per answer; the second fetch goes out once the first answer is in hand.
  const fetcher = new Fetcher(cluster, resolveConsumerOptions({ "max.partition.fetch.bytes": 1, "fetch.max.wait.ms": 50 }), 5_000);
  fetcher.assign([{ topic, partition: 0, offset: 0 }], "earliest");
  fetcher.start();
  expect(Number((await within(fetcher.next(1), WAIT_MS, "first message"))?.messages[0]?.offset)).toBe(0);
  // One message at a time, awaiting only next() (answered from the buffer: no I/O of the reader's own). Without the
  // fetcher's turns of the event loop the second answer could not be read before the first is used up.
  let takenWhenBuffered = -1;
  for (let taken = 1; taken < perBatch; taken++) {
    const batch = await fetcher.next(1);
    expect(Number(batch?.messages[0]?.offset)).toBe(taken);
    if (takenWhenBuffered < 0 && fetcher.bufferedEntries === 1) takenWhenBuffered = taken;
  }
  expect(takenWhenBuffered).toBeGreaterThan(0);
  expect(Number((await within(fetcher.next(1), WAIT_MS, "second answer"))?.messages[0]?.offset)).toBe(perBatch);
  fetcher.stop();
});

test("several partitions: one handed over is fetched again, without a long poll, while the others' answers are still buffered", async () => {
  const topic = topicName("f");
  await createTopic(connection, topic, 2);
  for (let i = 0; i < 3; i++) await appendBatch(connection, topic, 0, makeRecords(i * 5, 5));
  await appendBatch(connection, topic, 1, makeRecords(0, 5));
  const requests: { maxWaitMs: number; partitions: number[] }[] = [];
  const recording = new Proxy(connection, {
    get(target, property) {
      if (property === "request") {
        return (api: unknown, body: { maxWaitMs: number; topics: { partitions: { index: number }[] }[] }, options: unknown) => {
          if (api === FetchApi) requests.push({ maxWaitMs: body.maxWaitMs, partitions: body.topics.flatMap((t) => t.partitions.map((p) => p.index)).sort() });
          return (target.request as (a: unknown, b: unknown, c: unknown) => Promise<unknown>)(api, body, options);
        };
      }
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const cluster: ClusterAccess = { connectionFor: async () => recording, invalidate: () => undefined };
  // One batch per partition per answer; a long poll would hold a caught-up partition's fetch for 3 s.
  const fetcher = new Fetcher(cluster, resolveConsumerOptions({ "max.partition.fetch.bytes": 1, "fetch.max.wait.ms": 3_000 }), 5_000);
  fetcher.assign([{ topic, partition: 0, offset: 0 }, { topic, partition: 1, offset: 0 }], "earliest");
  fetcher.start();
  const take = async (): Promise<string> => {
    const batch = await within(fetcher.next(100), WAIT_MS, "a batch");
    return `${batch!.partition}:${batch!.messages[0]!.offsetNumber}`;
  };
  // The full fetch brings partition 0's batch only (the first partition's batch goes whole past the per-partition
  // limit, the second's does not); with that answer buffered, partition 1 is fetched alone and without a wait.
  await until(() => fetcher.bufferedEntries === 2, "both partitions' first answers buffered");
  expect(requests).toEqual([
    { maxWaitMs: 3_000, partitions: [0, 1] },
    { maxWaitMs: 0, partitions: [1] },
  ]);
  // Taking partition 0's answer makes it fetchable again while partition 1's is still buffered.
  expect(await take()).toBe("0:0");
  await until(() => requests.length === 3 && fetcher.bufferedEntries === 2, "partition 0 fetched again");
  expect(requests[2]).toEqual({ maxWaitMs: 0, partitions: [0] });
  // Partition 1 has nothing more: its partial fetch answers empty at once, and it is left out of partial fetches...
  expect(await take()).toBe("1:0");
  await until(() => requests.length === 4, "partition 1 fetched again");
  expect(requests[3]).toEqual({ maxWaitMs: 0, partitions: [1] });
  // ...until a full one (nothing buffered), which asks for both and may long-poll (partition 0 has data: at once).
  expect(await take()).toBe("0:5");
  expect(await take()).toBe("0:10");
  expect(requests[4]).toEqual({ maxWaitMs: 3_000, partitions: [0, 1] });
  fetcher.stop();
});
