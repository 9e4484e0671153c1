// The SDK against a real broker child process: admin operations, typed errors, options. On Node this is the
// built dist (sdk.mjs), on Bun the sources.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startBroker, topicName } from "./broker.mjs";
import { runtime, sdk } from "./sdk.mjs";

const { ErrorCode, Rivulet, RivuletConfigError, RivuletError } = sdk;

let broker;
let rivulet;
let admin;

before(async () => {
  broker = await startBroker();
  rivulet = new Rivulet({ brokers: [broker.address], clientId: "node-admin" });
  admin = rivulet.admin();
  await admin.connect();
});

after(async () => {
  await admin?.disconnect();
  await broker?.stop();
});

describe(`admin on ${runtime}`, () => {
  test("options are validated with clear messages", () => {
    assert.throws(() => new Rivulet({ brokerz: ["x"] }), (error) => error instanceof RivuletConfigError && /unknown option "brokerz"/.test(error.message));
    assert.throws(() => new Rivulet({ "request.timeout.ms": "soon" }), RivuletConfigError);
  });

  test("create, list, describe, add partitions, delete", async () => {
    const topic = topicName("node-admin");
    const created = await admin.createTopics({ topics: [{ topic, numPartitions: 2, configs: { "retention.ms": "60000" } }] });
    assert.deepEqual(created, [{ topic, created: true, numPartitions: 2, replicationFactor: 1 }]);
    assert.ok((await admin.listTopics()).includes(topic));
    const [described] = await admin.describeTopics([topic]);
    assert.deepEqual(described.partitions.map((p) => p.partition), [0, 1]);
    await admin.createPartitions({ topicPartitions: [{ topic, count: 3 }] });
    assert.equal((await admin.describeTopics([topic]))[0].partitions.length, 3);
    const [configs] = await admin.describeConfigs({ resources: [{ type: "topic", name: topic, configNames: ["retention.ms"] }] });
    assert.deepEqual(configs.configs.map((c) => [c.name, c.value, c.source]), [["retention.ms", "60000", "DYNAMIC_TOPIC_CONFIG"]]);
    await admin.alterConfigs({ resources: [{ type: "topic", name: topic, configs: { "retention.ms": "120000" } }] });
    const [altered] = await admin.describeConfigs({ resources: [{ type: "topic", name: topic, configNames: ["retention.ms"] }] });
    assert.equal(altered.configs[0].value, "120000");
    assert.deepEqual(await admin.fetchTopicOffsets(topic), [
      { partition: 0, low: 0n, high: 0n },
      { partition: 1, low: 0n, high: 0n },
      { partition: 2, low: 0n, high: 0n },
    ]);
    await admin.deleteTopics({ topics: [topic] });
    assert.ok(!(await admin.listTopics()).includes(topic));
  });

  test("errors are typed RivuletErrors with codes", async () => {
    const topic = topicName("node-exists");
    await admin.createTopics({ topics: [{ topic }] });
    await assert.rejects(admin.createTopics({ topics: [{ topic }] }), (error) => error instanceof RivuletError && error.code === ErrorCode.TOPIC_ALREADY_EXISTS && error.retriable === false);
    await assert.rejects(admin.deleteTopics({ topics: [topicName("node-missing")] }), (error) => error instanceof RivuletError && error.code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });
});
