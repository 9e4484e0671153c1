// Broker-side cost of idempotence (docs/benchmarks/idempotence.md): PartitionLog appends of batches without a
// producer id (the baseline: no check at all) against the same batches from idempotent producers (check against
// the producer state before the write, state update after it), measured in the same run, alternating order.
//
//   plain        append(batch) with producerId -1
//   idempotent   append(batch) with producerId >= 0, consecutive sequences; 1 producer, and 1,000 producers
//                taking turns (a larger map, an entry per producer)
//   batches      appendBatches([batch]) with one idempotent producer (what the Produce handler calls)
//   state only   ProducerStateManager.check + update alone (pure CPU, no I/O: the steady part of the cost),
//                1 and 1,000 producers, reported against the plain append time of the same run
//
// Batch sizes 1 KiB (small batches show the per-batch cost most) and 16 KiB (Kafka's batch.size default). Each
// loop patches the batch's sequence before appending, in the baseline too (the log does not check CRCs on append;
// the handler validated them before), so both loops do the same work apart from the check.
//
// Run: `npx bun bench/idempotence.bench.ts` (after `node scripts/build-wasm.mjs`). Files go to a temp dir, deleted
// at the end; at most ~330 MB at a time.
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveLogConfig } from "../core/engine/log-config.ts";
import { asOffset } from "../core/engine/offsets.ts";
import { PartitionLog } from "../core/engine/partition-log.ts";
import { type ProducerId, ProducerStateManager, type Sequence } from "../core/engine/producer-state.ts";
import { BASE_SEQUENCE_OFFSET, PRODUCER_EPOCH_OFFSET, PRODUCER_ID_OFFSET } from "../core/formats/record-batch-header.ts";
import { buildBatchOfSize } from "../test/core/engine/batch-builder.ts";

const REPEATS = 7;
const CASES = [
  { batchBytes: 1024, appends: 200_000 },
  { batchBytes: 16 * 1024, appends: 20_000 },
];

const root = fs.mkdtempSync(join(tmpdir(), "rivulet-idempotence-bench-"));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

type Mode = "plain" | "idempotent-1" | "idempotent-1000" | "batches-1";

async function runOnce(mode: Mode, batchBytes: number, appends: number, r: number): Promise<number> {
  const dir = join(root, `${mode}-${batchBytes}-${r}`);
  const log = await PartitionLog.open(dir, resolveLogConfig({}));
  if (!(log instanceof PartitionLog)) throw new Error(`open failed: ${log.error}`);
  const batch = buildBatchOfSize(batchBytes);
  const view = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
  const producers = mode === "idempotent-1000" ? 1000 : 1;
  const sequences = new Int32Array(producers);
  if (mode !== "plain") view.setInt16(PRODUCER_EPOCH_OFFSET, 0);
  const start = performance.now();
  for (let i = 0; i < appends; i++) {
    const producer = i % producers;
    if (mode === "plain") {
      view.setInt32(BASE_SEQUENCE_OFFSET, -1);
    } else {
      view.setInt32(PRODUCER_ID_OFFSET, 0);
      view.setInt32(PRODUCER_ID_OFFSET + 4, producer);
      view.setInt32(BASE_SEQUENCE_OFFSET, sequences[producer]!);
      sequences[producer]! += 1;
    }
    if (mode === "batches-1") {
      const result = log.appendBatches([batch]);
      if (!result.ok) throw new Error(result.message);
    } else {
      const result = log.append(batch);
      if (result.duplicate) throw new Error("unexpected duplicate");
    }
  }
  const microsPerAppend = ((performance.now() - start) * 1000) / appends;
  log.abandon();
  fs.rmSync(dir, { recursive: true, force: true });
  return microsPerAppend;
}

// ns per check + update, with consecutive sequences over `producers` producers.
function stateOnce(producers: number, iterations: number): number {
  const state = new ProducerStateManager();
  const sequences = new Int32Array(producers);
  let offset = 0;
  const start = performance.now();
  for (let i = 0; i < iterations; i++) {
    const producer = i % producers;
    const fields = { producerId: producer as ProducerId, epoch: 0, firstSequence: sequences[producer]! as Sequence, lastOffsetDelta: 9 };
    const decision = state.check(fields);
    if (decision.kind !== "append") throw new Error("unexpected decision");
    state.update(fields, asOffset(offset), asOffset(offset + 9), 0, 0);
    offset += 10;
    sequences[producer]! += 10;
  }
  return ((performance.now() - start) * 1e6) / iterations;
}

async function main(): Promise<void> {
  console.log(`idempotence bench: ${REPEATS} repeats, median; Bun ${Bun.version}`);
  const modes: Mode[] = ["plain", "idempotent-1", "idempotent-1000", "batches-1"];
  for (const { batchBytes, appends } of CASES) {
    const results = new Map<Mode, number[]>(modes.map((m) => [m, []]));
    // Warm-up, then rotate the order each repeat so no mode always inherits the others' page-cache state.
    for (const mode of modes) await runOnce(mode, batchBytes, Math.floor(appends / 10), -1);
    for (let r = 0; r < REPEATS; r++) {
      for (let k = 0; k < modes.length; k++) {
        const mode = modes[(k + r) % modes.length]!;
        results.get(mode)!.push(await runOnce(mode, batchBytes, appends, r));
      }
    }
    const baseline = median(results.get("plain")!);
    const stateRuns = (producers: number) => {
      stateOnce(producers, 100_000);
      return median(Array.from({ length: REPEATS }, () => stateOnce(producers, 1_000_000)));
    };
    const state1 = stateRuns(1);
    const state1000 = stateRuns(1000);
    console.log(`\n${batchBytes} B batches, ${appends} appends per run`);
    for (const mode of modes) {
      const us = median(results.get(mode)!);
      const min = Math.min(...results.get(mode)!);
      const mbps = batchBytes / us;
      console.log(
        `  ${mode.padEnd(18)} median ${us.toFixed(3).padStart(8)} us/append (min ${min.toFixed(3)})  ${mbps.toFixed(0).padStart(6)} MB/s  ${(us / baseline).toFixed(3)}x plain time`,
      );
    }
    for (const [name, ns] of [["state-only-1", state1], ["state-only-1000", state1000]] as const) {
      console.log(`  ${name.padEnd(18)} median ${(ns / 1000).toFixed(3).padStart(8)} us/batch (check + update, no I/O)  = ${((100 * ns) / 1000 / baseline).toFixed(1)}% of a plain append`);
    }
  }
  fs.rmSync(root, { recursive: true, force: true });
}

await main();
