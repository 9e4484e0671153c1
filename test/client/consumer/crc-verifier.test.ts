// The CRC-32C worker of the consumer (client/consumer/crc-verifier.ts): its CRCs equal the inline ones; fetch
// answers large enough for it are read whole and in order; a corrupt batch in such an answer stops delivery exactly
// as inline; a worker that can not start leaves consumption inline with the same results; and a process that
// consumed through it exits after disconnect.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import type { Connection } from "../../../client/connection.ts";
import { resolveConsumerOptions } from "../../../client/consumer/consumer-options.ts";
import { RivuletCorruptRecordError } from "../../../client/consumer/consumer-errors.ts";
import { CRC_WORKER_MIN_BYTES, CrcProgress, CrcVerifier } from "../../../client/consumer/crc-verifier.ts";
import { type ClusterAccess, Fetcher } from "../../../client/consumer/fetcher.ts";
import { PartitionRecords } from "../../../client/consumer/partition-records.ts";
import { crc32c } from "../../../core/formats/crc32c.ts";
import { ATTRIBUTES_OFFSET } from "../../../core/formats/record-batch-header.ts";
import { encodeRecordBatch } from "../../../core/formats/record-batch.ts";
import { type InProcessBroker, startBroker, topicName, within } from "../helpers.ts";
import { appendBatch, createTopic, openConnection } from "./consumer-helpers.ts";

const WAIT_MS = 20_000;
// Records of RECORD_VALUE_BYTES in batches of BATCH_RECORDS: about 100 KiB per batch, 1 MiB per 10 batches.
const RECORD_VALUE_BYTES = 200;
const BATCH_RECORDS = 500;
const BATCHES = 24;

let broker: InProcessBroker;
let connection: Connection;

beforeAll(async () => {
  broker = await startBroker();
  connection = await openConnection(broker.port);
});

afterAll(async () => {
  await connection.close();
  await broker.stop();
});

function records(from: number, count: number): { value: Uint8Array; timestamp: number }[] {
  return Array.from({ length: count }, (_, i) => {
    const value = new Uint8Array(RECORD_VALUE_BYTES).fill((from + i) & 0xff);
    new DataView(value.buffer).setUint32(0, from + i);
    return { value, timestamp: 1_700_000_000_000 + from + i };
  });
}

// A 1-partition topic of BATCHES batches (about 2.4 MiB), so answers of 1 MiB take the worker path.
async function bigTopic(): Promise<string> {
  const topic = topicName("crc");
  await createTopic(connection, topic, 1);
  for (let b = 0; b < BATCHES; b++) await appendBatch(connection, topic, 0, records(b * BATCH_RECORDS, BATCH_RECORDS));
  return topic;
}

// A verifier that counts the answers it took (so a test knows the worker path was used).
class CountingVerifier extends CrcVerifier {
  taken = 0;
  override check(batches: Uint8Array): CrcProgress | null {
    const progress = super.check(batches);
    if (progress !== null) this.taken += 1;
    return progress;
  }
}

function fetcherFor(verifier: CrcVerifier | null, options: Record<string, unknown> = {}): Fetcher {
  const cluster: ClusterAccess = { connectionFor: async () => connection, invalidate: () => undefined };
  return new Fetcher(cluster, resolveConsumerOptions({ "fetch.max.wait.ms": 50, ...options }), 5_000, verifier);
}

// Reads `count` messages from offset 0 of partition 0; returns each message's value's first four bytes (its index),
// and the error that stopped it, if any.
async function readAll(fetcher: Fetcher, topic: string, count: number): Promise<{ indexes: number[]; error: unknown }> {
  fetcher.assign([{ topic, partition: 0, offset: 0 }], "earliest");
  fetcher.start();
  const indexes: number[] = [];
  let error: unknown = null;
  await within(
    (async () => {
      try {
        while (indexes.length < count) {
          const batch = await fetcher.next(1_000);
          if (batch === null) break;
          for (const message of batch.messages) {
            const value = message.value as Uint8Array;
            indexes.push(new DataView(value.buffer, value.byteOffset).getUint32(0));
          }
        }
      } catch (thrown) {
        error = thrown;
      }
    })(),
    WAIT_MS,
    "reading",
  );
  fetcher.close();
  return { indexes, error };
}

const sequence = (count: number): number[] => Array.from({ length: count }, (_, i) => i);

// Waits (bounded) until the verifier has nothing in flight.
async function settled(verifier: CrcVerifier): Promise<void> {
  await within(
    (async () => {
      while (verifier.inFlight > 0) await new Promise((resolve) => setImmediate(resolve));
    })(),
    WAIT_MS,
    "worker answers",
  );
}

function batchesOf(count: number): { bytes: Uint8Array; crcs: number[] } {
  const parts = Array.from({ length: count }, (_, b) => {
    const batch = encodeRecordBatch({ records: records(b * BATCH_RECORDS, BATCH_RECORDS), codec: 0 });
    // The base offset is outside the CRC'd part: batches back to back as a log holds them.
    new DataView(batch.buffer, batch.byteOffset).setBigInt64(0, BigInt(b * BATCH_RECORDS));
    return batch;
  });
  const bytes = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.length;
  }
  return { bytes, crcs: parts.map((part) => crc32c(part.subarray(ATTRIBUTES_OFFSET))) };
}

