// LZ4 block compress and decompress of 64 KiB of realistic JSON events (bench/data.ts, seed 42): our WASM kernel
// (resident in wasm memory, and with the copies in and out), the TypeScript twin, the frame codec, lz4-napi
// (lz4_flex, native) and lz4-wasm-nodejs (lz4_flex compiled to wasm), against the C reference measured in the same
// run by `lz4 -b1` on the same bytes (a child process; its MB/s parsed from its output).
// Run: `npx bun bench/lz4.bench.ts` (after `node scripts/build-wasm.mjs`). Prints mitata's table, then MB/s and
// ratios against the C reference. `lz4 -b` reports its fastest run, so the like-for-like ratio uses each row's
// fastest call (mitata's min); the median-based ratio is printed too. The reference runs before and after mitata
// and its faster figures are kept, so a burst of load on this shared machine during one run does not flatter us.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bench, do_not_optimize, group, run } from "mitata";
import { compressSync, uncompressSync } from "lz4-napi";
import * as lz4Wasm from "lz4-wasm-nodejs";
import {
  lz4CompressBlockKernel,
  lz4CompressBlockTs,
  lz4CompressBlockWasm,
  lz4CompressBound,
  lz4DecompressBlockKernel,
  lz4DecompressBlockTs,
  lz4DecompressBlockWasm,
} from "../core/formats/lz4-block.ts";
import { compressLz4Frame, decompressLz4Frame } from "../core/formats/lz4-frame.ts";
import { arena, heap } from "../core/formats/wasm.ts";
import { xxh32 } from "../core/formats/xxhash32.ts";
import { eventsNdjson } from "./data.ts";
import { rowStats } from "./mitata-stats.ts";

const INPUT_BYTES = 64 * 1024;
const input = eventsNdjson(INPUT_BYTES, 42);
const inputBuffer = Buffer.from(input);
const bound = lz4CompressBound(INPUT_BYTES);
const compressed = new Uint8Array(bound);
const compressedLength = lz4CompressBlockTs(input, compressed);
const block = compressed.slice(0, compressedLength);
const scratchOut = new Uint8Array(bound);
const decodedOut = new Uint8Array(INPUT_BYTES);
const napiBlock = compressSync(inputBuffer);
const flexWasmBlock = lz4Wasm.compress(input);
const frame = compressLz4Frame(input);

// The C reference, on the same bytes, before mitata runs so the two never compete for the CPU.
function measureReference(): { compressMBps: number; decompressMBps: number; ratio: number; command: string } {
  const dir = mkdtempSync(join(tmpdir(), "rivulet-lz4-bench-"));
  const file = join(dir, "events-64k.ndjson");
  writeFileSync(file, input);
  const args = ["-b1", "-i3", file];
  const child = Bun.spawnSync(["lz4", ...args], { stdout: "pipe", stderr: "pipe" });
  rmSync(dir, { recursive: true, force: true });
  const text = `${child.stdout.toString()}${child.stderr.toString()}`;
  const lines = [...text.matchAll(/->\s*(\d+)\s*\(\s*([\d.]+)\s*\),\s*([\d.]+) MB\/s\s*,\s*([\d.]+) MB\/s/g)];
  const last = lines[lines.length - 1];
  if (!last) throw new Error(`could not parse lz4 -b1 output: ${text}`);
  return { ratio: Number(last[2]), compressMBps: Number(last[3]), decompressMBps: Number(last[4]), command: `lz4 ${args.slice(0, 2).join(" ")} <64 KiB file>` };
}

const referenceBefore = measureReference();

// Resident rows: input already in wasm memory (placed in each row's setup, outside timing), output left there.
function placeResident(bytes: Uint8Array, outBytes: number): { src: number; dst: number } {
  const base = arena(bytes.length + outBytes);
  heap().set(bytes, base);
  return { src: base, dst: base + bytes.length };
}

group("compress 64 KiB JSON", () => {
  bench("compress: wasm kernel resident", function* () {
    const at = placeResident(input, bound);
    yield () => do_not_optimize(lz4CompressBlockKernel(at.src, INPUT_BYTES, at.dst, bound));
  });
  bench("compress: wasm with copies", () => do_not_optimize(lz4CompressBlockWasm(input, scratchOut))).baseline(true);
  bench("compress: ts twin", () => do_not_optimize(lz4CompressBlockTs(input, scratchOut)));
  bench("compress: frame (wasm)", () => do_not_optimize(compressLz4Frame(input)));
  bench("compress: lz4-napi", () => do_not_optimize(compressSync(inputBuffer)));
  bench("compress: lz4-wasm-nodejs", () => do_not_optimize(lz4Wasm.compress(input)));
});

