import { describe, expect, test } from "bun:test";
import { MsgpackWriter } from "../../../../core/formats/protocol/msgpack.ts";
import { array, boolean, bytes, decodeAs, int8, int16, int32, int64, nullable, records, string, struct } from "../../../../core/formats/protocol/schema.ts";

describe("wire types", () => {
  test("integers are range-checked to their widths; int64 to safe integers", () => {
    const cases: [typeof int8, number, number][] = [
      [int8, -0x80, 0x7f],
      [int16, -0x8000, 0x7fff],
      [int32, -0x80000000, 0x7fffffff],
      [int64, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
    ];
    for (const [type, min, max] of cases) {
      expect(decodeAs(type, min)).toEqual({ ok: true, value: min });
      expect(decodeAs(type, max)).toEqual({ ok: true, value: max });
      expect(decodeAs(type, min - 1).ok).toBe(false);
      expect(decodeAs(type, max + 1 === max ? max * 2 : max + 1).ok).toBe(false);
      for (const wrong of [0.5, "1", null, undefined, true, 1n, [1], Number.NaN, Number.POSITIVE_INFINITY]) {
        expect(decodeAs(type, wrong)).toEqual({ ok: false, error: "bad_field", field: "(root)" });
      }
      expect(() => type.toWire(max + 1 === max ? Number.MAX_VALUE : max + 1)).toThrow();
      expect(() => type.write(new MsgpackWriter(), 0.5)).toThrow();
    }
    expect(int64.toWire(2 ** 40)).toBe(2n ** 40n);
    expect(int64.toWire(-(2 ** 40))).toBe(-(2n ** 40n));
    expect(int64.toWire(5)).toBe(5);
  });

  test("strings, booleans, bins, records and nil are exactly what they say", () => {
    expect(decodeAs(string, "x").ok).toBe(true);
    expect(decodeAs(string, new Uint8Array(1)).ok).toBe(false);
    expect(decodeAs(boolean, 0).ok).toBe(false);
    expect(decodeAs(bytes, "abc").ok).toBe(false);
    expect(decodeAs(records, [1, 2]).ok).toBe(false);
    expect(decodeAs(records, new Uint8Array(3)).ok).toBe(true);
    expect(decodeAs(nullable(string), null)).toEqual({ ok: true, value: null });
    expect(decodeAs(nullable(string), undefined).ok).toBe(false);
    expect(decodeAs(string, null).ok).toBe(false);
  });

  test("records encode from chunks by concatenation on the msgpackr path; file ranges need the parts path", () => {
    expect(records.toWire([new Uint8Array([1, 2]), new Uint8Array([3])])).toEqual(new Uint8Array([1, 2, 3]));
    expect(() => records.toWire([{ fd: 3, position: 0, length: 1 }])).toThrow();
  });

  test("structs are arrays of exactly their fields; failures name the path", () => {
    const point = struct([["x", int32], ["tags", array(string)], ["next", nullable(struct([["y", int8]]))]]);
    expect(decodeAs(point, [1, ["a"], [2]])).toEqual({ ok: true, value: { x: 1, tags: ["a"], next: { y: 2 } } });
    expect(decodeAs(point, [1, ["a"], null])).toEqual({ ok: true, value: { x: 1, tags: ["a"], next: null } });
    expect(decodeAs(point, [1, ["a"]])).toEqual({ ok: false, error: "bad_field", field: "(root)" });
    expect(decodeAs(point, [1, ["a"], null, 4])).toEqual({ ok: false, error: "bad_field", field: "(root)" });
    expect(decodeAs(point, { x: 1, tags: [], next: null })).toEqual({ ok: false, error: "bad_field", field: "(root)" });
    expect(decodeAs(point, [1, ["a", 2], null])).toEqual({ ok: false, error: "bad_field", field: "tags[1]" });
    expect(decodeAs(point, [1, [], [300]])).toEqual({ ok: false, error: "bad_field", field: "next.y" });
    expect(decodeAs(array(point), [[1, [], null], [1, [], [1, 2]]])).toEqual({ ok: false, error: "bad_field", field: "[1].next" });
    expect(point.toWire({ x: 1, tags: ["a"], next: { y: 2 } })).toEqual([1, ["a"], [2]]);
  });

  test("a decoded struct never takes a prototype from the wire, and bad schemas are refused", () => {
    const one = struct([["constructor", string]]);
    const decoded = decodeAs(one, ["x"]);
    expect(decoded).toEqual({ ok: true, value: { constructor: "x" } });
    if (decoded.ok) expect(Object.getPrototypeOf(decoded.value)).toBe(Object.prototype);
    expect(() => struct([["__proto__", string]])).toThrow();
    expect(() => struct([["a", string], ["a", int8]])).toThrow();
  });
});
