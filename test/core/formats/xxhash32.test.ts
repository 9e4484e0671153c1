import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { xxh32 } from "../../../core/formats/xxhash32.ts";
import { seededRandom } from "../../../bench/data.ts";

const fixtures = join(import.meta.dir, "..", "..", "fixtures", "lz4");
const text = (s: string) => new TextEncoder().encode(s);

describe("xxh32", () => {
  // Published vectors of the reference implementation (xxhash's own sanity checks and common test suites).
  test.each([
    ["", 0, 0x02cc5d05],
    ["", 1, 0x0b2cb792],
    ["a", 0, 0x550d7456],
    ["abc", 0, 0x32d153ff],
    ["123456789", 0, 0x937bad67],
    ["Nobody inspects the spammish repetition", 0, 0xe2293b2f],
  ] as const)("known vector %j seed %d", (input, seed, expected) => {
    expect(xxh32(text(input), seed)).toBe(expected);
  });

  test("matches the content checksum the lz4 CLI wrote (xxh32 of the whole content, last 4 bytes of the frame)", () => {
    const content = readFileSync(join(fixtures, "events.ndjson"));
    const frame = readFileSync(join(fixtures, "events.default.lz4"));
    expect(xxh32(content)).toBe(frame.readUInt32LE(frame.length - 4));
  });

  test("a range hashes like the same bytes on their own, at every length around the 16-byte stripe", () => {
    const random = seededRandom(1);
    const bytes = new Uint8Array(80).map(() => Math.floor(random() * 256));
    for (let start = 0; start < 5; start++) {
      for (let end = start; end <= bytes.length; end++) {
        expect(xxh32(bytes, 7, start, end)).toBe(xxh32(bytes.slice(start, end), 7));
      }
    }
  });

  test("results are unsigned 32-bit integers", () => {
    const random = seededRandom(2);
    for (let i = 0; i < 200; i++) {
      const h = xxh32(new Uint8Array(i).map(() => Math.floor(random() * 256)), (i * 0x9e3779b1) >>> 0);
      expect(Number.isInteger(h) && h >= 0 && h <= 0xffffffff).toBe(true);
    }
  });
});
