// Helpers of the producer tests: make a producer on its own Cluster, create topics and read a partition back
// through the protocol (Fetch, every batch decoded with its CRC checked), independent of the consumer.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Connection } from "../../../client/connection.ts";
import { Broker } from "../../../core/engine/broker.ts";
import { type BrokerServer, startBrokerServer } from "../../../server/broker-server.ts";
import { Cluster, resolveClientOptions } from "../../../client/cluster.ts";
import { RivuletClosedError } from "../../../client/errors.ts";
import { Producer } from "../../../client/producer/producer.ts";
import { CreateTopicsApi } from "../../../core/formats/protocol/create-topics.ts";
import { FetchApi } from "../../../core/formats/protocol/fetch.ts";
import { LOG_OVERHEAD_BYTES, LENGTH_OFFSET } from "../../../core/formats/record-batch-header.ts";
import { decodeRecordBatch } from "../../../core/formats/record-batch.ts";

/** A producer of its own cluster on `address` with raw producer options (test-friendly client retry settings). */
export function newProducer(address: string, options: Record<string, unknown> = {}, clientOptions: Record<string, unknown> = {}): Producer {
  return new Producer(Cluster.create({ brokers: [address], clientId: "producer-test", ...clientOptions }), options);
}

/**
 * A Cluster whose every connection goes to one address (a fault proxy in front of the broker), whatever metadata
 * says: the broker advertises its own port, so a plain Cluster would bypass the proxy after bootstrap.
 */
export class ProxiedCluster extends Cluster {
  #open: Connection | null = null;
  #opening: Promise<Connection> | null = null;
  readonly #port: number;

  constructor(port: number, clientOptions: Record<string, unknown> = {}) {
    super(resolveClientOptions({ brokers: [`127.0.0.1:${port}`], clientId: "producer-test", ...clientOptions }));
    this.#port = port;
  }

  override anyConnection(): Promise<Connection> {
    return this.#proxied();
  }

  override connectionTo(_nodeId: number): Promise<Connection> {
    return this.#proxied();
  }

  override async close(): Promise<void> {
    await super.close();
    const open = this.#open;
    this.#open = null;
    if (open !== null) await open.close();
  }

  async #proxied(): Promise<Connection> {
    if (this.isClosed) throw new RivuletClosedError("client");
    if (this.#open !== null && !this.#open.isClosed) return this.#open;
    this.#opening ??= Connection.open({
      host: "127.0.0.1",
      port: this.#port,
      clientId: this.clientId,
      connectTimeoutMs: this.options.connectionTimeout,
      requestTimeoutMs: this.options.requestTimeout,
      maxInFlightRequests: this.maxInFlightRequests,
    })
      .then((connection) => {
        if (this.isClosed) {
          void connection.close();
          throw new RivuletClosedError("client");
        }
        this.#open = connection;
        connection.onClose((reason) => {
          if (reason !== null) this.invalidate();
        });
        return connection;
      })
      .finally(() => (this.#opening = null));
    return this.#opening;
  }
}

/** A producer whose every request goes through the proxy on `port`, with raw producer and client options. */
export function newProxiedProducer(port: number, options: Record<string, unknown> = {}, clientOptions: Record<string, unknown> = {}): Producer {
  return new Producer(new ProxiedCluster(port, clientOptions), options);
}

/** Opens a plain connection to the broker on `port`. */
export function openConnection(port: number): Promise<Connection> {
  return Connection.open({ host: "127.0.0.1", port, clientId: "producer-test", connectTimeoutMs: 5000, requestTimeoutMs: 10000, maxInFlightRequests: 5 });
}

/** Creates `topic` with `partitions` partitions (and topic configs). */
export async function createTopic(port: number, topic: string, partitions: number, configs: Record<string, string> = {}): Promise<void> {
  const connection = await openConnection(port);
  try {
    const response = await connection.request(CreateTopicsApi, {
      topics: [{ name: topic, numPartitions: partitions, replicationFactor: 1, configs: Object.entries(configs).map(([name, value]) => ({ name, value })) }],
      timeoutMs: 5000,
      validateOnly: false,
    });
    const code = response.topics[0]?.errorCode;
    if (code !== 0) throw new Error(`CreateTopics ${topic} failed with ${code}`);
  } finally {
    await connection.close();
  }
}

