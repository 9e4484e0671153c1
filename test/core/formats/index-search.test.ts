import { describe, expect, test } from "bun:test";
import { AssertionError } from "../../../core/assert.ts";
import {
  OFFSET_INDEX_ENTRY_BYTES,
  TIME_INDEX_ENTRY_BYTES,
  readOffsetIndexPosition,
  readOffsetIndexRelativeOffset,
  readTimeIndexRelativeOffset,
  readTimeIndexTimestamp,
  searchOffsetIndex,
  searchOffsetIndexTs,
  searchOffsetIndexWasm,
  searchTimeIndex,
  searchTimeIndexTs,
  searchTimeIndexWasm,
  writeOffsetIndexEntry,
  writeTimeIndexEntry,
} from "../../../core/formats/index-search.ts";
import { seededRandom as random } from "../../helpers/seeded-random.ts";

// Deterministic PRNG (mulberry32) so a failure names a reproducible seed.
// Naive oracle: the last slot whose key <= target, by linear scan.
function lastAtOrBelow(keys: readonly (number | bigint)[], target: number | bigint): number {
  let slot = -1;
  for (let i = 0; i < keys.length; i++) if (keys[i]! <= target) slot = i;
  return slot;
}

function buildOffsetIndex(keys: readonly number[], spareEntries = 0): Uint8Array {
  const buf = new Uint8Array((keys.length + spareEntries) * OFFSET_INDEX_ENTRY_BYTES);
  keys.forEach((key, slot) => writeOffsetIndexEntry(buf, slot, key, (slot * 4096) >>> 0));
  return buf;
}

// Writes raw i64 keys (BigInt) so tests can reach values beyond 2^53 that writeTimeIndexEntry refuses.
function buildTimeIndex(keys: readonly bigint[], spareEntries = 0): Uint8Array {
  const buf = new Uint8Array((keys.length + spareEntries) * TIME_INDEX_ENTRY_BYTES);
  const view = new DataView(buf.buffer);
  keys.forEach((key, slot) => {
    view.setBigInt64(slot * TIME_INDEX_ENTRY_BYTES, key, false);
    view.setUint32(slot * TIME_INDEX_ENTRY_BYTES + 8, slot, false);
  });
  return buf;
}

function sortedOffsets(rand: () => number, count: number): number[] {
  const keys: number[] = [];
  let key = Math.floor(rand() * 50);
  for (let i = 0; i < count; i++) {
    keys.push(key);
    key += 1 + Math.floor(rand() * 100); // Kafka's offset index is strictly increasing
  }
  return keys;
}

function sortedTimestamps(rand: () => number, count: number): number[] {
  const keys: number[] = [];
  let key = 1_700_000_000_000 + Math.floor(rand() * 1000) - (rand() < 0.2 ? 1_800_000_000_000 : 0);
  for (let i = 0; i < count; i++) {
    keys.push(key);
    key += rand() < 0.3 ? 0 : Math.floor(rand() * 20); // duplicates allowed: non-decreasing
  }
  return keys;
}

const implementations = [
  { name: "ts twin", offset: searchOffsetIndexTs, time: searchTimeIndexTs },
  { name: "wasm kernel", offset: searchOffsetIndexWasm, time: searchTimeIndexWasm },
  { name: "default", offset: searchOffsetIndex, time: searchTimeIndex },
];

