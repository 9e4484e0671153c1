// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of Kafka's v2 record batches.
// Two implementations with one contract (test/core/formats/crc32c.test.ts): the TypeScript twin below (oracle and
// fallback) and the WASM kernel in asm/crc32c.ts. `crc32c` is the one the rest of the code calls: it picks the
// twin or the kernel by input size (CRC32C_WASM_MIN_BYTES).

import { arena, heap, wasm } from "./wasm.ts";

const POLY_REFLECTED = 0x82f63b78;
const SLICES = 8;

// Slice-by-8 tables: TABLES[k * 256 + b] is the CRC register after byte b followed by k zero bytes. Held as
// Int32Array (same bits) so every load is an int32: Uint32Array loads above 2^31 are doubles to the JIT.
const TABLES = (() => {
  const t = new Int32Array(SLICES * 256);
  for (let b = 0; b < 256; b++) {
    let c = b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY_REFLECTED : c >>> 1;
    t[b] = c;
  }
  for (let b = 0; b < 256; b++) {
    for (let k = 1; k < SLICES; k++) t[k * 256 + b] = (t[(k - 1) * 256 + b]! >>> 8) ^ t[t[(k - 1) * 256 + b]! & 0xff]!;
  }
  return t;
})();

/**
 * TypeScript twin: CRC-32C of `bytes`, continuing from `seed` (the CRC of the bytes before, 0 to start).
 * HOT PATH (bench/crc32c.bench.ts): slice-by-8 with index loops and no allocation. The register stays an int32
 * throughout (no `>>> 0` until the end), so the JIT never sees a value above 2^31 and never deoptimises on it.
 */
export function crc32cTs(bytes: Uint8Array, seed = 0): number {
  const t = TABLES;
  let crc = ~seed;
  let i = 0;
  const n = bytes.length;
  const end8 = n - (n % 8);
  while (i < end8) {
    const lo = crc ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24));
    crc =
      t[7 * 256 + (lo & 0xff)]! ^
      t[6 * 256 + ((lo >>> 8) & 0xff)]! ^
      t[5 * 256 + ((lo >>> 16) & 0xff)]! ^
      t[4 * 256 + (lo >>> 24)]! ^
      t[3 * 256 + bytes[i + 4]!]! ^
      t[2 * 256 + bytes[i + 5]!]! ^
      t[1 * 256 + bytes[i + 6]!]! ^
      t[bytes[i + 7]!]!;
    i += 8;
  }
  while (i < n) crc = t[(crc ^ bytes[i++]!) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}

const crc32cKernel = wasm.crc32c as (ptr: number, len: number, seed: number) => number;

/**
 * WASM kernel: CRC-32C of `bytes` continuing from `seed`, copying `bytes` into the scratch arena first unless
 * they already are in wasm memory (falls back to the twin when the arena cannot grow that far).
 */
export function crc32cWasm(bytes: Uint8Array, seed = 0): number {
  // Bytes that already live in wasm memory (e.g. a batch built there) are summed in place, without the copy.
  if (bytes.buffer === wasm.memory.buffer) return crc32cKernel(bytes.byteOffset, bytes.length, seed) >>> 0;
  const base = arena(bytes.length);
  if (base < 0) return crc32cTs(bytes, seed);
  heap().set(bytes, base);
  return crc32cKernel(base, bytes.length, seed) >>> 0;
}

/**
 * Inputs shorter than this go to the TS twin: below it the copy into wasm memory plus the JS->wasm call cost more
 * than the kernel saves. Measured by bench/crc32c.bench.ts (rows "wasm copy+kernel" vs "ts twin", fastest
 * sample, two runs; docs/benchmarks/crc-and-index.md): 0.39-0.41x at 64 B, 0.62-0.91x at 256 B, 1.00-1.09x at
 * 512 B, 1.11-1.14x at 1 KiB, 1.4-2.5x at 1 MiB.
 */
export const CRC32C_WASM_MIN_BYTES = 512;

/** CRC-32C of `bytes` continuing from `seed`; the implementation the rest of Rivulet calls. */
export function crc32c(bytes: Uint8Array, seed = 0): number {
  return bytes.length < CRC32C_WASM_MIN_BYTES ? crc32cTs(bytes, seed) : crc32cWasm(bytes, seed);
}
