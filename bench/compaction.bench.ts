// Log compaction cost: (1) rewriting one batch keeping half its records (compaction-batch.ts), against the least a
// rewrite must do (copy the bytes and CRC them) measured by mitata in the same run; (2) one whole cleaner pass over
// 32 MiB of segments on disk (Broker.runCleaner), against copying the same segment files (read + write + fsync),
// timed in the same run on fresh copies.
// Run: `npx bun bench/compaction.bench.ts` (after `node scripts/build-wasm.mjs`). Temp files go to the OS temp dir
// and are removed at the end.
import { cpSync, mkdtempSync, readdirSync, rmSync, statSync, openSync, readSync, writeSync, closeSync, fsyncSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bench, do_not_optimize, group, run } from "mitata";
import { Broker } from "../core/engine/broker.ts";
import { FakeClock } from "../core/engine/clock.ts";
import { filterBatch, openBatch, type RecordEntry } from "../core/engine/compaction-batch.ts";
import { CODEC_LZ4, CODEC_NONE, compressRecords, decompressRecords } from "../core/formats/codecs.ts";
import { crc32c } from "../core/formats/crc32c.ts";
import { RECORD_BATCH_HEADER_BYTES } from "../core/formats/record-batch-header.ts";
import { buildTestBatch, type TestRecord } from "../test/core/engine/compaction-test-batches.ts";

const RECORDS_PER_BATCH = 100;
const VALUE_BYTES = 150;

function records(batch: number, keys: number): TestRecord[] {
  const value = "x".repeat(VALUE_BYTES - 12);
  return Array.from({ length: RECORDS_PER_BATCH }, (_, r) => ({
    key: `key-${(batch * RECORDS_PER_BATCH + r * 7919) % keys}`,
    value: `${batch}.${r}.${value}`,
  }));
}

// (1) One batch.
const plain = buildTestBatch(records(1, 1_000_000));
const lz4 = buildTestBatch(records(2, 1_000_000), { codec: CODEC_LZ4 });
const plainOpened = openBatch(plain);
const lz4Opened = openBatch(lz4);
if (!plainOpened.ok || !lz4Opened.ok) throw new Error("bench batches must open");
const keepEven = (record: RecordEntry) => record.offset % 2 === 0;

group(`rewrite one ${plain.length}-byte batch (${RECORDS_PER_BATCH} records) keeping half`, () => {
  bench("baseline: copy + crc32c", () => {
    const copy = plain.slice();
    do_not_optimize(crc32c(copy.subarray(21)));
  }).baseline(true);
  bench("open (CRC) + filterBatch", () => {
    const opened = openBatch(plain);
    if (opened.ok) do_not_optimize(filterBatch(opened.value, keepEven, false));
  });
  bench("filterBatch only", () => do_not_optimize(filterBatch(plainOpened.value, keepEven, false)));
});

group(`rewrite one LZ4 batch (${lz4.length} bytes) keeping half`, () => {
  bench("baseline: lz4 decompress + compress + crc32c", () => {
    const section = decompressRecords(CODEC_LZ4, lz4.subarray(RECORD_BATCH_HEADER_BYTES), 1 << 24);
    if (section.ok) {
      const again = compressRecords(CODEC_LZ4, section.value);
      if (again.ok) do_not_optimize(crc32c(again.value));
    }
  }).baseline(true);
  bench("open (CRC, decompress) + filterBatch", () => {
    const opened = openBatch(lz4);
    if (opened.ok) do_not_optimize(filterBatch(opened.value, keepEven, false));
  });
});

await run();

// (2) A whole pass on disk.
const TOTAL_BYTES = 32 * 1024 * 1024;
const KEYS = 20_000;
const root = mkdtempSync(join(tmpdir(), "rivulet-compaction-bench-"));
try {
  const source = join(root, "source");
  const clock = new FakeClock(1_700_000_000_000);
  const setup = await Broker.open({ dataDir: source, clock, retentionCheckIntervalMs: 0, cleanerIntervalMs: 0, flushCheckIntervalMs: 0 });
  const created = await setup.createTopic("c", { configs: { "cleanup.policy": "compact", "segment.bytes": 8 * 1024 * 1024 } });
  const partition = setup.partition("c", 0);
  if (!created.ok || !partition.ok) throw new Error("setup failed");
  let appended = 0;
  for (let b = 0; appended < TOTAL_BYTES; b++) {
    const batch = buildTestBatch(records(b, KEYS), { codec: b % 2 === 0 ? CODEC_NONE : CODEC_LZ4, baseTimestamp: clock.nowMs() });
    appended += batch.length;
    partition.value.append(batch);
  }
  partition.value.rollNow();
  const segmentBytes = partition.value.sizeBytes;
  await setup.close();

  const copyFiles = (from: string, to: string): void => {
    const buffer = new Uint8Array(1024 * 1024);
    for (const name of readdirSync(from).filter((n) => n.endsWith(".log"))) {
      const input = openSync(join(from, name), "r");
      const output = openSync(join(to, name), "w");
      for (let position = 0; ; ) {
        const n = readSync(input, buffer, 0, buffer.length, position);
        if (n === 0) break;
        writeSync(output, buffer, 0, n);
        position += n;
      }
      fsyncSync(output);
      closeSync(input);
      closeSync(output);
    }
  };

  const passMs: number[] = [];
  const copyMs: number[] = [];
  for (let round = 0; round < 3; round++) {
    const copyDir = join(root, `copy-${round}`);
    cpSync(source, copyDir, { recursive: true });
    const partitionDir = join(copyDir, "c-0");
    const target = join(root, `plain-${round}`);
    cpSync(partitionDir, target, { recursive: true, filter: (path) => statSync(path).isDirectory() });
    let started = performance.now();
    copyFiles(partitionDir, target);
    copyMs.push(performance.now() - started);
    const broker = await Broker.open({ dataDir: copyDir, clock, retentionCheckIntervalMs: 0, cleanerIntervalMs: 0, flushCheckIntervalMs: 0 });
    started = performance.now();
    const summary = await broker.runCleaner({ ignoreDirtyRatio: true });
    passMs.push(performance.now() - started);
    if (round === 0) console.log(`pass: ${summary.recordsRemoved} records removed, ${summary.bytesBefore} -> ${summary.bytesAfter} bytes`);
    await broker.close();
    rmSync(copyDir, { recursive: true, force: true });
    rmSync(target, { recursive: true, force: true });
  }
  const mbps = (ms: number) => segmentBytes / 1e6 / (ms / 1000);
  const best = (xs: number[]) => Math.min(...xs);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(`\nwhole pass over ${(segmentBytes / 1024 / 1024).toFixed(1)} MiB (${KEYS} keys, half LZ4 batches), 3 rounds:`);
  console.log(`  baseline copy of the .log files (1 MiB read/write + fsync): best ${mbps(best(copyMs)).toFixed(0)} MB/s, median ${mbps(median(copyMs)).toFixed(0)} MB/s`);
  console.log(`  cleaner pass (Broker.runCleaner):                         best ${mbps(best(passMs)).toFixed(0)} MB/s, median ${mbps(median(passMs)).toFixed(0)} MB/s`);
  console.log(`  ratio pass / copy: best ${(best(copyMs) / best(passMs)).toFixed(2)}, median ${(median(copyMs) / median(passMs)).toFixed(2)}`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