for (const impl of implementations) {
  describe(`offset index search (${impl.name})`, () => {
    test("empty index has no lower bound", () => {
      expect(impl.offset(new Uint8Array(0), 0, 0)).toBe(-1);
      expect(impl.offset(new Uint8Array(0), 0, 0xffffffff)).toBe(-1);
    });

    test("target below the first key, at keys, between keys and above the last", () => {
      const index = buildOffsetIndex([10, 20, 30]);
      expect(impl.offset(index, 3, 9)).toBe(-1);
      expect(impl.offset(index, 3, 10)).toBe(0);
      expect(impl.offset(index, 3, 19)).toBe(0);
      expect(impl.offset(index, 3, 20)).toBe(1);
      expect(impl.offset(index, 3, 30)).toBe(2);
      expect(impl.offset(index, 3, 1_000_000)).toBe(2);
    });

    test("u32 extremes: keys above 2^31 compare unsigned; targets outside u32 are clamped", () => {
      const index = buildOffsetIndex([0, 0x7fffffff, 0x80000000, 0xffffffff]);
      expect(impl.offset(index, 4, -1)).toBe(-1);
      expect(impl.offset(index, 4, 0x80000000)).toBe(2);
      expect(impl.offset(index, 4, 0xfffffffe)).toBe(2);
      expect(impl.offset(index, 4, 0xffffffff)).toBe(3);
      expect(impl.offset(index, 4, 2 ** 40)).toBe(3);
      expect(impl.offset(index, 4, 0.5)).toBe(0);
    });

    test("searches only the first entryCount entries of a preallocated buffer", () => {
      const index = buildOffsetIndex([5, 6, 7], 5); // trailing zeroed slots, as in a preallocated index file
      expect(impl.offset(index, 3, 100)).toBe(2);
      expect(impl.offset(index, 2, 100)).toBe(1);
    });

    test("agrees with a linear-scan oracle on random indexes", () => {
      for (let seed = 1; seed <= 60; seed++) {
        const rand = random(seed);
        const count = seed === 60 ? 5000 : Math.floor(rand() * 300);
        const keys = sortedOffsets(rand, count);
        const index = buildOffsetIndex(keys);
        const targets = [-1, 0, (keys.at(-1) ?? 0) + 1];
        for (const key of keys.slice(0, 50)) targets.push(key - 1, key, key + 1);
        for (let i = 0; i < 50; i++) targets.push(Math.floor(rand() * ((keys.at(-1) ?? 100) + 100)));
        for (const target of targets) {
          const expected = target < 0 ? -1 : lastAtOrBelow(keys, target);
          if (impl.offset(index, count, target) !== expected) {
            throw new Error(`seed ${seed} count ${count} target ${target}: want ${expected}`);
          }
        }
      }
    });
  });

  describe(`time index search (${impl.name})`, () => {
    test("empty index has no lower bound", () => {
      expect(impl.time(new Uint8Array(0), 0, 0)).toBe(-1);
      expect(impl.time(new Uint8Array(0), 0, Number.MAX_SAFE_INTEGER)).toBe(-1);
    });

    test("target below the first, between, equal and above the last timestamp", () => {
      const buf = new Uint8Array(3 * TIME_INDEX_ENTRY_BYTES);
      writeTimeIndexEntry(buf, 0, 1000, 0);
      writeTimeIndexEntry(buf, 1, 2000, 7);
      writeTimeIndexEntry(buf, 2, 3000, 9);
      expect(impl.time(buf, 3, 999)).toBe(-1);
      expect(impl.time(buf, 3, 1000)).toBe(0);
      expect(impl.time(buf, 3, 2999)).toBe(1);
      expect(impl.time(buf, 3, 3000)).toBe(2);
      expect(impl.time(buf, 3, 1e15)).toBe(2);
      expect(impl.time(buf, 3, 1999.5)).toBe(0);
    });

    test("equal timestamps: the largest slot among them", () => {
      const keys = [5n, 7n, 7n, 7n, 9n, 9n];
      const index = buildTimeIndex(keys);
      expect(impl.time(index, 6, 6)).toBe(0);
      expect(impl.time(index, 6, 7)).toBe(3);
      expect(impl.time(index, 6, 8)).toBe(3);
      expect(impl.time(index, 6, 9)).toBe(5);
      const allEqual = buildTimeIndex(new Array<bigint>(33).fill(42n));
      expect(impl.time(allEqual, 33, 41)).toBe(-1);
      expect(impl.time(allEqual, 33, 42)).toBe(32);
    });

    test("negative timestamps and full i64 range compare as signed 64-bit", () => {
      const keys = [-(2n ** 63n), -(2n ** 40n) - 1n, -1n, 0n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 53n, 2n ** 62n, 2n ** 63n - 1n];
      const index = buildTimeIndex(keys);
      const n = keys.length;
      const targets = [-(2 ** 64), -(2 ** 63), -(2 ** 40) - 1, -(2 ** 40), -2, -1, 0, 2 ** 32 - 1, 2 ** 32, 2 ** 53, 2 ** 60, 2 ** 62, 2 ** 63, 2 ** 70];
      for (const target of targets) {
        // Oracle in BigInt; a target >= 2^63 (as a double) is above every i64.
        const expected = target >= 2 ** 63 ? n - 1 : lastAtOrBelow(keys, BigInt(Math.floor(target)));
        if (impl.time(index, n, target) !== expected) throw new Error(`target ${target}: want ${expected}`);
      }
      expect(impl.time(index, n, -Infinity)).toBe(-1);
      expect(impl.time(index, n, Infinity)).toBe(n - 1);
    });

    test("agrees with a linear-scan oracle on random indexes with duplicates", () => {
      for (let seed = 1; seed <= 60; seed++) {
        const rand = random(1000 + seed);
        const count = seed === 60 ? 5000 : Math.floor(rand() * 300);
        const keys = sortedTimestamps(rand, count);
        const buf = new Uint8Array(count * TIME_INDEX_ENTRY_BYTES);
        keys.forEach((key, slot) => writeTimeIndexEntry(buf, slot, key, slot));
        const first = keys[0] ?? 0;
        const last = keys.at(-1) ?? 0;
        const targets = [first - 1, last + 1, -1, 0];
        for (const key of keys.slice(0, 50)) targets.push(key - 1, key, key + 1);
        for (let i = 0; i < 50; i++) targets.push(first - 10 + Math.floor(rand() * (last - first + 20)));
        for (const target of targets) {
          const expected = lastAtOrBelow(keys, target);
          if (impl.time(buf, count, target) !== expected) {
            throw new Error(`seed ${seed} count ${count} target ${target}: want ${expected}`);
          }
        }
      }
    });
  });
}

