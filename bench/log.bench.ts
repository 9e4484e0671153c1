// Partition-log benchmarks (docs/benchmarks/storage.md). Every figure is reported next to a baseline measured in
// the same run on the same disk, because this machine is shared and its disk is bursty:
//
//   append    64 KiB batches through PartitionLog.append into the page cache, vs raw fs.writeSync of 64 KiB
//             buffers to an O_APPEND descriptor.
//   durable   the same appends with acks=all style waiting (flushed() per batch, 4 MiB .. 256 MiB in
//             flight, group commit), vs `dd if=/dev/zero of=F bs=64k count=N conv=fdatasync` for the same byte count.
//   read      read(offset, 1 MiB) + readRanges, and readBatches(offset, 1 MiB), over the whole log (page cache
//             warm), vs fs.readSync in 1 MiB chunks of the same files.
//   recovery  open() after close() (clean), after a crash with a recent recovery point (tail only), and with
//             no checkpoint (full CRC scan of every segment); plus clean start-up of 100 partitions holding
//             10 GiB (inactive segments are sparse files: a clean start only stats them).
//   lookup    mitata: read(offset, 1) latency against index size (1k .. 256k entries), vs OffsetIndex.lookup
//             alone and a bare 61-byte pread.
//
// Run: `npx bun bench/log.bench.ts [append|durable|read|recovery|lookup ...]` (after `node scripts/build-wasm.mjs`).
// Files live in a temp dir that is deleted at the end; the largest moment holds about LOG_BYTES of data.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bench, do_not_optimize, group, run } from "mitata";
import { writeCheckpoint } from "../core/engine/checkpoint.ts";
import { type LogConfig, resolveLogConfig } from "../core/engine/log-config.ts";
import { asOffset } from "../core/engine/offsets.ts";
import { PartitionLog } from "../core/engine/partition-log.ts";
import { buildBatch, buildBatchOfSize } from "../test/core/engine/batch-builder.ts";

const BATCH_BYTES = 64 * 1024;
const LOG_BYTES = 512 * 1024 * 1024;
const BATCHES = LOG_BYTES / BATCH_BYTES;
const REPEATS = 3;
const APPEND_REPEATS = 6;
// Unacknowledged appends allowed (what pipelined acks=all producers keep in flight): 4 MiB .. 256 MiB.
const DURABLE_WINDOWS = [64, 256, 1024, 4096];

const wanted = process.argv.slice(2);
const runs = (name: string) => wanted.length === 0 || wanted.includes(name);
const root = fs.mkdtempSync(join(tmpdir(), "rivulet-logbench-"));
const gbps = (bytes: number, ms: number) => bytes / ms / 1e6;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function openLog(dir: string, overrides: Partial<LogConfig> = {}): Promise<PartitionLog> {
  const log = await PartitionLog.open(dir, resolveLogConfig(overrides));
  if (!(log instanceof PartitionLog)) throw new Error(`open failed: ${log.error}`);
  return log;
}

function report(title: string, rows: [string, number, string][], baseline: number): void {
  console.log(`\n${title}`);
  for (const [name, value, unit] of rows) console.log(`  ${name.padEnd(58)} ${value.toFixed(3).padStart(10)} ${unit}  (${(value / baseline).toFixed(2)}x baseline)`);
}

