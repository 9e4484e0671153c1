import { describe, expect, test } from "bun:test";
import { concatFrameParts } from "../../../../core/formats/protocol/frame.ts";
import { INLINE_BIN_BYTES_MAX, MSGPACK_DEPTH_MAX, MsgpackWriter, packValue, scanValue, unpackValue } from "../../../../core/formats/protocol/msgpack.ts";
import { patternBytes } from "./samples.ts";

const BUDGET = 1 << 20;

// Bytes the writer produces for one value, without the 4-byte frame prefix.
function written(write: (writer: MsgpackWriter) => void): Uint8Array {
  const writer = new MsgpackWriter(16);
  write(writer);
  return concatFrameParts(writer.finishParts()).subarray(4);
}

// msgpackr writes integers beyond 32 bits as floats unless handed a bigint; the wire types do that conversion.
const wireInt = (value: number) => (value > 0xffffffff || value < -0x80000000 ? BigInt(value) : value);

describe("MsgpackWriter agrees with msgpackr byte for byte", () => {
  test("integers at every width boundary", () => {
    const values = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0xffffffff, 0x100000000, Number.MAX_SAFE_INTEGER,
      -1, -0x20, -0x21, -0x80, -0x81, -0x8000, -0x8001, -0x80000000, -0x80000001, Number.MIN_SAFE_INTEGER];
    for (const value of values) expect(written((w) => w.int(value))).toEqual(packValue(wireInt(value)));
  });

  test("strings at every header boundary, ASCII and not", () => {
    for (const length of [0, 1, 31, 32, 255, 256, 65535, 65536]) {
      const ascii = "a".repeat(length);
      expect(written((w) => w.str(ascii))).toEqual(packValue(ascii));
    }
    for (const text of ["räder", "日本語のトピック", "emoji 🚲", "é".repeat(200)]) {
      expect(written((w) => w.str(text))).toEqual(packValue(text));
    }
  });

  test("array headers, nil, booleans and small bins", () => {
    for (const count of [0, 15, 16, 65535, 65536]) {
      const items = new Array<number>(count).fill(1);
      expect(written((w) => { w.arrayHeader(count); for (let i = 0; i < count; i++) w.int(1); })).toEqual(packValue(items));
    }
    expect(written((w) => w.nil())).toEqual(packValue(null));
    expect(written((w) => { w.bool(true); })).toEqual(packValue(true));
    expect(written((w) => { w.bool(false); })).toEqual(packValue(false));
    for (const length of [0, 255, 256, 65536]) {
      const bytes = patternBytes(length);
      expect(written((w) => w.bin(bytes))).toEqual(packValue(bytes));
    }
  });

  test("binParts writes one bin32 whose content msgpackr reads back, referencing only large chunks", () => {
    const small = patternBytes(INLINE_BIN_BYTES_MAX, 1);
    const large = patternBytes(INLINE_BIN_BYTES_MAX + 1, 2);
    const writer = new MsgpackWriter(8);
    writer.arrayHeader(2);
    writer.binParts([small, large, small]);
    writer.binParts([]);
    const parts = writer.finishParts();
    expect(parts.includes(large)).toBe(true);
    expect(parts.includes(small)).toBe(false);
    const frame = concatFrameParts(parts);
    expect(new DataView(frame.buffer).getUint32(0)).toBe(frame.byteLength - 4);
    const value = unpackValue(frame.subarray(4), BUDGET);
    expect(value).toEqual({ ok: true, value: [concatFrameParts([small, large, small]), new Uint8Array(0)] });
  });

  test("the length prefix is right when the writer grows many times", () => {
    const writer = new MsgpackWriter(8);
    writer.arrayHeader(1000);
    for (let i = 0; i < 1000; i++) {
      if (i % 100 === 0) writer.binParts([patternBytes(5000, i + 1)]);
      else writer.str(`item-${i}`);
    }
    const frame = concatFrameParts(writer.finishParts());
    expect(new DataView(frame.buffer).getUint32(0)).toBe(frame.byteLength - 4);
    const value = unpackValue(frame.subarray(4), BUDGET);
    expect(value.ok).toBe(true);
    if (value.ok) expect((value.value as unknown[]).length).toBe(1000);
  });
});

