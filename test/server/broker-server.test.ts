// The broker server end to end over real sockets: every API, ordering of pipelined answers, acks 0/1/all, long
// polls, auto-creation, connection limits and timeouts, and shutdown. Waits are on events with bounded timeouts.
import { afterEach, describe, expect, test } from "bun:test";
import { AlterConfigsApi } from "../../core/formats/protocol/alter-configs.ts";
import { ApiVersionsApi } from "../../core/formats/protocol/api-versions.ts";
import { API_VERSION_RANGES } from "../../core/formats/protocol/api-keys.ts";
import { CreatePartitionsApi } from "../../core/formats/protocol/create-partitions.ts";
import { CreateTopicsApi } from "../../core/formats/protocol/create-topics.ts";
import { DeleteTopicsApi } from "../../core/formats/protocol/delete-topics.ts";
import { ConfigResourceType, ConfigSource, DescribeConfigsApi } from "../../core/formats/protocol/describe-configs.ts";
import { decodeResponseBody } from "../../core/formats/protocol/envelope.ts";
import { ErrorCode } from "../../core/formats/protocol/errors.ts";
import { FetchApi } from "../../core/formats/protocol/fetch.ts";
import { InitProducerIdApi } from "../../core/formats/protocol/init-producer-id.ts";
import { ListOffsetsApi } from "../../core/formats/protocol/list-offsets.ts";
import { MetadataApi } from "../../core/formats/protocol/metadata.ts";
import { ProduceApi } from "../../core/formats/protocol/produce.ts";
import { encodeRecordBatch } from "../../core/formats/record-batch.ts";
import { readFileRangeSender } from "../../server/file-range.ts";
import { sendfileFileRangeSender } from "../../server/sendfile.ts";
import { RawClient } from "../e2e/raw-client.ts";
import { type TestServer, batchBaseOffsets, fetchRequest, produceRequest, recordValues, startTestServer, testBatch } from "./server-fixture.ts";

let fixture: TestServer | null = null;
afterEach(async () => {
  await fixture?.stop();
  fixture = null;
});

async function start(...args: Parameters<typeof startTestServer>): Promise<TestServer> {
  fixture = await startTestServer(...args);
  return fixture;
}

async function createTopic(client: RawClient, name: string, numPartitions = 1, configs: { name: string; value: string | null }[] = []) {
  const created = await client.request(CreateTopicsApi, { topics: [{ name, numPartitions, replicationFactor: -1, configs }], timeoutMs: 1000, validateOnly: false });
  expect(created.topics[0]!.errorCode).toBe(ErrorCode.NONE);
}

