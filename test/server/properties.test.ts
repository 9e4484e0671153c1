import { describe, expect, test } from "bun:test";
import { PROPERTIES_FILE_BYTES_MAX, parseProperties } from "../../server/properties.ts";

function parsed(text: string): Record<string, string> {
  const result = parseProperties(text);
  if (!result.ok) throw new Error(result.error);
  return Object.fromEntries(result.value);
}

describe("parseProperties", () => {
  test("reads Kafka's server.properties shapes", () => {
    const text = [
      "# Licensed to the Apache Software Foundation",
      "! another comment",
      "",
      "log.dirs=/tmp/kafka-logs",
      "num.partitions = 3",
      "listeners: PLAINTEXT://127.0.0.1:9192",
      "   log.retention.hours   168",
      "empty.value=",
    ].join("\n");
    expect(parsed(text)).toEqual({
      "log.dirs": "/tmp/kafka-logs",
      "num.partitions": "3",
      listeners: "PLAINTEXT://127.0.0.1:9192",
      "log.retention.hours": "168",
      "empty.value": "",
    });
  });

  test("continuation lines, escapes, CRLF and later keys winning", () => {
    const text = "a=one \\\r\n    two\r\nb\\=c=x\\ty\\u0041\na=three\nd=ends\\\\\ne=f";
    expect(parsed(text)).toEqual({ a: "three", "b=c": "x\tyA", d: "ends\\", e: "f" });
    const joined = parsed("list=a,\\\n  b,\\\n  c");
    expect(joined.list).toBe("a,b,c");
  });

  test("bad unicode escapes and oversized input are typed errors", () => {
    expect(parseProperties("k=\\u12G4")).toEqual({ ok: false, error: "bad_escape" });
    expect(parseProperties("x".repeat(PROPERTIES_FILE_BYTES_MAX + 1))).toEqual({ ok: false, error: "too_large" });
  });
});