describe("index entry layout", () => {
  test("entry sizes are Kafka's", () => {
    expect(OFFSET_INDEX_ENTRY_BYTES).toBe(8);
    expect(TIME_INDEX_ENTRY_BYTES).toBe(12);
  });

  test("offset index entry is relativeOffset u32 BE then position u32 BE", () => {
    const buf = new Uint8Array(2 * OFFSET_INDEX_ENTRY_BYTES);
    writeOffsetIndexEntry(buf, 1, 0x01020304, 0xa0b0c0d0);
    expect([...buf.subarray(8)]).toEqual([1, 2, 3, 4, 0xa0, 0xb0, 0xc0, 0xd0]);
    expect([...buf.subarray(0, 8)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(readOffsetIndexRelativeOffset(buf, 1)).toBe(0x01020304);
    expect(readOffsetIndexPosition(buf, 1)).toBe(0xa0b0c0d0);
  });

  test("time index entry is timestamp i64 BE then relativeOffset u32 BE", () => {
    const buf = new Uint8Array(2 * TIME_INDEX_ENTRY_BYTES);
    writeTimeIndexEntry(buf, 0, 0x0102030405, 0xdeadbeef);
    writeTimeIndexEntry(buf, 1, -2, 7);
    expect([...buf.subarray(0, 12)]).toEqual([0, 0, 0, 1, 2, 3, 4, 5, 0xde, 0xad, 0xbe, 0xef]);
    expect([...buf.subarray(12)]).toEqual([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 7]);
    const view = new DataView(buf.buffer);
    expect(view.getBigInt64(0, false)).toBe(0x0102030405n);
    expect(readTimeIndexTimestamp(buf, 0)).toBe(0x0102030405);
    expect(readTimeIndexTimestamp(buf, 1)).toBe(-2);
    expect(readTimeIndexRelativeOffset(buf, 0)).toBe(0xdeadbeef);
    expect(readTimeIndexRelativeOffset(buf, 1)).toBe(7);
  });

  test("round-trips safe-integer timestamps exactly", () => {
    const buf = new Uint8Array(TIME_INDEX_ENTRY_BYTES);
    for (const ts of [0, -1, 1_700_000_000_123, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 2 ** 32, -(2 ** 32)]) {
      writeTimeIndexEntry(buf, 0, ts, 0);
      expect(readTimeIndexTimestamp(buf, 0)).toBe(ts);
      expect(new DataView(buf.buffer).getBigInt64(0, false)).toBe(BigInt(ts));
    }
  });

  test("out-of-range slots, values and counts are bugs, not data", () => {
    const buf = new Uint8Array(OFFSET_INDEX_ENTRY_BYTES);
    expect(() => writeOffsetIndexEntry(buf, 1, 0, 0)).toThrow(AssertionError);
    expect(() => writeOffsetIndexEntry(buf, 0, -1, 0)).toThrow(AssertionError);
    expect(() => writeOffsetIndexEntry(buf, 0, 0, 2 ** 32)).toThrow(AssertionError);
    expect(() => readOffsetIndexPosition(buf, -1)).toThrow(AssertionError);
    expect(() => writeTimeIndexEntry(new Uint8Array(TIME_INDEX_ENTRY_BYTES), 0, 2 ** 60, 0)).toThrow(AssertionError);
    expect(() => searchOffsetIndexTs(buf, 2, 0)).toThrow(AssertionError);
    expect(() => searchOffsetIndexWasm(buf, 2, 0)).toThrow(AssertionError);
    expect(() => searchTimeIndexTs(buf, 1, 0)).toThrow(AssertionError);
    expect(() => searchTimeIndexTs(new Uint8Array(TIME_INDEX_ENTRY_BYTES), 1, Number.NaN)).toThrow(AssertionError);
  });
});