async function benchAppend(): Promise<void> {
  const batch = buildBatchOfSize(BATCH_BYTES);
  const logRates: number[] = [];
  const rawRates: number[] = [];
  const runRaw = () => {
    const rawPath = join(root, "raw.bin");
    const fd = fs.openSync(rawPath, "a");
    const t = performance.now();
    for (let i = 0; i < BATCHES; i++) fs.writeSync(fd, batch);
    rawRates.push(gbps(LOG_BYTES, performance.now() - t));
    fs.closeSync(fd);
    fs.rmSync(rawPath);
  };
  const runLog = async (r: number) => {
    const dir = join(root, `append-${r}`);
    const log = await openLog(dir);
    const t = performance.now();
    for (let i = 0; i < BATCHES; i++) log.append(batch);
    logRates.push(gbps(LOG_BYTES, performance.now() - t));
    log.abandon();
    fs.rmSync(dir, { recursive: true });
  };
  // Alternate which goes first, so neither always inherits the other's page-cache and writeback state.
  for (let r = 0; r < APPEND_REPEATS; r++) {
    if (r % 2 === 0) {
      runRaw();
      await runLog(r);
    } else {
      await runLog(r);
      runRaw();
    }
  }
  const base = median(rawRates);
  report(`append: ${BATCHES} x 64 KiB (${LOG_BYTES >> 20} MiB) into the page cache, median of ${APPEND_REPEATS}`, [
    ["raw fs.writeSync 64 KiB, O_APPEND (baseline)", base, "GB/s"],
    ["PartitionLog.append 64 KiB", median(logRates), "GB/s"],
  ], base);
}

async function benchDurable(): Promise<void> {
  const batch = buildBatchOfSize(BATCH_BYTES);
  const ddRates: number[] = [];
  const rows: [string, number, string][] = [];
  for (const window of DURABLE_WINDOWS) {
    const logRates: number[] = [];
    let rounds = 0;
    for (let r = 0; r < REPEATS; r++) {
      // dd runs next to every log run, so the baseline sees the same disk weather.
      const ddPath = join(root, "dd.bin");
      let t = performance.now();
      execFileSync("dd", ["if=/dev/zero", `of=${ddPath}`, "bs=64k", `count=${BATCHES}`, "conv=fdatasync"], { stdio: "ignore" });
      ddRates.push(gbps(LOG_BYTES, performance.now() - t));
      fs.rmSync(ddPath);

      const dir = join(root, `durable-${window}-${r}`);
      const log = await openLog(dir);
      const inFlight: Promise<void>[] = [];
      t = performance.now();
      for (let i = 0; i < BATCHES; i++) {
        const result = log.append(batch);
        inFlight.push(log.flushed(result.lastOffset));
        if (inFlight.length >= window) await inFlight.shift();
      }
      await Promise.all(inFlight);
      logRates.push(gbps(LOG_BYTES, performance.now() - t));
      rounds += log.syncRounds;
      log.abandon();
      fs.rmSync(dir, { recursive: true });
    }
    rows.push([`append + flushed, <= ${window} x 64 KiB in flight (${Math.round(rounds / REPEATS)} fdatasyncs/run)`, median(logRates), "GB/s"]);
  }
  const base = median(ddRates);
  report(`durable: ${LOG_BYTES >> 20} MiB in 64 KiB batches, every batch awaited until fdatasync'ed, group commit, median of ${REPEATS}`, [
    [`dd bs=64k count=${BATCHES} conv=fdatasync (baseline, median of ${ddRates.length})`, base, "GB/s"],
    ...rows,
  ], base);
}

