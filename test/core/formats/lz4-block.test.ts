// One contract suite for both LZ4 block codecs (the TypeScript twin and the WASM kernel), cross-decoding with
// lz4_flex (through lz4-napi and lz4-wasm-nodejs), hostile inputs, and a seeded differential fuzz.
import { describe, expect, test } from "bun:test";
import { compressSync, uncompressSync } from "lz4-napi";
import * as lz4Wasm from "lz4-wasm-nodejs";
import {
  compressLz4Block,
  decompressLz4Block,
  LZ4_COMPRESS_INPUT_BYTES_MAX,
  LZ4_STATUS_BAD_OFFSET,
  LZ4_STATUS_DST_TOO_SMALL,
  LZ4_STATUS_INPUT_TOO_LARGE,
  LZ4_STATUS_OUTPUT_FULL,
  LZ4_STATUS_TRUNCATED,
  lz4CompressBlockTs,
  lz4CompressBlockWasm,
  lz4CompressBound,
  lz4DecompressBlockKernel,
  lz4DecompressBlockTs,
  lz4DecompressBlockWasm,
  lz4DecompressBlockWithPrefixKernel,
} from "../../../core/formats/lz4-block.ts";
import { arena, heap, wasm } from "../../../core/formats/wasm.ts";
import { eventsNdjson, seededRandom } from "../../../bench/data.ts";

interface BlockCodec {
  name: string;
  compress(src: Uint8Array, dst: Uint8Array): number;
  decompress(src: Uint8Array, dst: Uint8Array): number;
}

const codecs: BlockCodec[] = [
  { name: "ts twin", compress: lz4CompressBlockTs, decompress: lz4DecompressBlockTs },
  { name: "wasm kernel", compress: lz4CompressBlockWasm, decompress: lz4DecompressBlockWasm },
];

function randomBytes(length: number, seed: number, alphabet = 256): Uint8Array {
  const random = seededRandom(seed);
  return new Uint8Array(length).map(() => Math.floor(random() * alphabet));
}

// Inputs chosen to reach every branch: empty, below the 13-byte minimum for a match, long literal runs (extra
// length bytes), long matches (extra match bytes, overlapping copies of short periods), realistic JSON,
// incompressible bytes, and a full 64 KiB block.
const samples: Record<string, Uint8Array> = {
  empty: new Uint8Array(0),
  "one byte": new Uint8Array([7]),
  "12 bytes": new TextEncoder().encode("abcabcabcabc"),
  "13 bytes": new TextEncoder().encode("abcabcabcabca"),
  "zeros 1000": new Uint8Array(1000),
  "zeros 70000": new Uint8Array(70000),
  "period 3": new TextEncoder().encode("xyz".repeat(5000)),
  "random 300": randomBytes(300, 11),
  "random 70000": randomBytes(70000, 12),
  "small alphabet": randomBytes(20000, 13, 4),
  "json 64 KiB": eventsNdjson(65536, 1),
  "json 200 KiB": eventsNdjson(200_000, 2),
  "literals then run": (() => {
    const b = randomBytes(1000, 14);
    b.fill(9, 400);
    return b;
  })(),
};

interface Sequence {
  literalLength: number;
  offset: number;
  matchLength: number;
  outputAt: number;
}

// Independent reading of a block into sequences, to check the encoder's end rules.
function parseSequences(block: Uint8Array): Sequence[] {
  const sequences: Sequence[] = [];
  let ip = 0;
  let out = 0;
  while (ip < block.length) {
    const token = block[ip++]!;
    let literalLength = token >> 4;
    if (literalLength === 15) for (let b = 255; b === 255; literalLength += b) b = block[ip++]!;
    ip += literalLength;
    out += literalLength;
    if (ip >= block.length) {
      sequences.push({ literalLength, offset: 0, matchLength: 0, outputAt: out });
      break;
    }
    const offset = block[ip]! | (block[ip + 1]! << 8);
    ip += 2;
    let matchLength = token & 15;
    if (matchLength === 15) for (let b = 255; b === 255; matchLength += b) b = block[ip++]!;
    matchLength += 4;
    sequences.push({ literalLength, offset, matchLength, outputAt: out });
    out += matchLength;
  }
  return sequences;
}

