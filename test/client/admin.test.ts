// Admin against a real broker: every operation's result shape and its typed errors.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ErrorCode, RivuletError } from "../../core/formats/protocol/errors.ts";
import { ProduceApi } from "../../core/formats/protocol/produce.ts";
import { encodeRecordBatch } from "../../core/formats/record-batch.ts";
import { Admin } from "../../client/admin.ts";
import { Cluster } from "../../client/cluster.ts";
import { RivuletConfigError } from "../../client/errors.ts";
import { type InProcessBroker, startBroker, topicName } from "./helpers.ts";

let broker: InProcessBroker;
let admin: Admin;
let cluster: Cluster;

beforeAll(async () => {
  broker = await startBroker();
  cluster = Cluster.create({ brokers: [broker.address], retry: { retries: 1, initialRetryTime: 10 } });
  admin = new Admin(cluster, { timeout: 5000 });
  await admin.connect();
});

afterAll(async () => {
  await admin.disconnect();
  await broker.stop();
});

async function codeOf(promise: Promise<unknown>): Promise<number | string> {
  try {
    await promise;
    return "no error";
  } catch (error) {
    if (error instanceof RivuletError) return error.code;
    if (error instanceof RivuletConfigError) return "config";
    throw error;
  }
}

describe("Admin", () => {
  test("options are resolved with Kafka names and validated", () => {
    expect(new Admin(cluster, { "default.api.timeout.ms": 1234 }).options.timeout).toBe(1234);
    expect(() => new Admin(cluster, { timeOut: 1 })).toThrow(/unknown option "timeOut".*did you mean "timeout"/);
  });

  test("describeCluster lists the broker and the controller", async () => {
    const described = await admin.describeCluster();
    expect(described.brokers).toEqual([{ nodeId: described.controller, host: "127.0.0.1", port: broker.port, rack: null }]);
  });

  test("createTopics, listTopics, describeTopics, deleteTopics", async () => {
    const a = topicName("adm-a");
    const b = topicName("adm-b");
    const created = await admin.createTopics({ topics: [{ topic: a, numPartitions: 3 }, { topic: b, configs: { "cleanup.policy": "compact" } }] });
    expect(created).toEqual([
      { topic: a, created: true, numPartitions: 3, replicationFactor: 1 },
      { topic: b, created: true, numPartitions: 1, replicationFactor: 1 },
    ]);
    expect(await admin.listTopics()).toEqual(expect.arrayContaining([a, b]));
    const [described] = await admin.describeTopics([a]);
    expect(described?.name).toBe(a);
    expect(described?.partitions.map((p) => p.partition)).toEqual([0, 1, 2]);
    expect(described?.partitions.every((p) => p.leader >= 0 && p.errorCode === 0)).toBe(true);
    await admin.deleteTopics({ topics: [a, b] });
    const listed = await admin.listTopics();
    expect(listed).not.toContain(a);
    expect(listed).not.toContain(b);
  });

  test("typed errors: exists, unknown, invalid partitions, ifNotExists / ifExists", async () => {
    const topic = topicName("adm-err");
    await admin.createTopics({ topics: [{ topic }] });
    const exists = await admin.createTopics({ topics: [{ topic }] }).catch((e: unknown) => e);
    expect(exists).toBeInstanceOf(RivuletError);
    expect((exists as RivuletError).code).toBe(ErrorCode.TOPIC_ALREADY_EXISTS);
    expect((exists as RivuletError).name).toBe("TOPIC_ALREADY_EXISTS");
    expect((exists as RivuletError).message).toContain(topic);
    expect(await admin.createTopics({ topics: [{ topic }], ifNotExists: true })).toEqual([{ topic, created: false, numPartitions: -1, replicationFactor: -1 }]);
    expect(await codeOf(admin.deleteTopics({ topics: [topicName("nope")] }))).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect(await codeOf(admin.deleteTopics({ topics: [topicName("nope")], ifExists: true }))).toBe("no error");
    expect(await codeOf(admin.describeTopics([topicName("nope")]))).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect(await codeOf(admin.createPartitions({ topicPartitions: [{ topic, count: 1 }] }))).toBe(ErrorCode.INVALID_PARTITIONS);
    expect(await codeOf(admin.createTopics({ topics: [{ topic: topicName("bad"), configs: { "cleanup.policy": "sideways" } }] }))).toBe(ErrorCode.INVALID_CONFIG);
    expect(await codeOf(admin.createTopics({ topics: [{ topic: "bad name!" }] }))).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
    expect(await codeOf(admin.createTopics({ topics: [] }))).toBe("config");
    expect(await codeOf(admin.createTopics({ topics: [{ topic: "x", numPartitions: 0 }] }))).toBe("config");
  });

  test("validateOnly creates nothing", async () => {
    const topic = topicName("adm-validate");
    expect(await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], validateOnly: true })).toEqual([{ topic, created: false, numPartitions: 2, replicationFactor: 1 }]);
    expect(await admin.listTopics()).not.toContain(topic);
  });

  test("createPartitions raises the count", async () => {
    const topic = topicName("adm-parts");
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
    await admin.createPartitions({ topicPartitions: [{ topic, count: 4 }] });
    const [described] = await admin.describeTopics([topic]);
    expect(described?.partitions.length).toBe(4);
  });

  test("describeConfigs and alterConfigs (Kafka's replace-all semantics)", async () => {
    const topic = topicName("adm-cfg");
    await admin.createTopics({ topics: [{ topic, configs: { "retention.ms": "1000" } }] });
    const [before] = await admin.describeConfigs({ resources: [{ type: "topic", name: topic }] });
    const retention = before?.configs.find((c) => c.name === "retention.ms");
    expect(retention).toMatchObject({ value: "1000", source: "DYNAMIC_TOPIC_CONFIG", isDefault: false });
    expect(before?.configs.find((c) => c.name === "cleanup.policy")).toMatchObject({ value: "delete", isDefault: true });
    await admin.alterConfigs({ resources: [{ type: "topic", name: topic, configs: { "cleanup.policy": "compact" } }] });
    const [after] = await admin.describeConfigs({ resources: [{ type: "topic", name: topic, configNames: ["cleanup.policy", "retention.ms"] }] });
    expect(after?.configs.map((c) => [c.name, c.value, c.source])).toEqual([
      ["cleanup.policy", "compact", "DYNAMIC_TOPIC_CONFIG"],
      ["retention.ms", expect.any(String), "DEFAULT_CONFIG"],
    ]);
    expect(await codeOf(admin.alterConfigs({ resources: [{ type: "topic", name: topic, configs: { "cleanup.policy": "sideways" } }] }))).toBe(ErrorCode.INVALID_CONFIG);
    expect(await codeOf(admin.describeConfigs({ resources: [{ type: "topic", name: topicName("nope") }] }))).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const [brokerConfigs] = await admin.describeConfigs({ resources: [{ type: "broker", name: "0" }] });
    expect(brokerConfigs?.type).toBe("broker");
  });

  test("listOffsets: earliest, latest, by timestamp, per partition", async () => {
    const topic = topicName("adm-offsets");
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
    const connection = await cluster.connectionFor(topic, 0);
    const records = Array.from({ length: 10 }, (_, i) => ({ value: `v${i}`, timestamp: 1_000_000 + i * 100 }));
    await connection.request(ProduceApi, { transactionalId: null, acks: 1, timeoutMs: 5000, topics: [{ name: topic, partitions: [{ index: 0, records: encodeRecordBatch({ records: records.slice(0, 5) }) }] }] });
    await connection.request(ProduceApi, { transactionalId: null, acks: 1, timeoutMs: 5000, topics: [{ name: topic, partitions: [{ index: 0, records: encodeRecordBatch({ records: records.slice(5) }) }] }] });
    expect(await admin.listOffsets({ topic, at: "earliest" })).toEqual([
      { topic, partition: 0, offset: 0n, timestamp: -1 },
      { topic, partition: 1, offset: 0n, timestamp: -1 },
    ]);
    expect((await admin.listOffsets({ topic })).map((o) => o.offset)).toEqual([10n, 0n]);
    // The first record whose timestamp is at least the time asked for: offset 7 at 1_000_700.
    const [byTime] = await admin.listOffsets({ topic, partitions: [0], at: { timestamp: 1_000_650 } });
    expect(byTime).toEqual({ topic, partition: 0, offset: 7n, timestamp: 1_000_700 });
    const [none] = await admin.listOffsets({ topic, partitions: [0], at: { timestamp: 9_000_000 } });
    expect(none?.offset).toBe(-1n);
    expect(await admin.fetchTopicOffsets(topic)).toEqual([
      { partition: 0, low: 0n, high: 10n },
      { partition: 1, low: 0n, high: 0n },
    ]);
    expect(await codeOf(admin.listOffsets({ topic, partitions: [5] }))).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect(await codeOf(admin.listOffsets({ topic, at: { timestamp: -5 } }))).toBe("config");
  });
});
