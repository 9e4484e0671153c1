// The producer's own rules on Node against the built dist (and on Bun against the sources, when `bun test` runs
// this file): Kafka's murmur2 placement, the no-promise produce() path with callbacks and flush(), acks 0/1/all,
// the codecs this runtime has (zstd refused up front where node:zlib lacks it), buffer.memory backpressure
// failing with a typed, definite timeout after max.block.ms, and idempotence (on by default, Kafka 3.x's rules).
import assert from "node:assert/strict";
import zlib from "node:zlib";
import { after, before, describe, test } from "node:test";
import { startBroker, topicName } from "./broker.mjs";
import { runtime, sdk } from "./sdk.mjs";

const { Rivulet, RivuletConfigError, ErrorCode } = sdk;

let broker;
let rivulet;

before(async () => {
  broker = await startBroker();
  rivulet = new Rivulet({ brokers: [broker.address], clientId: "node-producer" });
});

after(async () => {
  await broker?.stop();
});

async function createTopic(name, partitions) {
  const admin = rivulet.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic: name, numPartitions: partitions }] });
  } finally {
    await admin.disconnect();
  }
}

describe(`producer on ${runtime}`, () => {
  test("keyed records land where Kafka's Java client puts them (murmur2 vectors of Kafka's UtilsTest)", async () => {
    const topic = topicName("node-keyed");
    await createTopic(topic, 4);
    const producer = rivulet.producer();
    await producer.connect();
    // Utils.murmur2: "21" -> -973932308, "foobar" -> -790332482, "abc" -> 479470107; partition = (h & 0x7fffffff) % 4.
    const sent = await producer.send({ topic, messages: [{ key: "21", value: "a" }, { key: "foobar", value: "b" }, { key: "abc", value: "c" }] });
    assert.deepEqual(
      sent.map((result) => result.partition),
      [-973932308, -790332482, 479470107].map((hash) => (hash & 0x7fffffff) % 4),
    );
    await producer.disconnect();
  });

  test("produce() takes records without a promise each; callbacks and flush() report every one", async () => {
    const topic = topicName("node-produce");
    await createTopic(topic, 2);
    const producer = rivulet.producer({ "linger.ms": 60_000 });
    await producer.connect();
    await Promise.all([producer.send({ topic, messages: [{ value: "metadata" }] }), producer.flush()]);
    const results = [];
    for (let i = 0; i < 500; i++) {
      const waiting = producer.produce(topic, { key: String(i % 7), value: `v${i}` }, (error, metadata) => results.push(error ?? metadata));
      assert.equal(waiting, undefined);
    }
    await producer.flush();
    assert.equal(results.length, 500);
    for (const result of results) assert.equal(typeof result.offset, "bigint");
    await producer.disconnect();
  });

  test("acks 0, 1 and all deliver; codecs this runtime has round-trip; zstd is refused where it is missing", async () => {
    const topic = topicName("node-acks");
    await createTopic(topic, 1);
    const codecs = ["none", "gzip", "lz4"];
    const hasZstd = typeof zlib.zstdCompressSync === "function";
    if (hasZstd) codecs.push("zstd");
    else assert.throws(() => rivulet.producer({ compression: "zstd" }), (error) => error instanceof RivuletConfigError && /zstd/.test(error.message));
    for (const compression of codecs) {
      for (const acks of [0, 1, "all"]) {
        const producer = rivulet.producer({ acks, compression });
        const [result] = await producer.send({ topic, messages: [{ value: `${compression}/${acks}` }] });
        assert.equal(result.offset >= 0n || acks === 0, true);
        await producer.disconnect();
      }
    }
    const consumer = rivulet.consumer({ "auto.offset.reset": "earliest" });
    await consumer.connect();
    consumer.assign([{ topic, partition: 0 }]);
    const values = [];
    for await (const message of consumer) {
      values.push(new TextDecoder().decode(message.value));
      if (values.length === codecs.length * 3) break;
    }
    await consumer.disconnect();
    assert.deepEqual(values, codecs.flatMap((compression) => [0, 1, "all"].map((acks) => `${compression}/${acks}`)));
  });

  test("a full buffer.memory makes send wait, then fail with a definite timeout after max.block.ms", async () => {
    const topic = topicName("node-memory");
    await createTopic(topic, 3);
    const producer = rivulet.producer({ "buffer.memory": 2048, "batch.size": 1024, "linger.ms": 60_000, "max.block.ms": 200 });
    await producer.connect();
    await Promise.all([producer.send({ topic, messages: [{ value: "metadata", partition: 0 }] }), producer.flush()]);
    // Each partition's open batch reserves batch.size and linger.ms keeps it open: the third partition finds no room.
    const taken = [0, 1].map((partition) => producer.send({ topic, messages: [{ value: "x", partition }] }));
    const started = Date.now();
    const error = await producer.send({ topic, messages: [{ value: "y", partition: 2 }] }).then(
      () => null,
      (caught) => caught,
    );
    assert.ok(Date.now() - started >= 195);
    assert.equal(error?.name, "RivuletBufferTimeoutError");
    assert.equal(error.code, ErrorCode.REQUEST_TIMED_OUT);
    assert.equal(error.definite, true);
    await producer.flush();
    assert.deepEqual(
      (await Promise.all(taken)).map((result) => result[0].partition),
      [0, 1],
    );
    await producer.disconnect();
  });

  test("idempotence is on by default: a producer id at connect, exactly-once results; contradictions follow Kafka 3.x", async () => {
    const topic = topicName("node-idem");
    await createTopic(topic, 2);
    const producer = rivulet.producer();
    await producer.connect();
    const identity = producer.producerIdAndEpoch;
    assert.ok(identity !== null && identity.producerId >= 0 && identity.epoch === 0);
    const sent = await producer.send({ topic, messages: Array.from({ length: 20 }, (_, i) => ({ key: String(i % 3), value: `i${i}` })) });
    assert.equal(sent.length, 20);
    await assert.rejects(producer.send({ topic, messages: [{ value: "x" }], acks: 1 }), (error) => error instanceof RivuletConfigError);
    await producer.disconnect();
    // Set explicitly, a contradiction is an error naming the option; by default, acks=1 just turns idempotence off.
    assert.throws(() => rivulet.producer({ "enable.idempotence": true, acks: 1 }), (error) => error instanceof RivuletConfigError && error.option === "acks");
    assert.throws(() => rivulet.producer({ enableIdempotence: true, "max.in.flight.requests.per.connection": 6 }), (error) => error instanceof RivuletConfigError);
    const plain = rivulet.producer({ acks: 1 });
    assert.equal(plain.options.enableIdempotence, false);
    const [result] = await plain.send({ topic, messages: [{ value: "acks=1" }] });
    assert.ok(result.offset >= 0n);
    assert.equal(plain.producerIdAndEpoch, null);
    await plain.disconnect();
  });
});