/** A record read back, with the batch it came in. */
export interface ReadRecord {
  offset: number;
  timestamp: number;
  key: string | null;
  value: string | null;
  headers: { key: string; value: string | null }[];
  batchBaseOffset: number;
  batchCodec: number;
  batchRecords: number;
  producerId: number;
  baseSequence: number;
}

const decoder = new TextDecoder();
const text = (bytes: Uint8Array | null): string | null => (bytes === null ? null : decoder.decode(bytes));

/** Every record of `topic`/`partition` from offset 0 to the high watermark, CRC-checked. */
export async function readPartition(port: number, topic: string, partition: number): Promise<ReadRecord[]> {
  const connection = await openConnection(port);
  const out: ReadRecord[] = [];
  try {
    let offset = 0;
    for (;;) {
      const response = await connection.request(FetchApi, {
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 8 * 1024 * 1024,
        isolationLevel: 0,
        topics: [{ name: topic, partitions: [{ index: partition, fetchOffset: offset, partitionMaxBytes: 8 * 1024 * 1024 }] }],
      });
      const answer = response.topics[0]!.partitions[0]!;
      if (answer.errorCode !== 0) throw new Error(`Fetch ${topic}/${partition} failed with ${answer.errorCode}`);
      const records = answer.records;
      let position = 0;
      let progressed = false;
      while (position + LOG_OVERHEAD_BYTES <= records.length) {
        const size = LOG_OVERHEAD_BYTES + new DataView(records.buffer, records.byteOffset + position).getInt32(LENGTH_OFFSET);
        if (position + size > records.length) break;
        const batch = decodeRecordBatch(records.subarray(position, position + size));
        if (!batch.ok) throw new Error(`bad batch at ${offset}: ${batch.error}`);
        for (const record of batch.value.records) {
          if (record.offset < offset) continue;
          out.push({
            offset: record.offset,
            timestamp: record.timestamp,
            key: text(record.key),
            value: text(record.value),
            headers: record.headers.map((header) => ({ key: header.key, value: text(header.value) })),
            batchBaseOffset: batch.value.baseOffset,
            batchCodec: batch.value.codec,
            batchRecords: batch.value.recordsCount,
            producerId: Number(batch.value.producerId),
            baseSequence: batch.value.baseSequence,
          });
          offset = record.offset + 1;
          progressed = true;
        }
        position += size;
      }
      if (!progressed || offset >= answer.highWatermark) break;
    }
  } finally {
    await connection.close();
  }
  return out;
}

/** An in-process broker that can be stopped and started again on the same port and data directory. */
export interface RestartableBroker {
  readonly port: number;
  readonly address: string;
  /** Stops the server (answering what it read) and closes the engine. */
  stop(): Promise<void>;
  /** Starts engine and server again on the same port and data directory. */
  start(): Promise<void>;
  /** Stops and removes the data directory. */
  destroy(): Promise<void>;
}

/** Starts a restartable in-process broker on 127.0.0.1, port 0. */
export async function startRestartableBroker(): Promise<RestartableBroker> {
  const dataDir = mkdtempSync(join(tmpdir(), "rivulet-producer-"));
  const open = async (port: number): Promise<{ broker: Broker; server: BrokerServer }> => {
    const broker = await Broker.open({ dataDir, retentionCheckIntervalMs: 0, cleanerIntervalMs: 0, flushCheckIntervalMs: 0 });
    const server = await startBrokerServer(broker, { host: "127.0.0.1", port });
    return { broker, server };
  };
  let running: { broker: Broker; server: BrokerServer } | null = await open(0);
  const port = running.server.port;
  const stop = async (): Promise<void> => {
    if (running === null) return;
    const { broker, server } = running;
    running = null;
    await server.close();
    await broker.close();
  };
  return {
    port,
    address: `127.0.0.1:${port}`,
    stop,
    async start() {
      if (running === null) running = await open(port);
    },
    async destroy() {
      await stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
