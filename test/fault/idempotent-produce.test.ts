// End-to-end fault test of the broker's idempotence: `rivulet broker` runs as a child process behind the fault
// proxy, which drops responses after the broker handled the request, cuts connections and delays requests at
// (seeded) random; the broker is also SIGKILLed with requests in flight and restarted on the same data dir. A
// minimal idempotent producer over the raw protocol (one producer id, three partitions, up to 5 batches in flight
// per partition, 1 to 3 batches per request, acks=all) resends every unanswered batch with the same sequence on a
// new connection, in order.
//
// At the end, read directly from the broker: each partition holds every sent record exactly once, in send order,
// and every acknowledged batch sits at the offset its acknowledgement named (a duplicate's answer is the original
// offset). Record values are "<partition>:<sequence>", so presence, duplicates and order are checked by value.
import { afterAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ErrorCode, InitProducerIdApi, ProduceApi } from "../../core/formats/protocol/index.ts";
import { encodeRecordBatch } from "../../core/formats/record-batch.ts";
import { RawClient } from "../e2e/raw-client.ts";
import { type BrokerProcess, sourceCommand, startBrokerProcess, started } from "./fixtures/broker-process.ts";
import { createTopic, fetchAll, produceRequest } from "./fixtures/broker-traffic.ts";
import { FaultProxy } from "./proxy.ts";
import { seededRandom as random } from "../helpers/seeded-random.ts";

const SEED = 606;
const TOPIC = "idem";
const PARTITIONS = 3;
const BATCHES_PER_PARTITION = 1000;
const RECORDS_PER_BATCH_MAX = 4;
const IN_FLIGHT_PER_PARTITION_MAX = 5;
const KILLS = 5;
const RESPONSE_WAIT_MS = 10_000;
// Small segments: rolls (and their producer snapshots) happen throughout, so restarts replay from a snapshot.
const SEGMENT_BYTES = 8 * 1024;

