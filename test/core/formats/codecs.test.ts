import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import zlib from "node:zlib";
import {
  CODEC_GZIP,
  CODEC_LZ4,
  CODEC_NAMES,
  CODEC_NONE,
  CODEC_SNAPPY,
  CODEC_ZSTD,
  codecId,
  compressRecords,
  decompressRecords,
  isCodecSupported,
} from "../../../core/formats/codecs.ts";

const SUPPORTED = [CODEC_NONE, CODEC_GZIP, CODEC_LZ4, ...(isCodecSupported(CODEC_ZSTD) ? [CODEC_ZSTD] : [])];
const text = new TextEncoder().encode("the quick brown fox jumps over the lazy dog; ".repeat(500));

describe("codec table", () => {
  test("Kafka's ids and names", () => {
    expect([CODEC_NONE, CODEC_GZIP, CODEC_SNAPPY, CODEC_LZ4, CODEC_ZSTD]).toEqual([0, 1, 2, 3, 4]);
    expect(CODEC_NAMES.map(codecId)).toEqual([0, 1, 2, 3, 4]);
    expect(codecId("brotli")).toBe(-1);
    expect(isCodecSupported(CODEC_SNAPPY)).toBe(false);
    expect(isCodecSupported(7)).toBe(false);
  });

  for (const codec of SUPPORTED) {
    test(`${CODEC_NAMES[codec]}: round trip, exact bound accepted, one byte less refused`, () => {
      const compressed = compressRecords(codec, text);
      expect(compressed.ok).toBe(true);
      if (!compressed.ok) return;
      if (codec !== CODEC_NONE) expect(compressed.value.length).toBeLessThan(text.length / 5);
      expect(decompressRecords(codec, compressed.value, text.length)).toEqual({ ok: true, value: text });
      expect(decompressRecords(codec, compressed.value, text.length - 1)).toEqual({ ok: false, error: "decompressed_too_large" });
    });

    if (codec !== CODEC_NONE) {
      test(`${CODEC_NAMES[codec]}: garbage and truncated input are "decompression_failed", never a throw`, () => {
        const compressed = compressRecords(codec, text);
        if (!compressed.ok) throw new Error("unreachable");
        expect(decompressRecords(codec, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), 1 << 20)).toEqual({ ok: false, error: "decompression_failed" });
        for (const cut of [0, 1, 5, compressed.value.length >> 1, compressed.value.length - 1]) {
          const result = decompressRecords(codec, compressed.value.subarray(0, cut), 1 << 20);
          expect(result.ok).toBe(false);
        }
      });
    }
  }

  test("every strict prefix of a compressed section is refused (Bun's zstd alone would accept some)", () => {
    for (const codec of SUPPORTED) {
      if (codec === CODEC_NONE) continue;
      const compressed = compressRecords(codec, text.subarray(0, 3000));
      if (!compressed.ok) throw new Error("unreachable");
      for (let cut = 0; cut < compressed.value.length; cut++) {
        expect(decompressRecords(codec, compressed.value.subarray(0, cut), 1 << 20).ok).toBe(false);
      }
    }
  });

  test("snappy and unknown ids are unsupported", () => {
    expect(compressRecords(CODEC_SNAPPY, text)).toEqual({ ok: false, error: "unsupported_codec" });
    expect(decompressRecords(CODEC_SNAPPY, text, 1 << 20)).toEqual({ ok: false, error: "unsupported_codec" });
    expect(decompressRecords(6, text, 1 << 20)).toEqual({ ok: false, error: "unsupported_codec" });
  });

  test("a gzip stream of several members (as some producers write) decompresses whole", () => {
    const joined = new Uint8Array([...zlib.gzipSync(text.subarray(0, 100)), ...zlib.gzipSync(text.subarray(100))]);
    expect(decompressRecords(CODEC_GZIP, joined, text.length)).toEqual({ ok: true, value: text });
  });

  test("decompresses what the lz4 and zstd command-line tools write", () => {
    for (const [codec, tool, args] of [
      [CODEC_LZ4, "/usr/bin/lz4", ["-c", "-q"]],
      [CODEC_ZSTD, "/usr/bin/zstd", ["-c", "-q"]],
    ] as const) {
      if (!existsSync(tool) || !isCodecSupported(codec)) continue;
      const run = spawnSync(tool, args, { input: text });
      expect(run.status).toBe(0);
      expect(decompressRecords(codec, new Uint8Array(run.stdout), text.length)).toEqual({ ok: true, value: text });
    }
  });
});