test("the worker's CRCs are the inline ones, batch by batch; small answers stay inline", async () => {
  const verifier = new CrcVerifier();
  const { bytes, crcs } = batchesOf(4);
  expect(bytes.length).toBeGreaterThanOrEqual(CRC_WORKER_MIN_BYTES);
  const progress = verifier.check(bytes);
  expect(progress).not.toBeNull();
  await settled(verifier);
  expect(crcs.map((_, i) => progress!.crcOf(i))).toEqual(crcs);
  expect(progress!.crcOf(crcs.length)).toBe(-1);
  expect(verifier.check(bytes.subarray(0, CRC_WORKER_MIN_BYTES - 1))).toBeNull();
  verifier.close();
  expect(verifier.check(bytes)).toBeNull();
});

test("PartitionRecords compares a header's CRC with one computed elsewhere, and computes those it lacks", () => {
  const { bytes, crcs } = batchesOf(3);
  const known = (values: number[]) => ({ crcOf: (index: number) => values[index] ?? -1 });
  const agreeing = new PartitionRecords("t", 0, 0, 1500, bytes, true);
  agreeing.useCrcs(known([crcs[0]!, -1, crcs[2]!]));
  expect(agreeing.take(10_000).length).toBe(3 * BATCH_RECORDS);
  expect(agreeing.corrupt).toBeNull();
  // A wrong CRC from elsewhere is a mismatch, as a wrong one computed here is: the messages before it, then stop.
  const wrong = new PartitionRecords("t", 0, 0, 1500, bytes, true);
  wrong.useCrcs(known([crcs[0]!, (crcs[1]! ^ 1) >>> 0, crcs[2]!]));
  expect(wrong.take(10_000).length).toBe(BATCH_RECORDS);
  expect(wrong.take(10_000).length).toBe(0);
  expect(wrong.corrupt).toEqual({ offset: BATCH_RECORDS, error: "crc_mismatch" });
});

test("answers taking the worker path are read whole and in order", async () => {
  const topic = await bigTopic();
  const verifier = new CountingVerifier();
  const { indexes, error } = await readAll(fetcherFor(verifier), topic, BATCHES * BATCH_RECORDS);
  expect(error).toBeNull();
  expect(indexes).toEqual(sequence(BATCHES * BATCH_RECORDS));
  expect(verifier.taken).toBeGreaterThan(0);
  expect(verifier.failed).toBe(true); // closed with the fetcher
});

test("a corrupt batch in an answer on the worker path: the messages before it, then the inline error", async () => {
  const topic = await bigTopic();
  // Flip the last byte of the 5th batch in the segment file (a value byte: the framing stays intact).
  const dir = join(broker.dataDir, `${topic}-0`);
  const log = join(dir, readdirSync(dir).find((name) => name.endsWith(".log"))!);
  const bytes = readFileSync(log);
  let end = 0;
  for (let i = 0; i < 5; i++) end += 12 + bytes.readInt32BE(end + 8);
  bytes[end - 1]! ^= 0x01;
  writeFileSync(log, bytes);
  const verifier = new CountingVerifier();
  const viaWorker = await readAll(fetcherFor(verifier), topic, BATCHES * BATCH_RECORDS);
  expect(verifier.taken).toBeGreaterThan(0);
  const inline = await readAll(fetcherFor(new CrcVerifier(), { "fetch.max.bytes": CRC_WORKER_MIN_BYTES >> 1, "max.partition.fetch.bytes": CRC_WORKER_MIN_BYTES >> 1 }), topic, BATCHES * BATCH_RECORDS);
  for (const { indexes, error } of [viaWorker, inline]) {
    expect(indexes).toEqual(sequence(4 * BATCH_RECORDS));
    expect(error).toBeInstanceOf(RivuletCorruptRecordError);
    expect((error as RivuletCorruptRecordError).reason).toBe("crc_mismatch");
    expect((error as RivuletCorruptRecordError).offset).toBe(BigInt(4 * BATCH_RECORDS));
  }
});

test("a worker that can not start: every check runs inline, with the same results", async () => {
  const topic = await bigTopic();
  const verifier = new CountingVerifier(new URL("./no-such-crc-worker.ts", import.meta.url));
  const { indexes, error } = await readAll(fetcherFor(verifier), topic, BATCHES * BATCH_RECORDS);
  expect(error).toBeNull();
  expect(indexes).toEqual(sequence(BATCHES * BATCH_RECORDS));
  expect(verifier.failed).toBe(true);
});

test("a process that consumed through the worker exits after disconnect", async () => {
  const topic = await bigTopic();
  const child = Bun.spawn([process.execPath, join(import.meta.dir, "crc-exit-child.ts"), broker.address, topic, String(BATCHES * BATCH_RECORDS)], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const code = await within(child.exited, WAIT_MS, "the child's exit");
  expect(await new Response(child.stderr).text()).toBe("");
  expect(code).toBe(0);
  expect((await new Response(child.stdout).text()).trim()).toBe(`read ${BATCHES * BATCH_RECORDS}`);
});
