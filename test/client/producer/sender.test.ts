// The sender's rules with a scripted broker (a fake connection whose answers the test decides): one request in
// flight per partition, max.in.flight.requests.per.connection, retries that keep a partition's order, and which
// failures are indeterminate.
import { describe, expect, test } from "bun:test";
import type { Cluster } from "../../../client/cluster.ts";
import type { Connection } from "../../../client/connection.ts";
import { RivuletConnectionError, RivuletError, RivuletTimeoutError } from "../../../client/errors.ts";
import { RivuletDeliveryTimeoutError, RivuletMaybeWrittenError } from "../../../client/producer/errors.ts";
import { PRODUCER_TOPICS_MAX, Producer } from "../../../client/producer/producer.ts";
import { ErrorCode } from "../../../core/formats/protocol/errors.ts";
import type { ProduceRequestInput, ProduceResponse } from "../../../core/formats/protocol/produce.ts";
import { type DecodedRecordBatch, decodeRecordBatch } from "../../../core/formats/record-batch.ts";
import { LENGTH_OFFSET, LOG_OVERHEAD_BYTES } from "../../../core/formats/record-batch-header.ts";
import { within } from "../helpers.ts";

/** The producer fields of one batch as sent. */
interface BatchStamp {
  producerId: number;
  epoch: number;
  baseSequence: number;
  records: number;
}

interface SentRequest {
  acks: number;
  /** Values per partition, in the order they are in the request. */
  partitions: Map<number, string[]>;
  /** Producer fields of each batch per partition, in order (checked against their CRC). */
  stamps: Map<number, BatchStamp[]>;
  /** Answers; `baseOffsets` overrides the offset a partition's answer names (a duplicate's original offset). */
  respond(errors?: Record<number, number>, baseOffsets?: Record<number, number>): void;
  fail(error: Error): void;
}

const decoder = new TextDecoder();

// Every batch a request's records bin carries (one chunk, or several chunks of whole batches), decoded.
function batchesOf(records: Uint8Array | readonly Uint8Array[]): DecodedRecordBatch[] {
  const batches: DecodedRecordBatch[] = [];
  for (const chunk of records instanceof Uint8Array ? [records] : records) {
    let position = 0;
    while (position < chunk.length) {
      const size = LOG_OVERHEAD_BYTES + new DataView(chunk.buffer, chunk.byteOffset + position).getInt32(LENGTH_OFFSET);
      const batch = decodeRecordBatch(chunk.subarray(position, position + size));
      if (!batch.ok) throw new Error(batch.error);
      batches.push(batch.value);
      position += size;
    }
  }
  return batches;
}

function valuesOf(records: Uint8Array | readonly Uint8Array[]): string[] {
  return batchesOf(records).flatMap((batch) => batch.records.map((record) => decoder.decode(record.value!)));
}

function stampsOf(records: Uint8Array | readonly Uint8Array[]): BatchStamp[] {
  return batchesOf(records).map((batch) => ({ producerId: Number(batch.producerId), epoch: batch.producerEpoch, baseSequence: batch.baseSequence, records: batch.recordsCount }));
}

// A broker that records every Produce request and answers only when told; offsets count per partition.
class ScriptedBroker {
  readonly requests: SentRequest[] = [];
  readonly log = new Map<number, string[]>();
  /** The producer id InitProducerId hands out, and how often it was asked. */
  producerId = 4000;
  initRequests = 0;
  /** Error code InitProducerId answers with (0: a producer id). */
  initErrorCode = 0;
  private waiters: (() => void)[] = [];
  readonly connection: Connection;

