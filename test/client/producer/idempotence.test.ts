// The client side of idempotence: stamping (bytes equal to a batch built with the fields, CRC valid), sequence
// wrap, and the producer against a real broker in this process behind the fault proxy (test/fault/proxy.ts): a
// lost answer is resent and answered with the original offsets (written once), five batches in one request whose
// answer is lost come back in order, and a partition whose state the broker no longer has (the topic was deleted
// and made again) gets UNKNOWN_PRODUCER_ID, after which the producer bumps its epoch and starts over at sequence 0.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { IDEMPOTENT_BATCHES_IN_FLIGHT_MAX, SEQUENCE_MAX, incrementSequence, stampBatch, stampBatchRecomputed } from "../../../client/producer/idempotence.ts";
import { DeleteTopicsApi } from "../../../core/formats/protocol/delete-topics.ts";
import { decodeRecordBatch, encodeRecordBatch } from "../../../core/formats/record-batch.ts";
import { FaultProxy } from "../../fault/proxy.ts";
import { topicName, within } from "../helpers.ts";
import { type RestartableBroker, createTopic, newProxiedProducer, openConnection, readPartition, startRestartableBroker } from "./producer-helpers.ts";

const WAIT_MS = 15_000;

let broker: RestartableBroker;
let proxy: FaultProxy;

beforeAll(async () => {
  broker = await startRestartableBroker();
  proxy = await FaultProxy.start({ targetPort: broker.port, seed: 11 });
});

afterAll(async () => {
  await proxy.close();
  await broker.destroy();
});

describe("stampBatch", () => {
  test("writes producer id, epoch and sequence and a matching CRC: the bytes equal a batch built with those fields", () => {
    const records = [
      { key: "k", value: "one", timestamp: 1_763_700_000_000 },
      { key: null, value: "two", timestamp: 1_763_700_000_005 },
    ];
    const plain = encodeRecordBatch({ records });
    stampBatch(plain, 123_456_789_012, 7, 2_000_000_000);
    expect(plain).toEqual(encodeRecordBatch({ records, producerId: 123_456_789_012, producerEpoch: 7, baseSequence: 2_000_000_000 }));
    const decoded = decodeRecordBatch(plain);
    expect(decoded.ok).toBe(true);
    if (decoded.ok) expect([decoded.value.producerId, decoded.value.producerEpoch, decoded.value.baseSequence]).toEqual([123_456_789_012n, 7, 2_000_000_000]);
  });

  test("the updated CRC equals a full recomputation, for batch sizes from one record to 256 KiB, stamped again and again", () => {
    const stamps = [
      [0, 0, 0],
      [123_456_789_012, 32_767, SEQUENCE_MAX],
      [5, 3, 77],
      [Number.MAX_SAFE_INTEGER, 1, 1],
    ] as const;
    for (const count of [1, 2, 7, 64, 500, 2600]) {
      const records = Array.from({ length: count }, (_, i) => ({ value: "r".repeat((i * 37) % 101), timestamp: 1_763_700_000_000 + i }));
      const updated = encodeRecordBatch({ records });
      const recomputed = updated.slice();
      for (const [producerId, epoch, sequence] of stamps) {
        stampBatch(updated, producerId, epoch, sequence);
        stampBatchRecomputed(recomputed, producerId, epoch, sequence);
        expect(updated).toEqual(recomputed);
        expect(decodeRecordBatch(updated).ok).toBe(true);
      }
    }
  });

  test("sequences wrap past 2^31 - 1 to 0, as Kafka's", () => {
    expect(incrementSequence(0, 5)).toBe(5);
    expect(incrementSequence(SEQUENCE_MAX - 1, 1)).toBe(SEQUENCE_MAX);
    expect(incrementSequence(SEQUENCE_MAX, 1)).toBe(0);
    expect(incrementSequence(SEQUENCE_MAX - 2, 5)).toBe(2);
  });
});

// A producer through the proxy whose connection, metadata and producer id are already settled, so the next
// response the proxy sees is a Produce answer.
async function warmProducer(topic: string, options: Record<string, unknown> = {}) {
  const producer = newProxiedProducer(proxy.port, { "retry.backoff.ms": 5, "retry.backoff.max.ms": 20, ...options }, { retry: { retries: 20, initialRetryTime: 5, maxRetryTime: 50 } });
  await producer.connect();
  const warmUp = producer.send({ topic, messages: [{ value: "warm-up" }] });
  await producer.flush();
  await warmUp;
  return producer;
}

