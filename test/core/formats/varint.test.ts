import { describe, expect, test } from "bun:test";
import {
  VarintCursor,
  decodeVarint,
  decodeVarlong,
  readVarint,
  varintSize,
  varlongSize,
  writeVarint,
  writeVarlong,
} from "../../../core/formats/varint.ts";

// Naive oracle: Kafka's ByteUtils.writeVarlong on BigInt, zigzag then 7-bit groups.
function oracleVarlong(value: bigint): number[] {
  let raw = BigInt.asUintN(64, (value << 1n) ^ (value >> 63n));
  const out: number[] = [];
  while (raw >= 0x80n) {
    out.push(Number(raw & 0x7fn) | 0x80);
    raw >>= 7n;
  }
  out.push(Number(raw));
  return out;
}

function encodeVarint(value: number): number[] {
  const bytes = new Uint8Array(5);
  return [...bytes.subarray(0, writeVarint(bytes, 0, value))];
}

function encodeVarlong(value: number): number[] {
  const bytes = new Uint8Array(10);
  return [...bytes.subarray(0, writeVarlong(bytes, 0, value))];
}

const INT32_SAMPLES = [0, 1, -1, 2, -2, 63, -64, 64, -65, 127, 128, 8191, -8192, 8192, 2 ** 20, -(2 ** 20), 2 ** 31 - 1, -(2 ** 31)];
const LONG_SAMPLES = [
  ...INT32_SAMPLES,
  2 ** 31,
  -(2 ** 31) - 1,
  2 ** 32,
  2 ** 35 + 12345,
  -(2 ** 40) + 7,
  1_700_000_000_000,
  -1_700_000_000_000,
  Number.MAX_SAFE_INTEGER,
  -Number.MAX_SAFE_INTEGER,
  2 ** 53 - 2,
  -(2 ** 53) + 2,
];

describe("varint", () => {
  test("known Kafka encodings", () => {
    expect(encodeVarint(0)).toEqual([0x00]);
    expect(encodeVarint(-1)).toEqual([0x01]);
    expect(encodeVarint(1)).toEqual([0x02]);
    expect(encodeVarint(-64)).toEqual([0x7f]);
    expect(encodeVarint(64)).toEqual([0x80, 0x01]);
    expect(encodeVarint(2 ** 31 - 1)).toEqual([0xfe, 0xff, 0xff, 0xff, 0x0f]);
    expect(encodeVarint(-(2 ** 31))).toEqual([0xff, 0xff, 0xff, 0xff, 0x0f]);
  });

  test("int32 round trip and sizes agree with the BigInt oracle", () => {
    for (const value of INT32_SAMPLES) {
      const bytes = encodeVarint(value);
      expect(bytes).toEqual(oracleVarlong(BigInt(value)));
      expect(varintSize(value)).toBe(bytes.length);
      const decoded = decodeVarint(new Uint8Array(bytes));
      expect(decoded).toEqual({ ok: true, value: { value, next: bytes.length } });
    }
  });

  test("varlong round trip and sizes agree with the BigInt oracle", () => {
    const randomValues: number[] = [];
    let seed = 12345;
    for (let i = 0; i < 2000; i++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      const magnitude = Math.floor((seed / 2 ** 32) * 2 ** (seed % 54));
      randomValues.push(seed & 1 && magnitude !== 0 ? -magnitude : magnitude);
    }
    for (const value of [...LONG_SAMPLES, ...randomValues]) {
      const bytes = encodeVarlong(value);
      expect(bytes).toEqual(oracleVarlong(BigInt(value)));
      expect(varlongSize(value)).toBe(bytes.length);
      const decoded = decodeVarlong(new Uint8Array(bytes));
      expect(decoded).toEqual({ ok: true, value: { value, next: bytes.length } });
    }
  });

  test("truncated input is 'truncated' at every prefix", () => {
    for (const value of [64, 2 ** 31 - 1, -(2 ** 31)]) {
      const bytes = new Uint8Array(encodeVarint(value));
      for (let cut = 0; cut < bytes.length; cut++) expect(decodeVarint(bytes.subarray(0, cut))).toEqual({ ok: false, error: "truncated" });
    }
    const long = new Uint8Array(encodeVarlong(Number.MAX_SAFE_INTEGER));
    for (let cut = 0; cut < long.length; cut++) expect(decodeVarlong(long.subarray(0, cut))).toEqual({ ok: false, error: "truncated" });
  });

  test("more than 5 / 10 bytes is 'overflow'", () => {
    expect(decodeVarint(new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x80, 0x00]))).toEqual({ ok: false, error: "overflow" });
    expect(decodeVarlong(new Uint8Array([...new Array(10).fill(0x80), 0x00]))).toEqual({ ok: false, error: "overflow" });
  });

  test("varlongs beyond the safe-integer range are 'out_of_range'", () => {
    for (const big of [2n ** 53n, -(2n ** 53n), 2n ** 62n, -(2n ** 63n), 2n ** 63n - 1n]) {
      expect(decodeVarlong(new Uint8Array(oracleVarlong(big)))).toEqual({ ok: false, error: "out_of_range" });
    }
  });

  test("a 5th varint byte keeps only its low payload bits, as Kafka's reader does", () => {
    // 0x7f in the 5th byte: only the low 4 bits land in an int32.
    expect(decodeVarint(new Uint8Array([0xfe, 0xff, 0xff, 0xff, 0x7f]))).toEqual({ ok: true, value: { value: 2 ** 31 - 1, next: 5 } });
  });

  test("the cursor reads a run of varints and stops at its end", () => {
    const bytes = new Uint8Array([0x02, 0x80, 0x01, 0x01]);
    const cursor = new VarintCursor(bytes);
    expect([readVarint(cursor), readVarint(cursor), readVarint(cursor)]).toEqual([1, 64, -1]);
    expect(cursor.error).toBeNull();
    readVarint(cursor);
    expect(cursor.error).toBe("truncated");
  });
});
