// End to end through the SDK with a broker in a child process that is killed (SIGKILL) and restarted while a
// producer (acks=all) keeps sending and a consumer keeps reading: every acknowledged record reaches the consumer,
// and the consumer resumes exactly where it was: per partition its offsets run 0, 1, 2, ... with no gap and no
// repeat. The broker dies from inside the consumer's handler, so the consumer is mid-stream for sure (records
// read, more buffered or in flight, more not yet fetched), and so is the producer (asserted).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Rivulet } from "../../client/index.ts";
import { type ChildBroker, startChildBroker, topicName, within } from "../client/helpers.ts";

const PARTITIONS = 3;
const KILL_AT_SEEN = 1_500;
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
  const consumer = rivulet.consumer({ "fetch.max.wait.ms": 100, "max.partition.fetch.bytes": 4096, "retry.backoff.ms": 20, "retry.backoff.max.ms": 200 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  const seen = new Set<string>();
  const nextOffset = new Array<bigint>(PARTITIONS).fill(0n);
  let offsetProblems = 0;
  let killed: Promise<void> | null = null;
  let ackedAtKill = -1;
  let onKilled!: () => void;
  const killStarted = new Promise<void>((resolve) => (onKilled = resolve));
  let waitFor: { done: () => boolean; resolve: () => void } | null = null;
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      if (message.offset !== nextOffset[partition]) offsetProblems += 1;
      nextOffset[partition] = message.offset + 1n;
      seen.add(message.text() as string);
      if (seen.size === KILL_AT_SEEN) {
        ackedAtKill = acked.length;
        killed = broker.kill();
        onKilled();
        await killed;
      }
      if (waitFor?.done()) waitFor.resolve();
    },
  });

  // One producer sends all along; its sends made during the outage wait and retry (or fail: then they are not
  // acknowledged and the test asks nothing of them).
  const producer = rivulet.producer({ acks: "all", "linger.ms": 2, "retry.backoff.ms": 20, "retry.backoff.max.ms": 200, "request.timeout.ms": 5_000, "delivery.timeout.ms": 15_000 });
  await producer.connect();
  const sending = (async () => {
    for (let start = 0; start < TOTAL; start += SEND_BATCH) {
      const values = Array.from({ length: SEND_BATCH }, (_, i) => `r${start + i}`);
      try {
        await producer.send({ topic, messages: values.map((value) => ({ key: value, value })) });
        acked.push(...values);
      } catch {
        // Not acknowledged.
      }
    }
  })();

  await within(killStarted, WAIT_MS, "consumer reads its first records");
  await killed;
  // Mid-stream on both sides: the consumer had not read all there was to be, the producer had more to send.
  expect(ackedAtKill).toBeLessThan(TOTAL);
  await broker.restart();
  await within(sending, WAIT_MS, "sends across the restart");
  await within(producer.disconnect(), WAIT_MS, "producer disconnect");
  // The producer recovered: what it sent after the restart was acknowledged.
  expect(acked).toContain(`r${TOTAL - 1}`);

  const allSeen = (): boolean => acked.every((value) => seen.has(value));
  if (!allSeen()) await within(new Promise<void>((resolve) => (waitFor = { done: allSeen, resolve })), WAIT_MS, "every acknowledged record consumed");
  expect(offsetProblems).toBe(0);
  await consumer.stop();
  await within(consumer.done(), WAIT_MS, "run end");
  await consumer.disconnect();
}, WAIT_MS * 4);
