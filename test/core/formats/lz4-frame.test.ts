// The LZ4 frame codec against frames written by tools no one here wrote (the `lz4` CLI, lz4_flex via lz4-napi),
// ours read back by them, Kafka's exact layout, every typed error, every prefix, and a seeded fuzz.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compressFrameSync, decompressFrameSync } from "lz4-napi";
import { compressionsAlgorithms } from "@platformatic/kafka";
import {
  compressLz4Frame,
  decompressLz4Frame,
  LZ4_FRAME_MAGIC,
  LZ4_SKIPPABLE_MAGIC_MIN,
  lz4FrameCompressBound,
  type Lz4FrameError,
  type Lz4FrameOptions,
} from "../../../core/formats/lz4-frame.ts";
import { xxh32 } from "../../../core/formats/xxhash32.ts";
import { eventsNdjson, seededRandom } from "../../../bench/data.ts";

const fixtures = join(import.meta.dir, "..", "..", "fixtures", "lz4");
const scratch = mkdtempSync(join(tmpdir(), "rivulet-lz4-frame-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const MIB = 1024 * 1024;
const decoders = [
  { name: "wasm", useTypeScript: false },
  { name: "ts", useTypeScript: true },
] as const;

function randomBytes(length: number, seed: number): Uint8Array {
  const random = seededRandom(seed);
  return new Uint8Array(length).map(() => Math.floor(random() * 256));
}

function decodeOk(frame: Uint8Array, max = 64 * MIB, useTypeScript = false): Uint8Array {
  const result = decompressLz4Frame(frame, max, { useTypeScript });
  if (!result.ok) throw new Error(`expected a decoded frame, got ${result.error}`);
  return result.value;
}

function decodeError(frame: Uint8Array, max = 64 * MIB): Lz4FrameError | "ok" {
  const a = decompressLz4Frame(frame, max);
  const b = decompressLz4Frame(frame, max, { useTypeScript: true });
  expect(b.ok ? "ok" : b.error).toBe(a.ok ? "ok" : a.error);
  return a.ok ? "ok" : a.error;
}

let scratchCount = 0;
function lz4Cli(args: string[], input: Uint8Array): Uint8Array {
  const path = join(scratch, `in-${scratchCount++}`);
  writeFileSync(path, input);
  const child = Bun.spawnSync(["lz4", ...args, "-c", path], { stdout: "pipe", stderr: "pipe" });
  expect(child.exitCode).toBe(0);
  rmSync(path);
  return new Uint8Array(child.stdout);
}

// Rewrites FLG/BD (and the header checksum) of a frame that has no content size field.
function withDescriptor(frame: Uint8Array, flg: number, bd: number): Uint8Array {
  const out = frame.slice();
  out[4] = flg;
  out[5] = bd;
  out[6] = (xxh32(out, 0, 4, 6) >>> 8) & 0xff;
  return out;
}

const json = eventsNdjson(300_000, 3);
const sizes = [0, 1, 100, 65535, 65536, 65537, 200_000];

describe("lz4 frame: round trips", () => {
  const optionSets: Lz4FrameOptions[] = [{}, { blockChecksums: true, contentChecksum: true, contentSize: true }, { contentChecksum: true }];
  for (const options of optionSets) {
    for (const size of sizes) {
      test(`${size} bytes, options ${JSON.stringify(options)}`, () => {
        const src = json.subarray(0, size);
        const frame = compressLz4Frame(src, options);
        expect(frame.length).toBeLessThanOrEqual(lz4FrameCompressBound(size));
        expect(compressLz4Frame(src, { ...options, useTypeScript: true })).toEqual(frame);
        for (const d of decoders) expect(decodeOk(frame, size, d.useTypeScript)).toEqual(src);
      });
    }
  }

  test("incompressible input: blocks stored raw and still decoded", () => {
    const src = randomBytes(150_000, 4);
    const frame = compressLz4Frame(src);
    const view = new DataView(frame.buffer, frame.byteOffset);
    expect(view.getUint32(7, true)).toBe((0x80000000 | 65536) >>> 0);
    expect(frame.subarray(11, 11 + 65536)).toEqual(src.subarray(0, 65536));
    for (const d of decoders) expect(decodeOk(frame, src.length, d.useTypeScript)).toEqual(src);
  });
});

describe("lz4 frame: Kafka's layout (Lz4BlockOutputStream)", () => {
  test("magic, FLG 0x60 (v1, independent blocks, no checksums, no size), BD 0x40 (64 KiB), header checksum", () => {
    const frame = compressLz4Frame(json.subarray(0, 150_000));
    const view = new DataView(frame.buffer, frame.byteOffset);
    expect(view.getUint32(0, true)).toBe(LZ4_FRAME_MAGIC);
    expect(frame[4]).toBe(0x60);
    expect(frame[5]).toBe(0x40);
    expect(frame[6]).toBe((xxh32(new Uint8Array([0x60, 0x40])) >>> 8) & 0xff);
    // The CLI writes the same descriptor with -B4 --no-frame-crc.
    expect(frame.subarray(0, 7)).toEqual(new Uint8Array(readFileSync(join(fixtures, "events.no-frame-crc.lz4")).subarray(0, 7)));
    // Three blocks (64 KiB, 64 KiB, the rest), then the end mark and nothing after it.
    let at = 7;
    let blocks = 0;
    for (;;) {
      const word = view.getUint32(at, true);
      at += 4;
      if (word === 0) break;
      expect(word & 0x7fffffff).toBeLessThanOrEqual(65536);
      at += word & 0x7fffffff;
      blocks++;
    }
    expect(blocks).toBe(3);
    expect(at).toBe(frame.length);
  });

  test("byte-identical to the reference CLI writing the same layout (lz4 -B4 --no-frame-crc)", () => {
    const source = new Uint8Array(readFileSync(join(fixtures, "events.ndjson")));
    expect(compressLz4Frame(source)).toEqual(new Uint8Array(readFileSync(join(fixtures, "events.no-frame-crc.lz4"))));
    const inputs = [json.subarray(0, 0), json.subarray(0, 13), json.subarray(0, 4000), json, randomBytes(70_000, 12), new Uint8Array(200_000)];
    for (const src of inputs) {
      const reference = lz4Cli(["-q", "-B4", "--no-frame-crc"], src);
      expect(compressLz4Frame(src)).toEqual(reference);
      expect(compressLz4Frame(src, { useTypeScript: true })).toEqual(reference);
    }
  });

  test("empty content is a header and an end mark, as Kafka writes it", () => {
    const frame = compressLz4Frame(new Uint8Array(0));
    expect(Array.from(frame)).toEqual([0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, frame[6]!, 0, 0, 0, 0]);
  });
});

describe("lz4 frame: frames written by the lz4 CLI", () => {
  const frames = readdirSync(fixtures).filter((name) => name.endsWith(".lz4"));
  for (const name of frames) {
    for (const d of decoders) {
      test(`fixture ${name} (${d.name})`, () => {
        const source = readFileSync(join(fixtures, name.startsWith("events") ? "events.ndjson" : `${name.split(".")[0]}.bin`));
        const frame = new Uint8Array(readFileSync(join(fixtures, name)));
        expect(decodeOk(frame, MIB, d.useTypeScript)).toEqual(new Uint8Array(source));
      });
    }
  }

  test("a 5 MiB input at the CLI's defaults (4 MiB blocks), with -BD, and with -BX --content-size", () => {
    const src = eventsNdjson(5 * MIB + 12345, 5);
    for (const args of [[], ["-BD"], ["-BX", "--content-size"], ["-B5", "-BD", "--no-frame-crc"]]) {
      const frame = lz4Cli(["-q", ...args], src);
      expect(frame[5]! >> 4).toBe(args.includes("-B5") ? 5 : 7);
      for (const d of decoders) expect(decodeOk(frame, 8 * MIB, d.useTypeScript)).toEqual(src);
    }
  });

  test("small linked blocks (-B512 -BD): matches reach back across block boundaries", () => {
    const src = json.subarray(0, 20_000);
    const frame = lz4Cli(["-q", "-B512", "-BD"], src);
    expect(frame[4]! & 0x20).toBe(0); // block independence off
    for (const d of decoders) expect(decodeOk(frame, MIB, d.useTypeScript)).toEqual(src);
    // The same blocks read as independent must fail: they do reference earlier blocks.
    expect(decodeError(withDescriptor(frame, frame[4]! | 0x20, frame[5]!))).toBe("corrupt_block");
  });

  test("concatenated frames with a skippable frame between them decode to the concatenated content", () => {
    const a = new Uint8Array(readFileSync(join(fixtures, "events.B4D.lz4")));
    const b = new Uint8Array(readFileSync(join(fixtures, "random.B4.lz4")));
    const skippable = new Uint8Array([0x51, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 9, 9, 9]);
    expect(new DataView(skippable.buffer).getUint32(0, true)).toBe(LZ4_SKIPPABLE_MAGIC_MIN + 1);
    const ours = compressLz4Frame(json.subarray(0, 1000), { contentSize: true });
    const all = new Uint8Array([...a, ...skippable, ...b, ...ours]);
    const expected = new Uint8Array([
      ...readFileSync(join(fixtures, "events.ndjson")),
      ...readFileSync(join(fixtures, "random.bin")),
      ...json.subarray(0, 1000),
    ]);
    for (const d of decoders) expect(decodeOk(all, MIB, d.useTypeScript)).toEqual(expected);
    // The bound covers the whole concatenation, and content size is checked per frame.
    expect(decodeError(all, expected.length - 1)).toBe("output_too_large");
    expect(decodeOk(skippable)).toEqual(new Uint8Array(0));
  });

  test("the CLI decodes our frames, with and without every option", () => {
    const inputs = [json.subarray(0, 0), json.subarray(0, 1), json, randomBytes(70_000, 6)];
    const optionSets: Lz4FrameOptions[] = [{}, { blockChecksums: true, contentChecksum: true, contentSize: true }];
    for (const src of inputs) {
      for (const options of optionSets) {
        const frame = compressLz4Frame(src, options);
        expect(lz4Cli(["-d", "-q"], frame)).toEqual(src);
      }
    }
  });
});

describe("lz4 frame: lz4_flex (lz4-napi) interop", () => {
  test("ours decode theirs and theirs decode ours", () => {
    for (const src of [json.subarray(0, 10), json, randomBytes(100_000, 7)]) {
      for (const options of [{}, { contentChecksum: true, blockChecksums: true }]) {
        const theirs = new Uint8Array(compressFrameSync(Buffer.from(src), options));
        for (const d of decoders) expect(decodeOk(theirs, MIB, d.useTypeScript)).toEqual(src);
      }
      expect(new Uint8Array(decompressFrameSync(Buffer.from(compressLz4Frame(src)))) as Uint8Array).toEqual(src);
      expect(new Uint8Array(decompressFrameSync(Buffer.from(compressLz4Frame(src, { contentChecksum: true, blockChecksums: true })))) as Uint8Array).toEqual(src);
    }
  });
});

describe("lz4 frame: a Kafka client's codec (@platformatic/kafka, compression.type=lz4)", () => {
  const kafkaLz4 = compressionsAlgorithms.lz4 as unknown as {
    compressSync(data: Buffer): Buffer;
    decompressSync(data: Buffer): Buffer;
  };
  test("its record-batch frames decode with ours; ours decode with it", () => {
    for (const src of [json.subarray(0, 0), json.subarray(0, 700), json, randomBytes(90_000, 11)]) {
      const theirs = new Uint8Array(kafkaLz4.compressSync(Buffer.from(src)));
      for (const d of decoders) expect(decodeOk(theirs, MIB, d.useTypeScript)).toEqual(src);
      expect(new Uint8Array(kafkaLz4.decompressSync(Buffer.from(compressLz4Frame(src)))) as Uint8Array).toEqual(src);
    }
  });
});

describe("lz4 frame: hostile input gives typed errors", () => {
  const small = json.subarray(0, 3000);

  test("every prefix of small frames is 'truncated'", () => {
    const frames = [
      compressLz4Frame(small),
      compressLz4Frame(small, { blockChecksums: true, contentChecksum: true, contentSize: true }),
      compressLz4Frame(randomBytes(500, 8), { contentChecksum: true }),
      lz4Cli(["-q", "-BX", "-BD", "--content-size"], small),
      lz4Cli(["-q", "-B512", "-BD"], small),
      new Uint8Array(readFileSync(join(fixtures, "empty.lz4"))),
    ];
    for (const frame of frames) {
      for (let cut = 0; cut < frame.length; cut++) expect(decodeError(frame.subarray(0, cut), MIB)).toBe("truncated");
      expect(decodeError(frame, MIB)).toBe("ok");
    }
  });

  test("prefixes of multi-block CLI frames (strided, and around every block boundary) are 'truncated'", () => {
    for (const name of ["events.B4X.lz4", "events.hc-B4D.lz4", "random.B4.lz4"]) {
      const frame = new Uint8Array(readFileSync(join(fixtures, name)));
      const cuts = new Set<number>();
      for (let cut = 0; cut < frame.length; cut += 997) cuts.add(cut);
      const view = new DataView(frame.buffer, frame.byteOffset);
      for (let at = 7; at + 4 <= frame.length; ) {
        for (let d = -5; d <= 9; d++) if (at + d >= 0 && at + d < frame.length) cuts.add(at + d);
        const word = view.getUint32(at, true);
        if (word === 0) break;
        at += 4 + (word & 0x7fffffff) + (frame[4]! & 0x10 ? 4 : 0);
      }
      for (let d = 1; d <= 8; d++) cuts.add(frame.length - d);
      for (const cut of cuts) expect(decodeError(frame.subarray(0, cut), MIB)).toBe("truncated");
    }
  });

  test("bad magic, legacy frames, versions, reserved bits, dictionaries, block size ids", () => {
    const frame = compressLz4Frame(small);
    expect(decodeError(new TextEncoder().encode("PK\u0003\u0004 not lz4"))).toBe("bad_magic");
    expect(decodeError(new Uint8Array([frame[0]! ^ 1, ...frame.subarray(1)]))).toBe("bad_magic");
    expect(decodeError(new Uint8Array([0x02, 0x21, 0x4c, 0x18, 0, 0, 0, 0]))).toBe("unsupported");
    expect(decodeError(withDescriptor(frame, 0x20, 0x40))).toBe("unsupported"); // version 0
    expect(decodeError(withDescriptor(frame, 0xa0, 0x40))).toBe("unsupported"); // version 2
    expect(decodeError(withDescriptor(frame, 0x62, 0x40))).toBe("bad_descriptor"); // FLG reserved bit
    expect(decodeError(withDescriptor(frame, 0x60, 0xc0))).toBe("bad_descriptor"); // BD reserved bit 7
    expect(decodeError(withDescriptor(frame, 0x60, 0x41))).toBe("bad_descriptor"); // BD reserved low bits
    expect(decodeError(withDescriptor(frame, 0x60, 0x30))).toBe("bad_descriptor"); // block size id 3
    expect(decodeError(withDescriptor(frame, 0x61, 0x40))).toBe("unsupported"); // dictionary id
  });

  test("checksums: header, block, content", () => {
    const frame = compressLz4Frame(small);
    const badHeader = frame.slice();
    badHeader[6] = badHeader[6]! ^ 0x01;
    expect(decodeError(badHeader)).toBe("header_checksum");

    const withBlockSums = new Uint8Array(readFileSync(join(fixtures, "events.B4X.lz4")));
    const badBlock = withBlockSums.slice();
    badBlock[500] = badBlock[500]! ^ 0x10;
    expect(decodeError(badBlock)).toBe("block_checksum");
    const badBlockSum = withBlockSums.slice();
    const firstBlockLength = new DataView(badBlockSum.buffer).getUint32(7, true) & 0x7fffffff;
    badBlockSum[11 + firstBlockLength] = badBlockSum[11 + firstBlockLength]! ^ 0x80;
    expect(decodeError(badBlockSum)).toBe("block_checksum");

    // Stored blocks carry content verbatim, so a flipped byte survives decoding and only the content checksum sees it.
    const stored = new Uint8Array(readFileSync(join(fixtures, "random.B4.lz4")));
    const badContent = stored.slice();
    badContent[1000] = badContent[1000]! ^ 0x04;
    expect(decodeError(badContent)).toBe("content_checksum");
    const badContentSum = stored.slice();
    badContentSum[badContentSum.length - 1] = badContentSum[badContentSum.length - 1]! ^ 0x01;
    expect(decodeError(badContentSum)).toBe("content_checksum");
  });

  const frameWithBlock = (word: number, data: number[]) => {
    const header = compressLz4Frame(new Uint8Array(0)).subarray(0, 7);
    const out = new Uint8Array(7 + 4 + data.length + 4);
    out.set(header);
    new DataView(out.buffer).setUint32(7, word >>> 0, true);
    out.set(data, 11);
    return out;
  };

  test("corrupt blocks: offsets before the block, truncated sequences, overlong output", () => {
    expect(decodeError(frameWithBlock(9, [0x40, 97, 98, 99, 100, 4, 0, 0x10, 101]))).toBe("ok");
    expect(decodeError(frameWithBlock(9, [0x40, 97, 98, 99, 100, 5, 0, 0x10, 101]))).toBe("corrupt_block");
    expect(decodeError(frameWithBlock(9, [0x40, 97, 98, 99, 100, 0, 0, 0x10, 101]))).toBe("corrupt_block");
    expect(decodeError(frameWithBlock(6, [0x40, 97, 98, 99, 100, 4]))).toBe("corrupt_block");
    // A block that expands beyond the frame's 64 KiB block maximum is corrupt, not a bound violation.
    const longMatch = [0x1f, 0, 1, 0, ...new Array<number>(260).fill(255), 0, 0x00];
    expect(decodeError(frameWithBlock(longMatch.length, longMatch))).toBe("corrupt_block");
    // Independent blocks cannot reach into the previous block.
    const twoBlocks = new Uint8Array([...frameWithBlock(5, [0x40, 97, 98, 99, 100]).subarray(0, 16), 5, 0, 0, 0, 0x00, 4, 0, 0x10, 101, 0, 0, 0, 0]);
    expect(decodeError(twoBlocks)).toBe("corrupt_block");
    // The same bytes with block dependency on (FLG bit 5 clear) are valid.
    expect(decodeError(withDescriptor(twoBlocks, 0x40, 0x40))).toBe("ok");
  });

  test("block sizes above the declared maximum", () => {
    expect(decodeError(frameWithBlock(65537, []))).toBe("block_too_large");
    expect(decodeError(frameWithBlock((0x80000000 | 65537) >>> 0, []))).toBe("block_too_large");
    expect(decodeError(frameWithBlock(0x7fffffff, []))).toBe("block_too_large");
  });

  test("content size: declared sizes that disagree with the blocks", () => {
    const src = json.subarray(0, 5000);
    const frame = compressLz4Frame(src, { contentSize: true });
    const patched = (size: number) => {
      const out = frame.slice();
      new DataView(out.buffer).setUint32(6, size, true);
      out[14] = (xxh32(out, 0, 4, 14) >>> 8) & 0xff;
      return out;
    };
    expect(decodeError(patched(5000))).toBe("ok");
    expect(decodeError(patched(4999))).toBe("content_size");
    expect(decodeError(patched(5001))).toBe("content_size");
  });

  test("decompression bombs stop at the bound", () => {
    const zeros = new Uint8Array(10 * MIB);
    const bomb = compressLz4Frame(zeros);
    expect(bomb.length).toBeLessThan(64 * 1024);
    expect(decodeError(bomb, MIB)).toBe("output_too_large");
    expect(decodeError(bomb, zeros.length - 1)).toBe("output_too_large");
    expect(decodeOk(bomb, zeros.length).length).toBe(zeros.length);
    // A declared content size beyond the bound is refused before any block is read.
    const declared = compressLz4Frame(new Uint8Array(100), { contentSize: true });
    const huge = declared.slice();
    new DataView(huge.buffer).setUint32(10, 0x100, true); // 2^40 bytes
    huge[14] = (xxh32(huge, 0, 4, 14) >>> 8) & 0xff;
    expect(decodeError(huge, MIB)).toBe("output_too_large");
    expect(decodeError(declared, 99)).toBe("output_too_large");
    // Stored blocks count against the bound too.
    const stored = compressLz4Frame(randomBytes(1000, 9));
    expect(decodeError(stored, 999)).toBe("output_too_large");
    expect(decodeError(stored, 1000)).toBe("ok");
  });
});

describe("lz4 frame: seeded fuzz", () => {
  test("60,000 mutated frames: no throw, wasm and ts agree, ok results within the bound", () => {
    const random = seededRandom(0xf4a3e);
    const seeds = [
      compressLz4Frame(json.subarray(0, 1200)),
      compressLz4Frame(json.subarray(0, 900), { blockChecksums: true, contentChecksum: true, contentSize: true }),
      compressLz4Frame(randomBytes(300, 10)),
      lz4Cli(["-q", "-BD", "--no-frame-crc"], json.subarray(0, 1500)),
      // Small linked blocks: matches that reach into earlier blocks, through both decoders' prefix handling.
      lz4Cli(["-q", "-B512", "-BD", "--no-frame-crc"], json.subarray(0, 2500)),
      new Uint8Array([...compressLz4Frame(json.subarray(0, 200)), 0x50, 0x2a, 0x4d, 0x18, 2, 0, 0, 0, 1, 2]),
    ];
    const outcomes = new Map<string, number>();
    for (let i = 0; i < 60_000; i++) {
      const frame = seeds[i % seeds.length]!.slice();
      const edits = 1 + Math.floor(random() * 3);
      for (let e = 0; e < edits; e++) {
        // Bias edits towards the header and first block header, where the descriptor logic lives.
        const at = random() < 0.3 ? Math.floor(random() * Math.min(16, frame.length)) : Math.floor(random() * frame.length);
        const kind = random();
        if (kind < 0.5) frame[at] = Math.floor(random() * 256);
        else if (kind < 0.8) frame[at] = frame[at]! ^ (1 << Math.floor(random() * 8));
        else frame[at] = random() < 0.5 ? 0xff : 0;
      }
      const length = random() < 0.15 ? Math.floor(random() * frame.length) : frame.length;
      const max = Math.floor(random() * 2048);
      const input = frame.subarray(0, length);
      const a = decompressLz4Frame(input, max);
      const b = decompressLz4Frame(input, max, { useTypeScript: true });
      const key = a.ok ? "ok" : a.error;
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
      if (a.ok !== b.ok || (!a.ok && !b.ok && a.error !== b.error)) expect({ i, b }).toEqual({ i, b: a });
      if (a.ok && b.ok) {
        expect(a.value.length).toBeLessThanOrEqual(max);
        if (Buffer.compare(a.value, b.value) !== 0) expect(b.value).toEqual(a.value);
      }
    }
    // The fuzz must reach deep into the decoder, not stop at the magic number.
    for (const reached of ["ok", "corrupt_block", "header_checksum", "truncated", "output_too_large"]) {
      expect(outcomes.get(reached) ?? 0).toBeGreaterThan(0);
    }
  });
});
