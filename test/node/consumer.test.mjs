// The consumer's rules on the built dist (Node) and the sources (Bun): seek, pause and resume, auto.offset.reset
// none as a typed error, eachBatch with max.poll.records, a failing handler redelivering its message, and the
// position after leaving a for-await loop early. Records are written by the SDK producer.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startBroker, topicName } from "./broker.mjs";
import { runtime, sdk } from "./sdk.mjs";

const { Rivulet, RivuletOffsetOutOfRangeError, RivuletConfigError } = sdk;

const WAIT_MS = 20_000;

let broker;
let rivulet;

before(async () => {
  broker = await startBroker();
  rivulet = new Rivulet({ brokers: [broker.address], clientId: "node-consumer" });
});

after(async () => {
  await broker?.stop();
});

// A topic with `partitions` partitions holding `count` records per partition, values "p<partition>-<i>".
async function topicWith(partitions, count) {
  const topic = topicName("node-consumer");
  const admin = rivulet.admin();
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions }] });
  await admin.disconnect();
  const producer = rivulet.producer({ acks: "all", "linger.ms": 1 });
  await producer.connect();
  for (let partition = 0; partition < partitions; partition++) {
    await producer.send({ topic, messages: Array.from({ length: count }, (_, i) => ({ value: `p${partition}-${i}`, partition })) });
  }
  await producer.disconnect();
  return topic;
}

function within(promise, what) {
  let timer;
  return Promise.race([promise, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not done within ${WAIT_MS} ms`)), WAIT_MS)))]).finally(() => clearTimeout(timer));
}

async function take(consumer, count) {
  const out = [];
  await within(
    (async () => {
      for await (const message of consumer) {
        out.push(message);
        if (out.length === count) break;
      }
    })(),
    `reading ${count}`,
  );
  return out;
}

describe(`consumer (${runtime})`, () => {
  test("for-await keeps the position after an early exit; seek moves it", async () => {
    const topic = await topicWith(1, 30);
    const consumer = rivulet.consumer({ "fetch.max.wait.ms": 50 });
    await consumer.connect();
    consumer.assign([{ topic, partition: 0, offset: 0n }]);
    assert.deepEqual((await take(consumer, 5)).map((m) => m.text()), ["p0-0", "p0-1", "p0-2", "p0-3", "p0-4"]);
    assert.equal(consumer.position(topic, 0), 5n);
    assert.deepEqual((await take(consumer, 2)).map((m) => m.offset), [5n, 6n]);
    consumer.seek({ topic, partition: 0, offset: 20n });
    assert.deepEqual((await take(consumer, 2)).map((m) => m.offset), [20n, 21n]);
    assert.throws(() => consumer.seek({ topic, partition: 7, offset: 0 }), RivuletConfigError);
    await consumer.disconnect();
  });

  test("pause and resume", async () => {
    const topic = await topicWith(2, 10);
    const consumer = rivulet.consumer({ "fetch.max.wait.ms": 50 });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    consumer.pause([{ topic, partitions: [0] }]);
    const first = await take(consumer, 10);
    assert.ok(first.every((m) => m.partition === 1));
    consumer.resume([{ topic, partitions: [0] }]);
    const second = await take(consumer, 10);
    assert.deepEqual(second.map((m) => m.text()), Array.from({ length: 10 }, (_, i) => `p0-${i}`));
    await consumer.disconnect();
  });

  test("auto.offset.reset none: a typed error until seek", async () => {
    const topic = await topicWith(1, 3);
    const consumer = rivulet.consumer({ "auto.offset.reset": "none", "fetch.max.wait.ms": 50 });
    await consumer.connect();
    consumer.assign([{ topic, partition: 0 }]);
    await assert.rejects(take(consumer, 1), (error) => error instanceof RivuletOffsetOutOfRangeError && error.code === 1 && error.offset === null);
    consumer.seek({ topic, partition: 0, offset: "earliest" });
    assert.deepEqual((await take(consumer, 3)).map((m) => m.offset), [0n, 1n, 2n]);
    await consumer.disconnect();
  });

  test("run: eachBatch sizes follow max.poll.records; a failing eachMessage redelivers its message", async () => {
    const topic = await topicWith(1, 12);
    const consumer = rivulet.consumer({ "fetch.max.wait.ms": 50, "max.poll.records": 5 });
    await consumer.connect();
    consumer.assign([{ topic, partition: 0, offset: 0 }]);
    const sizes = [];
    await within(
      new Promise((resolve) => {
        let total = 0;
        void consumer.run({
          eachBatch: ({ batch }) => {
            sizes.push(batch.messages.length);
            total += batch.messages.length;
            if (total === 12) resolve();
          },
        });
      }),
      "eachBatch",
    );
    await consumer.stop();
    assert.deepEqual(sizes, [5, 5, 2]);

    consumer.seek({ topic, partition: 0, offset: 0 });
    let failOnce = true;
    const seen = [];
    await consumer.run({
      eachMessage: ({ message }) => {
        if (message.offset === 3n && failOnce) {
          failOnce = false;
          throw new Error("handler failed");
        }
        seen.push(message.offset);
      },
    });
    await assert.rejects(within(consumer.done(), "run end"), /handler failed/);
    assert.equal(consumer.position(topic, 0), 3n);
    assert.deepEqual((await take(consumer, 9)).map((m) => m.offset), [3n, 4n, 5n, 6n, 7n, 8n, 9n, 10n, 11n]);
    assert.deepEqual(seen, [0n, 1n, 2n]);
    await consumer.disconnect();
  });
});
