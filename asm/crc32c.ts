// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) over wasm memory: the checksum of Kafka's v2 batches.
// Contract and TypeScript twin: core/formats/crc32c.ts; both run one suite (test/core/formats/crc32c.test.ts).
//
// Two paths by length, chosen by bench/crc32c.bench.ts (docs/benchmarks/crc-and-index.md):
//   whole blocks of BLOCK_BYTES   three interleaved slice-by-8 lanes of LANE_BYTES each. One lane's table lookups
//                                 wait on its previous CRC; three independent lanes keep the CPU busy. The lanes
//                                 are joined after every block by a fixed shift of LANE_BYTES zero bytes, which
//                                 is a 32-bit linear map and so four table lookups (SHIFT_TABLES). The earlier
//                                 kernel joined lanes of len/3 bytes with GF(2) multiplications by x^(8n) mod P
//                                 computed per call, which cost ~30 % at 4 KiB and kept 3 lanes off below it.
//   the rest (< BLOCK_BYTES)      one slice-by-8 lane over whole 8-byte words, then one table lookup per byte.
//
// Static data (filled once by the module's start function, kernels never allocate):
//   SLICE_TABLES  8 x 256 x u32  SLICE_TABLES[k][b] = CRC register after byte b followed by k zero bytes
//   WIDE_TABLES   2048 + 2048 + 1024 x u32  the register's part of a slice-by-8 step in three lookups instead
//                 of four: for a = register ^ first 4 bytes, SLICE_TABLES[7..4][bytes of a] summed per bit field
//                   bits  0..10 of a -> WIDE_TABLES[0][a & 0x7ff]          (byte 0, low 3 bits of byte 1)
//                   bits 11..21 of a -> WIDE_TABLES[1][(a >> 11) & 0x7ff]  (high 5 bits of byte 1, low 6 of 2)
//                   bits 22..31 of a -> WIDE_TABLES[2][a >> 22]            (high 2 bits of byte 2, byte 3)
//   SHIFT_TABLES  4 x 256 x u32  SHIFT_TABLES[k][b] = register (b << 8k) after LANE_BYTES zero bytes
//   X2N_TABLE     32 x u32       X2N_TABLE[n] = x^(2^n) mod P, for building SHIFT_TABLES

const POLY_REFLECTED: u32 = 0x82f63b78;
const SLICES: i32 = 8;
const TABLE_BYTES: usize = 256 * 4;

/**
 * Bytes each of the three lanes takes per block. Against 128 and 512 bytes, and against 2 or 4 lanes of 256,
 * in bench/crc32c-ab.bench.ts runs (docs/benchmarks/crc-and-index.md): none was faster by more than the noise at
 * 1 KiB to 1 MiB (512 measured 0.84-1.02x), and a longer block leaves more of a short input to the single lane.
 */
const LANE_BYTES: usize = 256;
const BLOCK_BYTES: usize = 3 * LANE_BYTES;

const SLICE_TABLES: usize = memory.data(SLICES * 256 * 4, 64);
const WIDE_BYTES: usize = 2048 * 4;
const WIDE_TABLES: usize = memory.data((2048 + 2048 + 1024) * 4, 64);
const SHIFT_TABLES: usize = memory.data(4 * 256 * 4, 64);
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
  // WIDE_TABLES from SLICE_TABLES 7..4; CRC tables are linear, so a field spanning two bytes is the XOR of
  // both bytes' entries with the other bits zero.
  const t4 = SLICE_TABLES + 4 * TABLE_BYTES;
  const t5 = SLICE_TABLES + 5 * TABLE_BYTES;
  const t6 = SLICE_TABLES + 6 * TABLE_BYTES;
  const t7 = SLICE_TABLES + 7 * TABLE_BYTES;
  for (let v: usize = 0; v < 2048; v++) {
    const field0 = load<u32>(t7 + ((v & 0xff) << 2)) ^ load<u32>(t6 + ((v >> 8) << 2));
    const field1 = load<u32>(t6 + (((v & 0x1f) << 3) << 2)) ^ load<u32>(t5 + ((v >> 5) << 2));
    store<u32>(WIDE_TABLES + (v << 2), field0);
    store<u32>(WIDE_TABLES + WIDE_BYTES + (v << 2), field1);
  }
  for (let v: usize = 0; v < 1024; v++) {
    const field2 = load<u32>(t5 + (((v & 3) << 6) << 2)) ^ load<u32>(t4 + ((v >> 2) << 2));
    store<u32>(WIDE_TABLES + 2 * WIDE_BYTES + (v << 2), field2);
  }
  let p: u32 = X0 >> 1; // x^1
  store<u32>(X2N_TABLE, p);
  for (let n: usize = 1; n < 32; n++) {
    p = multiplyModP(p, p);
    store<u32>(X2N_TABLE + (n << 2), p);
  }
  // The shift is linear, so each entry is the XOR of the entries of its bits: 32 multiplications, not 1024.
  const shift = xPowerModP(LANE_BYTES, 3);
  for (let k: u32 = 0; k < 4; k++) {
    const table = SHIFT_TABLES + <usize>k * TABLE_BYTES;
    store<u32>(table, 0);
    for (let b: u32 = 1; b < 256; b++) {
      const low = b & (0 - b);
      const entry = b == low ? multiplyModP(shift, b << (8 * k)) : load<u32>(table + (<usize>low << 2)) ^ load<u32>(table + (<usize>(b ^ low) << 2));
      store<u32>(table + (<usize>b << 2), entry);
    }
  }
}
initTables();

