// A crash (SIGKILL) at every step of compaction's swap leaves a log that reads exactly as before the pass or
// exactly as after it (after, once the swap's manifest is durable): no duplicates, no lost latest value per key,
// no protocol leftovers; a later pass and new appends work.
import { afterAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Broker } from "../../core/engine/broker.ts";
import { FakeClock } from "../../core/engine/clock.ts";
import { FAILPOINTS } from "../../core/engine/failpoints.ts";
import type { PartitionLog } from "../../core/engine/partition-log.ts";
import { CODEC_LZ4, CODEC_NONE } from "../../core/formats/codecs.ts";
import { buildTestBatch, readTestRecords, type TestRecord } from "../core/engine/compaction-test-batches.ts";

const CHILD = join(import.meta.dir, "fixtures", "compaction-swap-child.ts");
const NOW_MS = 1_700_000_000_000;
const root = fs.mkdtempSync(join(tmpdir(), "rivulet-compaction-crash-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

function open(dataDir: string): Promise<Broker> {
  return Broker.open({ dataDir, clock: new FakeClock(NOW_MS), retentionCheckIntervalMs: 0, cleanerIntervalMs: 0, flushCheckIntervalMs: 0 });
}

function log(broker: Broker): PartitionLog {
  const result = broker.partition("compacted", 0);
  if (!result.ok) throw new Error(result.message);
  return result.value;
}

function contents(partition: PartitionLog): string[] {
  const out: string[] = [];
  let offset: number = partition.logStartOffset;
  while (offset < partition.highWatermark) {
    const read = partition.read(offset, 1 << 20);
    if (!read.ok) throw new Error(read.error);
    if (read.value.ranges.length === 0) break;
    for (const record of readTestRecords(partition.readRanges(read.value.ranges))) {
      if (record.offset >= offset) out.push(`${record.offset}:${record.key}=${record.value}`);
    }
    offset = read.value.nextOffset;
  }
  return out;
}

// The starting data dir (several segments of keyed batches, some tombstones, some LZ4), and what it reads like
// before and after one cleaner pass (run on a copy).
async function setUp(name: string): Promise<{ dataDir: string; before: string[]; after: string[] }> {
  const dataDir = join(root, name, "data");
  const broker = await open(dataDir);
  const created = await broker.createTopic("compacted", { configs: { "cleanup.policy": "compact", "segment.bytes": 500 } });
  if (!created.ok) throw new Error(created.message);
  const partition = log(broker);
  for (let b = 0; b < 60; b++) {
    const records: TestRecord[] = [0, 1, 2].map((r) => ({ key: `k${(b * 7 + r * 3) % 11}`, value: (b + r) % 9 === 0 ? null : `v${b}.${r}` }));
    partition.append(buildTestBatch(records, { baseTimestamp: NOW_MS, codec: b % 4 === 0 ? CODEC_LZ4 : CODEC_NONE }));
  }
  partition.rollNow();
  const before = contents(partition);
  await broker.close();
  const copy = join(root, name, "copy");
  fs.cpSync(dataDir, copy, { recursive: true });
  const reference = await open(copy);
  await reference.runCleaner({ ignoreDirtyRatio: true });
  const after = contents(log(reference));
  await reference.close();
  return { dataDir, before, after };
}

const SWAP_FAILPOINTS = FAILPOINTS.filter((name) => name.startsWith("swap."));

describe("crash during compaction's swap", () => {
  test("the failpoints exist", () => {
    expect(SWAP_FAILPOINTS.length).toBeGreaterThanOrEqual(5);
  });

  for (const failpoint of SWAP_FAILPOINTS) {
    const outcome = failpoint === "swap.before_manifest" ? "before" : "after";
    test(`${failpoint}: reads as ${outcome}, and a later pass finishes the job`, async () => {
      const { dataDir, before, after } = await setUp(failpoint);
      expect(after.length).toBeLessThan(before.length);
      const child = Bun.spawn([process.execPath, CHILD, dataDir, String(NOW_MS)], {
        stdout: "pipe",
        stderr: "inherit",
        env: { ...(process.env as Record<string, string>), RIVULET_FAILPOINT: failpoint },
      });
      const output = await new Response(child.stdout).text();
      await child.exited;
      expect(output).not.toContain("done");
      expect(child.signalCode as string | null).toBe("SIGKILL");

      // The child's lock names a dead PID: the broker takes it over.
      const broker = await open(dataDir);
      try {
        const partition = log(broker);
        const got = contents(partition);
        expect(got).toEqual(outcome === "before" ? before : after);
        expect(new Set(got.map((line) => line.split(":")[0])).size).toBe(got.length);
        const dir = join(dataDir, "compacted-0");
        expect(fs.readdirSync(dir).filter((n) => /\.(cleaned|swap|deleted|tmp)$/.test(n) || n === "rivulet.swap")).toEqual([]);
        // The crashed pass never recorded its checkpoint, so the next pass redoes it; the result is the same.
        await broker.runCleaner({ ignoreDirtyRatio: true });
        expect(contents(partition)).toEqual(after);
        const appended = partition.append(buildTestBatch([{ key: "k0", value: "new" }], { baseTimestamp: NOW_MS }));
        expect(Number(appended.baseOffset)).toBe(180);
      } finally {
        await broker.close();
      }
    }, 30_000);
  }
});