  constructor() {
    const broker = this;
    this.connection = {
      broker: "scripted:1",
      isClosed: false,
      // Nothing is buffered here: requests reach the script as they are made.
      flush() {},
      request(api: { name: string }, body: ProduceRequestInput, options?: { expectResponse?: boolean }) {
        if (api.name === "InitProducerId") {
          broker.initRequests++;
          if (broker.initErrorCode !== 0) return Promise.resolve({ throttleTimeMs: 0, errorCode: broker.initErrorCode, producerId: -1, producerEpoch: -1 });
          return Promise.resolve({ throttleTimeMs: 0, errorCode: 0, producerId: broker.producerId, producerEpoch: 0 });
        }
        return new Promise((resolve, reject) => {
          const partitions = new Map<number, string[]>();
          const stamps = new Map<number, BatchStamp[]>();
          for (const topic of body.topics) {
            for (const partition of topic.partitions) {
              partitions.set(partition.index, valuesOf(partition.records as Uint8Array | Uint8Array[]));
              stamps.set(partition.index, stampsOf(partition.records as Uint8Array | Uint8Array[]));
            }
          }
          const request: SentRequest = {
            acks: body.acks,
            partitions,
            stamps,
            respond(errors = {}, baseOffsets = {}) {
              const response: ProduceResponse = {
                throttleTimeMs: 0,
                topics: body.topics.map((topic) => ({
                  name: topic.name,
                  partitions: topic.partitions.map(({ index }) => {
                    const errorCode = errors[index] ?? 0;
                    const log = broker.log.get(index) ?? [];
                    const baseOffset = errorCode === 0 ? (baseOffsets[index] ?? log.length) : -1;
                    if (errorCode === 0) broker.log.set(index, [...log, ...partitions.get(index)!]);
                    return { index, errorCode, baseOffset, logAppendTimeMs: -1, logStartOffset: 0, errorMessage: null };
                  }),
                })),
              };
              resolve(response);
            },
            fail: reject,
          };
          broker.requests.push(request);
          for (const waiter of broker.waiters.splice(0)) waiter();
          if (options?.expectResponse === false) resolve(undefined);
        });
      },
    } as unknown as Connection;
  }

  /** Resolves once `count` requests have been sent in total. */
  async requestsSent(count: number): Promise<void> {
    while (this.requests.length < count) await within(new Promise<void>((resolve) => this.waiters.push(resolve)), 5000, `request ${count}`);
  }
}

function fakeCluster(broker: ScriptedBroker, partitions: number): Cluster {
  let maxInFlightRequests = 5;
  return {
    options: { metadataMaxAge: 300_000, retry: { retries: 0, initialRetryTime: 10, maxRetryTime: 10 } },
    get maxInFlightRequests() {
      return maxInFlightRequests;
    },
    set maxInFlightRequests(value: number) {
      maxInFlightRequests = value;
    },
    async connect() {},
    async close() {},
    invalidate() {},
    async partitionsFor() {
      return Array.from({ length: partitions }, (_, partition) => ({ partition, errorCode: 0, leader: 1, leaderEpoch: 0, replicas: [1], isr: [1], offlineReplicas: [] }));
    },
    async connectionFor() {
      return broker.connection;
    },
    async anyConnection() {
      return broker.connection;
    },
    retry<T>(operation: (attempt: number) => Promise<T>): Promise<T> {
      return operation(0);
    },
  } as unknown as Cluster;
}

// The sender's rules without idempotence (the idempotent rules are tested below, and in sender-idempotence.test.ts).
const FAST_RETRY = { "retry.backoff.ms": 1, "retry.backoff.max.ms": 1, "linger.ms": 0, "enable.idempotence": false };

