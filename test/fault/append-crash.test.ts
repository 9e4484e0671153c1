// Crash test of the partition log: a child process appends and reports every durable offset; it is killed with
// SIGKILL at random points (by the parent, or from inside at a failpoint). After each kill the log must reopen,
// hold every batch reported durable, and be an exact prefix of what the child appended.
import { afterAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readBatchFrame } from "../../core/formats/record-batch-header.ts";
import { PartitionLog } from "../../core/engine/partition-log.ts";
import { resolveLogConfig } from "../../core/engine/log-config.ts";
import { readAll } from "../core/engine/log-helpers.ts";
import { APPEND_CHILD_CONFIG, expectedBatch } from "./fixtures/append-child-batches.ts";
import { seededRandom as random } from "../helpers/seeded-random.ts";

const CHILD = join(import.meta.dir, "fixtures", "append-child.ts");
const CYCLES = 12;
const CYCLE_TIMEOUT_MS = 20_000;
const root = fs.mkdtempSync(join(tmpdir(), "rivulet-crash-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

// Seeded PRNG so a failing schedule reproduces.
interface CycleOutcome {
  lines: string[];
  maxDurable: number;
  signal: string | number | null;
}

// Runs the child until it has reported `killAfter` durable offsets (then SIGKILLs it) or it dies by itself.
async function runCycle(dir: string, killAfter: number, failpointSpec: string): Promise<CycleOutcome> {
  const env: Record<string, string> = { ...(process.env as Record<string, string>) };
  if (failpointSpec === "") delete env.RIVULET_FAILPOINT;
  else env.RIVULET_FAILPOINT = failpointSpec;
  const child = Bun.spawn([process.execPath, CHILD, dir], { stdout: "pipe", stderr: "inherit", env });
  const lines: string[] = [];
  let maxDurable = -1;
  let durableCount = 0;
  const timer = setTimeout(() => child.kill("SIGKILL"), CYCLE_TIMEOUT_MS);
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of child.stdout) {
    pending += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      lines.push(line);
      if (line.startsWith("durable ")) {
        maxDurable = Math.max(maxDurable, Number(line.slice(8)));
        if (++durableCount === killAfter) child.kill("SIGKILL");
      }
    }
  }
  await child.exited;
  clearTimeout(timer);
  return { lines, maxDurable, signal: child.signalCode };
}

describe("append crash test", () => {
  test(`${CYCLES} SIGKILL cycles: every durable batch survives and the log is a prefix`, async () => {
    const dir = join(root, "topic-0");
    const rng = random(2026);
    const failpoints = ["", "", "append.before_write", "append.after_write", "sync.after_fdatasync", "roll.after_create"];
    let maxDurable = -1;
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const name = failpoints[cycle % failpoints.length]!;
      const spec = name === "" ? "" : `${name}:${1 + Math.floor(rng() * 30)}`;
      const outcome = await runCycle(dir, 1 + Math.floor(rng() * 40), spec);
      expect(outcome.lines.find((l) => l.startsWith("open-failed"))).toBeUndefined();
      expect(outcome.signal).toBe("SIGKILL");
      maxDurable = Math.max(maxDurable, outcome.maxDurable);

      // Check in this process (without a clean close, so the next child also starts from a crash).
      const log = await PartitionLog.open(dir, resolveLogConfig(APPEND_CHILD_CONFIG));
      if (!(log instanceof PartitionLog)) throw new Error(`reopen failed: ${log.error} ${log.detail}`);
      expect(log.logEndOffset as number).toBeGreaterThan(maxDurable);
      let expectedBase = 0;
      for (const batch of readAll(log)) {
        expect(batch.baseOffset).toBe(expectedBase);
        const want = expectedBatch(expectedBase);
        expect(Buffer.from(batch.bytes).equals(Buffer.from(want))).toBe(true);
        expect(readBatchFrame(batch.bytes, 0).ok).toBe(true);
        expectedBase = batch.lastOffset + 1;
      }
      expect(expectedBase).toBe(log.logEndOffset as number);
      log.abandon();
    }
  }, 120_000);
});