describe("idempotent producer against a broker", () => {
  test("a dropped answer is resent with the same sequence: written once, answered with the original offset", async () => {
    const topic = topicName("idem-drop");
    await createTopic(broker.port, topic, 1);
    const producer = await warmProducer(topic);
    const dropped = proxy.stats.responsesDropped;
    proxy.dropNextResponses(1);
    const sent = await within(producer.send({ topic, messages: [{ value: "once-1" }, { value: "once-2" }] }), WAIT_MS, "send through a dropped answer");
    expect(proxy.stats.responsesDropped).toBe(dropped + 1);
    expect(producer.stats.retries).toBeGreaterThanOrEqual(1);
    expect(sent.map((result) => result.offset)).toEqual([1n, 2n]);
    await producer.disconnect();
    const records = await readPartition(broker.port, topic, 0);
    expect(records.map((record) => [record.offset, record.value])).toEqual([
      [0, "warm-up"],
      [1, "once-1"],
      [2, "once-2"],
    ]);
    expect(records[1]!.baseSequence).toBe(1);
  });

  test("five batches in flight in one request whose answer is lost: resent one by one, each written once, in order, at its original offset; more wait", async () => {
    const topic = topicName("idem-five");
    await createTopic(broker.port, topic, 1);
    const producer = await warmProducer(topic, { "batch.size": 200, "linger.ms": 60_000 });
    proxy.dropNextResponses(1);
    const values = Array.from({ length: 8 }, (_, i) => `${String(i).padStart(3, "0")}${"v".repeat(120)}`);
    const sends = values.map((value) => producer.send({ topic, messages: [{ value }] }));
    const before = producer.stats.requests;
    await within(producer.flush(), WAIT_MS, "flush through a dropped answer");
    const offsets = (await Promise.all(sends)).map((result) => result[0]!.offset);
    expect(offsets).toEqual(values.map((_, i) => BigInt(i + 1)));
    // The first request carried 5 one-record batches; after its answer was lost they went again one per request
    // (so each answer's offset is exact even had the broker written only some); the other 3 records, appended while
    // the partition already had 5 batches queued, went in one batch grown past batch.size (a backlog batch).
    expect(producer.stats.requests - before).toBe(1 + 5 + 1);
    expect(IDEMPOTENT_BATCHES_IN_FLIGHT_MAX).toBe(5);
    await producer.disconnect();
    const records = await readPartition(broker.port, topic, 0);
    expect(records.map((record) => record.value)).toEqual(["warm-up", ...values]);
    expect(records.slice(1).map((record) => record.baseSequence)).toEqual([1, 2, 3, 4, 5, 6, 6, 6]);
  });

  test("UNKNOWN_PRODUCER_ID (the broker lost the partition's state): the epoch is bumped and the batch written from sequence 0", async () => {
    const topic = topicName("idem-unknown");
    await createTopic(broker.port, topic, 1);
    const producer = await warmProducer(topic);
    const { producerId, epoch } = producer.producerIdAndEpoch!;
    // The same topic made again has no producer state: sequence 1 from this producer is unknown there.
    const connection = await openConnection(broker.port);
    try {
      const deleted = await connection.request(DeleteTopicsApi, { topicNames: [topic], timeoutMs: 5000 });
      expect(deleted.responses[0]!.errorCode).toBe(0);
    } finally {
      await connection.close();
    }
    await createTopic(broker.port, topic, 1);
    const [result] = await within(producer.send({ topic, messages: [{ value: "after" }] }), WAIT_MS, "send after the state was lost");
    expect(result!.offset).toBe(0n);
    expect(producer.producerIdAndEpoch).toEqual({ producerId, epoch: epoch + 1 });
    expect(producer.stats).toMatchObject({ sequenceResets: 1, epochBumps: 1 });
    await producer.disconnect();
    const records = await readPartition(broker.port, topic, 0);
    expect(records.map((record) => [record.value, record.producerId, record.baseSequence])).toEqual([["after", producerId, 0]]);
  });
});

describe("MESSAGE_TOO_LARGE", () => {
  test("a batch over the topic's max.message.bytes is split and resent until it fits: every record once, in order", async () => {
    const topic = topicName("idem-split");
    await createTopic(broker.port, topic, 1, { "max.message.bytes": "4096" });
    const producer = newProxiedProducer(proxy.port, { "linger.ms": 60_000 });
    const values = Array.from({ length: 100 }, (_, i) => `${String(i).padStart(3, "0")}${"s".repeat(97)}`);
    const send = producer.send({ topic, messages: values.map((value) => ({ value })) });
    await within(producer.flush(), WAIT_MS, "flush of a batch too large for the topic");
    expect((await send).map((result) => result.offset)).toEqual(values.map((_, i) => BigInt(i)));
    expect(producer.stats.retries).toBeGreaterThan(0);
    await producer.disconnect();
    const records = await readPartition(broker.port, topic, 0);
    expect(records.map((record) => record.value)).toEqual(values);
    // The parts were stamped afresh: sequences count the records from 0 in the epoch they were written in.
    expect(new Set(records.map((record) => record.producerId)).size).toBe(1);
  });
});