describe("sender", () => {
  test("a partition never has two requests in flight; what queues meanwhile goes next, in order", async () => {
    const broker = new ScriptedBroker();
    const producer = new Producer(fakeCluster(broker, 1), { ...FAST_RETRY, "batch.size": 100 });
    const first = producer.send({ topic: "t", messages: [{ value: "a" }] });
    await broker.requestsSent(1);
    const rest = ["b", "c", "d", "e", "f"].map((value) => producer.send({ topic: "t", messages: [{ value: value.repeat(60) }] }));
    // The partition's request is in flight: nothing else of it goes, whatever is ready.
    await Promise.resolve();
    expect(broker.requests.length).toBe(1);
    broker.requests[0]!.respond();
    expect((await first)[0]!.offset).toBe(0n);
    await broker.requestsSent(2);
    // Every queued batch went in one request, in send order.
    expect(broker.requests[1]!.partitions.get(0)).toEqual(["b", "c", "d", "e", "f"].map((value) => value.repeat(60)));
    broker.requests[1]!.respond();
    expect((await Promise.all(rest)).map((result) => result[0]!.offset)).toEqual([1n, 2n, 3n, 4n, 5n]);
  });

  test("at most max.in.flight.requests.per.connection requests fly on a connection", async () => {
    const broker = new ScriptedBroker();
    const producer = new Producer(fakeCluster(broker, 6), { ...FAST_RETRY, "max.in.flight.requests.per.connection": 2, "max.request.size": 1024 });
    // Six partitions, each with a batch that fills most of a request: one partition per request.
    const sends = Array.from({ length: 6 }, (_, partition) => producer.send({ topic: "t", messages: [{ value: "x".repeat(700), partition }] }));
    await broker.requestsSent(2);
    await Promise.resolve();
    expect(broker.requests.length).toBe(2);
    broker.requests[0]!.respond();
    await broker.requestsSent(3);
    expect(broker.requests.length).toBe(3);
    for (let i = 1; i < 6; i++) {
      broker.requests[i]!.respond();
      if (i < 5) await broker.requestsSent(i + 3 > 6 ? 6 : i + 3);
    }
    expect((await Promise.all(sends)).length).toBe(6);
  });

  test("a retried batch goes before anything newer of its partition; a lost answer is retried, not reordered", async () => {
    const broker = new ScriptedBroker();
    const producer = new Producer(fakeCluster(broker, 1), FAST_RETRY);
    const first = producer.send({ topic: "t", messages: [{ value: "1" }, { value: "2" }] });
    await broker.requestsSent(1);
    const second = producer.send({ topic: "t", messages: [{ value: "3" }] });
    broker.requests[0]!.fail(new RivuletConnectionError("scripted:1", "connection lost"));
    await broker.requestsSent(2);
    expect(broker.requests[1]!.partitions.get(0)).toEqual(["1", "2", "3"]);
    broker.requests[1]!.respond({ 0: ErrorCode.NOT_LEADER_OR_FOLLOWER });
    await broker.requestsSent(3);
    expect(broker.requests[2]!.partitions.get(0)).toEqual(["1", "2", "3"]);
    broker.requests[2]!.respond();
    expect((await first).map((result) => result.offset)).toEqual([0n, 1n]);
    expect((await second)[0]!.offset).toBe(2n);
    expect(broker.log.get(0)).toEqual(["1", "2", "3"]);
    // Retries count batches: [1, 2] once, then [1, 2] and [3] together.
    expect(producer.stats.retries).toBe(3);
  });

  test("a definite error after an attempt that may have been written fails as indeterminate", async () => {
    const broker = new ScriptedBroker();
    const producer = new Producer(fakeCluster(broker, 1), FAST_RETRY);
    const send = producer.send({ topic: "t", messages: [{ value: "v" }] });
    await broker.requestsSent(1);
    broker.requests[0]!.fail(new RivuletConnectionError("scripted:1", "connection lost"));
    await broker.requestsSent(2);
    broker.requests[1]!.respond({ 0: ErrorCode.INVALID_RECORD });
    const error = await send.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RivuletMaybeWrittenError);
    expect((error as RivuletError).code).toBe(ErrorCode.INVALID_RECORD);
    expect((error as RivuletError).definite).toBe(false);
  });

  test("a definite error on the first attempt stays definite; a timeout with no retries left is indeterminate", async () => {
    const broker = new ScriptedBroker();
    const producer = new Producer(fakeCluster(broker, 2), { ...FAST_RETRY, retries: 0 });
    const refused = producer.send({ topic: "t", messages: [{ value: "v", partition: 0 }] });
    const timedOut = producer.send({ topic: "t", messages: [{ value: "w", partition: 1 }] });
    await broker.requestsSent(1);
    broker.requests[0]!.respond({ 0: ErrorCode.INVALID_RECORD, 1: ErrorCode.NONE });
    expect((await timedOut)[0]!.offset).toBe(0n);
    const refusedError = (await refused.catch((caught: unknown) => caught)) as RivuletError;
    expect(refusedError.code).toBe(ErrorCode.INVALID_RECORD);
    expect(refusedError.definite).toBe(true);
    const late = producer.send({ topic: "t", messages: [{ value: "x", partition: 1 }] });
    await broker.requestsSent(2);
    broker.requests[1]!.fail(new RivuletTimeoutError("no answer", 30000));
    const lateError = (await late.catch((caught: unknown) => caught)) as RivuletError;
    expect(lateError).toBeInstanceOf(RivuletTimeoutError);
    expect(lateError.definite).toBe(false);
  });

  test("acks=0 requests expect no answer and report offset -1", async () => {
    const broker = new ScriptedBroker();
    const producer = new Producer(fakeCluster(broker, 1), { ...FAST_RETRY, acks: 0 });
    const [result] = await producer.send({ topic: "t", messages: [{ value: "v" }] });
    expect(result!.offset).toBe(-1n);
    expect(broker.requests[0]!.acks).toBe(0);
  });

  test("state for topics is bounded: past PRODUCER_TOPICS_MAX the least recently loaded idle topics are forgotten", async () => {
    const broker = new ScriptedBroker();
    const producer = new Producer(fakeCluster(broker, 1), { ...FAST_RETRY, acks: 0 });
    const topics = Array.from({ length: PRODUCER_TOPICS_MAX + 100 }, (_, i) => `topic-${i}`);
    for (let at = 0; at < topics.length; at += 1000) {
      await Promise.all(topics.slice(at, at + 1000).map((topic) => producer.send({ topic, messages: [{ value: "v" }] })));
    }
    const state = producer as unknown as { view: { size: number } };
    expect(state.view.size).toBeLessThanOrEqual(PRODUCER_TOPICS_MAX);
    // A forgotten topic is simply loaded again.
    expect((await producer.send({ topic: "topic-0", messages: [{ value: "again" }] }))[0]!.offset).toBe(-1n);
    expect(broker.requests.length).toBe(topics.length + 1);
  });
});

