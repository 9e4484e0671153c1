// End to end through a real broker child process with the public SDK (on Node: the built dist): 100,000
// records across 4 partitions, uncompressed and LZ4, come back with identical keys, values, headers and
// timestamps, exactly once each, in order per key.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startBroker, topicName } from "./broker.mjs";
import { runtime, sdk } from "./sdk.mjs";

const { Rivulet, text } = sdk;

const RECORDS = 100_000;
const PARTITIONS = 4;
const KEYS = 1000;
const SEND_CHUNK_RECORDS = 1000;
const BASE_TIMESTAMP = 1_763_700_000_000;
const CONSUME_TIMEOUT_MS = 60_000;

let broker;
let rivulet;

before(async () => {
  broker = await startBroker();
  rivulet = new Rivulet({ brokers: [broker.address], clientId: "node-roundtrip" });
});

after(async () => {
  await broker?.stop();
});

function message(i) {
  const headers = { seq: String(i) };
  // Binary header values and null values too, now and then.
  if (i % 7 === 0) headers.bin = Uint8Array.of(i & 0xff, 0, 255);
  return { key: `key-${i % KEYS}`, value: i % 997 === 0 ? null : `value-${i}-${"x".repeat(i % 50)}`, headers, timestamp: BASE_TIMESTAMP + i };
}

async function roundTrip(compression) {
  const admin = rivulet.admin();
  const topic = topicName(`node-rt-${compression}`);
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }] });

  const producer = rivulet.producer({ acks: "all", "linger.ms": 2, compression });
  await producer.connect();
  const sends = [];
  for (let start = 0; start < RECORDS; start += SEND_CHUNK_RECORDS) {
    const messages = [];
    for (let i = start; i < Math.min(RECORDS, start + SEND_CHUNK_RECORDS); i++) messages.push(message(i));
    sends.push(producer.send({ topic, messages }));
  }
  const sent = (await Promise.all(sends)).flat();
  assert.equal(sent.length, RECORDS);
  await producer.disconnect();

  const offsets = await admin.fetchTopicOffsets(topic);
  assert.equal(offsets.reduce((sum, { high }) => sum + Number(high), 0), RECORDS);

  const consumer = rivulet.consumer({ "auto.offset.reset": "earliest" });
  await consumer.connect();
  consumer.assign(Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition, offset: 0n })));
  const seen = new Uint8Array(RECORDS);
  const lastByKey = new Map();
  let received = 0;
  const deadline = setTimeout(() => void consumer.disconnect(), CONSUME_TIMEOUT_MS);
  for await (const got of consumer) {
    const i = Number(text(got.headers.find((h) => h.key === "seq").value));
    const expected = message(i);
    assert.equal(seen[i], 0, `record ${i} delivered twice`);
    seen[i] = 1;
    assert.equal(text(got.key), expected.key);
    assert.equal(got.value === null ? null : text(got.value), expected.value);
    assert.equal(got.timestamp, expected.timestamp);
    assert.equal(got.topic, topic);
    const bin = got.headers.find((h) => h.key === "bin");
    if (expected.headers.bin === undefined) assert.equal(bin, undefined);
    else assert.deepEqual([...bin.value], [...expected.headers.bin]);
    const last = lastByKey.get(expected.key);
    assert.ok(last === undefined || last < i, `key ${expected.key}: ${i} after ${last}`);
    lastByKey.set(expected.key, i);
    assert.equal(got.offset, sent[i].offset, `offset of record ${i}`);
    assert.equal(got.partition, sent[i].partition);
    if (++received === RECORDS) break;
  }
  clearTimeout(deadline);
  assert.equal(received, RECORDS, `received ${received} of ${RECORDS} within ${CONSUME_TIMEOUT_MS} ms`);
  await consumer.disconnect();
  await admin.deleteTopics({ topics: [topic] });
  await admin.disconnect();
}

describe(`produce and consume 100k records on ${runtime}`, () => {
  test("uncompressed", async () => {
    await roundTrip("none");
  });

  test("lz4", async () => {
    await roundTrip("lz4");
  });
});
