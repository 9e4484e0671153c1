// The record accumulator on its own (no network): batch buffers reused once a batch is acknowledged (Kafka's
// BufferPool) and never while anything may still read them, free buffers within buffer.memory, and the per-record
// bookkeeping (owner indexes, timestamp runs) reported back exactly on delivery, failure and split.
import { describe, expect, test } from "bun:test";
import { type AccumulatorOptions, type DeliveryGroup, ProducerBatch, RecordAccumulator, recordBoundBytes } from "../../../client/producer/accumulator.ts";
import type { RecordMetadata } from "../../../client/records.ts";
import { CODEC_NONE } from "../../../core/formats/codecs.ts";
import { type RecordInput, decodeRecordBatch } from "../../../core/formats/record-batch.ts";

const BATCH_BYTES = 4096;
const TOPIC = "t";

function accumulator(overrides: Partial<AccumulatorOptions> = {}): RecordAccumulator {
  return new RecordAccumulator(
    { batchSizeBytes: BATCH_BYTES, lingerMs: 0, bufferMemoryBytes: 64 * BATCH_BYTES, codec: CODEC_NONE, deliveryTimeoutMs: 120_000, ...overrides },
    () => undefined,
  );
}

function record(text: string, timestamp = 1_000): RecordInput {
  return { key: null, value: new TextEncoder().encode(text), headers: undefined, timestamp };
}

function append(acc: RecordAccumulator, input: RecordInput, owner: Parameters<RecordAccumulator["append"]>[5] = null, index = 0): number {
  return acc.append(TOPIC, 0, 1, input, recordBoundBytes(input), owner, index, 0);
}

// Appends until the open batch is full and the next one opens, then drains the full one (finished as a view of
// its buffer). `carried` are the values already in the open batch; returns the drained batch's values and the value
// carried into the next one.
function fullBatch(acc: RecordAccumulator, prefix: string, carried: string[] = []): { batch: ProducerBatch; values: string[]; carried: string[] } {
  const values = [...carried];
  const queue = acc.queue(TOPIC, 0);
  const before = queue.batches.length;
  let last = "";
  while (queue.batches.length < Math.max(before, 1) + 1) {
    last = `${prefix}-${values.length}-${"x".repeat(40)}`;
    expect(append(acc, record(last))).toBeGreaterThan(0);
    values.push(last);
  }
  values.pop();
  const [batch] = acc.drain(queue, Infinity, 0, 1);
  expect(batch!.bytes!.length * 2).toBeGreaterThanOrEqual(batch!.pooledBuffer!.length);
  return { batch: batch!, values, carried: [last] };
}

function decodedValues(bytes: Uint8Array): string[] {
  const decoded = decodeRecordBatch(bytes);
  if (!decoded.ok) throw new Error(decoded.error);
  return decoded.value.records.map((r) => new TextDecoder().decode(r.value!));
}

