// Kafka-style `.properties` files (java.util.Properties' text format, the subset Kafka users write):
//   # or ! starts a comment line; `key=value`, `key: value` or `key value`; whitespace around the separator is
//   ignored; a line ending in an odd number of backslashes continues on the next line; \t \n \r \f \\ \= \: and
//   \uXXXX escapes. Later keys override earlier ones, as in Java.
import { type Result, err, ok } from "../core/formats/result.ts";

/** Longest properties file we read: configs are small, and a bound keeps a wrong path from eating memory. */
export const PROPERTIES_FILE_BYTES_MAX = 1024 * 1024;

/** Why a properties text could not be parsed. */
export type PropertiesError = "too_large" | "bad_escape";

/** Parses a properties text into an ordered map of key to value. */
export function parseProperties(text: string): Result<Map<string, string>, PropertiesError> {
  if (text.length > PROPERTIES_FILE_BYTES_MAX) return err("too_large");
  const out = new Map<string, string>();
  const lines = text.split(/\r\n|\r|\n/);
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!.replace(/^[ \t\f]+/, "");
    if (line === "" || line.startsWith("#") || line.startsWith("!")) continue;
    while (endsWithContinuation(line) && i + 1 < lines.length) {
      line = line.slice(0, -1) + lines[++i]!.replace(/^[ \t\f]+/, "");
    }
    if (endsWithContinuation(line)) line = line.slice(0, -1);
    const split = splitKeyValue(line);
    const key = unescape(split.key);
    const value = unescape(split.value);
    if (key === null || value === null) return err("bad_escape");
    out.set(key, value);
  }
  return ok(out);
}

function endsWithContinuation(line: string): boolean {
  let slashes = 0;
  for (let i = line.length - 1; i >= 0 && line[i] === "\\"; i--) slashes++;
  return slashes % 2 === 1;
}

function splitKeyValue(line: string): { key: string; value: string } {
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (c === "\\") {
      i += 2;
      continue;
    }
    if (c === "=" || c === ":" || c === " " || c === "\t" || c === "\f") break;
    i++;
  }
  const key = line.slice(0, i);
  let rest = line.slice(i).replace(/^[ \t\f]+/, "");
  if (rest.startsWith("=") || rest.startsWith(":")) rest = rest.slice(1).replace(/^[ \t\f]+/, "");
  return { key, value: rest };
}

const SIMPLE_ESCAPES: Record<string, string> = { t: "\t", n: "\n", r: "\r", f: "\f" };

function unescape(text: string): string | null {
  if (!text.includes("\\")) return text;
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c !== "\\") {
      out += c;
      continue;
    }
    const next = text[++i];
    if (next === undefined) return out;
    if (next === "u") {
      const hex = text.slice(i + 1, i + 5);
      if (!/^[0-9a-fA-F]{4}$/.test(hex)) return null;
      out += String.fromCharCode(parseInt(hex, 16));
      i += 4;
    } else {
      out += SIMPLE_ESCAPES[next] ?? next;
    }
  }
  return out;
}
