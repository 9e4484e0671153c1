// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) over wasm memory: the checksum of Kafka's v2 batches.
// Contract and TypeScript twin: core/formats/crc32c.ts; both run one suite (test/core/formats/crc32c.test.ts).
//
// Three paths by length, chosen by bench/crc32c.bench.ts:
//   len >= THREE_WAY_MIN_BYTES   three interleaved slice-by-8 lanes over thirds of the buffer. One lane's table
//                                lookups wait on its previous CRC; three independent lanes keep the CPU's load
//                                ports busy (~2x over one lane at 64 KiB and 1 MiB here). Lanes are joined
//                                with GF(2) shifts (zlib's crc32_combine idea: multiply by x^(8n) mod P).
//   len >= 8                     one slice-by-8 lane.
//   tail                         one table lookup per byte.
//
// Static data (filled once by the module's start function, kernels never allocate):
//   SLICE_TABLES  8 x 256 x u32  SLICE_TABLES[k][b] = CRC register after byte b followed by k zero bytes
//   X2N_TABLE     32 x u32       X2N_TABLE[n] = x^(2^n) mod P, for shifting a register by n zero bytes

const POLY_REFLECTED: u32 = 0x82f63b78;
const SLICES: i32 = 8;
const TABLE_BYTES: usize = 256 * 4;

/**
 * Below this many bytes one lane wins: the lane join costs ~10-20 GF(2) multiplications. Measured best-of-15 in
 * Bun: 3-way 1.08 vs 1-lane 1.21 GB/s at 2 KiB, 1.96 vs 1.32 GB/s at 4 KiB (bench/crc32c.bench.ts rows
 * "wasm 3-way resident" / "wasm 1-lane resident").
 */
const THREE_WAY_MIN_BYTES: usize = 4096;

const SLICE_TABLES: usize = memory.data(SLICES * 256 * 4, 64);
const X2N_TABLE: usize = memory.data(32 * 4, 64);

// In the reflected representation the polynomial x^0 is the top bit.
const X0: u32 = 0x80000000;

/** a * b mod P over GF(2), both in reflected form. */
function multiplyModP(a: u32, b: u32): u32 {
  let product: u32 = 0;
  let m: u32 = X0;
  while (true) {
    if (a & m) {
      product ^= b;
      if ((a & (m - 1)) == 0) break;
    }
    m >>= 1;
    b = b & 1 ? (b >> 1) ^ POLY_REFLECTED : b >> 1;
  }
  return product;
}

/** x^(n * 2^k) mod P: k = 3 turns a byte count n into the shift x^(8n). */
function xPowerModP(n: usize, k: u32): u32 {
  let power: u32 = X0;
  while (n != 0) {
    if (n & 1) power = multiplyModP(load<u32>(X2N_TABLE + ((<usize>k & 31) << 2)), power);
    n >>= 1;
    k++;
  }
  return power;
}

function initTables(): void {
  for (let b: u32 = 0; b < 256; b++) {
    let c = b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ POLY_REFLECTED : c >> 1;
    store<u32>(SLICE_TABLES + (<usize>b << 2), c);
  }
  for (let k = 1; k < SLICES; k++) {
    const previous = SLICE_TABLES + <usize>(k - 1) * TABLE_BYTES;
    const current = SLICE_TABLES + <usize>k * TABLE_BYTES;
    for (let b: usize = 0; b < 256; b++) {
      const c = load<u32>(previous + (b << 2));
      store<u32>(current + (b << 2), (c >> 8) ^ load<u32>(SLICE_TABLES + (<usize>(c & 0xff) << 2)));
    }
  }
  let p: u32 = X0 >> 1; // x^1
  store<u32>(X2N_TABLE, p);
  for (let n: usize = 1; n < 32; n++) {
    p = multiplyModP(p, p);
    store<u32>(X2N_TABLE + (n << 2), p);
  }
}
initTables();