describe("batch buffers", () => {
  test("an acknowledged batch's buffer is built in again by a later batch, whose bytes are its own records", () => {
    const acc = accumulator();
    const first = fullBatch(acc, "a");
    const buffer = first.batch.pooledBuffer!;
    expect(decodedValues(first.batch.bytes!)).toEqual(first.values);
    first.batch.deliver(0n, -1);
    acc.remove(first.batch, true);
    expect(acc.freeBufferBytes).toBe(buffer.length);
    // The open batch has its own buffer; the batch opened after it takes the free one.
    const second = fullBatch(acc, "b", first.carried);
    expect(second.batch.pooledBuffer).not.toBe(buffer);
    expect(acc.queue(TOPIC, 0).batches.at(-1)!.builder!.backingBuffer).toBe(buffer);
    expect(acc.freeBufferBytes).toBe(0);
    second.batch.deliver(0n, -1);
    acc.remove(second.batch, true);
    const third = fullBatch(acc, "c", second.carried);
    expect(third.batch.pooledBuffer).toBe(buffer);
    expect(decodedValues(third.batch.bytes!)).toEqual(third.values);
    expect(third.values[0]).toStartWith("b-");
    expect(third.values.at(-1)).toStartWith("c-");
  });

  test("a failed batch's buffer is not reused (a dropped connection may still hold it)", () => {
    const acc = accumulator();
    const { batch } = fullBatch(acc, "f");
    batch.fail(new Error("gone"), () => undefined);
    acc.remove(batch, false);
    expect(acc.freeBufferBytes).toBe(0);
  });

  test("a batch finished into a copy frees its buffer at once; free buffers never pass buffer.memory", () => {
    const acc = accumulator({ bufferMemoryBytes: 3 * BATCH_BYTES });
    append(acc, record("small"));
    const queue = acc.queue(TOPIC, 0);
    const [small] = acc.drain(queue, Infinity, 0);
    // Less than half the buffer: close() copied it, so the buffer is free before the batch is even sent.
    expect(small!.pooledBuffer).toBeNull();
    expect(acc.freeBufferBytes).toBe(BATCH_BYTES);
    expect(acc.bufferedBytes + acc.freeBufferBytes).toBeLessThanOrEqual(3 * BATCH_BYTES);
    // Two more batches open: the free buffer is taken by the first; the second needs new memory, still within bounds.
    append(acc, record("one"));
    expect(acc.freeBufferBytes).toBe(0);
    small!.deliver(0n, -1);
    acc.remove(small!, true);
    expect(acc.bufferedBytes + acc.freeBufferBytes).toBeLessThanOrEqual(3 * BATCH_BYTES);
  });

  test("free buffers give way when a reservation needs their memory", () => {
    const acc = accumulator({ bufferMemoryBytes: 2 * BATCH_BYTES });
    const { batch } = fullBatch(acc, "m");
    // A batch finished as a view of its buffer holds all of the buffer: with the open batch, buffer.memory is full.
    expect(acc.bufferedBytes).toBe(2 * BATCH_BYTES);
    batch.deliver(0n, -1);
    acc.remove(batch, true);
    // One open batch (BATCH_BYTES reserved) and one free buffer fill buffer.memory.
    expect(acc.bufferedBytes + acc.freeBufferBytes).toBe(2 * BATCH_BYTES);
    // A record larger than batch.size needs its own reservation: the free buffer is dropped to make room.
    const large = record("L".repeat(BATCH_BYTES));
    const queue = acc.queue(TOPIC, 0);
    queue.batches[0]!.full = true;
    expect(acc.append(TOPIC, 0, 1, large, recordBoundBytes(large), null, 0, 0)).toBe(-1);
    expect(acc.freeBufferBytes).toBe(0);
  });
});

describe("per-record bookkeeping", () => {
  test("delivery reports each record's own timestamp and its index in its owner's group", () => {
    const acc = accumulator();
    const delivered: { index: number; offset: bigint; timestamp: number }[] = [];
    const group: DeliveryGroup = {
      delivered: (index, _topic, _partition, offset, timestamp) => delivered.push({ index, offset, timestamp }),
      failed: () => undefined,
    };
    const callbacks: RecordMetadata[] = [];
    const callback = (_error: Error | null, metadata: RecordMetadata | null): void => void callbacks.push(metadata!);
    const timestamps = [5, 5, 6, 6, 6, 9, 5];
    timestamps.forEach((timestamp, i) => append(acc, record(`r${i}`, timestamp), i % 2 === 0 ? callback : group, i % 2 === 0 ? 0 : 10 + i));
    const [batch] = acc.drain(acc.queue(TOPIC, 0), Infinity, 0);
    batch!.deliver(100n, -1);
    expect(callbacks.map((m) => [m.offset, m.timestamp])).toEqual([
      [100n, 5],
      [102n, 6],
      [104n, 6],
      [106n, 5],
    ]);
    expect(delivered).toEqual([
      { index: 11, offset: 101n, timestamp: 5 },
      { index: 13, offset: 103n, timestamp: 6 },
      { index: 15, offset: 105n, timestamp: 9 },
    ]);
  });

  test("a split keeps every record's owner, index and timestamp", () => {
    const acc = accumulator();
    const indexes: number[] = [];
    const group: DeliveryGroup = { delivered: (index) => indexes.push(index), failed: () => undefined };
    const timestamps = [7, 7, 8, 8, 9, 9];
    timestamps.forEach((timestamp, i) => append(acc, record(`s${i}-${"y".repeat(100)}`, timestamp), group, 20 + i));
    const [batch] = acc.drain(acc.queue(TOPIC, 0), Infinity, 0);
    const parts = acc.split(batch!)!;
    expect(parts.length).toBeGreaterThan(1);
    expect(parts.flatMap((part) => part.timestamps())).toEqual(timestamps);
    for (const part of parts) part.deliver(0n, -1);
    expect(indexes).toEqual([20, 21, 22, 23, 24, 25]);
  });
});