group("decompress 64 KiB JSON", () => {
  bench("decompress: wasm kernel resident", function* () {
    const at = placeResident(block, INPUT_BYTES);
    yield () => do_not_optimize(lz4DecompressBlockKernel(at.src, block.length, at.dst, INPUT_BYTES));
  });
  bench("decompress: wasm with copies", () => do_not_optimize(lz4DecompressBlockWasm(block, decodedOut))).baseline(true);
  bench("decompress: ts twin", () => do_not_optimize(lz4DecompressBlockTs(block, decodedOut)));
  bench("decompress: frame (wasm)", () => do_not_optimize(decompressLz4Frame(frame, INPUT_BYTES)));
  bench("decompress: lz4-napi", () => do_not_optimize(uncompressSync(napiBlock)));
  bench("decompress: lz4-wasm-nodejs", () => do_not_optimize(lz4Wasm.decompress(flexWasmBlock)));
});

// The frame checksums (only used when a frame asks for them; Kafka's layout does not).
group("xxh32 64 KiB JSON", () => {
  bench("xxh32: ts", () => do_not_optimize(xxh32(input)));
});

const result = await run();

const referenceAfter = measureReference();
const reference = {
  command: referenceBefore.command,
  ratio: referenceBefore.ratio,
  compressMBps: Math.max(referenceBefore.compressMBps, referenceAfter.compressMBps),
  decompressMBps: Math.max(referenceBefore.decompressMBps, referenceAfter.decompressMBps),
};

const { medians, minimums: fastest } = rowStats(result);
// MB/s as lz4 reports it (10^6 bytes per second), from the fastest and the median time per call.
const mbps = (name: string) => (INPUT_BYTES / fastest.get(name)!) * 1000;
const mbpsMedian = (name: string) => (INPUT_BYTES / medians.get(name)!) * 1000;
const rows = ["wasm kernel resident", "wasm with copies", "ts twin", "frame (wasm)", "lz4-napi", "lz4-wasm-nodejs"];
console.log(`\nC reference (${reference.command}): compress ${reference.compressMBps} MB/s, decompress ${reference.decompressMBps} MB/s, ratio ${reference.ratio}`);
console.log(`Compression ratio on the same 64 KiB: ours ${(INPUT_BYTES / compressedLength).toFixed(3)}, lz4-napi ${(INPUT_BYTES / (napiBlock.length - 4)).toFixed(3)}, C ${reference.ratio}`);
console.log(`C runs: before mitata ${referenceBefore.compressMBps}/${referenceBefore.decompressMBps} MB/s, after ${referenceAfter.compressMBps}/${referenceAfter.decompressMBps} MB/s`);
console.log("\n| row | compress MB/s fastest (median) | x C fastest (median) | decompress MB/s fastest (median) | x C fastest (median) |");
console.log("|---|---|---|---|---|");
console.log(`| C reference lz4 -b1 | ${reference.compressMBps} | 1.00 | ${reference.decompressMBps} | 1.00 |`);
const ratio = (value: number, of: number) => (value / of).toFixed(2);
for (const row of rows) {
  const c = mbps(`compress: ${row}`);
  const cm = mbpsMedian(`compress: ${row}`);
  const d = mbps(`decompress: ${row}`);
  const dm = mbpsMedian(`decompress: ${row}`);
  console.log(
    `| ${row} | ${c.toFixed(0)} (${cm.toFixed(0)}) | ${ratio(c, reference.compressMBps)} (${ratio(cm, reference.compressMBps)}) ` +
      `| ${d.toFixed(0)} (${dm.toFixed(0)}) | ${ratio(d, reference.decompressMBps)} (${ratio(dm, reference.decompressMBps)}) |`,
  );
}
console.log(`\nxxh32 (TS) on the same 64 KiB: ${mbps("xxh32: ts").toFixed(0)} MB/s fastest (${mbpsMedian("xxh32: ts").toFixed(0)} median)`);
console.log("\nMB/s = 10^6 bytes of uncompressed content per second; fastest = mitata's min per call, median = its p50.");
