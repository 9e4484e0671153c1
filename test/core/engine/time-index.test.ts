import { afterEach, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TimeIndex } from "../../../core/engine/time-index.ts";
import { asOffset } from "../../../core/engine/offsets.ts";

const roots: string[] = [];
function tempPath(): string {
  const root = fs.mkdtempSync(join(tmpdir(), "rivulet-timeindex-"));
  roots.push(root);
  return join(root, "00000000000000000500.timeindex");
}
afterEach(() => {
  for (const root of roots.splice(0)) fs.rmSync(root, { recursive: true, force: true });
});

const BASE = asOffset(500);

describe("TimeIndex", () => {
  test("maybeAppend keeps only growing timestamps; lookup equals a naive scan", () => {
    const path = tempPath();
    const index = new TimeIndex(path, BASE, 1 << 20);
    index.file.resetEmpty();
    const kept: { timestamp: number; offset: number }[] = [];
    let x = 17;
    let offset = BASE as number;
    for (let i = 0; i < 400; i++) {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      offset += x % 5;
      const timestamp = 1_700_000_000_000 + (x % 100_000);
      const appended = index.maybeAppend(timestamp, asOffset(offset));
      const grows = kept.length === 0 || timestamp > kept.at(-1)!.timestamp;
      expect(appended).toBe(grows);
      if (grows) kept.push({ timestamp, offset });
    }
    expect(index.maybeAppend(-1, asOffset(offset))).toBe(false);
    index.file.persist();
    index.file.closeFd();
    const loaded = new TimeIndex(path, BASE, 1 << 20);
    expect(loaded.load()).toBeNull();
    expect(loaded.lastEntryFromFile()).toEqual(kept.at(-1)! as never);
    const lo = kept[0]!.timestamp - 5;
    const hi = kept.at(-1)!.timestamp + 5;
    for (let target = lo; target <= hi; target += 97) {
      let want: { timestamp: number; offset: number } | null = null;
      for (const e of kept) if (e.timestamp <= target) want = e;
      const got = loaded.lookup(target);
      expect(got === null ? null : { timestamp: got.timestamp, offset: got.offset as number }).toEqual(want);
    }
  });

  test("sanity check rejects non-ascending timestamps and bad sizes", () => {
    const path = tempPath();
    const index = new TimeIndex(path, BASE, 1 << 20);
    index.file.resetEmpty();
    index.maybeAppend(10, asOffset(500));
    index.maybeAppend(20, asOffset(501));
    index.file.persist();
    index.file.closeFd();
    const bytes = fs.readFileSync(path);
    fs.writeFileSync(path, Buffer.concat([bytes.subarray(12), bytes.subarray(0, 12)]));
    expect(new TimeIndex(path, BASE, 1 << 20).load()).toBe("garbled");
    fs.writeFileSync(path, bytes.subarray(0, 20));
    expect(new TimeIndex(path, BASE, 1 << 20).load()).toBe("bad_size");
    expect(new TimeIndex(path, BASE, 1 << 20).lastEntryFromFile()).toBeNull();
  });

  test("truncateToOffset drops entries at or after the offset", () => {
    const index = new TimeIndex(tempPath(), BASE, 1 << 20);
    index.file.resetEmpty();
    for (let i = 0; i < 10; i++) index.maybeAppend(100 + i, asOffset(BASE + i * 2));
    index.truncateToOffset(asOffset(BASE + 7));
    expect(index.entryCount).toBe(4);
    expect(index.lastEntry()).toEqual({ timestamp: 103, offset: asOffset(BASE + 6) });
  });
});