describe("unpackValue", () => {
  test("decodes exactly one value; trailing, truncated or empty input is malformed", () => {
    const packed = packValue([1, "two", patternBytes(10)]);
    expect(unpackValue(packed, BUDGET).ok).toBe(true);
    expect(unpackValue(concatFrameParts([packed, new Uint8Array([0])]), BUDGET)).toEqual({ ok: false, error: "malformed" });
    for (let length = 0; length < packed.byteLength; length++) {
      expect(unpackValue(packed.subarray(0, length), BUDGET)).toEqual({ ok: false, error: "malformed" });
    }
    expect(unpackValue(new Uint8Array([0xc1]), BUDGET)).toEqual({ ok: false, error: "malformed" }); // never used
  });

  test("a bin32 header claiming more bytes than the frame holds is malformed, not a short view", () => {
    expect(unpackValue(new Uint8Array([0xc6, 0, 0, 0, 10, 1, 2, 3]), BUDGET)).toEqual({ ok: false, error: "malformed" });
    expect(unpackValue(new Uint8Array([0xdd, 0xff, 0xff, 0xff, 0xff, 1]), BUDGET)).toEqual({ ok: false, error: "malformed" });
  });

  test("bins decode as views of the input; maps as Map; int64 beyond 2^53 as bigint", () => {
    const input = packValue([patternBytes(100), new Map([["a", 1]]), 2n ** 60n, 2n ** 40n]);
    const value = unpackValue(input, BUDGET);
    if (!value.ok) throw new Error("decode failed");
    const [bin, map, big, fits] = value.value as [Uint8Array, unknown, unknown, unknown];
    expect(bin.buffer).toBe(input.buffer);
    expect(map).toBeInstanceOf(Map);
    expect(big).toBe(2n ** 60n);
    expect(fits).toBe(2 ** 40);
  });

  test("extension types are refused: the protocol has none, and msgpackr gives some of them other meanings", () => {
    for (const bytes of [[0xd4, 0x72, 0x00], [0xd6, 0xff, 0, 0, 0, 1], [0xc7, 1, 0x74, 0], [0xd5, 0x62, 0, 0], [0xc8, 0, 1, 5, 0], [0xc9, 0, 0, 0, 1, 5, 0], [0xd7, 0xff, 0, 0, 0, 0, 0, 0, 0, 0], [0xd8, 1, ...new Array(16).fill(0)]]) {
      expect(unpackValue(new Uint8Array(bytes), BUDGET)).toEqual({ ok: false, error: "malformed" });
    }
  });

  test("the element budget is checked before msgpackr allocates anything", () => {
    const nils = (count: number) => concatFrameParts([new Uint8Array([0xdd, count >>> 24, (count >>> 16) & 255, (count >>> 8) & 255, count & 255]), new Uint8Array(count).fill(0xc0)]);
    expect(scanValue(nils(1000), 1000)).toBe("ok");
    expect(scanValue(nils(1001), 1000)).toBe("too_large");
    expect(unpackValue(nils(1001), 1000)).toEqual({ ok: false, error: "too_large" });
    // Nested containers count every element at every level.
    expect(scanValue(packValue([[1, 2], [3, 4]]), 6)).toBe("ok");
    expect(scanValue(packValue([[1, 2], [3, 4]]), 5)).toBe("too_large");
    expect(scanValue(packValue(new Map([[1, 2]])), 2)).toBe("ok");
    expect(scanValue(packValue(new Map([[1, 2]])), 1)).toBe("too_large");
  });

  test("the scan agrees with msgpackr on every standard type and length form", () => {
    const value = [null, true, false, 0, 127, 128, 255, 256, 65535, 65536, 2 ** 32, -1, -33, -129, -32769, -(2 ** 31) - 1, 0.5, 1e300,
      "", "a".repeat(31), "b".repeat(32), "c".repeat(256), "d".repeat(65536), new Uint8Array(0), new Uint8Array(256), new Uint8Array(65536),
      new Array(15).fill(1), new Array(16).fill(2), new Array(65536).fill(3), new Map([["k", 1]]), new Map(Array.from({ length: 16 }, (_, i) => [i, i]))];
    const bytes = packValue(value);
    expect(scanValue(bytes, 1 << 20)).toBe("ok");
    for (let length = 0; length < bytes.byteLength; length += 997) expect(scanValue(bytes.subarray(0, length), 1 << 20)).toBe("malformed");
    expect(scanValue(concatFrameParts([bytes, new Uint8Array([0])]), 1 << 20)).toBe("malformed");
  });

  test("nesting deeper than MSGPACK_DEPTH_MAX is malformed", () => {
    let deep: unknown = 1;
    for (let i = 0; i < MSGPACK_DEPTH_MAX; i++) deep = [deep];
    expect(scanValue(packValue(deep), 1 << 20)).toBe("ok");
    expect(scanValue(packValue([deep]), 1 << 20)).toBe("malformed");
  });

  test("deep nesting is malformed, not a crash", () => {
    const deep = new Uint8Array(200_000).fill(0x91);
    expect(unpackValue(deep, BUDGET)).toEqual({ ok: false, error: "malformed" });
  });
});

describe("file ranges in binParts", () => {
  test("are referenced as parts and counted in the bin length; nonsense ranges are a bug", () => {
    const range = { fd: 7, position: 4096, length: 100_000 };
    const writer = new MsgpackWriter();
    writer.binParts([new Uint8Array([1, 2, 3]), range]);
    const parts = writer.finishParts();
    expect(parts.includes(range)).toBe(true);
    const head = parts[0];
    if (!(head instanceof Uint8Array)) throw new Error("expected bytes first");
    expect([...head.subarray(4, 9)]).toEqual([0xc6, 0, 0x01, 0x86, 0xa3]); // bin32 of 100,003
    expect(new DataView(head.buffer, head.byteOffset).getUint32(0)).toBe(5 + 100_003);
    for (const bad of [{ fd: 7, position: -1, length: 1 }, { fd: 7, position: 0, length: -1 }, { fd: 7, position: 0, length: 1.5 }]) {
      expect(() => new MsgpackWriter().binParts([bad])).toThrow();
    }
  });
});