// One slice-by-8 step: the register absorbs the 8 bytes at ptr.
// HOT PATH (bench/crc32c.bench.ts): the register's part is three lookups of 11, 11 and 10 bits (WIDE_TABLES)
// rather than four of 8; each field is extracted already scaled by 4 (shift 2 less, mask 0x1ffc or 0xffc) and the
// table address is the load's constant immediate, so a lookup is shift + mask + load. The last 4 bytes do not
// depend on the register, so each is loaded as a byte straight from memory (load + shift + load).
// @ts-ignore: decorator
@inline
function step8(crc: u32, ptr: usize): u32 {
  const a = crc ^ load<u32>(ptr);
  return (
    load<u32>(<usize>((a << 2) & 0x1ffc), WIDE_TABLES) ^
    load<u32>(<usize>((a >> 9) & 0x1ffc), WIDE_TABLES + WIDE_BYTES) ^
    load<u32>(<usize>((a >> 20) & 0xffc), WIDE_TABLES + 2 * WIDE_BYTES) ^
    load<u32>(<usize>load<u8>(ptr, 4) << 2, SLICE_TABLES + 3 * 1024) ^
    load<u32>(<usize>load<u8>(ptr, 5) << 2, SLICE_TABLES + 2 * 1024) ^
    load<u32>(<usize>load<u8>(ptr, 6) << 2, SLICE_TABLES + 1 * 1024) ^
    load<u32>(<usize>load<u8>(ptr, 7) << 2, SLICE_TABLES)
  );
}

// Register r after LANE_BYTES zero bytes (r * x^(8 * LANE_BYTES) mod P), one lookup per byte of r.
// @ts-ignore: decorator
@inline
function shiftLane(r: u32): u32 {
  return (
    load<u32>(<usize>((r << 2) & 0x3fc), SHIFT_TABLES) ^
    load<u32>(<usize>((r >> 6) & 0x3fc), SHIFT_TABLES + 1024) ^
    load<u32>(<usize>((r >> 14) & 0x3fc), SHIFT_TABLES + 2048) ^
    load<u32>(<usize>((r >> 22) & 0x3fc), SHIFT_TABLES + 3072)
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
    crc = step8(crc, ptr);
    ptr += 8;
  }
  return bytewise(crc, ptr, len & 7);
}

// Register after absorbing the whole blocks at [ptr, ptr + blocks * BLOCK_BYTES). Per block, lanes B and C start
// from register 0; the register of A||B||C is shift(shift(A) ^ B) ^ C, with shift = shiftLane (linear).
function threeLaneBlocks(crc: u32, ptr: usize, blocks: usize): u32 {
  const end = ptr + blocks * BLOCK_BYTES;
  while (ptr < end) {
    let a = crc;
    let b: u32 = 0;
    let c: u32 = 0;
    // HOT PATH (bench/crc32c.bench.ts, 16 KiB to 1 MiB): three independent dependency chains per iteration.
    for (let q = ptr, laneEnd = ptr + LANE_BYTES; q < laneEnd; q += 8) {
      a = step8(a, q);
      b = step8(b, q + LANE_BYTES);
      c = step8(c, q + 2 * LANE_BYTES);
    }
    crc = shiftLane(shiftLane(a) ^ b) ^ c;
    ptr += BLOCK_BYTES;
  }
  return crc;
}

/** Single-lane slice-by-8 CRC-32C (same contract as crc32c): the baseline bench/crc32c.bench.ts holds 3 lanes to. */
export function crc32cOneLane(ptr: usize, len: usize, seed: u32): u32 {
  return ~oneLane(~seed, ptr, len);
}

/** CRC-32C of the `len` bytes at `ptr`, continuing from `seed` (the CRC of the bytes before; 0 to start). */
export function crc32c(ptr: usize, len: usize, seed: u32): u32 {
  const blocks = len / BLOCK_BYTES;
  const crc = threeLaneBlocks(~seed, ptr, blocks);
  return ~oneLane(crc, ptr + blocks * BLOCK_BYTES, len - blocks * BLOCK_BYTES);
}
