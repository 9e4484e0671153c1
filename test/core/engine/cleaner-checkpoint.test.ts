import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CLEANER_CHECKPOINT_FILE,
  CLEANER_PASSES_MAX,
  decodeCleanerCheckpoint,
  encodeCleanerCheckpoint,
  nextTombstoneHorizonMs,
  readCleanerCheckpoint,
  recordPass,
  tombstoneExpired,
  writeCleanerCheckpoint,
  type CleanerPartitionState,
  type CleanerPass,
} from "../../../core/engine/cleaner-checkpoint.ts";

const STATE: CleanerPartitionState = {
  topicId: "0f8fad5b-d9cb-469f-a165-70867728950e",
  partition: 2,
  firstDirtyOffset: 120,
  passes: [
    [80, 1_000],
    [120, 5_000],
  ],
};

describe("tombstone horizons", () => {
  test("a tombstone expires delete.retention.ms after the first pass that covered it; dirty ones never", () => {
    const passes: CleanerPass[] = [
      [80, 1_000],
      [120, 5_000],
    ];
    expect(tombstoneExpired(passes, 10, 1_099, 100)).toBe(false);
    expect(tombstoneExpired(passes, 10, 1_100, 100)).toBe(true);
    expect(tombstoneExpired(passes, 79, 1_100, 100)).toBe(true);
    expect(tombstoneExpired(passes, 80, 1_100, 100)).toBe(false);
    expect(tombstoneExpired(passes, 80, 5_100, 100)).toBe(true);
    expect(tombstoneExpired(passes, 120, 1e12, 100)).toBe(false);
    expect(nextTombstoneHorizonMs(passes, 100)).toBe(1_100);
    expect(nextTombstoneHorizonMs([], 100)).toBe(Number.POSITIVE_INFINITY);
  });

  test("recordPass appends, drops swept passes, and merges conservatively when full", () => {
    expect(recordPass([], 50, 1_000, 100)).toEqual([[50, 1_000]]);
    // The pass at 1_100 removed the tombstones of the pass that ended at 50.
    expect(recordPass([[50, 1_000]], 90, 1_100, 100)).toEqual([[90, 1_100]]);
    expect(recordPass([[50, 1_000]], 90, 1_050, 100)).toEqual([
      [50, 1_000],
      [90, 1_050],
    ]);
    // No new offsets: nothing to add.
    expect(recordPass([[50, 1_000]], 50, 1_050, 100)).toEqual([[50, 1_000]]);
    let passes: CleanerPass[] = [];
    for (let i = 1; i <= CLEANER_PASSES_MAX + 3; i++) passes = recordPass(passes, i * 10, i, 1_000_000);
    expect(passes.length).toBe(CLEANER_PASSES_MAX);
    // Merging never makes a tombstone expire sooner than its own pass would.
    for (let offset = 0; offset < (CLEANER_PASSES_MAX + 3) * 10; offset++) {
      const ownPass = Math.floor(offset / 10) + 1;
      expect(tombstoneExpired(passes, offset, ownPass + 1_000_000 - 1, 1_000_000)).toBe(false);
    }
    for (let i = 1; i < passes.length; i++) {
      expect(passes[i]![0]).toBeGreaterThan(passes[i - 1]![0]);
      expect(passes[i]![1]).toBeGreaterThanOrEqual(passes[i - 1]![1]);
    }
  });
});

describe("checkpoint file", () => {
  let dir = "";
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "rivulet-cleaner-cp-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test("round-trips atomically; a missing file is an empty state", async () => {
    expect(await readCleanerCheckpoint(dir)).toEqual({ ok: true, value: [] });
    await writeCleanerCheckpoint(dir, [STATE]);
    expect(await readCleanerCheckpoint(dir)).toEqual({ ok: true, value: [STATE] });
    expect(readdirSync(dir)).toEqual([CLEANER_CHECKPOINT_FILE]);
  });

  test("bad bytes are typed errors, never throws", () => {
    const whole = encodeCleanerCheckpoint([STATE]);
    for (let cut = 0; cut < whole.length - 1; cut++) expect(decodeCleanerCheckpoint(whole.subarray(0, cut)).ok).toBe(false);
    const bad = (patch: Record<string, unknown>) =>
      decodeCleanerCheckpoint(new TextEncoder().encode(JSON.stringify({ version: 1, partitions: [{ ...STATE, ...patch }] })));
    expect(bad({ partition: -1 })).toEqual({ ok: false, error: "bad_shape" });
    expect(bad({ firstDirtyOffset: 1.5 })).toEqual({ ok: false, error: "bad_shape" });
    expect(bad({ passes: [[1]] })).toEqual({ ok: false, error: "bad_shape" });
    expect(bad({ passes: Array.from({ length: CLEANER_PASSES_MAX + 1 }, (_, i) => [i, i]) })).toEqual({ ok: false, error: "bad_shape" });
    expect(bad({ topicId: 7 })).toEqual({ ok: false, error: "bad_shape" });
  });

  test("an unreadable file reads as an error the broker treats as an empty state", async () => {
    writeFileSync(join(dir, CLEANER_CHECKPOINT_FILE), "{nope");
    expect(await readCleanerCheckpoint(dir)).toEqual({ ok: false, error: "bad_json" });
  });
});