async function benchRead(): Promise<void> {
  const dir = join(root, "read");
  const log = await openLog(dir, { segmentBytes: 128 * 1024 * 1024 });
  const batch = buildBatchOfSize(BATCH_BYTES);
  for (let i = 0; i < BATCHES; i++) log.append(batch);
  await log.durable();
  const files = fs.readdirSync(dir).filter((n) => n.endsWith(".log")).sort().map((n) => join(dir, n));
  const rawRates: number[] = [];
  const logRates: number[] = [];
  const directRates: number[] = [];
  const chunk = new Uint8Array(1 << 20);
  for (let r = 0; r < REPEATS; r++) {
    let t = performance.now();
    let total = 0;
    for (const file of files) {
      const fd = fs.openSync(file, "r");
      for (let n; (n = fs.readSync(fd, chunk, 0, chunk.length, null)) > 0; ) total += n;
      fs.closeSync(fd);
    }
    rawRates.push(gbps(total, performance.now() - t));
    t = performance.now();
    total = 0;
    for (let offset = 0; offset < log.logEndOffset; ) {
      const result = log.read(offset, 1 << 20);
      if (!result.ok) throw new Error(result.error);
      const bytes = log.readRanges(result.value.ranges, chunk);
      do_not_optimize(bytes);
      total += bytes.length;
      offset = result.value.nextOffset;
    }
    logRates.push(gbps(total, performance.now() - t));
    t = performance.now();
    total = 0;
    for (let offset = 0; offset < log.logEndOffset; ) {
      const result = log.readBatches(offset, 1 << 20, chunk);
      if (!result.ok) throw new Error(result.error);
      do_not_optimize(result.value.bytes);
      total += result.value.bytes.length;
      offset = result.value.nextOffset;
    }
    directRates.push(gbps(total, performance.now() - t));
  }
  await log.close();
  fs.rmSync(dir, { recursive: true });
  const base = median(rawRates);
  report(`read: ${LOG_BYTES >> 20} MiB of 64 KiB batches, page cache warm, median of ${REPEATS}`, [
    ["fs.readSync 1 MiB chunks (baseline)", base, "GB/s"],
    ["PartitionLog.read(offset, 1 MiB) + readRanges (ranges, sendfile-ready)", median(logRates), "GB/s"],
    ["PartitionLog.readBatches(offset, 1 MiB) (one pread)", median(directRates), "GB/s"],
  ], base);
}

async function timeOpen(dir: string, overrides: Partial<LogConfig>): Promise<number> {
  const t = performance.now();
  const log = await openLog(dir, overrides);
  const ms = performance.now() - t;
  log.abandon();
  return ms;
}

async function benchRecovery(): Promise<void> {
  const dir = join(root, "recovery");
  const config = { segmentBytes: 64 * 1024 * 1024 };
  let log = await openLog(dir, config);
  const batch = buildBatchOfSize(BATCH_BYTES);
  for (let i = 0; i < BATCHES; i++) log.append(batch);
  await log.close();
  const clean = await timeOpen(dir, config); // abandon() keeps the clean checkpoint valid: nothing was written
  // Unclean with a recovery point: a crash after appending 16 MiB past the last checkpoint.
  log = await openLog(dir, config);
  for (let i = 0; i < 256; i++) log.append(batch);
  log.abandon();
  const tail = await timeOpen(dir, config);
  fs.rmSync(join(dir, "rivulet.checkpoint"));
  const full = await timeOpen(dir, config);
  fs.rmSync(dir, { recursive: true });
  const logMiB = (LOG_BYTES >> 20) + 16;
  report(`recovery: open() of one ${logMiB} MiB partition (64 MiB segments)`, [
    ["clean (checkpoint + unchanged active segment) (baseline)", clean, "ms"],
    ["unclean, recovery point 16 MiB before the end", tail, "ms"],
    ["unclean, no checkpoint: CRC scan of everything", full, "ms"],
  ], clean);
  console.log(`  full scan rate: ${gbps(logMiB * 1024 * 1024, full).toFixed(2)} GB/s`);

  // 100 partitions x 100 MiB: 9 sparse inactive segments of ~11 MiB + a real active segment, closed cleanly.
  const PARTITIONS = 100;
  const INACTIVE = 9;
  const INACTIVE_BYTES = Math.floor((100 * 1024 * 1024 - 1024 * 1024) / INACTIVE);
  const small = buildBatchOfSize(16 * 1024);
  for (let p = 0; p < PARTITIONS; p++) {
    const pdir = join(root, "many", `topic-${p}`);
    fs.mkdirSync(pdir, { recursive: true });
    const activeBase = asOffset(INACTIVE * 1_000_000);
    await writeCheckpoint(pdir, {
      recoveryPoint: activeBase, logStartOffset: asOffset(0), logEndOffset: activeBase, clean: false,
      activeSegmentBaseOffset: activeBase, activeSegmentBytes: 0, activeSegmentCtimeNs: 0n,
    });
    const plog = await openLog(pdir);
    for (let i = 0; i < 64; i++) plog.append(small);
    await plog.close();
    for (let s = 0; s < INACTIVE; s++) {
      const name = String(s * 1_000_000).padStart(20, "0");
      fs.writeFileSync(join(pdir, `${name}.index`), new Uint8Array(0));
      fs.writeFileSync(join(pdir, `${name}.timeindex`), new Uint8Array(0));
      const fd = fs.openSync(join(pdir, `${name}.log`), "w");
      fs.ftruncateSync(fd, INACTIVE_BYTES);
      fs.closeSync(fd);
    }
  }
  const times: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    const t = performance.now();
    const logs = await Promise.all(Array.from({ length: PARTITIONS }, (_, p) => openLog(join(root, "many", `topic-${p}`))));
    times.push(performance.now() - t);
    for (const l of logs) l.abandon();
  }
  fs.rmSync(join(root, "many"), { recursive: true });
  console.log(`\nstart-up: ${PARTITIONS} partitions, ${(PARTITIONS * 100) / 1024} GiB (${INACTIVE + 1} segments each), clean: median ${median(times).toFixed(1)} ms of ${REPEATS} (target < 1000 ms)`);
}