const root = fs.mkdtempSync(join(tmpdir(), "rivulet-idem-fault-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

interface PendingBatch {
  partition: number;
  firstSequence: number;
  count: number;
  bytes: Uint8Array;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

describe("idempotent produce through faults", () => {
  test("dropped answers, cuts, delays and broker SIGKILLs: every record exactly once, in order, at its acknowledged offset", async () => {
    const dataDir = join(root, "data");
    const rng = random(SEED);
    const startBroker = async () => started(await startBrokerProcess(sourceCommand(["--port", "0", "--data-dir", dataDir, "--set", `log.segment.bytes=${SEGMENT_BYTES}`])));
    let broker: BrokerProcess = await startBroker();
    const proxy = await FaultProxy.start({
      targetPort: broker.port,
      seed: SEED,
      faults: { dropResponse: 0.03, cutBeforeRequest: 0.01, delayRequest: 0.05, delayMsMax: 5 },
    });
    try {
      const setup = await RawClient.connect(broker.port);
      await createTopic(setup, TOPIC, PARTITIONS);
      const init = await setup.request(InitProducerIdApi, { transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1 });
      setup.close();
      expect(init.errorCode).toBe(0);
      const producerId = init.producerId;

      // Build every batch up front: a resend is the same bytes with the same sequence.
      const unacked: PendingBatch[][] = [];
      const recordsSent: number[] = [];
      for (let partition = 0; partition < PARTITIONS; partition++) {
        const list: PendingBatch[] = [];
        let sequence = 0;
        for (let b = 0; b < BATCHES_PER_PARTITION; b++) {
          const count = 1 + Math.floor(rng() * RECORDS_PER_BATCH_MAX);
          const records = Array.from({ length: count }, (_, i) => ({ value: encoder.encode(`${partition}:${sequence + i}`), timestamp: 1_763_700_000_000 }));
          list.push({ partition, firstSequence: sequence, count, bytes: encodeRecordBatch({ producerId, producerEpoch: 0, baseSequence: sequence, records }) });
          sequence += count;
        }
        unacked.push(list);
        recordsSent.push(sequence);
      }
      const acknowledged = new Map<string, number>(); // "<partition>:<firstSequence>" -> base offset
      const totalBatches = PARTITIONS * BATCHES_PER_PARTITION;
      const killAt = new Set(Array.from({ length: KILLS }, (_, k) => Math.floor(((k + 1) * totalBatches) / (KILLS + 1))));
      let connections = 0;
      let resends = 0;
      const sentOnce = new Set<PendingBatch>();

      while (unacked.some((list) => list.length > 0)) {
        connections++;
        expect(connections).toBeLessThan(2000);
        const client = await RawClient.connect(proxy.port);
        // Per connection: the first batches of each partition, in order, at most 5 per partition in flight.
        const inFlight: { correlationId: number; batches: PendingBatch[] }[] = [];
        const sent = new Array<number>(PARTITIONS).fill(0);
        const fill = () => {
          for (let partition = 0; partition < PARTITIONS; partition++) {
            const list = unacked[partition]!;
            while (sent[partition]! < Math.min(list.length, IN_FLIGHT_PER_PARTITION_MAX)) {
              if (client.isClosed) return;
              // 1 to 3 consecutive batches in one request, as the SDK sends them (checked all or nothing).
              const room = Math.min(list.length, IN_FLIGHT_PER_PARTITION_MAX) - sent[partition]!;
              const group = list.slice(sent[partition]!, sent[partition]! + Math.min(room, 1 + Math.floor(rng() * 3)));
              for (const batch of group) {
                if (sentOnce.has(batch)) resends++;
                sentOnce.add(batch);
              }
              const records = group.length === 1 ? group[0]!.bytes : Buffer.concat(group.map((batch) => batch.bytes));
              inFlight.push({ correlationId: client.send(ProduceApi, produceRequest(TOPIC, partition, records, -1)), batches: group });
              sent[partition]! += group.length;
            }
          }
        };
        fill();
        while (inFlight.length > 0 && !client.isClosed) {
          const request = inFlight.shift()!;
          let response;
          try {
            response = await client.receive(ProduceApi, request.correlationId, 0, RESPONSE_WAIT_MS);
          } catch (error) {
            if (client.isClosed) break;
            throw error;
          }
          const answer = response.topics[0]!.partitions[0]!;
          expect(answer.errorCode).toBe(ErrorCode.NONE);
          const partition = request.batches[0]!.partition;
          const list = unacked[partition]!;
          // Answers come in order: these are the partition's oldest unacknowledged batches; they sit back to back
          // from the answer's base offset (whether written now or answered as duplicates of earlier writes).
          let offset = answer.baseOffset;
          for (const batch of request.batches) {
            expect(list[0]).toBe(batch);
            list.shift();
            acknowledged.set(`${partition}:${batch.firstSequence}`, offset);
            offset += batch.count;
          }
          sent[partition]! -= request.batches.length;
          if ([...killAt].some((at) => acknowledged.size >= at)) {
            for (const at of [...killAt]) if (acknowledged.size >= at) killAt.delete(at);
            // SIGKILL with requests in flight, then a restart on the same data dir (on a new port).
            await broker.stop("SIGKILL");
            broker = await startBroker();
            proxy.setTarget(broker.port);
            break;
          }
          fill();
        }
        if (!client.isClosed) client.close();
      }
      expect(killAt.size).toBe(0);
      expect(proxy.stats.responsesDropped).toBeGreaterThan(0);
      expect(proxy.stats.cuts).toBeGreaterThan(0);
      expect(resends).toBeGreaterThan(0);

      const reader = await RawClient.connect(broker.port);
      for (let partition = 0; partition < PARTITIONS; partition++) {
        const log = await fetchAll(reader, TOPIC, partition);
        const values = log.records.map((record) => decoder.decode(record.value!));
        const total = recordsSent[partition]!;
        expect(values).toEqual(Array.from({ length: total }, (_, i) => `${partition}:${i}`));
        const offsetOf = new Map(log.records.map((record) => [decoder.decode(record.value!), record.offset]));
        for (const [key, offset] of acknowledged) if (key.startsWith(`${partition}:`)) expect(offsetOf.get(key)).toBe(offset);
      }
      reader.close();
    } finally {
      await proxy.close();
      if (broker.process.exitCode === null && broker.process.signalCode === null) await broker.stop("SIGTERM");
    }
  }, 90_000);
});
