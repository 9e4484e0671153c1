// Record input and output helpers: text to bytes and back, header shapes.
import { describe, expect, test } from "bun:test";
import { headerList, headerText, text, toBytes } from "../../client/records.ts";

describe("records", () => {
  test("toBytes and text round-trip UTF-8; null stays null", () => {
    const bytes = toBytes("héllo ✓");
    expect(bytes).toEqual(new TextEncoder().encode("héllo ✓"));
    expect(text(bytes)).toBe("héllo ✓");
    const raw = Uint8Array.of(1, 2, 3);
    expect(toBytes(raw)).toBe(raw);
    expect(toBytes(null)).toBeNull();
    expect(toBytes(undefined)).toBeNull();
    expect(text(null)).toBeNull();
  });

  test("headers from an object or from pairs keep order and repeats, without copying bytes", () => {
    const raw = Uint8Array.of(9);
    expect(headerList({ a: "1", b: raw })).toEqual([{ key: "a", value: "1" }, { key: "b", value: raw }]);
    expect(headerList([["k", "1"], ["k", "2"]])).toEqual([{ key: "k", value: "1" }, { key: "k", value: "2" }]);
    expect(headerList({ b: raw })?.[0]?.value).toBe(raw);
    expect(headerList(undefined)).toBeUndefined();
  });

  test("headerText finds the first header of a key", () => {
    const headers = [
      { key: "k", value: new TextEncoder().encode("one") },
      { key: "k", value: new TextEncoder().encode("two") },
      { key: "n", value: null },
    ];
    expect(headerText(headers, "k")).toBe("one");
    expect(headerText(headers, "n")).toBeNull();
    expect(headerText(headers, "missing")).toBeUndefined();
  });
});
