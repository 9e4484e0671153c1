// The consumer against a real in-process broker: assign and subscribe, the three reading styles, positions,
// seek, pause and resume, auto.offset.reset, early exits and failing handlers putting the position back.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Connection } from "../../../client/connection.ts";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Cluster } from "../../../client/cluster.ts";
import { Consumer, type Message, RivuletCorruptRecordError, RivuletOffsetOutOfRangeError } from "../../../client/consumer/consumer.ts";
import { RivuletConfigError } from "../../../client/errors.ts";
import { text } from "../../../client/records.ts";
import { CODEC_LZ4 } from "../../../core/formats/codecs.ts";
import { CreatePartitionsApi } from "../../../core/formats/protocol/create-partitions.ts";
import { type InProcessBroker, startBroker, topicName, within } from "../helpers.ts";
import { appendBatch, createTopic, makeRecords, openConnection, testCluster } from "./consumer-helpers.ts";

const WAIT_MS = 10_000;

let broker: InProcessBroker;
let producer: Connection;

beforeAll(async () => {
  broker = await startBroker();
  producer = await openConnection(broker.port);
});

afterAll(async () => {
  await producer.close();
  await broker.stop();
});

function consumer(options: Record<string, unknown> = {}): Consumer {
  return new Consumer(testCluster(broker.address), { "fetch.max.wait.ms": 50, ...options });
}

// A new one-partition topic holding records v0..v(count - 1) in one batch.
async function topicWithRecords(count: number): Promise<string> {
  const topic = topicName("c");
  await createTopic(producer, topic, 1);
  await appendBatch(producer, topic, 0, makeRecords(0, count));
  return topic;
}

// Reads `count` messages with for-await, then leaves the loop.
async function take(c: Consumer, count: number): Promise<Message[]> {
  const out: Message[] = [];
  if (count === 0) return out;
  await within(
    (async () => {
      for await (const message of c) {
        out.push(message);
        if (out.length === count) break;
      }
    })(),
    WAIT_MS,
    `reading ${count} messages`,
  );
  return out;
}