// Idempotence on (the default): stamps, sequences, the 5-batch bound, retries of the same bytes, and what the
// producer does when the broker refuses a request's sequences.
const IDEMPOTENT = { "retry.backoff.ms": 1, "retry.backoff.max.ms": 1, "linger.ms": 0 };

describe("sender with idempotence", () => {
  test("batches carry the producer id, epoch 0 and per-partition sequences; a request carries at most 5 batches of a partition, a backlog batch grows", async () => {
    const broker = new ScriptedBroker();
    const producer = new Producer(fakeCluster(broker, 2), { ...IDEMPOTENT, "batch.size": 100 });
    const values = ["a", "b", "c", "d", "e", "f", "g"].map((value) => value.repeat(60));
    const sends = values.map((value) => producer.send({ topic: "t", messages: [{ value, partition: 0 }] }));
    const other = producer.send({ topic: "t", messages: [{ value: "p1-a", partition: 1 }, { value: "p1-b", partition: 1 }] });
    await broker.requestsSent(1);
    expect(broker.initRequests).toBe(1);
    const first = broker.requests[0]!;
    expect(first.partitions.get(0)).toEqual(values.slice(0, 5));
    expect(first.stamps.get(0)).toEqual([0, 1, 2, 3, 4].map((baseSequence) => ({ producerId: 4000, epoch: 0, baseSequence, records: 1 })));
    // Another partition has its own sequences, from 0.
    expect(first.stamps.get(1)).toEqual([{ producerId: 4000, epoch: 0, baseSequence: 0, records: 2 }]);
    first.respond();
    await broker.requestsSent(2);
    // f and g were appended while the partition had 5 batches queued: one backlog batch, grown past batch.size.
    expect(broker.requests[1]!.stamps.get(0)).toEqual([{ producerId: 4000, epoch: 0, baseSequence: 5, records: 2 }]);
    broker.requests[1]!.respond();
    expect((await Promise.all(sends)).map((result) => result[0]!.offset)).toEqual([0n, 1n, 2n, 3n, 4n, 5n, 6n]);
    expect((await other).map((result) => result.offset)).toEqual([0n, 1n]);
    expect(producer.producerIdAndEpoch).toEqual({ producerId: 4000, epoch: 0 });
  });

  test("a lost answer is retried with exactly the same batches and sequences; newer batches wait for it", async () => {
    const broker = new ScriptedBroker();
    const producer = new Producer(fakeCluster(broker, 1), IDEMPOTENT);
    const first = producer.send({ topic: "t", messages: [{ value: "1" }, { value: "2" }] });
    await broker.requestsSent(1);
    const second = producer.send({ topic: "t", messages: [{ value: "3" }] });
    broker.requests[0]!.fail(new RivuletConnectionError("scripted:1", "connection lost"));
    await broker.requestsSent(2);
    expect(broker.requests[1]!.partitions.get(0)).toEqual(["1", "2"]);
    expect(broker.requests[1]!.stamps.get(0)).toEqual(broker.requests[0]!.stamps.get(0)!);
    broker.requests[1]!.respond({ 0: ErrorCode.NOT_LEADER_OR_FOLLOWER });
    await broker.requestsSent(3);
    expect(broker.requests[2]!.partitions.get(0)).toEqual(["1", "2"]);
    broker.requests[2]!.respond();
    expect((await first).map((result) => result.offset)).toEqual([0n, 1n]);
    await broker.requestsSent(4);
    expect(broker.requests[3]!.stamps.get(0)).toEqual([{ producerId: 4000, epoch: 0, baseSequence: 2, records: 1 }]);
    broker.requests[3]!.respond();
    expect((await second)[0]!.offset).toBe(2n);
    expect(broker.log.get(0)).toEqual(["1", "2", "3"]);
  });

  test("after a lost answer the request's batches are resent one per request, so each answer's offset is exact", async () => {
    const broker = new ScriptedBroker();
    const producer = new Producer(fakeCluster(broker, 1), { ...IDEMPOTENT, "batch.size": 100, "linger.ms": 50 });
    const sends = ["a", "b"].map((value) => producer.send({ topic: "t", messages: [{ value: value.repeat(60) }] }));
    const flushed = producer.flush();
    await broker.requestsSent(1);
    expect(broker.requests[0]!.stamps.get(0)!.map((stamp) => stamp.baseSequence)).toEqual([0, 1]);
    broker.requests[0]!.fail(new RivuletConnectionError("scripted:1", "connection lost"));
    // Say the broker died after writing only the first batch, at offset 10, and others wrote up to 50 since.
    await broker.requestsSent(2);
    expect(broker.requests[1]!.stamps.get(0)).toEqual([{ producerId: 4000, epoch: 0, baseSequence: 0, records: 1 }]);
    broker.requests[1]!.respond({}, { 0: 10 });
    await broker.requestsSent(3);
    expect(broker.requests[2]!.stamps.get(0)).toEqual([{ producerId: 4000, epoch: 0, baseSequence: 1, records: 1 }]);
    broker.requests[2]!.respond({}, { 0: 50 });
    expect((await Promise.all(sends)).map((result) => result[0]!.offset)).toEqual([10n, 50n]);
    await flushed;
  });

  test("UNKNOWN_PRODUCER_ID for a request never written: the epoch is bumped and the batches are resent from sequence 0", async () => {
    const broker = new ScriptedBroker();
    const producer = new Producer(fakeCluster(broker, 2), IDEMPOTENT);
    const firstSend = producer.send({ topic: "t", messages: [{ value: "v", partition: 0 }] });
    await broker.requestsSent(1);
    broker.requests[0]!.respond();
    expect((await firstSend)[0]!.offset).toBe(0n);
    const pending = producer.send({ topic: "t", messages: [{ value: "w", partition: 0 }] });
    await broker.requestsSent(2);
    expect(broker.requests[1]!.stamps.get(0)).toEqual([{ producerId: 4000, epoch: 0, baseSequence: 1, records: 1 }]);
    broker.requests[1]!.respond({ 0: ErrorCode.UNKNOWN_PRODUCER_ID });
    await broker.requestsSent(3);
    expect(broker.requests[2]!.stamps.get(0)).toEqual([{ producerId: 4000, epoch: 1, baseSequence: 0, records: 1 }]);
    broker.requests[2]!.respond();
    expect((await pending)[0]!.offset).toBe(1n);
    expect(broker.log.get(0)).toEqual(["v", "w"]);
    expect(producer.stats).toMatchObject({ sequenceResets: 1, epochBumps: 1 });
    expect(producer.producerIdAndEpoch).toEqual({ producerId: 4000, epoch: 1 });
    // Every partition's sequences start over under the new epoch.
    const elsewhere = producer.send({ topic: "t", messages: [{ value: "x", partition: 1 }] });
    await broker.requestsSent(4);
    expect(broker.requests[3]!.stamps.get(1)).toEqual([{ producerId: 4000, epoch: 1, baseSequence: 0, records: 1 }]);
    broker.requests[3]!.respond();
    await elsewhere;
  });

  test("OUT_OF_ORDER_SEQUENCE_NUMBER after an attempt that may have been written fails as indeterminate, never resent", async () => {
    const broker = new ScriptedBroker();
    const producer = new Producer(fakeCluster(broker, 1), IDEMPOTENT);
    const send = producer.send({ topic: "t", messages: [{ value: "v" }] });
    await broker.requestsSent(1);
    broker.requests[0]!.fail(new RivuletConnectionError("scripted:1", "connection lost"));
    await broker.requestsSent(2);
    broker.requests[1]!.respond({ 0: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER });
    const error = (await send.catch((caught: unknown) => caught)) as RivuletError;
    expect(error).toBeInstanceOf(RivuletMaybeWrittenError);
    expect(error.code).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(error.definite).toBe(false);
    expect(broker.requests.length).toBe(2);
    // The partition starts over under a new epoch.
    const next = producer.send({ topic: "t", messages: [{ value: "w" }] });
    await broker.requestsSent(3);
    expect(broker.requests[2]!.stamps.get(0)).toEqual([{ producerId: 4000, epoch: 1, baseSequence: 0, records: 1 }]);
    broker.requests[2]!.respond();
    await next;
  });

  test("a stamped request failing for good fails all its batches and the partition's sequences start over", async () => {
    const broker = new ScriptedBroker();
    const producer = new Producer(fakeCluster(broker, 1), { ...IDEMPOTENT, "batch.size": 100, "linger.ms": 50 });
    const sends = ["a", "b"].map((value) => producer.send({ topic: "t", messages: [{ value: value.repeat(60) }] }));
    const flushed = producer.flush();
    await broker.requestsSent(1);
    expect(broker.requests[0]!.stamps.get(0)!.map((stamp) => stamp.baseSequence)).toEqual([0, 1]);
    broker.requests[0]!.respond({ 0: ErrorCode.INVALID_RECORD });
    for (const send of sends) {
      const error = (await send.catch((caught: unknown) => caught)) as RivuletError;
      expect(error.code).toBe(ErrorCode.INVALID_RECORD);
      expect(error.definite).toBe(true);
    }
    await flushed;
    const next = producer.send({ topic: "t", messages: [{ value: "c" }] });
    const flushedAgain = producer.flush();
    await broker.requestsSent(2);
    expect(broker.requests[1]!.stamps.get(0)).toEqual([{ producerId: 4000, epoch: 1, baseSequence: 0, records: 1 }]);
    broker.requests[1]!.respond();
    expect((await next)[0]!.offset).toBe(0n);
    await flushedAgain;
  });

  test("a stamped batch out of delivery.timeout.ms after a lost answer fails as indeterminate; the partition starts over", async () => {
    const broker = new ScriptedBroker();
    // The first retry would come after the delivery deadline: the batch fails at its first failure.
    const producer = new Producer(fakeCluster(broker, 1), { "linger.ms": 0, "retry.backoff.ms": 1000, "retry.backoff.max.ms": 1000, "request.timeout.ms": 10, "delivery.timeout.ms": 50 });
    const send = producer.send({ topic: "t", messages: [{ value: "v" }] });
    await broker.requestsSent(1);
    broker.requests[0]!.fail(new RivuletConnectionError("scripted:1", "connection lost"));
    const error = (await send.catch((caught: unknown) => caught)) as RivuletError;
    expect(error).toBeInstanceOf(RivuletDeliveryTimeoutError);
    expect(error.definite).toBe(false);
    const next = producer.send({ topic: "t", messages: [{ value: "w" }] });
    await broker.requestsSent(2);
    expect(broker.requests[1]!.stamps.get(0)).toEqual([{ producerId: 4000, epoch: 1, baseSequence: 0, records: 1 }]);
    broker.requests[1]!.respond();
    expect((await next)[0]!.offset).toBe(0n);
  });

  test("InitProducerId refused: connect() rejects with the broker's error, and a batch that never got an id says why when it expires", async () => {
    const broker = new ScriptedBroker();
    broker.initErrorCode = ErrorCode.UNSUPPORTED_VERSION;
    const producer = new Producer(fakeCluster(broker, 1), { ...IDEMPOTENT, "request.timeout.ms": 10, "delivery.timeout.ms": 30 });
    await expect(producer.connect()).rejects.toMatchObject({ code: ErrorCode.UNSUPPORTED_VERSION });
    const error = (await producer.send({ topic: "t", messages: [{ value: "v" }] }).catch((caught: unknown) => caught)) as RivuletError;
    expect(error).toBeInstanceOf(RivuletDeliveryTimeoutError);
    expect(error.definite).toBe(true);
    expect(error.message).toMatch(/no producer id: InitProducerId/);
    expect(broker.requests.length).toBe(0);
    await producer.disconnect();
  });

  test("a send asking for acks other than all is refused while idempotence is on", async () => {
    const broker = new ScriptedBroker();
    const producer = new Producer(fakeCluster(broker, 1), IDEMPOTENT);
    await expect(producer.send({ topic: "t", messages: [{ value: "v" }], acks: 1 })).rejects.toThrow(/idempotent/);
    expect(broker.requests.length).toBe(0);
  });
});
