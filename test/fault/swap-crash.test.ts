// A crash at every step of the compaction swap and of retention leaves a log that reads exactly as before or
// exactly as after the operation (after, once the swap's commit point - its manifest - is durable), with no
// protocol leftovers, and that accepts appends again.
import { afterAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FailpointName } from "../../core/engine/failpoints.ts";
import { PartitionLog } from "../../core/engine/partition-log.ts";
import { resolveLogConfig } from "../../core/engine/log-config.ts";
import { buildBatch } from "../core/engine/batch-builder.ts";
import { payload, readAll } from "../core/engine/log-helpers.ts";
import { SWAP_CHILD_CONFIG, runOperation } from "./fixtures/swap-child-operations.ts";

const CHILD = join(import.meta.dir, "fixtures", "swap-child.ts");
const root = fs.mkdtempSync(join(tmpdir(), "rivulet-swapcrash-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

async function open(dir: string): Promise<PartitionLog> {
  const log = await PartitionLog.open(dir, resolveLogConfig(SWAP_CHILD_CONFIG));
  if (!(log instanceof PartitionLog)) throw new Error(`open failed: ${log.error} ${log.detail}`);
  return log;
}

function contents(log: PartitionLog): string[] {
  return readAll(log).map((batch) => `${batch.baseOffset}:${payload(batch.bytes)}`);
}

// Builds the starting log, plus what it reads like before and after `operation` (run on a copy).
async function setUp(name: string, operation: "swap" | "retention"): Promise<{ dir: string; before: string[]; after: string[] }> {
  const dir = join(root, name, "topic-0");
  const log = await open(dir);
  for (let i = 0; i < 40; i++) log.append(buildBatch({ records: 2, valueBytes: 60, fill: i, baseTimestamp: 1000 + i }));
  await log.close();
  const copy = join(root, name, "copy-0");
  fs.cpSync(dir, copy, { recursive: true });
  const reference = await open(dir);
  const before = contents(reference);
  reference.abandon();
  const copied = await open(copy);
  await runOperation(copied, operation);
  const after = contents(copied);
  await copied.close();
  return { dir, before, after };
}

const CASES: { failpoint: FailpointName; operation: "swap" | "retention"; outcome: "before" | "after" | "either" }[] = [
  { failpoint: "swap.before_manifest", operation: "swap", outcome: "before" },
  { failpoint: "swap.after_manifest", operation: "swap", outcome: "after" },
  { failpoint: "swap.after_rename_swap", operation: "swap", outcome: "after" },
  { failpoint: "swap.after_rename_deleted", operation: "swap", outcome: "after" },
  { failpoint: "swap.after_rename_final", operation: "swap", outcome: "after" },
  { failpoint: "swap.after_delete", operation: "swap", outcome: "after" },
  { failpoint: "retention.after_rename", operation: "retention", outcome: "either" },
  { failpoint: "retention.after_dir_sync", operation: "retention", outcome: "after" },
];

describe("crash during the segment swap and retention", () => {
  for (const { failpoint, operation, outcome } of CASES) {
    test(`${failpoint}: reads as ${outcome}`, async () => {
      const { dir, before, after } = await setUp(failpoint, operation);
      expect(after).not.toEqual(before);
      const child = Bun.spawn([process.execPath, CHILD, dir, operation], {
        stdout: "pipe",
        stderr: "inherit",
        env: { ...(process.env as Record<string, string>), RIVULET_FAILPOINT: failpoint },
      });
      const output = await new Response(child.stdout).text();
      await child.exited;
      expect(output).not.toContain("done");
      expect(child.signalCode as string | null).toBe("SIGKILL");
      const log = await open(dir);
      const got = contents(log);
      if (outcome === "before") expect(got).toEqual(before);
      else if (outcome === "after") expect(got).toEqual(after);
      else expect(got.join() === before.join() || got.join() === after.join()).toBe(true);
      expect(fs.readdirSync(dir).filter((n) => /\.(cleaned|swap|deleted|tmp)$/.test(n) || n === "rivulet.swap")).toEqual([]);
      const next = log.append(buildBatch());
      expect(next.baseOffset as number).toBe(40 * 2);
      await log.close();
    }, 30_000);
  }
});
