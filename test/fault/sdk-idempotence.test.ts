// Acceptance test of issue 6 through the SDK: the SDK producer (idempotence on by default) sends 100,000 records
// across several partitions to `rivulet broker` running as a child process, through the fault proxy
// (test/fault/proxy.ts), which at (seeded) random drops responses after the broker handled the request, cuts
// connections before requests and delays requests; the broker is also SIGKILLed with requests in flight and
// restarted on the same data dir a few times. Every connection the producer opens goes through the proxy
// (ProxiedCluster), so metadata, InitProducerId and Produce all meet the faults.
//
// Each record's value is its unique id "<partition>:<index in that partition's send order>". At the end, read
// back from the broker with raw fetches: each partition holds every record exactly once (zero duplicates, zero
// lost), in send order, and every acknowledged record sits at the offset its acknowledgement named.
import { afterAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RecordMetadata } from "../../client/records.ts";
import { RawClient } from "../e2e/raw-client.ts";
import { newProxiedProducer } from "../client/producer/producer-helpers.ts";
import { type BrokerProcess, sourceCommand, startBrokerProcess, started } from "./fixtures/broker-process.ts";
import { createTopic, fetchAll } from "./fixtures/broker-traffic.ts";
import { FaultProxy } from "./proxy.ts";

const SEED = 6606;
const TOPIC = "sdk-idem";
const PARTITIONS = 4;
const RECORDS = 100_000;
// Small batches and requests (batch.size 256 B, max.request.size 4 KiB): several hundred requests, so the random
// faults hit many of them.
// Records are handed to the producer in chunks; the broker is killed after some chunks, with requests in flight.
const CHUNK_RECORDS = 2_500;
const KILL_AFTER_CHUNKS: ReadonlySet<number> = new Set([8, 18, 30]);
// Small segments: rolls (and their producer snapshots) happen throughout, so restarts replay from a snapshot.
const SEGMENT_BYTES = 256 * 1024;
// The whole test, broker restarts included (a run takes a few seconds).
const TEST_TIMEOUT_MS = 60_000;

const root = fs.mkdtempSync(join(tmpdir(), "rivulet-sdk-idem-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const decoder = new TextDecoder();

describe("SDK idempotent producer through faults", () => {
  test(
    "dropped answers, cuts, delays and broker SIGKILLs: 100,000 sends end with zero duplicates, zero lost, send order kept",
    async () => {
      const dataDir = join(root, "data");
      const startBroker = async () => started(await startBrokerProcess(sourceCommand(["--port", "0", "--data-dir", dataDir, "--set", `log.segment.bytes=${SEGMENT_BYTES}`])));
      let broker: BrokerProcess = await startBroker();
      const proxy = await FaultProxy.start({
        targetPort: broker.port,
        seed: SEED,
        faults: { dropResponse: 0.04, cutBeforeRequest: 0.03, delayRequest: 0.05, delayMsMax: 5 },
      });
      const producer = newProxiedProducer(
        proxy.port,
        { "linger.ms": 2, "batch.size": 256, "max.request.size": 4096, "retry.backoff.ms": 10, "retry.backoff.max.ms": 100, "request.timeout.ms": 10_000, "delivery.timeout.ms": 80_000 },
        { retry: { retries: 1000, initialRetryTime: 10, maxRetryTime: 100 }, requestTimeout: 10_000, connectionTimeout: 5_000 },
      );
      try {
        const setup = await RawClient.connect(broker.port);
        await createTopic(setup, TOPIC, PARTITIONS);
        setup.close();

        const acknowledged: (RecordMetadata | undefined)[][] = Array.from({ length: PARTITIONS }, () => []);
        const failures: { id: string; error: Error }[] = [];
        const sentPerPartition = new Array<number>(PARTITIONS).fill(0);
        let settled = 0;
        let allSettled!: () => void;
        const done = new Promise<void>((resolve) => (allSettled = resolve));
        const settle = (): void => {
          if (++settled === RECORDS) allSettled();
        };
        let kills = 0;
        for (let chunk = 0; chunk * CHUNK_RECORDS < RECORDS; chunk++) {
          for (let i = chunk * CHUNK_RECORDS; i < Math.min(RECORDS, (chunk + 1) * CHUNK_RECORDS); i++) {
            const partition = i % PARTITIONS;
            const index = sentPerPartition[partition]!++;
            const id = `${partition}:${index}`;
            const waited = producer.produce(TOPIC, { value: id, partition }, (error, metadata) => {
              if (error !== null) failures.push({ id, error });
              else acknowledged[partition]![index] = metadata!;
              settle();
            });
            if (waited !== undefined) await waited;
          }
          // Let the sender run between chunks (the callbacks of earlier chunks arrive meanwhile).
          await new Promise<void>((resolve) => setImmediate(resolve));
          if (KILL_AFTER_CHUNKS.has(chunk)) {
            await broker.stop("SIGKILL");
            kills++;
            broker = await startBroker();
            proxy.setTarget(broker.port);
          }
        }
        await producer.flush().catch(() => undefined);
        await done;
        expect(kills).toBe(KILL_AFTER_CHUNKS.size);
        console.log(`sdk-idempotence: producer ${JSON.stringify(producer.stats)}, proxy ${JSON.stringify(proxy.stats)}`);
        const firstFailures = failures.slice(0, 3).map(({ id, error }) => `${id}: ${error.name} ${error.message}`);
        expect(firstFailures).toEqual([]);
        // The faults happened, and the producer had to resend.
        expect(proxy.stats.responsesDropped).toBeGreaterThan(0);
        expect(proxy.stats.cuts).toBeGreaterThan(0);
        expect(proxy.stats.delays).toBeGreaterThan(0);
        expect(producer.stats.retries).toBeGreaterThan(0);
        await producer.disconnect();

        const reader = await RawClient.connect(broker.port);
        try {
          let total = 0;
          for (let partition = 0; partition < PARTITIONS; partition++) {
            const log = await fetchAll(reader, TOPIC, partition);
            const values = log.records.map((record) => decoder.decode(record.value!));
            const sent = sentPerPartition[partition]!;
            total += values.length;
            // Zero duplicates, zero lost, send order: the partition is exactly its records in send order.
            if (values.length !== sent || values.some((value, index) => value !== `${partition}:${index}`)) {
              const seen = new Set<string>();
              const duplicates = values.filter((value) => seen.has(value) || !seen.add(value)).length;
              const firstOff = values.findIndex((value, index) => value !== `${partition}:${index}`);
              throw new Error(`partition ${partition}: ${values.length} records for ${sent} sent, ${duplicates} duplicates, first out of place at ${firstOff} (${values[firstOff]})`);
            }
            // Every acknowledgement named the offset where its record is.
            for (let index = 0; index < sent; index++) {
              const metadata = acknowledged[partition]![index];
              expect(metadata?.partition).toBe(partition);
              if (metadata?.offset !== BigInt(log.records[index]!.offset)) {
                throw new Error(`partition ${partition}: record ${index} acknowledged at ${metadata?.offset}, stored at ${log.records[index]!.offset}`);
              }
            }
          }
          expect(total).toBe(RECORDS);
        } finally {
          reader.close();
        }
      } finally {
        await producer.disconnect().catch(() => undefined);
        await proxy.close();
        if (broker.process.exitCode === null && broker.process.signalCode === null) await broker.stop("SIGTERM");
      }
    },
    TEST_TIMEOUT_MS,
  );
});