describe("ApiVersions and Metadata", () => {
  test("ApiVersions lists every supported range", async () => {
    const { client } = await start();
    const c = await client();
    const versions = await c.request(ApiVersionsApi, { clientSoftwareName: "raw", clientSoftwareVersion: "1" });
    expect(versions.errorCode).toBe(0);
    expect(versions.apiKeys).toEqual(API_VERSION_RANGES.map(({ apiKey, minVersion, maxVersion }) => ({ apiKey, minVersion, maxVersion })));
  });

  test("Metadata reports this broker at its bound port and every topic for a nil list", async () => {
    const { client, port } = await start();
    const c = await client();
    await createTopic(c, "alpha", 2);
    await createTopic(c, "beta", 1);
    const metadata = await c.request(MetadataApi, { topics: null, allowAutoTopicCreation: false });
    expect(metadata.brokers).toEqual([{ nodeId: 0, host: "127.0.0.1", port, rack: null }]);
    expect(metadata.controllerId).toBe(0);
    expect(metadata.topics.map((t) => [t.name, t.partitions.length])).toEqual([["alpha", 2], ["beta", 1]]);
    expect(metadata.topics[0]!.partitions[1]).toEqual({ errorCode: 0, partitionIndex: 1, leaderId: 0, leaderEpoch: 0, replicaNodes: [0], isrNodes: [0], offlineReplicas: [] });
    const none = await c.request(MetadataApi, { topics: [], allowAutoTopicCreation: true });
    expect(none.topics).toEqual([]);
  });

  test("Metadata reports advertised.listeners instead of the bound address when it is set", async () => {
    const { client, port } = await start({ advertised: { host: "localhost", port: 19192 } });
    const c = await client();
    const metadata = await c.request(MetadataApi, { topics: [], allowAutoTopicCreation: false });
    expect(port).not.toBe(19192);
    expect(metadata.brokers).toEqual([{ nodeId: 0, host: "localhost", port: 19192, rack: null }]);
  });

  test("auto-create follows auto.create.topics.enable, num.partitions and the request's flag", async () => {
    const { client, broker } = await start({ numPartitions: 3 });
    const c = await client();
    const notAllowed = await c.request(MetadataApi, { topics: ["auto1"], allowAutoTopicCreation: false });
    expect(notAllowed.topics[0]!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const created = await c.request(MetadataApi, { topics: ["auto1", "auto1"], allowAutoTopicCreation: true });
    expect(created.topics.length).toBe(1);
    expect(created.topics[0]!.errorCode).toBe(0);
    expect(created.topics[0]!.partitions.length).toBe(3);
    expect(broker.listTopics()).toEqual(["auto1"]);
    const invalid = await c.request(MetadataApi, { topics: ["bad/name"], allowAutoTopicCreation: true });
    expect(invalid.topics[0]!.errorCode).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
  });

  test("auto.create.topics.enable=false never creates", async () => {
    const { client, broker } = await start({ autoCreateTopicsEnable: false });
    const c = await client();
    const metadata = await c.request(MetadataApi, { topics: ["nope"], allowAutoTopicCreation: true });
    expect(metadata.topics[0]!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect(broker.listTopics()).toEqual([]);
  });
});

describe("admin APIs", () => {
  test("CreateTopics: defaults, validateOnly, duplicates, bad configs, existing topics", async () => {
    const { client, broker } = await start({ numPartitions: 2 });
    const c = await client();
    const result = await c.request(CreateTopicsApi, {
      topics: [
        { name: "t1", numPartitions: -1, replicationFactor: -1, configs: [{ name: "retention.ms", value: "1000" }] },
        { name: "t2", numPartitions: 4, replicationFactor: 1, configs: [] },
        { name: "dup", numPartitions: 1, replicationFactor: 1, configs: [] },
        { name: "dup", numPartitions: 1, replicationFactor: 1, configs: [] },
        { name: "badcfg", numPartitions: 1, replicationFactor: 1, configs: [{ name: "no.such.config", value: "1" }] },
        { name: "rf3", numPartitions: 1, replicationFactor: 3, configs: [] },
        { name: "zero", numPartitions: 0, replicationFactor: 1, configs: [] },
      ],
      timeoutMs: 1000,
      validateOnly: false,
    });
    expect(result.topics.map((t) => [t.name, t.errorCode, t.numPartitions])).toEqual([
      ["t1", 0, 2],
      ["t2", 0, 4],
      ["dup", ErrorCode.INVALID_REQUEST, -1],
      ["dup", ErrorCode.INVALID_REQUEST, -1],
      ["badcfg", ErrorCode.INVALID_CONFIG, -1],
      ["rf3", ErrorCode.INVALID_REPLICATION_FACTOR, -1],
      ["zero", ErrorCode.INVALID_PARTITIONS, -1],
    ]);
    expect(broker.topicConfig("t1").ok && (broker.topicConfig("t1") as { value: { retentionMs: number } }).value.retentionMs).toBe(1000);
    const again = await c.request(CreateTopicsApi, { topics: [{ name: "t1", numPartitions: 1, replicationFactor: 1, configs: [] }], timeoutMs: 1000, validateOnly: false });
    expect(again.topics[0]!.errorCode).toBe(ErrorCode.TOPIC_ALREADY_EXISTS);
    const validate = await c.request(CreateTopicsApi, {
      topics: [
        { name: "v1", numPartitions: 5, replicationFactor: 1, configs: [] },
        { name: "t1", numPartitions: 1, replicationFactor: 1, configs: [] },
        { name: "v.", numPartitions: 1, replicationFactor: 1, configs: [{ name: "cleanup.policy", value: "shred" }] },
      ],
      timeoutMs: 1000,
      validateOnly: true,
    });
    expect(validate.topics.map((t) => t.errorCode)).toEqual([0, ErrorCode.TOPIC_ALREADY_EXISTS, ErrorCode.INVALID_CONFIG]);
    expect(broker.listTopics()).toEqual(["t1", "t2"]);
    // Names of Object.prototype members are unknown configs like any other (found by the fuzz).
    for (const configName of ["constructor", "toString", "__proto__"]) {
      const odd = await c.request(CreateTopicsApi, { topics: [{ name: "odd", numPartitions: 1, replicationFactor: 1, configs: [{ name: configName, value: "1" }] }], timeoutMs: 1000, validateOnly: false });
      expect(odd.topics[0]!.errorCode).toBe(ErrorCode.INVALID_CONFIG);
      const alter = await c.request(AlterConfigsApi, { resources: [{ resourceType: ConfigResourceType.TOPIC, resourceName: "t1", configs: [{ name: configName, value: "1" }] }], validateOnly: false });
      expect(alter.responses[0]!.errorCode).toBe(ErrorCode.INVALID_CONFIG);
    }
  });

  test("DeleteTopics and CreatePartitions", async () => {
    const { client, broker } = await start();
    const c = await client();
    await createTopic(c, "grow", 1);
    await createTopic(c, "gone", 1);
    const checked = await c.request(CreatePartitionsApi, { topics: [{ name: "grow", count: 3 }, { name: "grow2", count: 3 }], timeoutMs: 1000, validateOnly: true });
    expect(checked.results.map((r) => r.errorCode)).toEqual([0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
    expect(broker.describeTopic("grow").ok && (broker.describeTopic("grow") as { value: { partitions: unknown[] } }).value.partitions.length).toBe(1);
    const grown = await c.request(CreatePartitionsApi, { topics: [{ name: "grow", count: 3 }], timeoutMs: 1000, validateOnly: false });
    expect(grown.results[0]!.errorCode).toBe(0);
    const shrink = await c.request(CreatePartitionsApi, { topics: [{ name: "grow", count: 2 }], timeoutMs: 1000, validateOnly: false });
    expect(shrink.results[0]!.errorCode).toBe(ErrorCode.INVALID_PARTITIONS);
    const metadata = await c.request(MetadataApi, { topics: ["grow"], allowAutoTopicCreation: false });
    expect(metadata.topics[0]!.partitions.length).toBe(3);
    const deleted = await c.request(DeleteTopicsApi, { topicNames: ["gone", "never"], timeoutMs: 1000 });
    expect(deleted.responses.map((r) => [r.name, r.errorCode])).toEqual([["gone", 0], ["never", ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]);
    expect(broker.listTopics()).toEqual(["grow"]);
  });

  test("DescribeConfigs and AlterConfigs (replace-all semantics)", async () => {
    const { client } = await start();
    const c = await client();
    await createTopic(c, "cfg", 1, [{ name: "retention.ms", value: "5000" }, { name: "segment.bytes", value: "1048576" }]);
    const described = await c.request(DescribeConfigsApi, { resources: [{ resourceType: ConfigResourceType.TOPIC, resourceName: "cfg", configurationKeys: ["retention.ms", "cleanup.policy", "nope"] }] });
    expect(described.results[0]!.errorCode).toBe(0);
    expect(described.results[0]!.configs).toEqual([
      { name: "cleanup.policy", value: "delete", readOnly: false, configSource: ConfigSource.DEFAULT_CONFIG, isSensitive: false },
      { name: "retention.ms", value: "5000", readOnly: false, configSource: ConfigSource.DYNAMIC_TOPIC_CONFIG, isSensitive: false },
    ]);
    const altered = await c.request(AlterConfigsApi, {
      resources: [
        { resourceType: ConfigResourceType.TOPIC, resourceName: "cfg", configs: [{ name: "retention.ms", value: "9000" }] },
        { resourceType: ConfigResourceType.TOPIC, resourceName: "missing", configs: [] },
        { resourceType: ConfigResourceType.BROKER, resourceName: "0", configs: [] },
      ],
      validateOnly: false,
    });
    expect(altered.responses.map((r) => r.errorCode)).toEqual([0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.INVALID_REQUEST]);
    const after = await c.request(DescribeConfigsApi, { resources: [{ resourceType: ConfigResourceType.TOPIC, resourceName: "cfg", configurationKeys: ["retention.ms", "segment.bytes"] }] });
    // segment.bytes was not named again, so it went back to its default.
    expect(after.results[0]!.configs.map((e) => [e.name, e.value, e.configSource])).toEqual([
      ["retention.ms", "9000", ConfigSource.DYNAMIC_TOPIC_CONFIG],
      ["segment.bytes", "1073741824", ConfigSource.DEFAULT_CONFIG],
    ]);
    const invalid = await c.request(AlterConfigsApi, { resources: [{ resourceType: ConfigResourceType.TOPIC, resourceName: "cfg", configs: [{ name: "retention.ms", value: "soon" }] }], validateOnly: true });
    expect(invalid.responses[0]!.errorCode).toBe(ErrorCode.INVALID_CONFIG);
    const brokerConfigs = await c.request(DescribeConfigsApi, { resources: [{ resourceType: ConfigResourceType.BROKER, resourceName: "0", configurationKeys: ["socket.request.max.bytes", "num.partitions"] }] });
    expect(brokerConfigs.results[0]!.configs.map((e) => [e.name, e.value])).toEqual([["num.partitions", "1"], ["socket.request.max.bytes", "104857600"]]);
  });

  test("InitProducerId hands out fresh producer ids; transactional ids are not supported yet", async () => {
    const { client } = await start();
    const c = await client();
    const first = await c.request(InitProducerIdApi, { transactionalId: null, transactionTimeoutMs: 1000, producerId: -1, producerEpoch: -1 });
    expect(first.errorCode).toBe(0);
    expect(first.producerId).toBeGreaterThanOrEqual(0);
    expect(first.producerEpoch).toBe(0);
    const second = await c.request(InitProducerIdApi, { transactionalId: null, transactionTimeoutMs: 1000, producerId: first.producerId, producerEpoch: 0 });
    expect(second.producerId).not.toBe(first.producerId);
    const transactional = await c.request(InitProducerIdApi, { transactionalId: "tx", transactionTimeoutMs: 1000, producerId: -1, producerEpoch: -1 });
    expect(transactional).toMatchObject({ errorCode: ErrorCode.UNSUPPORTED_VERSION, producerId: -1, producerEpoch: -1 });
  });
});

describe("Produce, Fetch, ListOffsets", () => {
  test("acks=1 and acks=all answer with offsets; records fetched back byte-exact in order", async () => {
    const { client, broker } = await start();
    const c = await client();
    await createTopic(c, "log", 2);
    const first = await c.request(ProduceApi, produceRequest("log", 1, testBatch(3, "a"), 1));
    expect(first.topics[0]!.partitions[0]!).toMatchObject({ index: 1, errorCode: 0, baseOffset: 0, logAppendTimeMs: -1, logStartOffset: 0 });
    // Two batches in one records bin: appended in order, baseOffset is the first one's.
    const two = new Uint8Array([...testBatch(2, "b"), ...testBatch(1, "c")]);
    const second = await c.request(ProduceApi, produceRequest("log", 1, two, -1));
    expect(second.topics[0]!.partitions[0]!.baseOffset).toBe(3);
    const log = broker.partition("log", 1);
    expect(log.ok ? Number(log.value.recoveryPoint) : -1).toBe(6);
    const fetched = await c.request(FetchApi, fetchRequest("log", 1, 0));
    const partition = fetched.topics[0]!.partitions[0]!;
    expect(partition).toMatchObject({ index: 1, errorCode: 0, highWatermark: 6, lastStableOffset: 6, logStartOffset: 0, abortedTransactions: null });
    expect(recordValues(partition.records)).toEqual(["a-0", "a-1", "a-2", "b-0", "b-1", "c-0"]);
    expect(batchBaseOffsets(partition.records)).toEqual([0, 3, 5]);
    const fromMiddle = await c.request(FetchApi, fetchRequest("log", 1, 5));
    expect(batchBaseOffsets(fromMiddle.topics[0]!.partitions[0]!.records)).toEqual([5]);
  });

  test("acks=0 gets no answer; the next request's answer comes next", async () => {
    const { client, broker } = await start();
    const c = await client();
    await createTopic(c, "quiet", 1);
    c.send(ProduceApi, produceRequest("quiet", 0, testBatch(2), 0));
    const id = c.send(ApiVersionsApi, { clientSoftwareName: null, clientSoftwareVersion: null });
    const answer = await c.nextResponse();
    expect(answer.correlationId).toBe(id);
    const log = broker.partition("quiet", 0);
    expect(log.ok ? Number(log.value.highWatermark) : -1).toBe(2);
  });

  test("acks=0 that fails closes the connection (the producer's only way to learn)", async () => {
    const { client } = await start();
    const c = await client();
    c.send(ProduceApi, produceRequest("missing", 0, testBatch(1), 0));
    await c.waitClosed();
  });

  test("per-partition errors: unknown partition, bad acks, corrupt batch, too large, empty, control batch", async () => {
    const { client, broker } = await start();
    const c = await client();
    await createTopic(c, "p", 1, [{ name: "max.message.bytes", value: "200" }]);
    const corrupt = testBatch(1);
    corrupt[corrupt.length - 1]! ^= 0xff;
    const result = await c.request(ProduceApi, {
      transactionalId: null,
      acks: 1,
      timeoutMs: 1000,
      topics: [
        { name: "p", partitions: [{ index: 0, records: corrupt }, { index: 7, records: testBatch(1) }, { index: 0, records: testBatch(20, "long-value") }, { index: 0, records: new Uint8Array(0) }] },
        { name: "nope", partitions: [{ index: 0, records: testBatch(1) }] },
      ],
    });
    expect(result.topics[0]!.partitions.map((p) => p.errorCode)).toEqual([
      ErrorCode.CORRUPT_MESSAGE,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      ErrorCode.MESSAGE_TOO_LARGE,
      ErrorCode.INVALID_RECORD,
    ]);
    expect(result.topics[0]!.partitions[0]!.baseOffset).toBe(-1);
    expect(result.topics[1]!.partitions[0]!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const badAcks = await c.request(ProduceApi, produceRequest("p", 0, testBatch(1), 2));
    expect(badAcks.topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.INVALID_REQUIRED_ACKS);
    // A valid batch followed by a corrupt one: nothing of the partition is written.
    const mixed = await c.request(ProduceApi, produceRequest("p", 0, new Uint8Array([...testBatch(1), ...corrupt]), 1));
    expect(mixed.topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);
    // A control batch (valid CRC): clients may not write transaction markers.
    const marker = encodeRecordBatch({ control: true, records: [{ key: new Uint8Array([0, 0, 0, 1]), value: new Uint8Array([0, 0, 0, 0, 0, 0]), timestamp: 1 }] });
    const controlResult = await c.request(ProduceApi, produceRequest("p", 0, marker, 1));
    expect(controlResult.topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.INVALID_RECORD);
    const log = broker.partition("p", 0);
    expect(log.ok ? Number(log.value.logEndOffset) : -1).toBe(0);
  });

  test("idempotent produce: a retried batch gets its original offset, a gap or an unknown producer is refused", async () => {
    const { client, broker } = await start();
    const c = await client();
    await createTopic(c, "idem", 1);
    const { producerId } = await c.request(InitProducerIdApi, { transactionalId: null, transactionTimeoutMs: 1000, producerId: -1, producerEpoch: -1 });
    const idempotent = (baseSequence: number, id = producerId) =>
      encodeRecordBatch({ producerId: id, producerEpoch: 0, baseSequence, records: [{ key: "k", value: `s${baseSequence}`, timestamp: 1 }, { key: "k", value: "x", timestamp: 2 }] });
    const first = await c.request(ProduceApi, produceRequest("idem", 0, idempotent(0), -1));
    expect(first.topics[0]!.partitions[0]!).toMatchObject({ errorCode: 0, baseOffset: 0 });
    const next = await c.request(ProduceApi, produceRequest("idem", 0, idempotent(2), 1));
    expect(next.topics[0]!.partitions[0]!).toMatchObject({ errorCode: 0, baseOffset: 2 });
    // The first batch again (a retry after a lost answer): its original offset, nothing written.
    const retry = await c.request(ProduceApi, produceRequest("idem", 0, idempotent(0), -1));
    expect(retry.topics[0]!.partitions[0]!).toMatchObject({ errorCode: 0, baseOffset: 0 });
    const gap = await c.request(ProduceApi, produceRequest("idem", 0, idempotent(9), 1));
    expect(gap.topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    const unknown = await c.request(ProduceApi, produceRequest("idem", 0, idempotent(7, 987_654), 1));
    expect(unknown.topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.UNKNOWN_PRODUCER_ID);
    const log = broker.partition("idem", 0);
    expect(log.ok ? Number(log.value.logEndOffset) : -1).toBe(4);
    const fetched = await c.request(FetchApi, fetchRequest("idem", 0, 0));
    expect(recordValues(fetched.topics[0]!.partitions[0]!.records)).toEqual(["s0", "x", "s2", "x"]);
  });

  test("Fetch size rules: partitionMaxBytes, maxBytes, and the first batch whole even when larger", async () => {
    const { client } = await start();
    const c = await client();
    await createTopic(c, "sizes", 2);
    for (let i = 0; i < 4; i++) await c.request(ProduceApi, produceRequest("sizes", 0, testBatch(5, `p0b${i}`), 1));
    await c.request(ProduceApi, produceRequest("sizes", 1, testBatch(5, "p1"), 1));
    const one = testBatch(5, "p0b0").byteLength;
    const tiny = await c.request(FetchApi, fetchRequest("sizes", 0, 0, { partitionMaxBytes: 1, maxBytes: 1 }));
    expect(batchBaseOffsets(tiny.topics[0]!.partitions[0]!.records)).toEqual([0]);
    const two = await c.request(FetchApi, fetchRequest("sizes", 0, 0, { partitionMaxBytes: 2 * one + 1 }));
    expect(batchBaseOffsets(two.topics[0]!.partitions[0]!.records)).toEqual([0, 5]);
    const both = await c.request(FetchApi, {
      maxWaitMs: 0,
      minBytes: 1,
      maxBytes: 3 * one,
      isolationLevel: 1,
      topics: [{ name: "sizes", partitions: [{ index: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }, { index: 1, fetchOffset: 0, partitionMaxBytes: 1 << 20 }] }],
    });
    // The whole response is bounded: partition 0 takes 3 batches, partition 1 gets nothing (no longer the first).
    expect(batchBaseOffsets(both.topics[0]!.partitions[0]!.records)).toEqual([0, 5, 10]);
    expect(both.topics[0]!.partitions[1]!.records.byteLength).toBe(0);
    expect(both.topics[0]!.partitions[1]!.highWatermark).toBe(5);
    expect(both.topics[0]!.partitions[0]!.abortedTransactions).toEqual([]);
  });

  test("Fetch errors: offset out of range, unknown partition", async () => {
    const { client } = await start();
    const c = await client();
    await createTopic(c, "f", 1);
    await c.request(ProduceApi, produceRequest("f", 0, testBatch(2), 1));
    const out = await c.request(FetchApi, fetchRequest("f", 0, 99));
    expect(out.topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
    const unknown = await c.request(FetchApi, fetchRequest("nope", 0, 0, { maxWaitMs: 5000 }));
    expect(unknown.topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const atEnd = await c.request(FetchApi, fetchRequest("f", 0, 2));
    expect(atEnd.topics[0]!.partitions[0]!).toMatchObject({ errorCode: 0, highWatermark: 2 });
    expect(atEnd.topics[0]!.partitions[0]!.records.byteLength).toBe(0);
  });

  test("ListOffsets: latest, earliest, max timestamp, by timestamp, unknown", async () => {
    const { client } = await start();
    const c = await client();
    await createTopic(c, "lo", 1);
    const empty = await c.request(ListOffsetsApi, { isolationLevel: 0, topics: [{ name: "lo", partitions: [{ index: 0, timestamp: -3 }] }] });
    expect(empty.topics[0]!.partitions[0]!).toMatchObject({ errorCode: 0, offset: -1, timestamp: -1 });
    await c.request(ProduceApi, produceRequest("lo", 0, testBatch(3, "x", 1000), 1));
    await c.request(ProduceApi, produceRequest("lo", 0, testBatch(3, "y", 5000), 1));
    await c.request(ProduceApi, produceRequest("lo", 0, testBatch(3, "z", 2000), 1));
    const answer = await c.request(ListOffsetsApi, {
      isolationLevel: 0,
      topics: [
        { name: "lo", partitions: [{ index: 0, timestamp: -1 }, { index: 0, timestamp: -2 }, { index: 0, timestamp: -3 }, { index: 0, timestamp: 1500 }, { index: 0, timestamp: 99999 }, { index: 0, timestamp: -7 }, { index: 4, timestamp: -1 }] },
        { name: "nope", partitions: [{ index: 0, timestamp: -1 }] },
      ],
    });
    expect(answer.topics[0]!.partitions.map((p) => [p.errorCode, p.offset, p.timestamp])).toEqual([
      [0, 9, -1],
      [0, 0, -1],
      // The record with the largest timestamp, and the first record at or after 1500 (record precision).
      [0, 5, 5002],
      [0, 3, 5000],
      [0, -1, -1],
      [ErrorCode.INVALID_REQUEST, -1, -1],
      [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1, -1],
    ]);
    expect(answer.topics[1]!.partitions[0]!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });
});

describe("ordering and long polls", () => {
  test("pipelined answers come in request order even when the first finishes last", async () => {
    const { client } = await start();
    const c = await client();
    const producer = await client();
    await createTopic(c, "order", 1);
    // A long-poll fetch that can only finish after an append, then three quick requests behind it.
    const fetchId = c.send(FetchApi, fetchRequest("order", 0, 0, { maxWaitMs: 10_000, minBytes: 1 }));
    const ids = [
      c.send(ApiVersionsApi, { clientSoftwareName: null, clientSoftwareVersion: null }),
      c.send(MetadataApi, { topics: ["order"], allowAutoTopicCreation: false }),
      c.send(ProduceApi, produceRequest("order", 0, testBatch(1, "own"), -1)),
    ];
    // The connection's own produce wakes its own fetch; the answers still come in order.
    const fetched = await c.receive(FetchApi, fetchId);
    expect(recordValues(fetched.topics[0]!.partitions[0]!.records)).toEqual(["own-0"]);
    for (const id of ids) expect((await c.nextResponse()).correlationId).toBe(id);
    await producer.request(ProduceApi, produceRequest("order", 0, testBatch(1), 1));
  });

  test("a pipelined acks=all produce holds back the metadata answer read after it", async () => {
    const { client } = await start();
    const c = await client();
    await createTopic(c, "sync", 1);
    const ids: number[] = [];
    for (let i = 0; i < 20; i++) {
      ids.push(c.send(ProduceApi, produceRequest("sync", 0, testBatch(2, `r${i}`), -1)));
      ids.push(c.send(MetadataApi, { topics: ["sync"], allowAutoTopicCreation: false }));
    }
    const offsets: number[] = [];
    for (let i = 0; i < ids.length; i++) {
      const response = await c.nextResponse();
      expect(response.correlationId).toBe(ids[i]!);
      if (i % 2 === 0) {
        const body = decodeResponseBody(ProduceApi, 0, response.body);
        expect(body.ok).toBe(true);
        if (body.ok) offsets.push(body.value.topics[0]!.partitions[0]!.baseOffset);
      }
    }
    expect(offsets).toEqual(Array.from({ length: 20 }, (_, i) => i * 2));
  });

  test("a long poll is woken by an append from another connection", async () => {
    const { client } = await start();
    const consumer = await client();
    const producer = await client();
    await createTopic(consumer, "wake", 2);
    const id = consumer.send(FetchApi, {
      maxWaitMs: 20_000,
      minBytes: 1,
      maxBytes: 1 << 20,
      isolationLevel: 0,
      topics: [{ name: "wake", partitions: [{ index: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }, { index: 1, fetchOffset: 0, partitionMaxBytes: 1 << 20 }] }],
    });
    const started = Date.now();
    await producer.request(ProduceApi, produceRequest("wake", 1, testBatch(2, "late"), 1));
    const fetched = await consumer.receive(FetchApi, id, 0, 5000);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(recordValues(fetched.topics[0]!.partitions[1]!.records)).toEqual(["late-0", "late-1"]);
  });

  test("a long poll waits for minBytes across appends, and times out at maxWaitMs with what it has", async () => {
    const { client, server } = await start();
    const consumer = await client();
    const producer = await client();
    await createTopic(consumer, "min", 1);
    const oneBatch = testBatch(1, "m").byteLength;
    const id = consumer.send(FetchApi, fetchRequest("min", 0, 0, { maxWaitMs: 300, minBytes: 100 * oneBatch }));
    await producer.request(ProduceApi, produceRequest("min", 0, testBatch(1, "m"), 1));
    const started = Date.now();
    const fetched = await consumer.receive(FetchApi, id, 0, 5000);
    // Not answered by the append (under minBytes): the 300 ms wait ran out (the sweep clock has ~ms resolution).
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(recordValues(fetched.topics[0]!.partitions[0]!.records)).toEqual(["m-0"]);
    expect(server.connectionCount()).toBe(2);
  });

  test("a client that closes with a parked fetch does not disturb the server", async () => {
    const fx = await start();
    const consumer = await fx.client();
    await createTopic(consumer, "gone", 1);
    consumer.send(FetchApi, fetchRequest("gone", 0, 0, { maxWaitMs: 20_000 }));
    const probe = await fx.client();
    await probe.request(ApiVersionsApi, { clientSoftwareName: null, clientSoftwareVersion: null });
    consumer.close();
    await consumer.waitClosed();
    // The server sees the close, then a produce wakes nobody and nothing is written to a dead socket.
    await probe.request(ProduceApi, produceRequest("gone", 0, testBatch(1), 1));
    await probe.request(ApiVersionsApi, { clientSoftwareName: null, clientSoftwareVersion: null });
  });
});

describe("a handler that throws (a bug)", () => {
  test("answers UNKNOWN_SERVER_ERROR after the answers before it, closes that connection only", async () => {
    const fx = await start();
    const victim = await fx.client();
    const bystander = await fx.client();
    await createTopic(victim, "fine", 1);
    const original = fx.broker.describeTopic.bind(fx.broker);
    fx.broker.describeTopic = (name: string) => {
      if (name === "boom") throw new Error("injected handler bug");
      return original(name);
    };
    const errors: unknown[] = [];
    const consoleError = console.error;
    console.error = (...args: unknown[]) => void errors.push(args);
    try {
      const first = victim.send(MetadataApi, { topics: ["fine"], allowAutoTopicCreation: false });
      const failing = victim.send(MetadataApi, { topics: ["boom"], allowAutoTopicCreation: false });
      victim.send(ApiVersionsApi, { clientSoftwareName: null, clientSoftwareVersion: null });
      expect((await victim.nextResponse()).correlationId).toBe(first);
      const failed = await victim.nextResponse();
      expect([failed.correlationId, failed.errorCode, failed.body]).toEqual([failing, ErrorCode.UNKNOWN_SERVER_ERROR, null]);
      await victim.waitClosed();
      const fine = await bystander.request(MetadataApi, { topics: ["fine"], allowAutoTopicCreation: false });
      expect(fine.topics[0]!.errorCode).toBe(0);
      expect(errors.length).toBe(1);
    } finally {
      console.error = consoleError;
      fx.broker.describeTopic = original;
    }
  });
});

describe("backpressure over a real socket", () => {
  test.each([
    ["read+write", readFileRangeSender],
    ["sendfile", sendfileFileRangeSender],
  ])("%s: a client that stops reading gets every large answer, whole and in order, once it reads again", async (_name, fileRangeSender) => {
    const fx = await start({ fileRangeSender, limits: { outboundHighWaterBytes: 1 << 20 } });
    const c = await fx.client();
    await createTopic(c, "large", 1);
    for (let i = 0; i < 8; i++) await c.request(ProduceApi, produceRequest("large", 0, testBatch(1, `${i}`.padEnd(64 * 1024, "x")), 1));
    c.pauseReading();
    const ids: number[] = [];
    // ~40 answers of ~512 KiB: far more than the kernel's buffers and the server's high-water mark.
    for (let i = 0; i < 40; i++) ids.push(c.send(FetchApi, fetchRequest("large", 0, i % 8, { maxBytes: 8 << 20 })));
    const produceId = c.send(ProduceApi, produceRequest("large", 0, testBatch(1, "after"), 1));
    c.resumeReading();
    for (let i = 0; i < 40; i++) {
      const fetched = await c.receive(FetchApi, ids[i]!);
      const values = recordValues(fetched.topics[0]!.partitions[0]!.records);
      expect(values.length).toBe(8 - (i % 8));
      expect(values[0]!.startsWith(`${i % 8}x`)).toBe(true);
    }
    const produced = await c.receive(ProduceApi, produceId);
    expect(produced.topics[0]!.partitions[0]!.baseOffset).toBe(8);
  });
});

describe("connection limits and shutdown", () => {
  test.each([
    ["max.connections", { maxConnections: 2 }],
    ["max.connections.per.ip", { maxConnections: 100, maxConnectionsPerIp: 2 }],
  ])("%s closes new connections at once, and admits again after one leaves", async (_name, limits) => {
    const fx = await start({ limits });
    const a = await fx.client();
    const b = await fx.client();
    await a.request(ApiVersionsApi, { clientSoftwareName: null, clientSoftwareVersion: null });
    await b.request(ApiVersionsApi, { clientSoftwareName: null, clientSoftwareVersion: null });
    const third = await fx.client();
    await third.waitClosed();
    expect(fx.server.connectionCount()).toBe(2);
    a.close();
    await a.waitClosed();
    // Once one leaves, a new one is admitted (the count is released on close).
    for (let attempt = 0; attempt < 50; attempt++) {
      const next = await fx.client();
      const answered = await next.request(ApiVersionsApi, { clientSoftwareName: null, clientSoftwareVersion: null }).then(
        () => true,
        () => false,
      );
      if (answered) return;
    }
    throw new Error("a connection was never admitted after one closed");
  });

  test("connections.max.idle.ms closes idle connections; a request keeps one alive", async () => {
    const fx = await start({ limits: { connectionsMaxIdleMs: 200 } });
    const idle = await fx.client();
    await idle.waitClosed(5000);
    const busy = await fx.client();
    const started = Date.now();
    await busy.request(ApiVersionsApi, { clientSoftwareName: null, clientSoftwareVersion: null });
    await busy.waitClosed(5000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
  });

  test("a peer that stops reading counts as idle: it cannot hold its queued answers forever", async () => {
    const fx = await start({ limits: { connectionsMaxIdleMs: 300 } });
    const c = await fx.client();
    await createTopic(c, "stuck", 1);
    for (let i = 0; i < 8; i++) await c.request(ProduceApi, produceRequest("stuck", 0, testBatch(1, "s".repeat(512 * 1024)), 1));
    c.pauseReading();
    for (let i = 0; i < 8; i++) c.send(FetchApi, fetchRequest("stuck", 0, 0, { maxBytes: 8 << 20, partitionMaxBytes: 8 << 20 }));
    // A paused client cannot see the close; the server's count shows it (yielding to the event loop, bounded).
    const deadline = Date.now() + 5000;
    while (fx.server.connectionCount() > 0 && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
    expect(fx.server.connectionCount()).toBe(0);
  });

  test("the header-read timeout closes a connection that sent part of a frame", async () => {
    const fx = await start({ limits: { requestHeaderTimeoutMs: 200 } });
    const partial = await fx.client();
    partial.sendBytes(new Uint8Array([0, 0, 0, 50, 0x95]));
    await partial.waitClosed(5000);
    const fine = await fx.client();
    await fine.request(ApiVersionsApi, { clientSoftwareName: null, clientSoftwareVersion: null });
    expect(fine.isClosed).toBe(false);
  });

  test("close() answers requests already read (a parked fetch at once), then closes connections", async () => {
    const fx = await start();
    const c = await fx.client();
    await createTopic(c, "bye", 1);
    const id = c.send(FetchApi, fetchRequest("bye", 0, 0, { maxWaitMs: 30_000 }));
    const id2 = c.send(ApiVersionsApi, { clientSoftwareName: null, clientSoftwareVersion: null });
    // Wait until the server has read both (it answers a third, pipelined after them, only after them).
    const probe = await fx.client();
    await probe.request(ApiVersionsApi, { clientSoftwareName: null, clientSoftwareVersion: null });
    const closing = fx.server.close();
    const fetched = await c.receive(FetchApi, id, 0, 5000);
    expect(fetched.topics[0]!.partitions[0]!.records.byteLength).toBe(0);
    expect((await c.nextResponse()).correlationId).toBe(id2);
    await closing;
    await c.waitClosed();
    expect(fx.server.connectionCount()).toBe(0);
    await expect(RawClient.connect(fx.port).then((late) => late.request(ApiVersionsApi, { clientSoftwareName: null, clientSoftwareVersion: null }, 2000))).rejects.toThrow();
  });
});