describe("Consumer", () => {
  test("assign from offset 0 reads keys, values, headers, timestamps and offsets as produced", async () => {
    const topic = await topicWithRecords(10);
    await appendBatch(producer, topic, 0, makeRecords(10, 5), CODEC_LZ4);
    const c = consumer();
    c.assign([{ topic, partition: 0, offset: 0n }]);
    const messages = await take(c, 15);
    expect(messages.map((m) => m.offset)).toEqual(Array.from({ length: 15 }, (_, i) => BigInt(i)));
    for (const [i, m] of messages.entries()) {
      expect(m.topic).toBe(topic);
      expect(m.partition).toBe(0);
      expect(m.keyText()).toBe(`k${i}`);
      expect(m.text()).toBe(`v${i}`);
      expect(text(m.value)).toBe(`v${i}`);
      expect(m.timestamp).toBe(1_700_000_000_000 + i);
      expect(m.headers.map((h) => [h.key, text(h.value)])).toEqual([["i", String(i)]]);
    }
    expect(c.position(topic, 0)).toBe(15n);
    await c.disconnect();
  });

  test("assign from a middle offset skips the earlier records of the batch holding it", async () => {
    const topic = await topicWithRecords(10);
    const c = consumer();
    c.assign([{ topic, partition: 0, offset: 7 }]);
    const messages = await take(c, 3);
    expect(messages.map((m) => m.text())).toEqual(["v7", "v8", "v9"]);
    await c.disconnect();
  });

  test("subscribe fromBeginning reads every partition; per-partition order holds", async () => {
    const topic = topicName("c");
    await createTopic(producer, topic, 3);
    for (let p = 0; p < 3; p++) {
      await appendBatch(producer, topic, p, makeRecords(p * 100, 20));
      await appendBatch(producer, topic, p, makeRecords(p * 100 + 20, 20));
    }
    const c = consumer();
    await c.connect();
    await c.subscribe({ topics: [topic], fromBeginning: true });
    expect(c.assignment().map((tp) => tp.partition).sort()).toEqual([0, 1, 2]);
    const messages = await take(c, 120);
    for (let p = 0; p < 3; p++) {
      const values = messages.filter((m) => m.partition === p).map((m) => m.text());
      expect(values).toEqual(Array.from({ length: 40 }, (_, i) => `v${p * 100 + i}`));
    }
    await c.disconnect();
  });

  test("auto.offset.reset latest starts after what exists; new records arrive through the long poll", async () => {
    const topic = await topicWithRecords(5);
    const c = consumer({ "fetch.max.wait.ms": 200 });
    await c.subscribe({ topics: [topic] });
    const reading = take(c, 3);
    // The consumer finds its position (5) before the new records land: wait for it by reading the position.
    await within(
      (async () => {
        while (c.position(topic, 0) === null) await new Promise((resolve) => setImmediate(resolve));
      })(),
      WAIT_MS,
      "position",
    );
    await appendBatch(producer, topic, 0, makeRecords(5, 3));
    expect((await reading).map((m) => m.offset)).toEqual([5n, 6n, 7n]);
    await c.disconnect();
  });

  test("auto.offset.reset none: no position is a typed error; seek clears it", async () => {
    const topic = await topicWithRecords(4);
    const c = consumer({ autoOffsetReset: "none" });
    c.assign([{ topic, partition: 0 }]);
    const error = await within(take(c, 1).then(() => null, (e: unknown) => e), WAIT_MS, "error");
    expect(error).toBeInstanceOf(RivuletOffsetOutOfRangeError);
    expect((error as RivuletOffsetOutOfRangeError).code).toBe(1);
    expect((error as RivuletOffsetOutOfRangeError).offset).toBeNull();
    c.seek({ topic, partition: 0, offset: 2 });
    expect((await take(c, 2)).map((m) => m.offset)).toEqual([2n, 3n]);
    await c.disconnect();
  });

  test("an offset past the log end: none reports it, earliest resets to the start", async () => {
    const topic = await topicWithRecords(3);
    const strict = consumer({ "auto.offset.reset": "none" });
    strict.assign([{ topic, partition: 0, offset: 50 }]);
    const error = await within(take(strict, 1).then(() => null, (e: unknown) => e), WAIT_MS, "error");
    expect(error).toBeInstanceOf(RivuletOffsetOutOfRangeError);
    expect((error as RivuletOffsetOutOfRangeError).offset).toBe(50n);
    await strict.disconnect();
    const lenient = consumer({ "auto.offset.reset": "earliest" });
    lenient.assign([{ topic, partition: 0, offset: 50 }]);
    expect((await take(lenient, 3)).map((m) => m.offset)).toEqual([0n, 1n, 2n]);
    await lenient.disconnect();
  });

  test("leaving a for-await loop early keeps the position after the last message seen", async () => {
    const topic = await topicWithRecords(50);
    const c = consumer();
    c.assign([{ topic, partition: 0, offset: 0 }]);
    expect((await take(c, 10)).map((m) => Number(m.offset))).toEqual(Array.from({ length: 10 }, (_, i) => i));
    expect(c.position(topic, 0)).toBe(10n);
    expect((await take(c, 5)).map((m) => Number(m.offset))).toEqual([10, 11, 12, 13, 14]);
    await c.disconnect();
  });

  test("seek moves the position back and forward; earliest and latest", async () => {
    const topic = await topicWithRecords(20);
    const c = consumer();
    c.assign([{ topic, partition: 0, offset: 0 }]);
    await take(c, 5);
    c.seek({ topic, partition: 0, offset: 15n });
    expect((await take(c, 2)).map((m) => m.offset)).toEqual([15n, 16n]);
    c.seek({ topic, partition: 0, offset: "earliest" });
    expect((await take(c, 1)).map((m) => m.offset)).toEqual([0n]);
    c.seek({ topic, partition: 0, offset: "latest" });
    const next = take(c, 1);
    await within(
      (async () => {
        while (c.position(topic, 0) !== 20n) await new Promise((resolve) => setImmediate(resolve));
      })(),
      WAIT_MS,
      "latest position",
    );
    await appendBatch(producer, topic, 0, makeRecords(20, 1));
    expect((await next).map((m) => m.offset)).toEqual([20n]);
    expect(() => c.seek({ topic, partition: 9, offset: 0 })).toThrow(RivuletConfigError);
    expect(() => c.seek({ topic, partition: 0, offset: -1 })).toThrow(RivuletConfigError);
    await c.disconnect();
  });

  test("pause stops a partition's delivery, resume brings it back from where it stood", async () => {
    const topic = topicName("c");
    await createTopic(producer, topic, 2);
    await appendBatch(producer, topic, 0, makeRecords(0, 10));
    await appendBatch(producer, topic, 1, makeRecords(100, 10));
    const c = consumer();
    c.assign([
      { topic, partition: 0, offset: 0 },
      { topic, partition: 1, offset: 0 },
    ]);
    c.pause([{ topic, partitions: [1] }]);
    expect(c.paused()).toEqual([{ topic, partition: 1 }]);
    const first = await take(c, 10);
    expect(first.every((m) => m.partition === 0)).toBe(true);
    c.resume([{ topic, partition: 1 }]);
    const second = await take(c, 10);
    expect(second.map((m) => m.text())).toEqual(Array.from({ length: 10 }, (_, i) => `v${100 + i}`));
    await c.disconnect();
  });

  test("run eachMessage: a throwing handler stops the run there and the message comes again", async () => {
    const topic = await topicWithRecords(10);
    const c = consumer();
    c.assign([{ topic, partition: 0, offset: 0 }]);
    const seen: bigint[] = [];
    await c.run({
      eachMessage: ({ message }) => {
        if (message.offset === 4n) throw new Error("handler failed");
        seen.push(message.offset);
      },
    });
    const failure = await within(c.done().then(() => null, (e: unknown) => e), WAIT_MS, "run end");
    expect((failure as Error).message).toBe("handler failed");
    expect(seen).toEqual([0n, 1n, 2n, 3n]);
    expect(c.position(topic, 0)).toBe(4n);
    const again = await take(c, 6);
    expect(again.map((m) => m.offset)).toEqual([4n, 5n, 6n, 7n, 8n, 9n]);
    await c.disconnect();
  });

  test("run eachBatch gets partition batches of at most max.poll.records; stop() ends the run", async () => {
    const topic = await topicWithRecords(25);
    const c = consumer({ maxPollRecords: 10 });
    c.assign([{ topic, partition: 0, offset: 0 }]);
    const sizes: number[] = [];
    let total = 0;
    let resolveAll!: () => void;
    const all = new Promise<void>((resolve) => (resolveAll = resolve));
    await c.run({
      eachBatch: ({ batch, isRunning }) => {
        expect(isRunning()).toBe(true);
        expect(batch.highWatermark).toBe(25n);
        sizes.push(batch.messages.length);
        total += batch.messages.length;
        if (total === 25) resolveAll();
      },
    });
    await within(all, WAIT_MS, "25 messages");
    expect(sizes).toEqual([10, 10, 5]);
    await c.stop();
    await within(c.done(), WAIT_MS, "run end");
    await c.disconnect();
  });

  test("stop() called from a handler ends the run (the loop does not start fetching again)", async () => {
    const topic = await topicWithRecords(5);
    const c = consumer();
    c.assign([{ topic, partition: 0, offset: 0 }]);
    let stopped: Promise<void> | null = null;
    await c.run({
      eachMessage: ({ message }) => {
        if (message.offset === 4n) stopped = c.stop();
      },
    });
    await within(c.done(), WAIT_MS, "run end");
    await within(stopped!, WAIT_MS, "stop");
    expect(c.position(topic, 0)).toBe(5n);
    await c.disconnect();
  });

  test("a batch corrupted on disk: the messages before it, then RivuletCorruptRecordError; seek past it reads on", async () => {
    const topic = await topicWithRecords(3);
    await appendBatch(producer, topic, 0, makeRecords(3, 3));
    await appendBatch(producer, topic, 0, makeRecords(6, 3));
    // Flip the last byte of the second batch in the segment file (a header value character: framing intact).
    const dir = join(broker.dataDir, `${topic}-0`);
    const log = join(dir, readdirSync(dir).find((name) => name.endsWith(".log"))!);
    const bytes = readFileSync(log);
    let end = 0;
    for (let i = 0; i < 2; i++) end += 12 + bytes.readInt32BE(end + 8);
    bytes[end - 1]! ^= 0x01;
    writeFileSync(log, bytes);
    const c = consumer();
    c.assign([{ topic, partition: 0, offset: 0 }]);
    const before: bigint[] = [];
    const error = await within(
      (async () => {
        try {
          for await (const message of c) before.push(message.offset);
        } catch (thrown) {
          return thrown;
        }
        return null;
      })(),
      WAIT_MS,
      "corrupt batch",
    );
    expect(before).toEqual([0n, 1n, 2n]);
    expect(error).toBeInstanceOf(RivuletCorruptRecordError);
    expect((error as RivuletCorruptRecordError).code).toBe(2);
    expect((error as RivuletCorruptRecordError).reason).toBe("crc_mismatch");
    expect((error as RivuletCorruptRecordError).offset).toBe(3n);
    expect(c.position(topic, 0)).toBe(3n);
    c.seek({ topic, partition: 0, offset: 6 });
    expect((await take(c, 3)).map((m) => m.offset)).toEqual([6n, 7n, 8n]);
    await c.disconnect();
    // check.crcs=false reads the changed batch as it is.
    const unchecked = consumer({ "check.crcs": false });
    unchecked.assign([{ topic, partition: 0, offset: 0 }]);
    expect((await take(unchecked, 9)).map((m) => m.text())).toEqual(Array.from({ length: 9 }, (_, i) => `v${i}`));
    await unchecked.disconnect();
  });

  test("a subscription picks up partitions added later (metadata.max.age.ms)", async () => {
    const topic = await topicWithRecords(2);
    const c = new Consumer(Cluster.create({ brokers: [broker.address], metadataMaxAge: 50 }), { "fetch.max.wait.ms": 20 });
    await c.subscribe({ topics: [topic], fromBeginning: true });
    expect((await take(c, 2)).map((m) => m.partition)).toEqual([0, 0]);
    const partitions = await producer.request(CreatePartitionsApi, { topics: [{ name: topic, count: 2 }], timeoutMs: 5_000, validateOnly: false });
    expect(partitions.results[0]?.errorCode).toBe(0);
    await appendBatch(producer, topic, 1, makeRecords(100, 2));
    const later = await take(c, 2);
    expect(later.map((m) => [m.partition, m.text()])).toEqual([
      [1, "v100"],
      [1, "v101"],
    ]);
    expect(c.assignment().map((tp) => tp.partition).sort()).toEqual([0, 1]);
    await c.disconnect();
  });

  test("seek inside a handler: the rest of the batch in hand is dropped, reading goes on from the new offset", async () => {
    const topic = await topicWithRecords(10);
    const c = consumer();
    c.assign([{ topic, partition: 0, offset: 0 }]);
    const seen: bigint[] = [];
    let all!: () => void;
    const done = new Promise<void>((resolve) => (all = resolve));
    let rewound = false;
    await c.run({
      eachMessage: ({ message }) => {
        seen.push(message.offset);
        if (message.offset === 3n && !rewound) {
          rewound = true;
          c.seek({ topic, partition: 0, offset: 1 });
        }
        if (message.offset === 9n) all();
      },
    });
    await within(done, WAIT_MS, "all messages");
    expect(seen).toEqual([0n, 1n, 2n, 3n, 1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n]);
    await c.disconnect();
  });

  test("pause in the middle of a batch (for-await): nothing is lost, resume delivers the rest", async () => {
    const topic = topicName("c");
    await createTopic(producer, topic, 2);
    await appendBatch(producer, topic, 0, makeRecords(0, 10));
    await appendBatch(producer, topic, 1, makeRecords(100, 3));
    const c = consumer();
    c.assign([{ topic, partition: 0, offset: 0 }]);
    const first: bigint[] = [];
    await within(
      (async () => {
        for await (const message of c) {
          first.push(message.offset);
          if (message.offset === 4n) {
            c.pause([{ topic, partition: 0 }]);
            break;
          }
        }
      })(),
      WAIT_MS,
      "first part",
    );
    expect(c.position(topic, 0)).toBe(5n);
    c.resume([{ topic, partition: 0 }]);
    expect((await take(c, 5)).map((m) => m.offset)).toEqual([5n, 6n, 7n, 8n, 9n]);
    // And with run(): pause() from the payload stops the partition after that message.
    c.seek({ topic, partition: 0, offset: 0 });
    const seen: bigint[] = [];
    let paused!: () => void;
    const pausedAt3 = new Promise<void>((resolve) => (paused = resolve));
    await c.run({
      eachMessage: ({ message, pause }) => {
        seen.push(message.offset);
        if (message.offset === 3n) {
          pause();
          paused();
        }
      },
    });
    await within(pausedAt3, WAIT_MS, "pause at 3");
    await c.stop();
    expect(seen).toEqual([0n, 1n, 2n, 3n]);
    expect(c.position(topic, 0)).toBe(4n);
    expect(c.paused()).toEqual([{ topic, partition: 0 }]);
    await c.disconnect();
  });

  test("options: Kafka and camelCase names, unknown and bad values refused", () => {
    const cluster = testCluster(broker.address);
    const c = new Consumer(cluster, { "fetch.min.bytes": 10, fetchMaxWaitMs: 100, "check.crcs": false });
    expect(c.options.fetchMinBytes).toBe(10);
    expect(c.options.fetchMaxWaitMs).toBe(100);
    expect(c.options.checkCrcs).toBe(false);
    expect(c.options.maxPartitionFetchBytes).toBe(1048576);
    expect(c.options.fetchMaxBytes).toBe(52428800);
    expect(c.options.autoOffsetReset).toBe("latest");
    expect(() => new Consumer(cluster, { "group.id": "g" })).toThrow(RivuletConfigError);
    expect(() => new Consumer(cluster, { "auto.offset.reset": "smallest" })).toThrow(/auto.offset.reset/);
    expect(() => new Consumer(cluster, { "fetch.min.bytes": 100, "fetch.max.bytes": 10 })).toThrow(/fetch.min.bytes/);
    void cluster.close();
  });

  test("messages(): a break mid-batch leaves the position after the last message handed out; return() behind a pending next() waits for it", async () => {
    const topic = await topicWithRecords(10);
    const c = consumer();
    c.assign([{ topic, partition: 0, offset: 0 }]);
    expect((await take(c, 3)).map((m) => m.offset)).toEqual([0n, 1n, 2n]);
    expect(c.position(topic, 0)).toBe(3n);
    const iterator = c.messages();
    const pending = iterator.next();
    const returned = iterator.return!();
    expect((await within(pending, WAIT_MS, "pending next")).value?.offset).toBe(3n);
    expect((await within(returned, WAIT_MS, "return")).done).toBe(true);
    expect(c.position(topic, 0)).toBe(4n);
    expect((await iterator.next()).done).toBe(true);
    expect((await take(c, 6)).map((m) => m.offset)).toEqual([4n, 5n, 6n, 7n, 8n, 9n]);
    await c.disconnect();
  });

  test("one reader at a time; a disconnected consumer refuses use", async () => {
    const topic = topicName("c");
    await createTopic(producer, topic, 1);
    const c = consumer();
    c.assign([{ topic, partition: 0, offset: 0 }]);
    const iterator = c[Symbol.asyncIterator]();
    const pending = iterator.next();
    await expect(c.run({ eachMessage: () => undefined })).rejects.toThrow(RivuletConfigError);
    await c.stop();
    expect((await within(pending, WAIT_MS, "iteration end")).done).toBe(true);
    await c.disconnect();
    expect(() => c.assign([{ topic, partition: 0 }])).toThrow();
  });
});
