// CRC-32C kernel A/B: the `crc32c` export of two builds of the wasm module (e.g. the code before a change, built
// in a temporary git worktree, and this checkout), alternated round by round in one process, with
// @node-rs/crc32 (native SSE4.2 instructions) as the outside reference. On this shared 2-core machine absolute
// numbers swing 30 % or more with other load, so the figure to quote is the median of the per-round ratios.
//
// Run (from the repository root, after `node scripts/build-wasm.mjs` in both trees):
//   npx bun bench/crc32c-ab.bench.ts BEFORE.wasm AFTER.wasm
// e.g. BEFORE = the worktree's build/rivulet.wasm, AFTER = build/rivulet.wasm. Copy the files somewhere first if
// other engineers may rebuild while it runs. Optional: ROUNDS (default 15), SIZES (comma-separated bytes).
// Without arguments it compares build/rivulet.wasm with itself.
import { crc32c as nativeCrc32c } from "@node-rs/crc32";
import { readFileSync } from "node:fs";
import { join } from "node:path";

type Kernel = (ptr: number, len: number, seed: number) => number;

interface Build {
  name: string;
  crc: Kernel;
  memory: WebAssembly.Memory;
}

// Without arguments (as `npm run bench` runs it) both sides are this checkout's build: an A/A run whose ratio
// column shows the noise floor of the machine at that moment.
const thisBuild = join(import.meta.dir, "..", "build", "rivulet.wasm");
const [beforePath = thisBuild, afterPath = beforePath] = process.argv.slice(2);
if (beforePath === afterPath) console.log(`A/A run of ${beforePath === thisBuild ? "build/rivulet.wasm" : beforePath}`);

function load(name: string, path: string): Build {
  const instance = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(path)), {
    env: {
      abort(): void {
        throw new Error(`wasm abort in ${path}`);
      },
    },
  });
  const exports = instance.exports as { crc32c: Kernel; memory: WebAssembly.Memory; heapBase(): number };
  return { name, crc: exports.crc32c, memory: exports.memory };
}

const builds = [load("before", beforePath), load("after", afterPath)];
const ROUNDS = Number(process.env.ROUNDS ?? 15);
const SIZES = (process.env.SIZES ?? "64,256,1024,4096,16384,65536,1048576").split(",").map(Number);
const ROUND_BYTES = 8 << 20; // bytes each row sums per round
// Inputs go well above either module's static data and arena base.
const INPUT_BASE = 4 << 20;

function sizeName(bytes: number): string {
  return bytes >= 1 << 20 ? `${bytes >> 20} MiB` : bytes >= 1024 ? `${bytes >> 10} KiB` : `${bytes} B`;
}

function input(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (Math.imul(i, 2654435761) >>> 13) & 0xff;
  return bytes;
}

function place(build: Build, bytes: Uint8Array): void {
  const needed = INPUT_BASE + bytes.length;
  const have = build.memory.buffer.byteLength;
  if (needed > have) build.memory.grow(Math.ceil((needed - have) / 65536));
  new Uint8Array(build.memory.buffer).set(bytes, INPUT_BASE);
}

// Both builds must agree with the native instruction before their speed means anything.
for (const size of [0, 1, 7, 100, 767, 768, 769, 1000, 4097, 65537, 1 << 20]) {
  const bytes = input(size);
  const want = nativeCrc32c(Buffer.from(bytes), 0x1234) >>> 0;
  for (const build of builds) {
    place(build, bytes);
    const got = build.crc(INPUT_BASE, size, 0x1234) >>> 0;
    if (got !== want) throw new Error(`${build.name} disagrees with @node-rs/crc32 at ${size} bytes`);
  }
}

// Warm-up so both kernels are in the optimizing tier before the first timed round.
for (const build of builds) {
  place(build, input(65536));
  for (let i = 0; i < 2000; i++) build.crc(INPUT_BASE, 4096 + (i & 7), 0);
  for (let i = 0; i < 200; i++) build.crc(INPUT_BASE, 65536, 0);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
}

console.log(`CRC-32C A/B, ${ROUNDS} alternating rounds per size, GB/s median (best) and after/before per round`);
console.log("| size | before | after | after/before (median of rounds) | @node-rs/crc32 |");
console.log("|---|---|---|---|---|");
for (const size of SIZES) {
  const bytes = input(size);
  const buffer = Buffer.from(bytes);
  const calls = Math.max(1, Math.floor(ROUND_BYTES / size));
  const rows = new Map<string, number[]>([["before", []], ["after", []], ["native", []]]);
  const runs: [string, () => number][] = [
    ["before", () => builds[0]!.crc(INPUT_BASE, size, 0)],
    ["after", () => builds[1]!.crc(INPUT_BASE, size, 0)],
    ["native", () => nativeCrc32c(buffer)],
  ];
  for (const build of builds) place(build, bytes);
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate the order so neither build always runs right after the other.
    for (const [name, run] of round % 2 === 0 ? runs : [...runs].reverse()) {
      let sink = 0;
      const start = Bun.nanoseconds();
      for (let i = 0; i < calls; i++) sink ^= run();
      const gbps = (calls * size) / (Bun.nanoseconds() - start);
      if (sink === 0.5) console.log(sink); // keeps the loop's result observable
      rows.get(name)!.push(gbps);
    }
  }
  const before = rows.get("before")!;
  const after = rows.get("after")!;
  const native = rows.get("native")!;
  const cell = (v: number[]): string => `${median(v).toFixed(2)} (${Math.max(...v).toFixed(2)})`;
  const ratio = median(after.map((v, i) => v / before[i]!));
  console.log(`| ${sizeName(size)} | ${cell(before)} | ${cell(after)} | ${ratio.toFixed(2)}x | ${cell(native)} |`);
}
