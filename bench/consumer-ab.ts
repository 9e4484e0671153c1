// Consume throughput of two checkouts in the same run, alternating, against one broker (issue 7's "consume from
// the start" target; docs/benchmarks/consumer.md "Session of 2026-11-22, second pass"). The machine is shared and
// noisy, so each round runs the "before" checkout and then this one, each in its own process, and the report is
// medians and the median of the per-round ratios.
//
//   sdk    a child process that imports a checkout's SDK and reads N records from offset 0 with consumer.batches(),
//          touching each message's timestamp (no key or value view: what the SDK costs, not the reader). Reports
//          records/s and the CPU time of its main thread (from /proc/thread-self/stat, 10 ms steps): the CPU figure
//          moves less with the load of other processes than the wall-clock rate does.
//   perf   the checkout's own `rivulet perf consume --json` (its records/s).
//
// Not a mitata benchmark (so not named *.bench.ts: `npm run bench` runs those without arguments).
// Run: `npx bun bench/consumer-ab.ts --before DIR [--rounds 7] [--records 2000000] [--mode sdk|perf|both]`
// where DIR is another checkout with node_modules and its wasm built (e.g. `git worktree add --detach DIR <commit>`,
// `ln -s "$PWD/node_modules" DIR/`, `(cd DIR && node scripts/build-wasm.mjs)`). It starts its own broker (port 0,
// temporary data directory) and fills a 1-partition and a 4-partition topic with `rivulet perf produce` (100-byte
// records, batch.size 64 KiB, linger.ms 5, acks 1), then stops the broker by PID.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { median, startChildBroker } from "./child-broker.ts";

const HERE = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const BUN = process.execPath;

// Main-thread CPU milliseconds (Linux): utime + stime of this thread, in clock ticks of 10 ms.
function mainThreadCpuMs(): number {
  const fields = readFileSync("/proc/thread-self/stat", "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

// The child: read `records` records of `topic` with the SDK of `root`; prints one JSON line.
async function child(root: string, bootstrap: string, topic: string, records: number): Promise<void> {
  const sdk = await import(join(root, "client", "index.ts"));
  const rivulet = new sdk.Rivulet({ brokers: [bootstrap], clientId: "consumer-ab" });
  const consumer = rivulet.consumer({ "auto.offset.reset": "earliest" });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  const cpuStart = mainThreadCpuMs();
  const start = performance.now();
  let read = 0;
  let touched = 0;
  for await (const batch of consumer.batches()) {
    for (const message of batch.messages) touched += message.timestamp;
    read += batch.messages.length;
    if (read >= records) break;
  }
  const elapsedMs = performance.now() - start;
  const cpuMs = mainThreadCpuMs() - cpuStart;
  console.log(JSON.stringify({ recordsPerSec: Math.round((read / elapsedMs) * 1000), cpuMs, read, touched: touched > 0 }));
  await consumer.disconnect();
  process.exit(0);
}

function run(args: string[], cwd: string): string {
  const result = spawnSync(BUN, args, { cwd, encoding: "utf8", maxBuffer: 16 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`${args.join(" ")} failed: ${result.stderr}`);
  return result.stdout;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      before: { type: "string" },
      rounds: { type: "string", default: "7" },
      records: { type: "string", default: "2000000" },
      mode: { type: "string", default: "both" },
    },
  });
  if (values.before === undefined) throw new Error("--before DIR (a built checkout to compare with) is required");
  const before = resolve(values.before);
  const rounds = Number(values.rounds);
  const records = Number(values.records);
  const modes = values.mode === "both" ? ["sdk", "perf"] : [values.mode!];
  const broker = await startChildBroker(HERE);
  const bootstrap = broker.bootstrap;
  try {
    run(["server/main.ts", "topics", "create", "--topic", "ab4", "--partitions", "4", "--bootstrap-server", bootstrap], HERE);
    for (const topic of ["ab1", "ab4"]) {
      run(
        ["server/main.ts", "perf", "produce", "--topic", topic, "--num-records", String(records), "--record-size", "100", "--throughput", "-1",
          "--producer-props", "batch.size=65536", "linger.ms=5", "acks=1", "--bootstrap-server", bootstrap, "--json"],
        HERE,
      );
    }
    console.log(`before: ${before}\nafter:  ${HERE}\n${rounds} rounds, ${records} records of 100 B, broker ${bootstrap}`);
    for (const mode of modes) {
      for (const [topic, label] of [["ab1", "1 partition"], ["ab4", "4 partitions"]] as const) {
        const rates: Record<"before" | "after", number[]> = { before: [], after: [] };
        const cpu: Record<"before" | "after", number[]> = { before: [], after: [] };
        for (let round = 0; round < rounds; round++) {
          for (const [side, root] of [["before", before], ["after", HERE]] as const) {
            if (mode === "sdk") {
              const line = JSON.parse(run([fileURLToPath(import.meta.url), "--child", root, bootstrap, topic, String(records)], HERE).trim().split("\n").pop()!);
              rates[side].push(line.recordsPerSec);
              cpu[side].push(line.cpuMs);
            } else {
              const out = run(["server/main.ts", "perf", "consume", "--topic", topic, "--messages", String(records), "--bootstrap-server", bootstrap, "--json"], root);
              rates[side].push(JSON.parse(out.trim().split("\n").pop()!).recordsPerSec);
            }
          }
        }
        const ratios = rates.after.map((after, i) => after / rates.before[i]!);
        const line = [
          `${mode} ${label}:`,
          `before ${Math.round(median(rates.before)).toLocaleString("en")}/s (${Math.round(Math.min(...rates.before)).toLocaleString("en")}-${Math.round(Math.max(...rates.before)).toLocaleString("en")})`,
          `after ${Math.round(median(rates.after)).toLocaleString("en")}/s (${Math.round(Math.min(...rates.after)).toLocaleString("en")}-${Math.round(Math.max(...rates.after)).toLocaleString("en")})`,
          `median ratio ${median(ratios).toFixed(2)}x, after ahead in ${ratios.filter((r) => r > 1).length}/${rounds}`,
        ];
        if (mode === "sdk") line.push(`main-thread CPU ms before ${median(cpu.before)} after ${median(cpu.after)}`);
        console.log(line.join("  "));
      }
    }
  } finally {
    await broker.stop();
  }
}

if (process.argv[2] === "--child") await child(process.argv[3]!, process.argv[4]!, process.argv[5]!, Number(process.argv[6]));
else await main();
