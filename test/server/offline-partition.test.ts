// A partition the engine could not open (a bad batch in the middle of its log) is served as OFFLINE: Metadata
// reports it with KAFKA_STORAGE_ERROR and no leader, Produce, Fetch and ListOffsets answer it with
// KAFKA_STORAGE_ERROR, and the topic's other partitions keep serving.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Broker } from "../../core/engine/broker.ts";
import { CHECKPOINT_FILE_NAME } from "../../core/engine/checkpoint.ts";
import { ErrorCode } from "../../core/formats/protocol/errors.ts";
import { FetchApi } from "../../core/formats/protocol/fetch.ts";
import { ListOffsetsApi } from "../../core/formats/protocol/list-offsets.ts";
import { MetadataApi } from "../../core/formats/protocol/metadata.ts";
import { ProduceApi } from "../../core/formats/protocol/produce.ts";
import { type BrokerServer, startBrokerServer } from "../../server/broker-server.ts";
import { RawClient } from "../e2e/raw-client.ts";
import { fetchRequest, produceRequest, testBatch } from "./server-fixture.ts";

let dataDir: string;
let broker: Broker;
let server: BrokerServer;
let client: RawClient;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "rivulet-offline-"));
  const first = await Broker.open({ dataDir, retentionCheckIntervalMs: 0, cleanerIntervalMs: 0, flushCheckIntervalMs: 0 });
  await first.createTopic("half", { partitions: 2 });
  const log = first.partition("half", 0);
  if (!log.ok) throw new Error("no partition");
  log.value.append(testBatch(2, "a"));
  log.value.rollNow();
  log.value.append(testBatch(2, "b"));
  await first.close();
  // Flip a byte inside the first (now inactive) segment's batch: a bad batch with a valid one after it.
  const dir = join(dataDir, "half-0");
  const segment = join(dir, readdirSync(dir).filter((name) => name.endsWith(".log")).sort()[0]!);
  const bytes = readFileSync(segment);
  bytes[bytes.length - 3]! ^= 0xff;
  writeFileSync(segment, bytes);
  // Without its checkpoint the log is scanned on open, as after a crash, and the bad batch is found.
  rmSync(join(dir, CHECKPOINT_FILE_NAME));
  broker = await Broker.open({ dataDir, retentionCheckIntervalMs: 0, cleanerIntervalMs: 0, flushCheckIntervalMs: 0 });
  server = await startBrokerServer(broker, { host: "127.0.0.1", port: 0 });
  client = await RawClient.connect(server.port);
});

afterAll(async () => {
  client.close();
  await server.close();
  await broker.close();
  rmSync(dataDir, { recursive: true, force: true });
});

test("an OFFLINE partition answers KAFKA_STORAGE_ERROR everywhere; its sibling serves", async () => {
  const described = broker.describeTopic("half");
  expect(described.ok && described.value.partitions[0]!.state).toBe("offline");
  const metadata = await client.request(MetadataApi, { topics: ["half"], allowAutoTopicCreation: false });
  expect(metadata.topics[0]!.partitions[0]!).toMatchObject({ errorCode: ErrorCode.KAFKA_STORAGE_ERROR, leaderId: -1, offlineReplicas: [0] });
  expect(metadata.topics[0]!.partitions[1]!).toMatchObject({ errorCode: 0, leaderId: 0 });
  const produced = await client.request(ProduceApi, produceRequest("half", 0, testBatch(1), 1));
  expect(produced.topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
  const fetched = await client.request(FetchApi, fetchRequest("half", 0, 0, { maxWaitMs: 10_000 }));
  expect(fetched.topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
  const offsets = await client.request(ListOffsetsApi, { isolationLevel: 0, topics: [{ name: "half", partitions: [{ index: 0, timestamp: -1 }] }] });
  expect(offsets.topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
  const sibling = await client.request(ProduceApi, produceRequest("half", 1, testBatch(1), -1));
  expect(sibling.topics[0]!.partitions[0]!.errorCode).toBe(0);
});
