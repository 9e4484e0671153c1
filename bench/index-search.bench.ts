// Sparse-index lookup cost against index size (1k, 64k, 1M entries) for the offset and the time index:
// TS twin (the default), WASM kernel on an index already resident in wasm memory, and WASM kernel with the index
// copied in per lookup. Each call searches the next of 4096 random targets, so branch prediction cannot learn a
// path. Run: `npx bun bench/index-search.bench.ts` (after `node scripts/build-wasm.mjs`).
import { bench, do_not_optimize, group, run } from "mitata";
import {
  OFFSET_INDEX_ENTRY_BYTES,
  TIME_INDEX_ENTRY_BYTES,
  searchOffsetIndexResident,
  searchOffsetIndexTs,
  searchOffsetIndexWasm,
  searchTimeIndexResident,
  searchTimeIndexTs,
  searchTimeIndexWasm,
  writeOffsetIndexEntry,
  writeTimeIndexEntry,
} from "../core/formats/index-search.ts";
import { arena, heap } from "../core/formats/wasm.ts";
import { rowStats } from "./mitata-stats.ts";

const COUNTS = [1000, 64 * 1024, 1024 * 1024];
const TARGETS = 4096; // power of two: the cursor wraps with a mask

function countName(count: number): string {
  return count >= 1 << 20 ? `${count >> 20}M` : count >= 1024 ? `${count >> 10}k` : `${count}`;
}

let seed = 12345;
function random(): number {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed / 4294967296;
}

// Places `bytes` at the arena base, outside timing; resident rows re-place before running since rows share it.
function placeResident(bytes: Uint8Array): number {
  const base = arena(bytes.length);
  heap().set(bytes, base);
  return base;
}

for (const count of COUNTS) {
  const offsetIndex = new Uint8Array(count * OFFSET_INDEX_ENTRY_BYTES);
  const timeIndex = new Uint8Array(count * TIME_INDEX_ENTRY_BYTES);
  // Kafka-like spacing: one entry per ~4 KiB of log, a few records per entry, timestamps a few ms apart.
  for (let slot = 0; slot < count; slot++) {
    writeOffsetIndexEntry(offsetIndex, slot, slot * 37, (slot * 4096) >>> 0);
    writeTimeIndexEntry(timeIndex, slot, 1_700_000_000_000 + slot * 5, slot * 37);
  }
  const offsetTargets = new Float64Array(TARGETS);
  const timeTargets = new Float64Array(TARGETS);
  for (let i = 0; i < TARGETS; i++) {
    offsetTargets[i] = Math.floor(random() * count * 37);
    timeTargets[i] = 1_700_000_000_000 + Math.floor(random() * count * 5);
  }
  const name = countName(count);
  let cursor = 0;

  group(`offset index ${name} entries`, () => {
    bench(`offset ts twin ${name}`, () => {
      cursor = (cursor + 1) & (TARGETS - 1);
      do_not_optimize(searchOffsetIndexTs(offsetIndex, count, offsetTargets[cursor]!));
    }).baseline(true);
    bench(`offset wasm resident ${name}`, function* () {
      const base = placeResident(offsetIndex);
      yield () => {
        cursor = (cursor + 1) & (TARGETS - 1);
        do_not_optimize(searchOffsetIndexResident(base, count, offsetTargets[cursor]!));
      };
    });
    bench(`offset wasm copy+kernel ${name}`, () => {
      cursor = (cursor + 1) & (TARGETS - 1);
      do_not_optimize(searchOffsetIndexWasm(offsetIndex, count, offsetTargets[cursor]!));
    });
  });

  group(`time index ${name} entries`, () => {
    bench(`time ts twin ${name}`, () => {
      cursor = (cursor + 1) & (TARGETS - 1);
      do_not_optimize(searchTimeIndexTs(timeIndex, count, timeTargets[cursor]!));
    }).baseline(true);
    bench(`time wasm resident ${name}`, function* () {
      const base = placeResident(timeIndex);
      yield () => {
        cursor = (cursor + 1) & (TARGETS - 1);
        do_not_optimize(searchTimeIndexResident(base, count, timeTargets[cursor]!));
      };
    });
    bench(`time wasm copy+kernel ${name}`, () => {
      cursor = (cursor + 1) & (TARGETS - 1);
      do_not_optimize(searchTimeIndexWasm(timeIndex, count, timeTargets[cursor]!));
    });
  });
}

const result = await run();

// Summary from this run: ns per lookup and speed relative to the TS twin of the same index and size, for the
// fastest sample (mitata's min, the stable figure on this shared machine) and the median.
const { medians, minimums: fastest } = rowStats(result);
const rows = ["ts twin", "wasm resident", "wasm copy+kernel"];
const time = (ns: number) => (ns >= 10_000 ? `${(ns / 1000).toFixed(1)} µs` : `${ns.toFixed(1)} ns`);
for (const [label, times] of [["fastest sample (min)", fastest], ["median", medians]] as const) {
  console.log(`\n${label}: time per lookup (x TS twin, higher is faster)`);
  console.log(`| index | entries | ${rows.join(" | ")} |`);
  console.log(`|---|---|${rows.map(() => "---").join("|")}|`);
  for (const kind of ["offset", "time"]) {
    for (const count of COUNTS) {
      const name = countName(count);
      const twin = times.get(`${kind} ts twin ${name}`)!;
      const cells = rows.map((row) => {
        const ns = times.get(`${kind} ${row} ${name}`)!;
        return `${time(ns)} (${(twin / ns).toFixed(2)}x)`;
      });
      console.log(`| ${kind} | ${name} | ${cells.join(" | ")} |`);
    }
  }
}
