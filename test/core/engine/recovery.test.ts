// Recovery after an unclean stop: torn tails are truncated, damage with valid batches after it is refused with a
// typed error, and the log is always a prefix of what was appended. Randomized with a seeded generator so a
// failure reproduces.
import { afterEach, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { join } from "node:path";
import { PartitionLog } from "../../../core/engine/partition-log.ts";
import { resolveLogConfig } from "../../../core/engine/log-config.ts";
import { buildBatch } from "./batch-builder.ts";
import { makeTemp, openLog, payload, readAll } from "./log-helpers.ts";
import { seededRandom as random } from "../../helpers/seeded-random.ts";

const roots: string[] = [];
function temp(): string {
  const t = makeTemp();
  roots.push(t.root);
  return t.dir;
}
afterEach(() => {
  for (const root of roots.splice(0)) fs.rmSync(root, { recursive: true, force: true });
});

// Small deterministic PRNG (mulberry32).
interface Written {
  base: number;
  last: number;
  payload: string;
  segmentFile: string;
  position: number;
  size: number;
}

const CONFIG = { segmentBytes: 6000, indexIntervalBytes: 300 };

// Appends `count` batches and stops without closing (as a crash would), returning where each batch lives.
async function writeCrashed(dir: string, count: number, rng: () => number): Promise<Written[]> {
  const log = await openLog(dir, CONFIG);
  const written: Written[] = [];
  for (let i = 0; i < count; i++) {
    const batch = buildBatch({ records: 1 + Math.floor(rng() * 4), valueBytes: 20 + Math.floor(rng() * 300), baseTimestamp: 1000 + i });
    const p = payload(batch);
    const r = log.append(batch);
    const segmentFile = fs.readdirSync(dir).filter((n) => n.endsWith(".log")).sort().at(-1)!;
    written.push({ base: r.baseOffset, last: r.lastOffset, payload: p, segmentFile, position: r.position, size: batch.length });
  }
  log.abandon();
  return written;
}

function flipBit(path: string, position: number, bit: number): void {
  const bytes = fs.readFileSync(path);
  bytes[position]! ^= 1 << bit;
  fs.writeFileSync(path, bytes);
}

function expectPrefix(log: PartitionLog, written: Written[], count: number): void {
  const got = readAll(log).map((b) => [b.baseOffset, b.lastOffset, payload(b.bytes)]);
  expect(got).toEqual(written.slice(0, count).map((w) => [w.base, w.last, w.payload]));
  expect(log.logEndOffset as number).toBe(count === 0 ? 0 : written[count - 1]!.last + 1);
}

describe("recovery of a torn tail", () => {
  test("truncation at a random byte of the last segment keeps exactly the whole batches before it", async () => {
    const rng = random(42);
    for (let round = 0; round < 12; round++) {
      const dir = temp();
      const written = await writeCrashed(dir, 40, rng);
      const lastFile = written.at(-1)!.segmentFile;
      const inLast = written.filter((w) => w.segmentFile === lastFile);
      const fileSize = fs.statSync(join(dir, lastFile)).size;
      const cut = Math.floor(rng() * fileSize);
      fs.truncateSync(join(dir, lastFile), cut);
      const keptInLast = inLast.filter((w) => w.position + w.size <= cut).length;
      const kept = written.length - inLast.length + keptInLast;
      const log = await openLog(dir, CONFIG);
      expectPrefix(log, written, kept);
      // The log keeps working after recovery, and the next start is clean.
      const next = log.append(buildBatch());
      expect(next.baseOffset as number).toBe(log.logEndOffset - 1);
      await log.close();
      const again = await openLog(dir, CONFIG);
      expect(again.logEndOffset).toBe(log.logEndOffset);
      await again.close();
    }
  });

  test("a bit flip inside the last batch truncates that batch", async () => {
    const rng = random(7);
    for (let round = 0; round < 8; round++) {
      const dir = temp();
      const written = await writeCrashed(dir, 25, rng);
      const last = written.at(-1)!;
      // Anywhere from the CRC field to the end (a flip in baseOffset is outside the CRC and still a valid batch).
      const at = last.position + 17 + Math.floor(rng() * (last.size - 17));
      flipBit(join(dir, last.segmentFile), at, Math.floor(rng() * 8));
      const log = await openLog(dir, CONFIG);
      expectPrefix(log, written, written.length - 1);
      await log.close();
    }
  });

  test("a zero-filled tail (power loss after the size grew) is truncated", async () => {
    const dir = temp();
    const written = await writeCrashed(dir, 20, random(3));
    fs.appendFileSync(join(dir, written.at(-1)!.segmentFile), new Uint8Array(5000));
    const log = await openLog(dir, CONFIG);
    expectPrefix(log, written, written.length);
    await log.close();
  });
});

describe("damage in the middle is never truncated silently", () => {
  test("a bit flip in a batch with valid batches after it fails open with corrupt_middle", async () => {
    const rng = random(99);
    for (let round = 0; round < 16; round++) {
      const dir = temp();
      const written = await writeCrashed(dir, 40, rng);
      // Any batch but the last; the length field or any byte from magic on (partitionLeaderEpoch, like baseOffset,
      // lies outside the CRC by design, so damage there is not detectable by anyone).
      const victim = written[Math.floor(rng() * (written.length - 1))]!;
      const at = rng() < 0.25 ? victim.position + 8 + Math.floor(rng() * 4) : victim.position + 16 + Math.floor(rng() * (victim.size - 16));
      flipBit(join(dir, victim.segmentFile), at, Math.floor(rng() * 8));
      const before = fs.readdirSync(dir).map((n) => [n, fs.statSync(join(dir, n)).size]);
      const result = await PartitionLog.open(dir, resolveLogConfig(CONFIG));
      expect(result instanceof PartitionLog).toBe(false);
      if (result instanceof PartitionLog) continue;
      expect(result.error).toBe("corrupt_middle");
      expect(result.detail).toContain(victim.segmentFile.slice(0, 20).replace(/^0+(?=\d)/, ""));
      // Nothing was truncated or deleted.
      const after = fs.readdirSync(dir).map((n) => [n, fs.statSync(join(dir, n)).size]);
      expect(after.filter(([n]) => String(n).endsWith(".log"))).toEqual(before.filter(([n]) => String(n).endsWith(".log")));
    }
  });
});

describe("inconsistent segment files", () => {
  test("a segment whose batches run past the next segment's base offset fails with offset_overlap", async () => {
    const dir = temp();
    const written = await writeCrashed(dir, 40, random(11));
    const files = [...new Set(written.map((w) => w.segmentFile))];
    expect(files.length).toBeGreaterThan(2);
    // Rename the second segment to a base offset inside the first one's range.
    const firstLast = written.filter((w) => w.segmentFile === files[0]).at(-1)!.last;
    const bogus = String(firstLast).padStart(20, "0");
    fs.renameSync(join(dir, files[1]!), join(dir, `${bogus}.log`));
    for (const ext of [".index", ".timeindex"]) fs.rmSync(join(dir, files[1]!.replace(".log", ext)), { force: true });
    const result = await PartitionLog.open(dir, resolveLogConfig(CONFIG));
    expect(result instanceof PartitionLog ? "opened" : result.error).toBe("offset_overlap");
  });

  test("leftover protocol files without a swap manifest are removed at open", async () => {
    const dir = temp();
    const written = await writeCrashed(dir, 10, random(12));
    for (const name of ["00000000000000000000.log.cleaned", "00000000000000000003.log.swap", "00000000000000000000.index.deleted", "rivulet.checkpoint.tmp"]) {
      fs.writeFileSync(join(dir, name), "junk");
    }
    const log = await openLog(dir, CONFIG);
    expect(fs.readdirSync(dir).filter((n) => /\.(cleaned|swap|deleted|tmp)$/.test(n))).toEqual([]);
    expectPrefix(log, written, written.length);
    await log.close();
  });
});

