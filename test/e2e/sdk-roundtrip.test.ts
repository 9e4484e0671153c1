// End to end through the SDK and a real broker (issue 5, "Tests"): 100,000 records across partitions, with and
// without compression, come back from the consumer with identical keys, values, headers and timestamps, and the
// records of every key come back in the order they were sent.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Rivulet } from "../../client/index.ts";
import type { Message } from "../../client/consumer/consumer.ts";
import { type InProcessBroker, startBroker, topicName, within } from "../client/helpers.ts";

const RECORDS = 100_000;
const PARTITIONS = 4;
const KEYS = 1_000;
const BASE_TIMESTAMP = 1_750_000_000_000;
const WAIT_MS = 60_000;

let broker: InProcessBroker;

beforeAll(async () => {
  broker = await startBroker();
});

afterAll(async () => {
  await broker.stop();
});

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// Record i: key k<i % KEYS>, a value of varied length (bytes, not only text), two headers, its own timestamp.
function valueOf(i: number): Uint8Array {
  const text = `value-${i}-${"x".repeat(i % 97)}`;
  const bytes = encoder.encode(text);
  return bytes;
}

async function roundTrip(compression: "none" | "lz4", reader: "messages" | "batches"): Promise<void> {
  const rivulet = new Rivulet({ brokers: [broker.address], clientId: `e2e-${compression}` });
  const admin = rivulet.admin();
  const topic = topicName(`e2e-${compression}`);
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }] });
  await admin.disconnect();

  const producer = rivulet.producer({ acks: "all", compression, "linger.ms": 5, "batch.size": 65536 });
  await producer.connect();
  let failures = 0;
  for (let i = 0; i < RECORDS; i++) {
    const waiting = producer.produce(
      topic,
      { key: `k${i % KEYS}`, value: valueOf(i), headers: { i: String(i), kind: encoder.encode("e2e") }, timestamp: BASE_TIMESTAMP + i },
      (error) => {
        if (error !== null) failures += 1;
      },
    );
    if (waiting !== undefined) await waiting;
  }
  await within(producer.flush(), WAIT_MS, "producer flush");
  await producer.disconnect();
  expect(failures).toBe(0);

  const consumer = rivulet.consumer({ "fetch.max.wait.ms": 100 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  const seen = new Uint8Array(RECORDS);
  const lastIndexOfKey = new Int32Array(KEYS).fill(-1);
  const keyPartition = new Int32Array(KEYS).fill(-1);
  let count = 0;
  let problems = 0;
  const check = (message: Message): void => {
    const i = Number(decoder.decode(message.headers[0]?.value ?? new Uint8Array()));
    const key = i % KEYS;
    const ok =
      message.topic === topic &&
      message.headers.length === 2 &&
      message.headers[0]?.key === "i" &&
      message.headers[1]?.key === "kind" &&
      decoder.decode(message.headers[1]?.value ?? new Uint8Array()) === "e2e" &&
      message.keyText() === `k${key}` &&
      Buffer.from(message.value ?? []).equals(valueOf(i)) &&
      message.timestamp === BASE_TIMESTAMP + i &&
      seen[i] === 0 &&
      // Per-key order: a key's records come in the order they were sent, all from one partition.
      i > lastIndexOfKey[key]! &&
      (keyPartition[key] === -1 || keyPartition[key] === message.partition);
    if (!ok) problems += 1;
    seen[i] = 1;
    lastIndexOfKey[key] = i;
    keyPartition[key] = message.partition;
    count += 1;
  };
  await within(
    (async () => {
      if (reader === "messages") {
        for await (const message of consumer) {
          check(message);
          if (count === RECORDS) break;
        }
      } else {
        for await (const batch of consumer.batches()) {
          for (const message of batch.messages) check(message);
          if (count >= RECORDS) break;
        }
      }
    })(),
    WAIT_MS,
    `consuming ${RECORDS} records`,
  );
  expect(problems).toBe(0);
  expect(count).toBe(RECORDS);
  expect(seen.every((flag) => flag === 1)).toBe(true);
  // Every partition got records (the key hash spread them).
  expect(new Set(keyPartition).size).toBe(PARTITIONS);
  // The consumer's positions are the log ends.
  let total = 0n;
  for (let p = 0; p < PARTITIONS; p++) total += consumer.position(topic, p) ?? 0n;
  expect(total).toBe(BigInt(RECORDS));
  await consumer.disconnect();
}

describe("SDK end to end", () => {
  test("100,000 records, no compression, message by message", async () => {
    await roundTrip("none", "messages");
  }, WAIT_MS);

  test("100,000 records, lz4, batch by batch", async () => {
    await roundTrip("lz4", "batches");
  }, WAIT_MS);
});
