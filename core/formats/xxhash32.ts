// xxHash32 (Yann Collet's 32-bit xxHash), the checksum of the LZ4 frame format: its header checksum byte, the
// optional per-block checksums and the optional content checksum are all xxh32 with seed 0.
//
// Written in TypeScript: in the frame codec it runs over at most a few checksummed regions per frame, and
// bench/lz4.bench.ts shows block (de)compression, not hashing, dominates. Move it to wasm if profiles say otherwise.
//
// HOT PATH (bench/lz4.bench.ts, frame rows): 16-byte stripes read as four little-endian words with index loops,
// Math.imul for 32-bit multiplies, no allocation.

const PRIME32_1 = 0x9e3779b1;
const PRIME32_2 = 0x85ebca77;
const PRIME32_3 = 0xc2b2ae3d;
const PRIME32_4 = 0x27d4eb2f;
const PRIME32_5 = 0x165667b1;

/** Bytes consumed per round of the four-lane accumulator loop. */
const STRIPE_BYTES = 16;

function rotl32(x: number, bits: number): number {
  return (x << bits) | (x >>> (32 - bits));
}

function readU32le(bytes: Uint8Array, i: number): number {
  return bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
}

function round(acc: number, lane: number): number {
  return Math.imul(rotl32((acc + Math.imul(lane, PRIME32_2)) | 0, 13), PRIME32_1);
}

/** xxh32 of `bytes[start, end)` with `seed`, as an unsigned 32-bit integer. */
export function xxh32(bytes: Uint8Array, seed = 0, start = 0, end = bytes.length): number {
  let i = start;
  const length = end - start;
  let h: number;
  if (length >= STRIPE_BYTES) {
    let v1 = (seed + PRIME32_1 + PRIME32_2) | 0;
    let v2 = (seed + PRIME32_2) | 0;
    let v3 = seed | 0;
    let v4 = (seed - PRIME32_1) | 0;
    const limit = end - STRIPE_BYTES;
    while (i <= limit) {
      v1 = round(v1, readU32le(bytes, i));
      v2 = round(v2, readU32le(bytes, i + 4));
      v3 = round(v3, readU32le(bytes, i + 8));
      v4 = round(v4, readU32le(bytes, i + 12));
      i += STRIPE_BYTES;
    }
    h = (rotl32(v1, 1) + rotl32(v2, 7) + rotl32(v3, 12) + rotl32(v4, 18)) | 0;
  } else {
    h = (seed + PRIME32_5) | 0;
  }
  // The specification adds the length modulo 2^32.
  h = (h + length) | 0;
  while (i + 4 <= end) {
    h = Math.imul(rotl32((h + Math.imul(readU32le(bytes, i), PRIME32_3)) | 0, 17), PRIME32_4);
    i += 4;
  }
  while (i < end) {
    h = Math.imul(rotl32((h + Math.imul(bytes[i]!, PRIME32_5)) | 0, 11), PRIME32_1);
    i++;
  }
  h ^= h >>> 15;
  h = Math.imul(h, PRIME32_2);
  h ^= h >>> 13;
  h = Math.imul(h, PRIME32_3);
  h ^= h >>> 16;
  return h >>> 0;
}
