import { describe, expect, test } from "bun:test";
import { crc32cTs } from "../../../core/formats/crc32c.ts";

describe("crc32c (ts twin)", () => {
  test("known vector 123456789", () => {
    expect(crc32cTs(new TextEncoder().encode("123456789"))).toBe(0xe3069283);
  });
});