function compressWith(codec: BlockCodec, src: Uint8Array): Uint8Array {
  const dst = new Uint8Array(lz4CompressBound(src.length));
  const written = codec.compress(src, dst);
  expect(written).toBeGreaterThan(0);
  return dst.slice(0, written);
}

for (const codec of codecs) {
  describe(`lz4 block contract: ${codec.name}`, () => {
    for (const [name, src] of Object.entries(samples)) {
      test(`round trip: ${name}`, () => {
        const block = compressWith(codec, src);
        expect(block.length).toBeLessThanOrEqual(lz4CompressBound(src.length));
        const out = new Uint8Array(src.length);
        expect(codec.decompress(block, out)).toBe(src.length);
        expect(out as Uint8Array).toEqual(src);
      });

      test(`end rules: last 5 bytes literal, last match starts >= 12 before end: ${name}`, () => {
        const sequences = parseSequences(compressWith(codec, src));
        const last = sequences[sequences.length - 1]!;
        expect(last.matchLength).toBe(0);
        for (const s of sequences) {
          if (s.matchLength === 0) continue;
          expect(s.offset).toBeGreaterThan(0);
          expect(s.offset).toBeLessThanOrEqual(s.outputAt);
          expect(s.outputAt).toBeLessThanOrEqual(src.length - 12);
          expect(s.outputAt + s.matchLength).toBeLessThanOrEqual(src.length - 5);
        }
      });
    }

    test("compresses realistic JSON at least 2x", () => {
      const src = samples["json 64 KiB"]!;
      expect(compressWith(codec, src).length * 2).toBeLessThan(src.length);
    });

    test("refuses an output smaller than the bound, and an input above its maximum", () => {
      const src = samples["json 64 KiB"]!;
      expect(codec.compress(src, new Uint8Array(lz4CompressBound(src.length) - 1))).toBe(LZ4_STATUS_DST_TOO_SMALL);
      const big = new Uint8Array(LZ4_COMPRESS_INPUT_BYTES_MAX + 1);
      expect(codec.compress(big, new Uint8Array(lz4CompressBound(big.length)))).toBe(LZ4_STATUS_INPUT_TOO_LARGE);
    });

    test("the output bound is exact: one byte less is OUTPUT_FULL", () => {
      for (const src of [samples["json 64 KiB"]!, samples["zeros 1000"]!, samples["random 300"]!]) {
        const block = compressWith(codec, src);
        expect(codec.decompress(block, new Uint8Array(src.length))).toBe(src.length);
        expect(codec.decompress(block, new Uint8Array(src.length - 1))).toBe(LZ4_STATUS_OUTPUT_FULL);
      }
    });

    test("empty input is truncated; a lone empty-literals token decodes to nothing", () => {
      expect(codec.decompress(new Uint8Array(0), new Uint8Array(16))).toBe(LZ4_STATUS_TRUNCATED);
      expect(codec.decompress(new Uint8Array([0]), new Uint8Array(16))).toBe(0);
    });

    test("match offset 0 and offsets before the start of output are rejected", () => {
      // token: 4 literals + match 4, literals "abcd", offset as given, then a last literals-only sequence.
      const block = (offset: number) => new Uint8Array([0x40, 97, 98, 99, 100, offset & 255, offset >> 8, 0x10, 101]);
      expect(codec.decompress(block(4), new Uint8Array(64))).toBe(9);
      expect(codec.decompress(block(0), new Uint8Array(64))).toBe(LZ4_STATUS_BAD_OFFSET);
      expect(codec.decompress(block(5), new Uint8Array(64))).toBe(LZ4_STATUS_BAD_OFFSET);
      expect(codec.decompress(block(65535), new Uint8Array(64))).toBe(LZ4_STATUS_BAD_OFFSET);
    });

    test("literal runs longer than the input and unterminated length bytes are truncated", () => {
      expect(codec.decompress(new Uint8Array([0x50, 1, 2, 3]), new Uint8Array(64))).toBe(LZ4_STATUS_TRUNCATED);
      expect(codec.decompress(new Uint8Array([0xf0, 255, 255]), new Uint8Array(1024))).toBe(LZ4_STATUS_TRUNCATED);
      expect(codec.decompress(new Uint8Array([0x1f, 65, 1, 0, 255]), new Uint8Array(1024))).toBe(LZ4_STATUS_TRUNCATED);
      expect(codec.decompress(new Uint8Array([0x10, 65, 1]), new Uint8Array(1024))).toBe(LZ4_STATUS_TRUNCATED);
    });

    test("every prefix of valid blocks: an error, or a prefix of the content within the bound", () => {
      for (const src of [samples["json 64 KiB"]!.subarray(0, 3000), samples["literals then run"]!, samples["period 3"]!.subarray(0, 2000)]) {
        const block = compressWith(codec, src);
        const out = new Uint8Array(src.length);
        for (let cut = 0; cut < block.length; cut++) {
          const status = codec.decompress(block.subarray(0, cut), out);
          if (status >= 0) expect(out.subarray(0, status) as Uint8Array).toEqual(src.subarray(0, status));
          else expect([LZ4_STATUS_TRUNCATED, LZ4_STATUS_BAD_OFFSET, LZ4_STATUS_OUTPUT_FULL]).toContain(status);
        }
      }
    });

    test("a decompression bomb (64 KiB of zeros per few hundred bytes) stops at the bound", () => {
      const bomb = compressWith(codec, new Uint8Array(4 * 1024 * 1024));
      expect(bomb.length).toBeLessThan(20_000);
      expect(codec.decompress(bomb, new Uint8Array(1 << 20))).toBe(LZ4_STATUS_OUTPUT_FULL);
    });
  });
}

