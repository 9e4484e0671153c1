// End to end through the SDK with a broker in a child process that is killed (SIGKILL) mid-stream and restarted:
// every acknowledged record reaches the consumer, and the consumer resumes exactly where it was: per partition
// its offsets run 0, 1, 2, ... with no gap and no repeat. The broker dies from inside the consumer's handler, so
// the consumer is mid-stream for sure (records read, more buffered or in flight, more not yet fetched).
//
// The records are produced (acks=all) before the kill and after the restart, by two producers; producing *during*
// the outage is the producer's own resilience test.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Rivulet } from "../../client/index.ts";
import { type ChildBroker, startChildBroker, topicName, within } from "../client/helpers.ts";

const PARTITIONS = 3;
const BEFORE_KILL = 3_000;
const TOTAL = 6_000;
const SEND_BATCH = 100;
const WAIT_MS = 30_000;

let broker: ChildBroker;

beforeAll(async () => {
  broker = await startChildBroker();
});

afterAll(async () => {
  await broker.stop();
});

test("broker killed and restarted mid-stream: nothing acknowledged is lost, the consumer resumes in place", async () => {
  const rivulet = new Rivulet({ brokers: [broker.address], clientId: "e2e-restart", retry: { retries: 100, initialRetryTime: 20, maxRetryTime: 200 } });
  const topic = topicName("restart");
  const admin = rivulet.admin();
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }] });
  await admin.disconnect();

  const acked: string[] = [];
  const produce = async (from: number, to: number): Promise<void> => {
    const producer = rivulet.producer({ acks: "all", "linger.ms": 2 });
    await producer.connect();
    for (let start = from; start < to; start += SEND_BATCH) {
      const values = Array.from({ length: Math.min(SEND_BATCH, to - start) }, (_, i) => `r${start + i}`);
      await producer.send({ topic, messages: values.map((value) => ({ key: value, value })) });
      acked.push(...values);
    }
    await producer.disconnect();
  };
  await within(produce(0, BEFORE_KILL), WAIT_MS, "producing before the kill");

  const consumer = rivulet.consumer({ "fetch.max.wait.ms": 100, "max.partition.fetch.bytes": 4096, "retry.backoff.ms": 20, "retry.backoff.max.ms": 200 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  const seen = new Set<string>();
  const nextOffset = new Array<bigint>(PARTITIONS).fill(0n);
  let offsetProblems = 0;
  let killed: Promise<void> | null = null;
  let onKilled!: () => void;
  const killStarted = new Promise<void>((resolve) => (onKilled = resolve));
  let waitFor: { done: () => boolean; resolve: () => void } | null = null;
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      if (message.offset !== nextOffset[partition]) offsetProblems += 1;
      nextOffset[partition] = message.offset + 1n;
      seen.add(message.text() as string);
      if (seen.size === BEFORE_KILL / 2) {
        killed = broker.kill();
        onKilled();
        await killed;
      }
      if (waitFor?.done()) waitFor.resolve();
    },
  });

  await within(killStarted, WAIT_MS, "consumer reads half");
  await killed;
  expect(seen.size).toBeLessThan(BEFORE_KILL);
  await broker.restart();
  await within(produce(BEFORE_KILL, TOTAL), WAIT_MS, "producing after the restart");
  expect(acked.length).toBe(TOTAL);

  const allSeen = (): boolean => acked.every((value) => seen.has(value));
  if (!allSeen()) await within(new Promise<void>((resolve) => (waitFor = { done: allSeen, resolve })), WAIT_MS, "every acknowledged record consumed");
  expect(offsetProblems).toBe(0);
  expect(seen.size).toBe(TOTAL);
  await consumer.stop();
  await within(consumer.done(), WAIT_MS, "run end");
  await consumer.disconnect();
}, WAIT_MS * 3);
