import { describe, expect, test } from "bun:test";
import { concatFrameParts } from "../../../../core/formats/protocol/frame.ts";
import { INLINE_BIN_BYTES_MAX, MsgpackWriter, packValue, unpackValue } from "../../../../core/formats/protocol/msgpack.ts";
import { patternBytes } from "./samples.ts";

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
    const value = unpackValue(frame.subarray(4));
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
    const value = unpackValue(frame.subarray(4));
    expect(value.ok).toBe(true);
    if (value.ok) expect((value.value as unknown[]).length).toBe(1000);
  });
});

describe("unpackValue", () => {
  test("decodes exactly one value; trailing, truncated or empty input is malformed", () => {
    const packed = packValue([1, "two", patternBytes(10)]);
    expect(unpackValue(packed).ok).toBe(true);
    expect(unpackValue(concatFrameParts([packed, new Uint8Array([0])]))).toEqual({ ok: false, error: "malformed" });
    for (let length = 0; length < packed.byteLength; length++) {
      expect(unpackValue(packed.subarray(0, length))).toEqual({ ok: false, error: "malformed" });
    }
    // msgpackr reads the never-used byte 0xc1 as a marker object: no wire type accepts it (envelope.test.ts).
    expect(unpackValue(new Uint8Array([0xc1])).ok).toBe(true);
  });

  test("a bin32 header claiming more bytes than the frame holds is malformed, not a short view", () => {
    expect(unpackValue(new Uint8Array([0xc6, 0, 0, 0, 10, 1, 2, 3]))).toEqual({ ok: false, error: "malformed" });
    expect(unpackValue(new Uint8Array([0xdd, 0xff, 0xff, 0xff, 0xff, 1]))).toEqual({ ok: false, error: "malformed" });
  });

  test("bins decode as views of the input; maps as Map; int64 beyond 2^53 as bigint", () => {
    const input = packValue([patternBytes(100), new Map([["a", 1]]), 2n ** 60n, 2n ** 40n]);
    const value = unpackValue(input);
    if (!value.ok) throw new Error("decode failed");
    const [bin, map, big, fits] = value.value as [Uint8Array, unknown, unknown, unknown];
    expect(bin.buffer).toBe(input.buffer);
    expect(map).toBeInstanceOf(Map);
    expect(big).toBe(2n ** 60n);
    expect(fits).toBe(2 ** 40);
  });

  test("deep nesting is malformed, not a crash", () => {
    const deep = new Uint8Array(200_000).fill(0x91);
    expect(unpackValue(deep)).toEqual({ ok: false, error: "malformed" });
  });
});
