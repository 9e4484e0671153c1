// The consumer's per-answer decode path (docs/benchmarks/consumer.md), with mitata, on one fetched partition
// answer of 1 MiB (max.partition.fetch.bytes) made of 64 KiB batches of 100-byte or 1 KiB records:
//
//   validate only        baseline: validateRecordBatch on every batch (the WASM CRC-32C + record walk, no records
//                        built): the least any consumer that checks CRCs must do.
//   decodeRecordBatch    core/formats' decoder: validate + an object per record (numbers, header arrays).
//   PartitionRecords     what the consumer runs: frame walk on arrival, then CRC-32C + one pass that checks each
//                        record and makes its Message (positions; key/value/headers/bigint made on first read),
//                        taken max.poll.records at a time, every value read (as a consumer would).
//   ... check.crcs=false the same without the CRC.
//   ... (before)         with CONSUMER_BENCH_BEFORE=<dir of another checkout, built>: that checkout's
//                        PartitionRecords in the same run, for before/after ratios (docs/benchmarks/consumer.md).
//
// Run: `node scripts/build-wasm.mjs && npx bun bench/consumer.bench.ts`. The end-to-end throughput (broker, network,
// SDK on Bun and Node) is bench/consumer-e2e.bench.mjs.
import { bench, do_not_optimize, group, run, summary } from "mitata";
import { PartitionRecords } from "../client/consumer/partition-records.ts";
import { type RecordInput, decodeRecordBatch, encodeRecordBatch, validateRecordBatch } from "../core/formats/record-batch.ts";
import { patchBaseOffset, readBatchFrameUnchecked } from "../core/formats/record-batch-header.ts";

// An older PartitionRecords to compare with, from another checkout (its own wasm build), when asked for.
type PartitionRecordsClass = typeof PartitionRecords;
const beforeDir = process.env.CONSUMER_BENCH_BEFORE;
const Before: PartitionRecordsClass | null =
  beforeDir === undefined ? null : ((await import(`${beforeDir}/client/consumer/partition-records.ts`)) as { PartitionRecords: PartitionRecordsClass }).PartitionRecords;

// Takes every message of an answer, reading each value (what any consumer does; values are made on first read).
function consumeAll(Class: PartitionRecordsClass, bytes: Uint8Array, records: number, checkCrcs: boolean): number {
  const answer = new Class("t", 0, 0, records, bytes, checkCrcs);
  let valueBytes = 0;
  for (;;) {
    const messages = answer.take(MAX_POLL_RECORDS);
    if (messages.length === 0) break;
    for (const message of messages) valueBytes += message.value?.length ?? 0;
    do_not_optimize(messages);
  }
  return valueBytes;
}

const ANSWER_BYTES = 1024 * 1024;
const BATCH_BYTES = 64 * 1024;
const MAX_POLL_RECORDS = 500;

// A fetched answer: batches of `size`-byte values (one header each) back to back, offsets consecutive.
function fetchedAnswer(size: number): { bytes: Uint8Array; records: number } {
  const perBatch = Math.max(1, Math.floor(BATCH_BYTES / (size + 20)));
  const value = new Uint8Array(size).fill(120);
  const parts: Uint8Array[] = [];
  let total = 0;
  let offset = 0;
  while (total < ANSWER_BYTES) {
    const records: RecordInput[] = [];
    for (let i = 0; i < perBatch; i++) records.push({ key: `key-${offset + i}`, value, headers: [{ key: "h", value: "1" }], timestamp: 1_700_000_000_000 + offset + i });
    const batch = encodeRecordBatch({ records });
    patchBaseOffset(batch, 0, offset);
    offset += perBatch;
    parts.push(batch);
    total += batch.length;
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.length;
  }
  return { bytes, records: offset };
}

// Splits an answer into its batches by their length fields alone (no CRC here: each benchmark does its own).
function eachBatch(bytes: Uint8Array, visit: (batch: Uint8Array) => void): void {
  let at = 0;
  while (at < bytes.length) {
    const frame = readBatchFrameUnchecked(bytes, at);
    if (!frame.ok) throw new Error(frame.error);
    visit(bytes.subarray(at, at + frame.value.sizeBytes));
    at += frame.value.sizeBytes;
  }
}

for (const size of [100, 1024]) {
  const { bytes, records } = fetchedAnswer(size);
  console.log(`${size}-byte values: ${records} records in a ${(bytes.length / 1024).toFixed(0)} KiB answer`);
  group(`${size} B records, 1 MiB answer (${records} records)`, () => {
    summary(() => {
      bench(`validate only ${size}B (baseline)`, () => {
        eachBatch(bytes, (batch) => do_not_optimize(validateRecordBatch(batch, { allowOffsetGaps: true })));
      }).baseline(true);
      bench(`decodeRecordBatch ${size}B`, () => {
        eachBatch(bytes, (batch) => do_not_optimize(decodeRecordBatch(batch, { allowOffsetGaps: true })));
      });
      bench(`PartitionRecords ${size}B`, () => do_not_optimize(consumeAll(PartitionRecords, bytes, records, true)));
      bench(`PartitionRecords check.crcs=false ${size}B`, () => do_not_optimize(consumeAll(PartitionRecords, bytes, records, false)));
      if (Before !== null) {
        bench(`PartitionRecords ${size}B (before)`, () => do_not_optimize(consumeAll(Before, bytes, records, true)));
        bench(`PartitionRecords check.crcs=false ${size}B (before)`, () => do_not_optimize(consumeAll(Before, bytes, records, false)));
      }
    });
  });
}

await run();
