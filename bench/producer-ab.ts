// Produce throughput of two checkouts in the same run, alternating (issue 7's produce targets; docs/benchmarks/perf.md
// "Second pass" and "Third pass"). The machine is shared and noisy, so each round runs both sides, each in its own
// process, on a topic of its own, in alternating order, and the report is the medians and the median of the
// per-round ratios.
//   --side client (default): both checkouts' `rivulet perf produce` against one warm broker of this checkout;
//   --side broker: this checkout's `rivulet perf produce` against a warm broker of each checkout, also reporting each
//                  broker's CPU seconds (user + system, /proc/PID/stat) per GB of record values taken.
//
// Run: `npx bun bench/producer-ab.ts --before DIR [--side client|broker] [--rounds 6] [--records 1000000] [--size 100]
// [--acks 1]` where DIR is another checkout with node_modules and its wasm built (e.g. `git worktree add --detach DIR
// <commit>`, `ln -s "$PWD/node_modules" DIR/`, `(cd DIR && node scripts/build-wasm.mjs)`). It starts its own brokers
// (port 0, temporary data directories), warms each up with 500,000 records, and stops them by PID at the end. Every
// phase is bounded by perf's --timeout-ms.
import { spawnSync } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { type ChildBroker, cpuSeconds, median, startChildBroker } from "./child-broker.ts";

const HERE = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const BUN = process.execPath;
const PHASE_MS_MAX = 120_000;
const WARMUP_RECORDS = 500_000;

const { values } = parseArgs({
  options: {
    before: { type: "string" },
    rounds: { type: "string", default: "6" },
    records: { type: "string", default: "1000000" },
    size: { type: "string", default: "100" },
    acks: { type: "string", default: "1" },
    side: { type: "string", default: "client" },
  },
});
if (values.before === undefined) throw new Error("--before DIR is required (another checkout to compare with)");
const before = resolve(values.before);
const rounds = Number(values.rounds);
const records = Number(values.records);
const size = Number(values.size);
if (!(Number.isInteger(rounds) && rounds >= 1 && rounds <= 50)) throw new Error("--rounds must be an integer in [1, 50]");
if (!(Number.isInteger(records) && records >= 1 && records <= 10_000_000)) throw new Error("--records must be an integer in [1, 10^7]");
if (!(Number.isInteger(size) && size >= 1 && size <= 1_048_576)) throw new Error("--size must be an integer in [1, 1 MiB]");
if (values.side !== "client" && values.side !== "broker") throw new Error("--side must be client or broker");
const brokerSide = values.side === "broker";

// One `rivulet perf produce` of checkout `root`; its records/s.
function produce(root: string, bootstrap: string, topic: string, count: number): number {
  const args = ["server/main.ts", "perf", "produce", "--topic", topic, "--num-records", String(count), "--record-size", String(size), "--throughput", "-1"];
  args.push("--producer-props", "batch.size=65536", "linger.ms=5", `acks=${values.acks}`, "--bootstrap-server", bootstrap, "--json", "--timeout-ms", String(PHASE_MS_MAX));
  const result = spawnSync(BUN, args, { cwd: root, encoding: "utf8", timeout: PHASE_MS_MAX + 30_000 });
  if (result.status !== 0) throw new Error(`perf produce in ${root} failed: ${result.stderr}`);
  const summary = JSON.parse(result.stdout.trim().split("\n").pop()!) as { recordsPerSec: number; errors: number; timedOut: boolean };
  if (summary.errors > 0 || summary.timedOut) throw new Error(`perf produce in ${root}: ${result.stdout}`);
  return summary.recordsPerSec;
}

const sides = ["before", "after"] as const;
const brokers: ChildBroker[] = [];
try {
  for (const root of brokerSide ? [before, HERE] : [HERE]) brokers.push(await startChildBroker(root));
  const brokerOf = (which: (typeof sides)[number]): ChildBroker => (brokerSide && which === "before" ? brokers[0]! : brokers[brokers.length - 1]!);
  for (const broker of brokers) produce(HERE, broker.bootstrap, "ab-warmup", WARMUP_RECORDS);
  const rates = { before: [] as number[], after: [] as number[] };
  const cpuPerGb = { before: [] as number[], after: [] as number[] };
  const ratios: number[] = [];
  const gb = (records * size) / 1e9;
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? sides : ([...sides].reverse() as (typeof sides)[number][]);
    const got: Record<string, number> = {};
    const cpu: Record<string, number> = {};
    for (const which of order) {
      const broker = brokerOf(which);
      const cpuBefore = cpuSeconds(broker.pid);
      got[which] = produce(brokerSide || which === "after" ? HERE : before, broker.bootstrap, `ab-${which}-${round}`, records);
      cpu[which] = (cpuSeconds(broker.pid) - cpuBefore) / gb;
    }
    rates.before.push(got.before!);
    rates.after.push(got.after!);
    cpuPerGb.before.push(cpu.before!);
    cpuPerGb.after.push(cpu.after!);
    ratios.push(got.after! / got.before!);
    const cpuText = brokerSide ? `, broker CPU ${cpu.before!.toFixed(2)} / ${cpu.after!.toFixed(2)} s per GB` : "";
    console.log(`round ${round + 1}: before ${Math.round(got.before!).toLocaleString("en-US")}/s, after ${Math.round(got.after!).toLocaleString("en-US")}/s, ${(got.after! / got.before!).toFixed(2)}x${cpuText}`);
  }
  console.log(
    `${records} x ${size} B, acks=${values.acks}, ${values.side} side: before median ${Math.round(median(rates.before)).toLocaleString("en-US")}/s, after median ${Math.round(median(rates.after)).toLocaleString("en-US")}/s, median per-round ratio ${median(ratios).toFixed(2)}x (after ahead in ${ratios.filter((r) => r > 1).length} of ${rounds})`,
  );
  if (brokerSide) {
    const [b, a] = [median(cpuPerGb.before), median(cpuPerGb.after)];
    console.log(`broker CPU per GB of values: before median ${b.toFixed(2)} s, after median ${a.toFixed(2)} s, ${(a / b).toFixed(2)}x`);
  }
} finally {
  for (const broker of brokers) await broker.stop();
}
