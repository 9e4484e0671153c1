import { describe, expect, test } from "bun:test";
import { crc32c as nativeCrc32c } from "@node-rs/crc32";
import { CRC32C_WASM_MIN_BYTES, crc32c, crc32cTs, crc32cWasm } from "../../../core/formats/crc32c.ts";
import { arena, heap } from "../../../core/formats/wasm.ts";

// Deterministic PRNG (mulberry32) so a failure names a reproducible seed.
function randomBytes(seed: number, length: number): Uint8Array {
  let a = seed >>> 0;
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (t ^ (t >>> 14)) & 0xff;
  }
  return out;
}

function native(bytes: Uint8Array, seed = 0): number {
  return nativeCrc32c(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), seed) >>> 0;
}

const implementations = [
  { name: "ts twin", crc: crc32cTs },
  { name: "wasm kernel", crc: crc32cWasm },
  { name: "default", crc: crc32c },
];

// Sizes from the contract, plus the edges of the kernel's paths: the 8-byte step, the blocks of three 256-byte
// lanes (768 bytes, the rest on one lane) and the dispatcher's crossover.
const SIZES = [
  0, 1, 7, 8, 15, 16, 17, 23, 24, 25, 63, 64, 65, 255, 256, 257, 767, 768, 769, 775, 776, 1000, 1535, 1536, 1537,
  2048, 2303, 2304, 4095, 4096, 4097, 65531, 65536, 1 << 20,
];

for (const impl of implementations) {
  describe(`crc32c (${impl.name})`, () => {
    test("known vectors", () => {
      expect(impl.crc(new TextEncoder().encode("123456789"))).toBe(0xe3069283);
      expect(impl.crc(new Uint8Array(0))).toBe(0);
      expect(impl.crc(new Uint8Array(32))).toBe(0x8a9136aa);
      expect(impl.crc(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    });

    test("empty input returns the seed unchanged", () => {
      expect(impl.crc(new Uint8Array(0), 0xdeadbeef)).toBe(0xdeadbeef);
    });

    test("agrees with @node-rs/crc32 on random buffers of many sizes", () => {
      for (const size of SIZES) {
        const bytes = randomBytes(size + 1, size);
        const want = native(bytes);
        if (impl.crc(bytes) !== want) throw new Error(`size ${size}: want ${want.toString(16)}`);
      }
    });

    test("every length from 0 to 80 and across the first two three-lane blocks (700 to 1600)", () => {
      const bytes = randomBytes(4242, 1600);
      for (let size = 0; size <= 1600; size = size === 80 ? 700 : size + 1) {
        const view = bytes.subarray(0, size);
        const want = native(view);
        if (impl.crc(view) !== want) throw new Error(`size ${size}: want ${want.toString(16)}`);
      }
    });

    test("continuation: crc(a + b) == crc(b, crc(a)) at every kind of split", () => {
      const bytes = randomBytes(99, 70_000);
      const whole = native(bytes);
      for (const split of [0, 1, 7, 8, 9, 100, 767, 768, 769, 2048, 4099, 65536, 69_999, 70_000]) {
        const first = impl.crc(bytes.subarray(0, split));
        expect(impl.crc(bytes.subarray(split), first)).toBe(whole);
      }
    });

    test("continuation agrees with @node-rs/crc32 for arbitrary seeds", () => {
      for (const size of [5, 300, 3000, 65536]) {
        const bytes = randomBytes(size * 3, size);
        for (const seed of [1, 0x7fffffff, 0x80000000, 0xffffffff]) expect(impl.crc(bytes, seed)).toBe(native(bytes, seed));
      }
    });

    test("unaligned subarrays of a larger buffer", () => {
      const backing = randomBytes(7, 80_000);
      for (const offset of [1, 2, 3, 5, 7, 13]) {
        for (const size of [9, 33, 1001, 2055, 65537]) {
          const view = backing.subarray(offset, offset + size);
          expect(impl.crc(view)).toBe(native(view));
        }
      }
    });

    test("result is an unsigned 32-bit integer", () => {
      for (const size of [1, 31, 5000]) {
        const value = impl.crc(randomBytes(size, size));
        expect(Number.isInteger(value) && value >= 0 && value <= 0xffffffff).toBe(true);
      }
    });
  });
}

describe("crc32c dispatch", () => {
  test("bytes already in wasm memory are summed in place, at any offset", () => {
    const source = randomBytes(5, 70_000);
    const base = arena(source.length + 16);
    heap().set(source, base + 3);
    const inPlace = heap().subarray(base + 3, base + 3 + source.length);
    expect(crc32cWasm(inPlace)).toBe(native(source));
    expect(crc32cWasm(inPlace.subarray(1, 5000), 77)).toBe(native(source.subarray(1, 5000), 77));
  });

  test("the crossover is inside the sizes the suite covers on both sides", () => {
    expect(CRC32C_WASM_MIN_BYTES).toBeGreaterThan(1);
    expect(CRC32C_WASM_MIN_BYTES).toBeLessThan(1 << 20);
    for (const size of [CRC32C_WASM_MIN_BYTES - 1, CRC32C_WASM_MIN_BYTES]) {
      const bytes = randomBytes(size, size);
      expect(crc32c(bytes)).toBe(native(bytes));
    }
  });
});
