import { afterEach, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OffsetIndex } from "../../../core/engine/offset-index.ts";
import { type FilePosition, asOffset } from "../../../core/engine/offsets.ts";

const roots: string[] = [];
function tempPath(): string {
  const root = fs.mkdtempSync(join(tmpdir(), "rivulet-index-"));
  roots.push(root);
  return join(root, "00000000000000001000.index");
}
afterEach(() => {
  for (const root of roots.splice(0)) fs.rmSync(root, { recursive: true, force: true });
});

const BASE = asOffset(1000);

function filled(path: string, count: number, seed: number): { offset: number; position: number }[] {
  const index = new OffsetIndex(path, BASE, 1 << 20);
  index.file.resetEmpty();
  const entries: { offset: number; position: number }[] = [];
  let offset = BASE as number;
  let position = 0;
  let x = seed;
  for (let i = 0; i < count; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    offset += 1 + (x % 50);
    position += 1 + (x % 9000);
    index.append(asOffset(offset), position as FilePosition);
    entries.push({ offset, position });
  }
  index.file.persist();
  index.file.closeFd();
  return entries;
}

describe("OffsetIndex", () => {
  test("lookup equals a naive scan for every target (after reload from the file)", () => {
    for (const count of [0, 1, 2, 3, 17, 500]) {
      const path = tempPath();
      const entries = filled(path, count, count + 1);
      const index = new OffsetIndex(path, BASE, 1 << 20);
      expect(index.load(Number.MAX_SAFE_INTEGER)).toBeNull();
      expect(index.entryCount).toBe(count);
      const top = (entries.at(-1)?.offset ?? BASE) + 60;
      for (let target = BASE - 3; target <= top; target++) {
        let want = { offset: BASE as number, position: 0 };
        for (const e of entries) if (e.offset <= target) want = e;
        const got = index.lookup(asOffset(Math.max(0, target)));
        expect([got.offset as number, got.position as number]).toEqual([want.offset, want.position]);
      }
    }
  });

  test("sanity check rejects garbled files: bad size, descending entries, positions past the log", () => {
    const path = tempPath();
    filled(path, 10, 5);
    const bytes = fs.readFileSync(path);
    fs.writeFileSync(path, bytes.subarray(0, 13));
    expect(new OffsetIndex(path, BASE, 1 << 20).load(1e9)).toBe("bad_size");
    const swapped = Buffer.concat([bytes.subarray(8, 16), bytes.subarray(0, 8), bytes.subarray(16)]);
    fs.writeFileSync(path, swapped);
    expect(new OffsetIndex(path, BASE, 1 << 20).load(1e9)).toBe("garbled");
    fs.writeFileSync(path, bytes);
    expect(new OffsetIndex(path, BASE, 1 << 20).load(100)).toBe("garbled");
    expect(new OffsetIndex(path, BASE, 8 * 5).load(1e9)).toBe("too_large");
    expect(new OffsetIndex(path + ".none", BASE, 1 << 20).load(1e9)).toBe("missing");
  });

  test("truncateToPosition drops the entries at or after the cut, in memory and in the file", () => {
    const path = tempPath();
    const entries = filled(path, 20, 9);
    const index = new OffsetIndex(path, BASE, 1 << 20);
    expect(index.load(1e9)).toBeNull();
    index.truncateToPosition(entries[12]!.position);
    expect(index.entryCount).toBe(12);
    index.file.persist();
    index.file.closeFd();
    expect(fs.statSync(path).size).toBe(12 * 8);
    const reloaded = new OffsetIndex(path, BASE, 1 << 20);
    expect(reloaded.load(1e9)).toBeNull();
    expect(reloaded.entry(11).offset as number).toBe(entries[11]!.offset);
  });

  test("isFull at segment.index.bytes", () => {
    const index = new OffsetIndex(tempPath(), BASE, 8 * 3);
    index.file.resetEmpty();
    for (let i = 1; i <= 3; i++) index.append(asOffset(BASE + i), (i * 10) as FilePosition);
    expect(index.isFull()).toBe(true);
  });
});