// One slice-by-8 step: the register absorbs 8 bytes (lo = first 4 bytes, hi = next 4, little-endian).
// HOT PATH (bench/crc32c.bench.ts): each lookup is shift + mask + load. The byte is extracted already scaled by 4
// (shift 2 less, mask 0x3fc) and the table address is the load's constant immediate, which roughly halves the
// instructions per lookup against the plain `table[(x >> s) & 0xff]` form.
// @ts-ignore: decorator
@inline
function step8(crc: u32, lo: u32, hi: u32): u32 {
  const a = crc ^ lo;
  return (
    load<u32>(<usize>((a << 2) & 0x3fc), SLICE_TABLES + 7 * 1024) ^
    load<u32>(<usize>((a >> 6) & 0x3fc), SLICE_TABLES + 6 * 1024) ^
    load<u32>(<usize>((a >> 14) & 0x3fc), SLICE_TABLES + 5 * 1024) ^
    load<u32>(<usize>((a >> 22) & 0x3fc), SLICE_TABLES + 4 * 1024) ^
    load<u32>(<usize>((hi << 2) & 0x3fc), SLICE_TABLES + 3 * 1024) ^
    load<u32>(<usize>((hi >> 6) & 0x3fc), SLICE_TABLES + 2 * 1024) ^
    load<u32>(<usize>((hi >> 14) & 0x3fc), SLICE_TABLES + 1 * 1024) ^
    load<u32>(<usize>((hi >> 22) & 0x3fc), SLICE_TABLES)
  );
}

// Register after absorbing [ptr, ptr + len) one byte at a time.
function bytewise(crc: u32, ptr: usize, len: usize): u32 {
  const end = ptr + len;
  while (ptr < end) {
    crc = (crc >> 8) ^ load<u32>(SLICE_TABLES + (<usize>((crc ^ <u32>load<u8>(ptr)) & 0xff) << 2));
    ptr++;
  }
  return crc;
}

// Register after absorbing [ptr, ptr + len): slice-by-8 over whole 8-byte words, bytewise tail.
function oneLane(crc: u32, ptr: usize, len: usize): u32 {
  const end8 = ptr + (len & ~(<usize>7));
  while (ptr < end8) {
    crc = step8(crc, load<u32>(ptr), load<u32>(ptr, 4));
    ptr += 8;
  }
  return bytewise(crc, ptr, len & 7);
}

// Register after absorbing [ptr, ptr + len) as three interleaved lanes. Lanes B and C start from register 0;
// the register of A||B||C is shift(A, |B|+|C|) ^ shift(B, |C|) ^ C, where shift(r, n) = r * x^(8n) mod P.
function threeLanes(crc: u32, ptr: usize, len: usize): u32 {
  const laneBytes = (len / 24) * 8;
  let a = crc;
  let b: u32 = 0;
  let c: u32 = 0;
  let pa = ptr;
  let pb = ptr + laneBytes;
  let pc = pb + laneBytes;
  const endA = pb;
  // HOT PATH (bench/crc32c.bench.ts, 64 KiB and 1 MiB): three independent dependency chains per iteration.
  while (pa < endA) {
    a = step8(a, load<u32>(pa), load<u32>(pa, 4));
    b = step8(b, load<u32>(pb), load<u32>(pb, 4));
    c = step8(c, load<u32>(pc), load<u32>(pc, 4));
    pa += 8;
    pb += 8;
    pc += 8;
  }
  // Lane C also takes the remainder (< 24 bytes) so the join needs only two shifts.
  const cBytes = len - 2 * laneBytes;
  c = oneLane(c, pc, cBytes - laneBytes);
  return multiplyModP(xPowerModP(laneBytes + cBytes, 3), a) ^ multiplyModP(xPowerModP(cBytes, 3), b) ^ c;
}

/** Single-lane slice-by-8 CRC-32C (same contract as crc32c): the baseline bench/crc32c.bench.ts holds 3-way to. */
export function crc32cOneLane(ptr: usize, len: usize, seed: u32): u32 {
  return ~oneLane(~seed, ptr, len);
}

/** CRC-32C of the `len` bytes at `ptr`, continuing from `seed` (the CRC of the bytes before; 0 to start). */
export function crc32c(ptr: usize, len: usize, seed: u32): u32 {
  const crc = ~seed;
  if (len >= THREE_WAY_MIN_BYTES) return ~threeLanes(crc, ptr, len);
  return ~oneLane(crc, ptr, len);
}
