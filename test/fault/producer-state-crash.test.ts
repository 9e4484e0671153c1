// Crash test of idempotence: a child appends idempotent batches and is killed with SIGKILL (by the parent after a
// random number of answers, or from inside right before or after a write, before its answer). After each kill
// the log reopens (last roll's snapshot + header replay), the producer resends its last batches, and they are
// answered as duplicates with their original offsets and not written again; a batch that never reached the log
// is written once. The log always holds every sequence exactly once, in order.
import { afterAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveLogConfig } from "../../core/engine/log-config.ts";
import { PartitionLog } from "../../core/engine/partition-log.ts";
import { PRODUCER_BATCHES_RETAINED } from "../../core/engine/producer-state.ts";
import { BASE_SEQUENCE_OFFSET, PRODUCER_ID_OFFSET } from "../../core/formats/record-batch-header.ts";
import { readAll } from "../core/engine/log-helpers.ts";
import { idempotentBatch } from "../core/engine/producer-test-helpers.ts";
import { PRODUCER_CHILD_RECORDS, PRODUCER_CHILD_SEGMENT_BYTES } from "./fixtures/producer-state-child.ts";

const CHILD = join(import.meta.dir, "fixtures", "producer-state-child.ts");
const CYCLES = 6;
const CYCLE_TIMEOUT_MS = 20_000;
const PRODUCER_ID = 4242;
const root = fs.mkdtempSync(join(tmpdir(), "rivulet-pcrash-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

interface Cycle {
  /** Sequence -> base offset, for every answer the child printed. */
  answered: Map<number, number>;
  /** The sequence being appended when the child died without answering, if any. */
  inFlight: number | null;
  signal: string | null;
}

async function runChild(dir: string, startSequence: number, killAfterAnswers: number, failpoint: string): Promise<Cycle> {
  const env: Record<string, string> = { ...(process.env as Record<string, string>) };
  if (failpoint === "") delete env.RIVULET_FAILPOINT;
  else env.RIVULET_FAILPOINT = failpoint;
  const child = Bun.spawn([process.execPath, CHILD, dir, String(PRODUCER_ID), String(startSequence)], { stdout: "pipe", stderr: "inherit", env });
  const timer = setTimeout(() => child.kill("SIGKILL"), CYCLE_TIMEOUT_MS);
  const answered = new Map<number, number>();
  let inFlight: number | null = null;
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of child.stdout) {
    pending += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = pending.indexOf("\n")) >= 0) {
      const [kind, a, b, c] = pending.slice(0, newline).split(" ");
      pending = pending.slice(newline + 1);
      if (kind === "open-failed") throw new Error(`child could not open the log: ${a} ${b}`);
      if (kind === "sending") inFlight = Number(a);
      if (kind === "appended") {
        expect(c).toBe("false");
        answered.set(Number(a), Number(b));
        inFlight = null;
        if (answered.size === killAfterAnswers) child.kill("SIGKILL");
      }
    }
  }
  await child.exited;
  clearTimeout(timer);
  return { answered, inFlight, signal: child.signalCode === null ? null : String(child.signalCode) };
}

// Sequences of the producer's batches in log order.
function sequencesInLog(log: PartitionLog): number[] {
  return readAll(log).map((batch) => {
    const view = new DataView(batch.bytes.buffer, batch.bytes.byteOffset);
    expect(Number(view.getBigInt64(PRODUCER_ID_OFFSET))).toBe(PRODUCER_ID);
    return view.getInt32(BASE_SEQUENCE_OFFSET);
  });
}

describe("idempotence across SIGKILL", () => {
  test(`${CYCLES} kill cycles: resent batches are duplicates with their original offsets; every sequence is in the log once`, async () => {
    const dir = join(root, "topic-0");
    const config = resolveLogConfig({ segmentBytes: PRODUCER_CHILD_SEGMENT_BYTES });
    const offsets = new Map<number, number>();
    const failpoints = ["", "append.after_write", "append.before_write", "", "append.after_write:3", "roll.after_create"];
    let next = 0;
    let inFlightDuplicates = 0;
    let inFlightWrites = 0;
    let restoredFromSnapshot = 0;
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const outcome = await runChild(dir, next, 4 + cycle * 7, failpoints[cycle]!);
      expect(outcome.signal).toBe("SIGKILL");
      for (const [sequence, offset] of outcome.answered) offsets.set(sequence, offset);

      const log = await PartitionLog.open(dir, config);
      if (!(log instanceof PartitionLog)) throw new Error(`reopen failed: ${log.error} ${log.detail}`);
      const end = log.logEndOffset;
      if (log.producerStateLoad.snapshotOffset !== null) restoredFromSnapshot++;
      // The producer resends what it has no answer for, and (as after a lost connection) its last answered ones.
      const answered = [...outcome.answered.keys()].slice(-(PRODUCER_BATCHES_RETAINED - 1));
      for (const sequence of answered) {
        const again = log.append(idempotentBatch({ producerId: PRODUCER_ID, sequence, records: PRODUCER_CHILD_RECORDS }));
        expect(again.duplicate).toBe(true);
        expect(again.baseOffset as number).toBe(offsets.get(sequence)!);
      }
      expect(log.logEndOffset).toBe(end);
      if (outcome.inFlight !== null) {
        const sequence = outcome.inFlight;
        const again = log.append(idempotentBatch({ producerId: PRODUCER_ID, sequence, records: PRODUCER_CHILD_RECORDS }));
        // Written before the kill: a duplicate; never written: appended now, at the end. Either way, once.
        if (again.duplicate) {
          expect(log.logEndOffset).toBe(end);
          inFlightDuplicates++;
        } else {
          expect(again.baseOffset).toBe(end);
          inFlightWrites++;
        }
        offsets.set(sequence, again.baseOffset);
      }
      const sequences = sequencesInLog(log);
      expect(sequences).toEqual(Array.from({ length: sequences.length }, (_, i) => i * PRODUCER_CHILD_RECORDS));
      next = sequences.length * PRODUCER_CHILD_RECORDS;
      // Recorded answers match the log.
      for (const [sequence, offset] of offsets) expect(offset).toBe(sequence);
      // A roll (and its snapshot, awaited) before the next child: its reopen then restores that snapshot and
      // replays what the child wrote after it, whatever the child's own snapshot writes managed before the kill.
      log.rollNow();
      await log.producerSnapshotsWritten();
      log.abandon();
    }
    expect(next).toBeGreaterThan(40);
    // The schedule covers both in-flight outcomes and restores from roll snapshots plus replay.
    expect(inFlightDuplicates).toBeGreaterThan(0);
    expect(inFlightWrites).toBeGreaterThan(0);
    expect(restoredFromSnapshot).toBeGreaterThan(0);
  }, 120_000);
});
