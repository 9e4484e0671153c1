// The built-in partitioner with a scripted random source: keys by murmur2 over all partitions, keyless records
// sticky until batch.size bytes, then a uniform draw among partitions with a leader.
import { describe, expect, test } from "bun:test";
import { partitionForKey } from "../../../client/producer/murmur2.ts";
import { BuiltInPartitioner } from "../../../client/producer/partitioner.ts";

function scripted(values: number[]): () => number {
  let at = 0;
  return () => values[at++ % values.length]!;
}

describe("BuiltInPartitioner", () => {
  test("keyed records use murmur2 over every partition, available or not", () => {
    const partitioner = new BuiltInPartitioner(16384, false, scripted([0]));
    const partitions = { count: 6, available: [1] };
    for (const key of ["a", "b", "ride_123", new Uint8Array([1, 2, 3])]) expect(partitioner.partition("t", key, partitions)).toBe(partitionForKey(key, 6));
  });

  test("partitioner.ignore.keys places keyed records like keyless ones", () => {
    const partitioner = new BuiltInPartitioner(100, true, scripted([0.9]));
    expect(partitioner.partition("t", "key", { count: 4, available: [0, 1, 2, 3] })).toBe(3);
  });

  test("keyless records stick to a partition until batch.size bytes went to it, then a new draw", () => {
    const partitioner = new BuiltInPartitioner(100, false, scripted([0.1, 0.6, 0.99]));
    const partitions = { count: 4, available: [0, 1, 2, 3] };
    const placed: number[] = [];
    for (let i = 0; i < 9; i++) {
      const partition = partitioner.partition("t", null, partitions);
      placed.push(partition);
      partitioner.appended("t", partition, 40, partitions);
    }
    // 40 bytes a record: the third reaches 120 >= 100, so every third record the draw moves on (0.1 -> 0, 0.6 -> 2, 0.99 -> 3).
    expect(placed).toEqual([0, 0, 0, 2, 2, 2, 3, 3, 3]);
  });

  test("draws only among partitions with a leader, or all when none has one", () => {
    const partitioner = new BuiltInPartitioner(1, false, scripted([0, 0.5, 0.99]));
    const withLeaders = { count: 8, available: [5, 7] };
    expect(partitioner.partition("t", undefined, withLeaders)).toBe(5);
    partitioner.appended("t", 5, 1, withLeaders);
    expect(partitioner.partition("t", undefined, withLeaders)).toBe(7);
    partitioner.appended("t", 7, 1, withLeaders);
    expect(partitioner.partition("t", undefined, { count: 8, available: [] })).toBe(7);
  });

  test("bytes appended to another partition (explicit or keyed) do not move the sticky choice", () => {
    const partitioner = new BuiltInPartitioner(10, false, scripted([0.3, 0.8]));
    const partitions = { count: 3, available: [0, 1, 2] };
    expect(partitioner.partition("t", null, partitions)).toBe(0);
    partitioner.appended("t", 2, 1000, partitions);
    expect(partitioner.partition("t", null, partitions)).toBe(0);
    // Topics are independent; a shrunk partition count forces a new draw.
    expect(partitioner.partition("u", null, partitions)).toBe(2);
    expect(partitioner.partition("u", null, { count: 2, available: [0, 1] })).toBe(0);
  });
});
