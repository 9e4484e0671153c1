// The log cleaner's durable state: `<dataDir>/cleaner-checkpoint.json`, one entry per compacted partition.
//
//   {
//     "version": 1,
//     "partitions": [
//       { "topicId": "<uuid>", "partition": 0, "firstDirtyOffset": 1200,
//         "passes": [[800, 1700000000000], [1200, 1700000360000]] }
//     ]
//   }
//
// `firstDirtyOffset` is Kafka's cleaner checkpoint: everything below it has been cleaned at least once.
// `passes` is what Rivulet adds to decide when a tombstone may go: each [endOffset, cleanedAtMs] says that a
// cleaning pass finished at cleanedAtMs and covered every offset below endOffset. A tombstone at offset o first
// went through a cleaning pass in the earliest pass with endOffset > o; it is removed once that pass is
// delete.retention.ms old (Kafka's rule: tombstones are kept for delete.retention.ms after the segment holding them
// was cleaned). The list is bounded: when it is full, the two oldest passes merge into one with the larger end
// and the later time, which can only keep tombstones longer, never remove them sooner. Passes whose horizon has
// passed are dropped after a pass that removed their tombstones.
//
// Keyed by topic id (not name) so a topic deleted and created again under the same name starts clean. Losing
// this file is safe: the whole log is dirty again (one extra pass) and tombstones wait one more
// delete.retention.ms. Written atomically like topic metadata.
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { type Result, err, ok } from "../formats/result.ts";
import { writeFileAtomically } from "./durable-file.ts";

/** The checkpoint file's name inside a data directory. */
export const CLEANER_CHECKPOINT_FILE = "cleaner-checkpoint.json";

/** Largest cleaner checkpoint file we read. */
export const CLEANER_CHECKPOINT_BYTES_MAX = 64 * 1024 * 1024;

/** Most cleaning passes remembered per partition (older ones merge, conservatively). */
export const CLEANER_PASSES_MAX = 16;

/** One pass: every offset below `endOffset` was cleaned at `cleanedAtMs`. */
export type CleanerPass = readonly [endOffset: number, cleanedAtMs: number];

/** The cleaner's state for one partition. */
export interface CleanerPartitionState {
  topicId: string;
  partition: number;
  firstDirtyOffset: number;
  /** Ascending in both endOffset and cleanedAtMs. */
  passes: CleanerPass[];
}

/** Why the checkpoint could not be read (the caller then starts from an empty state). */
export type CleanerCheckpointError = "too_large" | "bad_json" | "bad_shape" | "io_error";

function isSafeNonNegative(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/** Decodes checkpoint bytes, checking every field; never throws. */
export function decodeCleanerCheckpoint(bytes: Uint8Array): Result<CleanerPartitionState[], CleanerCheckpointError> {
  if (bytes.length > CLEANER_CHECKPOINT_BYTES_MAX) return err("too_large");
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    return err("bad_json");
  }
  if (typeof parsed !== "object" || parsed === null || (parsed as { version?: unknown }).version !== 1) return err("bad_shape");
  const partitions = (parsed as { partitions?: unknown }).partitions;
  if (!Array.isArray(partitions)) return err("bad_shape");
  const out: CleanerPartitionState[] = [];
  for (const entry of partitions) {
    if (typeof entry !== "object" || entry === null) return err("bad_shape");
    const { topicId, partition, firstDirtyOffset, passes } = entry as Record<string, unknown>;
    if (typeof topicId !== "string" || topicId.length > 64) return err("bad_shape");
    if (!isSafeNonNegative(partition) || !isSafeNonNegative(firstDirtyOffset)) return err("bad_shape");
    if (!Array.isArray(passes) || passes.length > CLEANER_PASSES_MAX) return err("bad_shape");
    const checked: CleanerPass[] = [];
    for (const pass of passes) {
      if (!Array.isArray(pass) || pass.length !== 2 || !isSafeNonNegative(pass[0]) || !isSafeNonNegative(pass[1])) return err("bad_shape");
      checked.push([pass[0], pass[1]]);
    }
    out.push({ topicId, partition, firstDirtyOffset, passes: checked });
  }
  return ok(out);
}

/** Encodes the checkpoint file's bytes. */
export function encodeCleanerCheckpoint(states: Iterable<CleanerPartitionState>): Uint8Array {
  const partitions = [...states].map(({ topicId, partition, firstDirtyOffset, passes }) => ({ topicId, partition, firstDirtyOffset, passes }));
  return new TextEncoder().encode(`${JSON.stringify({ version: 1, partitions })}\n`);
}

/** Reads the checkpoint of `dataDir`; a missing file is an empty state. */
export async function readCleanerCheckpoint(dataDir: string): Promise<Result<CleanerPartitionState[], CleanerCheckpointError>> {
  const path = join(dataDir, CLEANER_CHECKPOINT_FILE);
  try {
    if ((await stat(path)).size > CLEANER_CHECKPOINT_BYTES_MAX) return err("too_large");
    return decodeCleanerCheckpoint(new Uint8Array(await readFile(path)));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return ok([]);
    return err("io_error");
  }
}

/** Writes the checkpoint of `dataDir` atomically. */
export async function writeCleanerCheckpoint(dataDir: string, states: Iterable<CleanerPartitionState>): Promise<void> {
  await writeFileAtomically(dataDir, CLEANER_CHECKPOINT_FILE, encodeCleanerCheckpoint(states));
}

/**
 * True when the tombstone at `offset` may be removed at `nowMs`: it went through an earlier pass, and that pass is
 * at least `deleteRetentionMs` old.
 */
export function tombstoneExpired(passes: readonly CleanerPass[], offset: number, nowMs: number, deleteRetentionMs: number): boolean {
  for (const [endOffset, cleanedAtMs] of passes) {
    if (offset < endOffset) return cleanedAtMs + deleteRetentionMs <= nowMs;
  }
  return false;
}

/** The earliest time some remembered pass's tombstones become removable (Infinity when none are waiting). */
export function nextTombstoneHorizonMs(passes: readonly CleanerPass[], deleteRetentionMs: number): number {
  const first = passes[0];
  return first === undefined ? Number.POSITIVE_INFINITY : first[1] + deleteRetentionMs;
}

/**
 * The pass list after a pass that ran at `nowMs` and covered offsets below `endOffset`: passes whose tombstones
 * that pass removed are dropped, the new pass is appended, and the list is merged down to CLEANER_PASSES_MAX.
 */
export function recordPass(
  passes: readonly CleanerPass[],
  endOffset: number,
  nowMs: number,
  deleteRetentionMs: number,
): CleanerPass[] {
  const kept = passes.filter(([passEnd, cleanedAtMs]) => cleanedAtMs + deleteRetentionMs > nowMs && passEnd <= endOffset);
  const last = kept[kept.length - 1];
  const cleanedAtMs = Math.max(nowMs, last?.[1] ?? 0);
  if (last === undefined || endOffset > last[0]) kept.push([endOffset, cleanedAtMs]);
  while (kept.length > CLEANER_PASSES_MAX) {
    const [a, b] = [kept[0]!, kept[1]!];
    kept.splice(0, 2, [Math.max(a[0], b[0]), Math.max(a[1], b[1])]);
  }
  return kept;
}