describe("lz4 block: twin and kernel agree", () => {
  test("compressed bytes are identical", () => {
    for (const src of Object.values(samples)) expect(compressWith(codecs[1]!, src)).toEqual(compressWith(codecs[0]!, src));
  });

  test("status codes agree with the kernel's exported constants", () => {
    const global = (name: string) => (wasm[name] as WebAssembly.Global).value as number;
    expect(global("LZ4_STATUS_TRUNCATED")).toBe(LZ4_STATUS_TRUNCATED);
    expect(global("LZ4_STATUS_BAD_OFFSET")).toBe(LZ4_STATUS_BAD_OFFSET);
    expect(global("LZ4_STATUS_OUTPUT_FULL")).toBe(LZ4_STATUS_OUTPUT_FULL);
    expect(global("LZ4_STATUS_DST_TOO_SMALL")).toBe(LZ4_STATUS_DST_TOO_SMALL);
    expect(global("LZ4_STATUS_INPUT_TOO_LARGE")).toBe(LZ4_STATUS_INPUT_TOO_LARGE);
    for (const n of [0, 1, 254, 255, 65536, LZ4_COMPRESS_INPUT_BYTES_MAX]) {
      expect((wasm.lz4CompressBound as (n: number) => number)(n)).toBe(lz4CompressBound(n));
    }
  });

  test("the kernel never writes outside [dst, dst + capacity), even with its 8-byte copies", () => {
    const guard = 64;
    for (const src of [samples["json 64 KiB"]!.subarray(0, 5000), samples["period 3"]!.subarray(0, 3000), samples["random 300"]!]) {
      const block = compressWith(codecs[0]!, src);
      for (const capacity of [0, 1, 17, src.length - 9, src.length - 1, src.length, src.length + 3]) {
        const base = arena(block.length + capacity + 3 * guard);
        const srcAt = base;
        const dstAt = base + block.length + guard;
        const memory = heap();
        memory.set(block, srcAt);
        memory.fill(0xa5, dstAt - guard, dstAt + capacity + guard);
        const status = lz4DecompressBlockKernel(srcAt, block.length, dstAt, capacity);
        expect(status).toBe(capacity >= src.length ? src.length : LZ4_STATUS_OUTPUT_FULL);
        const after = heap();
        for (let i = 0; i < guard; i++) {
          expect(after[dstAt - guard + i]).toBe(0xa5);
          expect(after[dstAt + capacity + i]).toBe(0xa5);
        }
      }
    }
  });

  test("with a prefix, matches may reach back into it and no further", () => {
    // Block: 0 literals, match of 4 at offset 3 (into the prefix), then literals "!".
    const block = new Uint8Array([0x00, 3, 0, 0x10, 33]);
    const base = arena(64);
    const memory = heap();
    memory.set(block, base);
    memory.set([120, 121, 122], base + 16);
    expect(lz4DecompressBlockWithPrefixKernel(base, block.length, base + 19, 16, 3)).toBe(5);
    expect(Array.from(heap().subarray(base + 16, base + 24))).toEqual([120, 121, 122, 120, 121, 122, 120, 33]);
    expect(lz4DecompressBlockWithPrefixKernel(base, block.length, base + 19, 16, 2)).toBe(LZ4_STATUS_BAD_OFFSET);
    expect(lz4DecompressBlockKernel(base, block.length, base + 19, 16)).toBe(LZ4_STATUS_BAD_OFFSET);
  });
});

