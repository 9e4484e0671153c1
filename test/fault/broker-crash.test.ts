// Crash test of the whole broker: `rivulet broker` runs as a child process, the test produces with acks=all over
// the raw protocol (a few requests pipelined), and SIGKILLs the broker at seeded random points: after a random
// number of acknowledgements, at once or after a random few milliseconds, always with requests in flight. After each kill the broker restarts on the same data
// dir and the test fetches the whole log back: every acknowledged record must be there, at the offset its
// acknowledgement named, exactly once, and the log must hold records in the order they were sent (records whose
// request was in flight at the kill may or may not be there: their outcome was never reported).
//
// Every record's value is its unique sequence number, so presence, duplicates and order are all checked by value.
import { afterAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ProduceApi } from "../../core/formats/protocol/index.ts";
import { encodeRecordBatch } from "../../core/formats/record-batch.ts";
import { RawClient } from "../e2e/raw-client.ts";
import { type BrokerProcess, sourceCommand, startBrokerProcess, started } from "./fixtures/broker-process.ts";
import { createTopic, fetchAll, produceRequest } from "./fixtures/broker-traffic.ts";
import { seededRandom as random } from "../helpers/seeded-random.ts";

const CYCLES = 20;
const SEED = 4242;
const TOPIC = "crash";
const RECORDS_PER_BATCH_MAX = 20;
const IN_FLIGHT_MAX = 4;
const ACKS_BEFORE_KILL_MAX = 40;
const KILL_DELAY_MS_MAX = 30;
// A segment rolls every few KiB so kills also land around rolls and index writes.
const SEGMENT_BYTES = 16 * 1024;

const root = fs.mkdtempSync(join(tmpdir(), "rivulet-broker-crash-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

// Seeded PRNG (mulberry32) so a failing schedule reproduces.
const encoder = new TextEncoder();
const decoder = new TextDecoder();

interface Acked {
  sequence: number;
  offset: number;
}

// Produces batches of consecutive sequence numbers, IN_FLIGHT_MAX at a time. After `killAfter` acknowledgements the
// broker is SIGKILLed, either at once or after a random delay of up to KILL_DELAY_MS_MAX while producing goes on
// (so the kill also lands mid-request, mid-append and mid-fsync). Answers that arrive before the connection dies
// count as acknowledged; the rest were never acknowledged. Returns what was acknowledged.
async function produceUntilKill(broker: BrokerProcess, client: RawClient, firstSequence: number, killAfter: number, rng: () => number) {
  const acked: Acked[] = [];
  let nextSequence = firstSequence;
  const inFlight: { correlationId: number; first: number; count: number }[] = [];
  const sendOne = () => {
    const count = 1 + Math.floor(rng() * RECORDS_PER_BATCH_MAX);
    const records = Array.from({ length: count }, (_, i) => ({ value: encoder.encode(`seq:${nextSequence + i}`), timestamp: Date.now() }));
    const correlationId = client.send(ProduceApi, produceRequest(TOPIC, 0, encodeRecordBatch({ records }), -1));
    inFlight.push({ correlationId, first: nextSequence, count });
    nextSequence += count;
  };
  const killDelayMs = rng() < 0.5 ? 0 : Math.floor(rng() * KILL_DELAY_MS_MAX);
  let killTimer: ReturnType<typeof setTimeout> | undefined;
  let acks = 0;
  const kill = () => broker.process.kill("SIGKILL");
  if (killAfter === 0) killTimer = setTimeout(kill, killDelayMs);
  try {
    while (!client.isClosed) {
      while (inFlight.length < IN_FLIGHT_MAX) sendOne();
      const request = inFlight.shift()!;
      let response;
      try {
        response = await client.receive(ProduceApi, request.correlationId);
      } catch (error) {
        if (client.isClosed) break;
        throw error;
      }
      const answer = response.topics[0]!.partitions[0]!;
      expect(answer.errorCode).toBe(0);
      for (let i = 0; i < request.count; i++) acked.push({ sequence: request.first + i, offset: answer.baseOffset + i });
      if (++acks === killAfter) killTimer = setTimeout(kill, killDelayMs);
    }
  } finally {
    clearTimeout(killTimer);
  }
  expect(await broker.stop("SIGKILL")).not.toBe(0);
  expect(broker.process.signalCode).toBe("SIGKILL");
  return { acked, nextSequence };
}

describe("broker crash test", () => {
  test(`${CYCLES} SIGKILL cycles with acks=all: every acknowledged record survives, in order, exactly once`, async () => {
    const dataDir = join(root, "data");
    const rng = random(SEED);
    const acked = new Map<number, number>();
    let nextSequence = 0;
    let lastLogEnd = 0;
    for (let cycle = 0; cycle <= CYCLES; cycle++) {
      const broker = started(await startBrokerProcess(sourceCommand(["--port", "0", "--data-dir", dataDir, "--set", `log.segment.bytes=${SEGMENT_BYTES}`])));
      const client = await RawClient.connect(broker.port);
      try {
        if (cycle === 0) await createTopic(client, TOPIC);
        const log = await fetchAll(client, TOPIC, 0);
        // Offsets are contiguous from 0 and sequence numbers strictly increase along them: nothing lost in the
        // middle, nothing duplicated, nothing reordered.
        let previous = -1;
        log.records.forEach((record, index) => {
          expect(record.offset).toBe(index);
          const sequence = Number(decoder.decode(record.value!).slice(4));
          expect(sequence).toBeGreaterThan(previous);
          previous = sequence;
        });
        const bySequence = new Map(log.records.map((record) => [Number(decoder.decode(record.value!).slice(4)), record.offset]));
        for (const [sequence, offset] of acked) expect(bySequence.get(sequence)).toBe(offset);
        // The log only grows across crashes (acknowledged data is never cut).
        expect(log.highWatermark).toBeGreaterThanOrEqual(lastLogEnd);
        lastLogEnd = log.highWatermark;
        if (cycle === CYCLES) {
          expect(await broker.stop("SIGTERM")).toBe(0);
          break;
        }
        const killAfter = Math.floor(rng() * ACKS_BEFORE_KILL_MAX);
        const outcome = await produceUntilKill(broker, client, nextSequence, killAfter, rng);
        for (const { sequence, offset } of outcome.acked) acked.set(sequence, offset);
        nextSequence = outcome.nextSequence;
      } finally {
        client.close();
        if (broker.process.exitCode === null && broker.process.signalCode === null) await broker.stop("SIGKILL");
      }
    }
    expect(acked.size).toBeGreaterThan(CYCLES);
  }, 90_000);
});
