// Helpers of the consumer tests: create topics and append hand-built batches with the raw protocol (through the
// SDK's Connection, not the producer), so consumer tests depend on nothing but the wire format.
import { Cluster } from "../../../client/cluster.ts";
import { Connection } from "../../../client/connection.ts";
import { CreateTopicsApi } from "../../../core/formats/protocol/create-topics.ts";
import { ProduceApi } from "../../../core/formats/protocol/produce.ts";
import { type RecordInput, encodeRecordBatch } from "../../../core/formats/record-batch.ts";

/** Opens a handshaken connection to a broker on 127.0.0.1. */
export function openConnection(port: number): Promise<Connection> {
  return Connection.open({ host: "127.0.0.1", port, clientId: "consumer-test", connectTimeoutMs: 5_000, requestTimeoutMs: 10_000, maxInFlightRequests: 16 });
}

/** A Cluster for a consumer under test (fast retries so restart tests are quick). */
export function testCluster(address: string): Cluster {
  return Cluster.create({ brokers: [address], clientId: "consumer-test", retry: { retries: 50, initialRetryTime: 20, maxRetryTime: 200 } });
}

/** Creates a topic with `partitions` partitions; throws on any error. */
export async function createTopic(connection: Connection, topic: string, partitions: number, configs: [string, string][] = []): Promise<void> {
  const response = await connection.request(CreateTopicsApi, {
    topics: [{ name: topic, numPartitions: partitions, replicationFactor: 1, configs: configs.map(([name, value]) => ({ name, value })) }],
    timeoutMs: 5_000,
    validateOnly: false,
  });
  const code = response.topics[0]?.errorCode;
  if (code !== 0) throw new Error(`create ${topic}: error ${code} ${response.topics[0]?.errorMessage}`);
}

/** Appends one batch of `records` to a partition (acks=all); resolves with its base offset. */
export async function appendBatch(connection: Connection, topic: string, partition: number, records: readonly RecordInput[], codec = 0): Promise<number> {
  const batch = encodeRecordBatch({ records, codec });
  const response = await connection.request(ProduceApi, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 10_000,
    topics: [{ name: topic, partitions: [{ index: partition, records: batch }] }],
  });
  const answer = response.topics[0]?.partitions[0];
  if (answer === undefined || answer.errorCode !== 0) throw new Error(`produce ${topic}/${partition}: error ${answer?.errorCode}`);
  return answer.baseOffset;
}

/** `count` records "k<i>" -> "v<i>" starting at `from`, with one header, timestamps from `baseTimestamp`. */
export function makeRecords(from: number, count: number, baseTimestamp = 1_700_000_000_000): RecordInput[] {
  const records: RecordInput[] = [];
  for (let i = from; i < from + count; i++) {
    records.push({ key: `k${i}`, value: `v${i}`, headers: [{ key: "i", value: String(i) }], timestamp: baseTimestamp + i });
  }
  return records;
}