describe("lz4 block: cross-decoding with lz4_flex", () => {
  // lz4-napi and lz4-wasm-nodejs both prepend the content length as u32 LE to one raw block.
  const withSizePrefix = (block: Uint8Array, size: number) => {
    const out = new Uint8Array(4 + block.length);
    new DataView(out.buffer).setUint32(0, size, true);
    out.set(block, 4);
    return out;
  };
  for (const codec of codecs) {
    test(`${codec.name} decodes lz4-napi and lz4-wasm-nodejs blocks; they decode ours`, () => {
      for (const src of Object.values(samples)) {
        for (const theirs of [compressSync(Buffer.from(src)), lz4Wasm.compress(src)]) {
          const out = new Uint8Array(src.length);
          expect(codec.decompress(theirs.subarray(4), out)).toBe(src.length);
          expect(out as Uint8Array).toEqual(src);
        }
        const ours = withSizePrefix(compressWith(codec, src), src.length);
        expect(new Uint8Array(uncompressSync(ours)) as Uint8Array).toEqual(src);
        expect(lz4Wasm.decompress(ours)).toEqual(src);
      }
    });
  }
});

describe("lz4 block: Result API", () => {
  test("compressLz4Block / decompressLz4Block round trip and typed errors", () => {
    const src = samples["json 64 KiB"]!;
    const block = compressLz4Block(src);
    const back = decompressLz4Block(block, src.length);
    expect(back.ok && back.value).toEqual(src);
    expect(decompressLz4Block(block, src.length - 1)).toEqual({ ok: false, error: "output_too_large" });
    expect(decompressLz4Block(block.subarray(0, 100), src.length)).toEqual({ ok: false, error: "truncated" });
    expect(decompressLz4Block(new Uint8Array([0x40, 1, 2, 3, 4, 9, 0, 0]), 64)).toEqual({ ok: false, error: "bad_offset" });
  });
});

describe("lz4 block: seeded differential fuzz", () => {
  test("60,000 mutated blocks: no throw, twin and kernel agree, output within bound", () => {
    const random = seededRandom(0xb10c);
    const seeds = [
      samples["json 64 KiB"]!.subarray(0, 1500),
      samples["literals then run"]!,
      samples["period 3"]!.subarray(0, 600),
      samples["small alphabet"]!.subarray(0, 800),
    ].map((src) => ({ src, block: compressWith(codecs[0]!, src) }));
    const outTs = new Uint8Array(2048);
    const outWasm = new Uint8Array(2048);
    let decodedOk = 0;
    for (let i = 0; i < 60_000; i++) {
      const seed = seeds[i % seeds.length]!;
      const block = seed.block.slice();
      const edits = 1 + Math.floor(random() * 4);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(random() * block.length);
        const kind = random();
        if (kind < 0.6) block[at] = Math.floor(random() * 256);
        else if (kind < 0.8) block[at] = block[at]! ^ (1 << Math.floor(random() * 8));
        else block[at] = random() < 0.5 ? 0xff : 0;
      }
      const length = random() < 0.2 ? Math.floor(random() * block.length) : block.length;
      const capacity = random() < 0.5 ? seed.src.length : Math.floor(random() * 2048);
      const input = block.subarray(0, length);
      const a = lz4DecompressBlockTs(input, outTs.subarray(0, capacity));
      const b = lz4DecompressBlockWasm(input, outWasm.subarray(0, capacity));
      if (a !== b) expect({ i, a, b }).toEqual({ i, a, b: a });
      if (a >= 0) {
        decodedOk++;
        expect(a).toBeLessThanOrEqual(capacity);
        if (Buffer.compare(outTs.subarray(0, a), outWasm.subarray(0, a)) !== 0) expect(outWasm.subarray(0, a)).toEqual(outTs.subarray(0, a));
      }
    }
    // Sanity: the mutations are not all rejected at the first byte.
    expect(decodedOk).toBeGreaterThan(100);
  });
});