async function benchLookup(): Promise<void> {
  const sizes = [1024, 16 * 1024, 256 * 1024];
  const logs: PartitionLog[] = [];
  for (const entries of sizes) {
    const dir = join(root, `lookup-${entries}`);
    // index.interval.bytes 0: every batch after the first gets an entry, so entries ~ batches.
    const log = await openLog(dir, { indexIntervalBytes: 0, segmentIndexBytes: 16 * 1024 * 1024 });
    const batch = buildBatch({ records: 1, valueBytes: 60 });
    for (let i = 0; i <= entries; i++) log.append(batch);
    logs.push(log);
    const targets = Array.from({ length: 4096 }, () => Math.floor(Math.random() * entries));
    const segment = (log as unknown as { segments: { offsetIndex: { lookup(o: number): unknown }; descriptor(): number }[] }).segments[0]!;
    const fd = segment.descriptor();
    const scratch = new Uint8Array(61);
    let k = 0;
    group(`${entries >> 10}k index entries`, () => {
      bench(`pread 61 bytes (baseline) ${entries >> 10}k`, () => do_not_optimize(fs.readSync(fd, scratch, 0, 61, 61 * targets[k++ & 4095]!)));
      bench(`OffsetIndex.lookup ${entries >> 10}k`, () => do_not_optimize(segment.offsetIndex.lookup(asOffset(targets[k++ & 4095]!))));
      bench(`PartitionLog.read(offset, 1) ${entries >> 10}k`, () => do_not_optimize(log.read(targets[k++ & 4095]!, 1)));
    });
  }
  const result = await run();
  const medians = new Map<string, number>();
  for (const trial of result.benchmarks) for (const r of trial.runs) if (r.stats) medians.set(r.name, r.stats.p50);
  for (const entries of sizes) {
    const n = `${entries >> 10}k`;
    const base = medians.get(`pread 61 bytes (baseline) ${n}`)!;
    report(`lookup, ${n} index entries (median ns per call)`, [
      ["pread 61 bytes (baseline)", base, "ns"],
      ["OffsetIndex.lookup", medians.get(`OffsetIndex.lookup ${n}`)!, "ns"],
      ["PartitionLog.read(offset, 1)", medians.get(`PartitionLog.read(offset, 1) ${n}`)!, "ns"],
    ], base);
  }
  for (const log of logs) log.abandon();
}

try {
  console.log(`temp dir on: ${execFileSync("df", ["-h", root]).toString().split("\n")[1]}`);
  if (runs("append")) await benchAppend();
  if (runs("durable")) await benchDurable();
  if (runs("read")) await benchRead();
  if (runs("recovery")) await benchRecovery();
  if (runs("lookup")) await benchLookup();
} finally {
  fs.rmSync(root, { recursive: true, force: true });
}
