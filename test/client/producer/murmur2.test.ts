// Kafka's murmur2, checked against the vectors of Kafka's own UtilsTest.testMurmur2 (clients/src/test/java/org/
// apache/kafka/common/utils/UtilsTest.java), and keyed partition choice against toPositive(murmur2) % n.
import { describe, expect, test } from "bun:test";
import { murmur2, murmur2Key, partitionForKey } from "../../../client/producer/murmur2.ts";

// Kafka UtilsTest.testMurmur2: key bytes -> Utils.murmur2(key).
const KAFKA_UTILS_TEST: readonly (readonly [string, number])[] = [
  ["21", -973932308],
  ["foobar", -790332482],
  ["a-little-bit-long-string", -985981536],
  ["a-little-bit-longer-string", -1486304829],
  ["lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971],
  ["abc", 479470107],
];

// KafkaJS's Java-compatible partitioner spec (src/producer/partitioners/defaultJava/murmur2.spec.js), generated
// with Kafka's Java Utils.murmur2 (its Test.java): covers every tail length (0..3 trailing bytes). KafkaJS's older
// "default" partitioner is known not to match Java; its vectors are not used here.
const KAFKAJS_JAVA_VECTORS: readonly (readonly [string, number])[] = [
  ["0", 971027396],
  ["1", -1993445489],
  ["128", -326012175],
  ["2187", -1508407203],
  ["16384", -325739742],
  ["78125", -1654490814],
  ["279936", 1462227128],
  ["823543", -2014198330],
  ["2097152", 607668903],
  ["4782969", -1182699775],
  ["10000000", -1830336757],
  ["19487171", -1603849305],
  ["35831808", -857013643],
  ["62748517", -1167431028],
  ["105413504", -381294639],
  ["170859375", -1658323481],
  ["100:48069", 1009543857],
];

const encoder = new TextEncoder();

describe("murmur2", () => {
  test("matches Kafka's UtilsTest vectors (bytes and strings)", () => {
    for (const [key, hash] of KAFKA_UTILS_TEST) {
      expect(murmur2(encoder.encode(key))).toBe(hash);
      expect(murmur2Key(key)).toBe(hash);
    }
  });

  test("matches Java-generated vectors for every tail length", () => {
    for (const [key, hash] of KAFKAJS_JAVA_VECTORS) {
      expect(murmur2Key(key)).toBe(hash);
      expect(murmur2Key(encoder.encode(key))).toBe(hash);
    }
  });

  test("the empty key hashes like Java's (seed ^ 0, finalised)", () => {
    expect(murmur2(new Uint8Array(0))).toBe(murmur2Key(""));
    expect(Number.isInteger(murmur2(new Uint8Array(0)))).toBe(true);
  });

  test("non-ASCII string keys hash their UTF-8 bytes", () => {
    for (const key of ["ключ", "鍵", "ride_🚕_42", "é"]) expect(murmur2Key(key)).toBe(murmur2(encoder.encode(key)));
  });

  test("bytes with the high bit set are unsigned, as Java's & 0xff", () => {
    const bytes = new Uint8Array([0xff, 0x80, 0x7f, 0x00, 0xfe, 0x81, 0x01]);
    // Reference: the same algorithm over Int8 values masked with 0xff (a direct transcription of Utils.murmur2).
    const reference = (data: Int8Array): number => {
      const m = 0x5bd1e995;
      let h = 0x9747b28c ^ data.length;
      const n4 = data.length >> 2;
      for (let i = 0; i < n4; i++) {
        const i4 = i * 4;
        let k = (data[i4]! & 0xff) + ((data[i4 + 1]! & 0xff) << 8) + ((data[i4 + 2]! & 0xff) << 16) + ((data[i4 + 3]! & 0xff) << 24);
        k = Math.imul(k, m);
        k ^= k >>> 24;
        k = Math.imul(k, m);
        h = Math.imul(h, m);
        h ^= k;
      }
      const rest = data.length % 4;
      const at = data.length & ~3;
      if (rest >= 3) h ^= (data[at + 2]! & 0xff) << 16;
      if (rest >= 2) h ^= (data[at + 1]! & 0xff) << 8;
      if (rest >= 1) {
        h ^= data[at]! & 0xff;
        h = Math.imul(h, m);
      }
      h ^= h >>> 13;
      h = Math.imul(h, m);
      h ^= h >>> 15;
      return h | 0;
    };
    for (let length = 0; length <= bytes.length; length++) {
      const slice = bytes.subarray(0, length);
      expect(murmur2(slice)).toBe(reference(new Int8Array(slice.buffer, slice.byteOffset, length)));
    }
  });

  test("partitionForKey is toPositive(murmur2) % numPartitions", () => {
    for (const [key, hash] of [...KAFKA_UTILS_TEST, ...KAFKAJS_JAVA_VECTORS]) {
      for (const partitions of [1, 2, 3, 7, 12, 100]) expect(partitionForKey(key, partitions)).toBe((hash & 0x7fffffff) % partitions);
    }
    // Worked by hand from the table: "21" -> -973932308 & 0x7fffffff = 1173551340; % 3 = 0, % 4 = 0, % 7 = 3.
    expect(partitionForKey("21", 3)).toBe(0);
    expect(partitionForKey("21", 4)).toBe(0);
    expect(partitionForKey("21", 7)).toBe(3);
  });
});
