// Test fixture: an engine in a fresh temporary data directory, a server on 127.0.0.1 port 0, and raw clients
// that are all closed when the fixture stops.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Broker, type BrokerOptions } from "../../core/engine/broker.ts";
import { decodeRecordBatch, encodeRecordBatch } from "../../core/formats/record-batch.ts";
import { type BrokerServer, type ServerOptions, startBrokerServer } from "../../server/broker-server.ts";
import { RawClient } from "../e2e/raw-client.ts";

/** A running broker + server for one test. */
export interface TestServer {
  broker: Broker;
  server: BrokerServer;
  dataDir: string;
  port: number;
  /** A new raw client connection, closed by stop(). */
  client(): Promise<RawClient>;
  /** Closes clients, the server, the broker, and removes the data directory. */
  stop(): Promise<void>;
}

/** Starts an engine and a server for a test. */
export async function startTestServer(options: Partial<ServerOptions> = {}, brokerOptions: Partial<BrokerOptions> = {}): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), "rivulet-server-"));
  const broker = await Broker.open({ dataDir, retentionCheckIntervalMs: 0, cleanerIntervalMs: 0, flushCheckIntervalMs: 0, ...brokerOptions });
  const server = await startBrokerServer(broker, { host: "127.0.0.1", port: 0, ...options });
  const clients: RawClient[] = [];
  return {
    broker,
    server,
    dataDir,
    port: server.port,
    async client() {
      const client = await RawClient.connect(server.port);
      clients.push(client);
      return client;
    },
    async stop() {
      for (const client of clients) if (!client.isClosed) client.close();
      await server.close();
      await broker.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A valid uncompressed batch of `count` records with values `${prefix}-${i}`. */
export function testBatch(count: number, prefix = "v", timestamp = 1_763_700_000_000): Uint8Array {
  return encodeRecordBatch({ records: Array.from({ length: count }, (_, i) => ({ key: `k${i}`, value: `${prefix}-${i}`, timestamp: timestamp + i })) });
}

/** Every record value (as text) of the whole batches in a fetched `records` bin, in order; a cut-off last batch is ignored. */
export function recordValues(records: Uint8Array): string[] {
  const out: string[] = [];
  const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
  let position = 0;
  while (position + 12 <= records.byteLength) {
    const size = 12 + view.getInt32(position + 8);
    if (position + size > records.byteLength) break;
    const batch = decodeRecordBatch(records.subarray(position, position + size));
    if (!batch.ok) throw new Error(`fetched batch does not decode: ${batch.error}`);
    for (const record of batch.value.records) out.push(record.value === null ? "<null>" : textDecoder.decode(record.value));
    position += size;
  }
  return out;
}

/** Base offsets of the whole batches in a fetched `records` bin. */
export function batchBaseOffsets(records: Uint8Array): number[] {
  const out: number[] = [];
  const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
  let position = 0;
  while (position + 12 <= records.byteLength) {
    const size = 12 + view.getInt32(position + 8);
    if (position + size > records.byteLength) break;
    out.push(Number(view.getBigInt64(position)));
    position += size;
  }
  return out;
}

const textDecoder = new TextDecoder();

/** A Produce request body for one partition. */
export function produceRequest(topic: string, partition: number, records: Uint8Array, acks = 1) {
  return { transactionalId: null, acks, timeoutMs: 5000, topics: [{ name: topic, partitions: [{ index: partition, records }] }] };
}

/** A Fetch request body for one partition. */
export function fetchRequest(topic: string, partition: number, fetchOffset: number, options: { maxWaitMs?: number; minBytes?: number; maxBytes?: number; partitionMaxBytes?: number } = {}) {
  return {
    maxWaitMs: options.maxWaitMs ?? 0,
    minBytes: options.minBytes ?? 1,
    maxBytes: options.maxBytes ?? 1 << 20,
    isolationLevel: 0,
    topics: [{ name: topic, partitions: [{ index: partition, fetchOffset, partitionMaxBytes: options.partitionMaxBytes ?? 1 << 20 }] }],
  };
}
