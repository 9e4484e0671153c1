// CRC-32C throughput: the WASM kernel (with and without the copy into wasm memory), the TypeScript twin, the
// default `crc32c` dispatcher, and @node-rs/crc32 (native SSE4.2/ARMv8 CRC instructions) as the outside baseline.
// Run: `npx bun bench/crc32c.bench.ts` (after `node scripts/build-wasm.mjs`). Prints mitata's table, then GB/s
// and ratios per size from the fastest sample and the median of this same run. Kernel before/after a change:
// bench/crc32c-ab.bench.ts.
import { crc32c as nativeCrc32c } from "@node-rs/crc32";
import { bench, do_not_optimize, group, run } from "mitata";
import { crc32c, crc32cTs, crc32cWasm } from "../core/formats/crc32c.ts";
import { arena, heap, wasm } from "../core/formats/wasm.ts";
import { rowStats } from "./mitata-stats.ts";

type Kernel = (ptr: number, len: number, seed: number) => number;
const kernelBlocks = wasm.crc32c as Kernel;
const kernelOneLane = wasm.crc32cOneLane as Kernel;

const SIZES = [64, 128, 256, 512, 1024, 2048, 4096, 16384, 65536, 1 << 20];

function sizeName(bytes: number): string {
  return bytes >= 1 << 20 ? `${bytes >> 20} MiB` : bytes >= 1024 ? `${bytes >> 10} KiB` : `${bytes} B`;
}

const inputs = new Map<number, Uint8Array>();
for (const size of SIZES) {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (Math.imul(i, 2654435761) >>> 13) & 0xff;
  inputs.set(size, bytes);
}

// The resident-kernel rows search an input already in wasm memory; the region is placed once, outside timing,
// and re-placed before each group because other rows reuse the same arena.
function placeResident(bytes: Uint8Array): number {
  const base = arena(bytes.length);
  heap().set(bytes, base);
  return base;
}

for (const size of SIZES) {
  const bytes = inputs.get(size)!;
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  group(sizeName(size), () => {
    bench(`wasm kernel resident ${sizeName(size)}`, function* () {
      const base = placeResident(bytes);
      yield () => do_not_optimize(kernelBlocks(base, size, 0));
    });
    bench(`wasm 1-lane resident ${sizeName(size)}`, function* () {
      const base = placeResident(bytes);
      yield () => do_not_optimize(kernelOneLane(base, size, 0));
    });
    bench(`wasm copy+kernel ${sizeName(size)}`, () => do_not_optimize(crc32cWasm(bytes))).baseline(true);
    bench(`ts twin ${sizeName(size)}`, () => do_not_optimize(crc32cTs(bytes)));
    bench(`crc32c default ${sizeName(size)}`, () => do_not_optimize(crc32c(bytes)));
    bench(`@node-rs/crc32 ${sizeName(size)}`, () => do_not_optimize(nativeCrc32c(buffer)));
  });
}

const result = await run();

// Summary from this run: GB/s per row at each size, and speed relative to the TS twin at the same size. Shown
// for the fastest sample (mitata's min) and the median: on this shared 2-core machine other engineers' builds
// push the load average far above 2, medians swing several-fold between runs, and the min is the stable figure.
const { medians, minimums: fastest } = rowStats(result);
const rows = ["wasm kernel resident", "wasm 1-lane resident", "wasm copy+kernel", "ts twin", "crc32c default", "@node-rs/crc32"];
for (const [label, times] of [["fastest sample (min)", fastest], ["median", medians]] as const) {
  console.log(`\n${label}: GB/s (x TS twin)`);
  console.log(`| size | ${rows.join(" | ")} |`);
  console.log(`|---|${rows.map(() => "---").join("|")}|`);
  for (const size of SIZES) {
    const twin = times.get(`ts twin ${sizeName(size)}`)!;
    const cells = rows.map((row) => {
      const ns = times.get(`${row} ${sizeName(size)}`)!;
      return `${(size / ns).toFixed(2)} (${(twin / ns).toFixed(2)}x)`;
    });
    console.log(`| ${sizeName(size)} | ${cells.join(" | ")} |`);
  }
}
console.log("\nGB/s = bytes / ns per call; (Nx) = speed relative to the TS twin at the same size, same statistic.");

// Second view, robust to load spikes: rows interleaved round by round (each round times every row for a few ms,
// so a spike from another process hits one round of every row, not all of one row), best round kept per row.
const INTERLEAVED_ROUNDS = 15;
const ROUND_BYTES = 8 << 20; // bytes each row sums per round
const interleavedSizes = [64, 512, 4096, 65536, 1 << 20];
const interleavedRows: [string, (bytes: Uint8Array, buffer: Buffer, base: number) => number][] = [
  ["wasm kernel resident", (bytes, _buffer, base) => kernelBlocks(base, bytes.length, 0)],
  ["wasm 1-lane resident", (bytes, _buffer, base) => kernelOneLane(base, bytes.length, 0)],
  ["wasm copy+kernel", (bytes) => crc32cWasm(bytes)],
  ["ts twin", (bytes) => crc32cTs(bytes)],
  ["crc32c default", (bytes) => crc32c(bytes)],
  ["@node-rs/crc32", (_bytes, buffer) => nativeCrc32c(buffer)],
];
console.log(`\ninterleaved, best of ${INTERLEAVED_ROUNDS} rounds: GB/s (x TS twin)`);
console.log(`| size | ${interleavedRows.map(([name]) => name).join(" | ")} |`);
console.log(`|---|${interleavedRows.map(() => "---").join("|")}|`);
for (const size of interleavedSizes) {
  const bytes = inputs.get(size)!;
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const calls = Math.max(1, Math.floor(ROUND_BYTES / size));
  const best = new Map<string, number>();
  for (let round = 0; round < INTERLEAVED_ROUNDS; round++) {
    for (const [name, run] of interleavedRows) {
      const base = placeResident(bytes); // outside timing; copy+kernel rows overwrite the arena
      let sink = 0;
      const start = Bun.nanoseconds();
      for (let i = 0; i < calls; i++) sink ^= run(bytes, buffer, base);
      const gbps = (calls * size) / (Bun.nanoseconds() - start);
      do_not_optimize(sink);
      if (gbps > (best.get(name) ?? 0)) best.set(name, gbps);
    }
  }
  const twin = best.get("ts twin")!;
  const cells = interleavedRows.map(([name]) => `${best.get(name)!.toFixed(2)} (${(best.get(name)! / twin).toFixed(2)}x)`);
  console.log(`| ${sizeName(size)} | ${cells.join(" | ")} |`);
}
