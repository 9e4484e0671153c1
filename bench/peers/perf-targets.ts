// Issue 7's targets measured with `rivulet perf` against one child broker, and (with --matrix) the tuning table
// of docs/tuning.md. Not part of the test suite.
//
//   npx bun bench/peers/perf-targets.ts [--scale 1] [--rounds 1] [--matrix] [--profile DIR]
//
// First a warm-up (not reported): 500,000 records produced and consumed, so the broker's code is compiled before
// anything is measured, as a long-running broker's is. --rounds R repeats the four throughput phases R times (each
// round on its own topics) and adds a row with the median of each.
//
// Targets run, in order, each `rivulet perf` in its own child process (bench/peers/rivulet-perf.ts):
//   produce 100 B, acks=1, batch.size 64 KiB, linger.ms 5      (target >= 2,000,000 records/s)
//   produce 100 B, acks=all (fsync before the ack), same batching (target >= 1,000,000 records/s)
//   consume the acks=1 topic from the start                     (target >= 4,000,000 records/s)
//   produce 1 KiB, acks=1                                        (target >= 1 GB/s of values)
//   steady state: produce 100 B acks=1, consume it, produce 1 KiB acks=1, each leaving its client process's first
//     records out (--warmup-records): the same targets without the JIT warm-up of a fresh client process
//   produce --sync 100 B, linger.ms 0, acks=1, after a warm-up   (target p50 <= 0.1 ms, p99 <= 0.25 ms)
//   e2e 100 B at half the measured acks=1 rate, after a warm-up  (target p99 <= 5 ms), batch.size 64 KiB and
//     linger.ms 0 (Kafka's end-to-end latency tool's setting), the consumer in its Worker; the same with the
//     consumer on the producer's thread (--same-thread); and the Worker with linger.ms 5, for comparison
//   the machine's floor for both latency rows, with no broker: 100 B echoed between two Bun processes one at a time,
//     and at the e2e rate (bench/peers/loopback-echo.ts); Rivulet's latencies are read against these
//   broker VmRSS after each, and VmHWM at the end                (target <= 200 MB)
// --matrix adds produce 100 B acks=1 for linger.ms 0/1/5/20 x batch.size 16/64/256 KiB (MATRIX_RECORDS each).
// --profile DIR starts the broker with Bun's --cpu-prof (profile written to DIR when it stops).
// Every phase is bounded by rivulet perf's --timeout-ms; the broker is stopped by PID.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { PerfSummary } from "../../client/cli/perf.ts";
import { startChildBroker } from "../child-broker.ts";

const PHASE_MS_MAX = 240_000;

function argValue(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  return at > 0 ? process.argv[at + 1] : undefined;
}
const SCALE = Number(argValue("--scale") ?? "1");
if (!(SCALE > 0 && SCALE <= 1)) throw new Error("--scale must be in (0, 1]");
const PROFILE_DIR = argValue("--profile");
const MATRIX = process.argv.includes("--matrix");
const ROUNDS = Number(argValue("--rounds") ?? "1");
if (!(Number.isInteger(ROUNDS) && ROUNDS >= 1 && ROUNDS <= 20)) throw new Error("--rounds must be an integer in [1, 20]");
const WARMUP_RECORDS = Math.round(500_000 * SCALE);
const SMALL_RECORDS = Math.round(1_000_000 * SCALE);
const LARGE_RECORDS = Math.round(200_000 * SCALE);
const SYNC_RECORDS = Math.round(20_000 * SCALE);
// Records sent before the measured ones in the --sync run (JIT compilation, connections, metadata).
const SYNC_WARMUP_RECORDS = Math.round(10_000 * SCALE);
const MATRIX_RECORDS = Math.round(500_000 * SCALE);
// Steady state: each process's first records are left out (--warmup-records): in a 1,000,000-record run the JIT
// compiler threads of a fresh client process take a share of the 2 vCPUs the run itself needs.
const STEADY_WARMUP_RECORDS = Math.round(2_000_000 * SCALE);
const STEADY_RECORDS = Math.round(4_000_000 * SCALE);
const STEADY_LARGE_WARMUP_RECORDS = Math.round(200_000 * SCALE);
const STEADY_LARGE_RECORDS = Math.round(400_000 * SCALE);
const E2E_SECONDS = 5;
// Seconds of e2e records sent before the measured ones (JIT compilation of the producer, the consumer's Worker and
// the broker's paths; the first fetches), left out by `--warmup-records` as in the --sync row.
const E2E_WARMUP_SECONDS = 2;
const BUN = join(process.cwd(), "node_modules", ".bin", "bun");

function memoryMb(pid: number, field: "VmRSS" | "VmHWM"): number {
  const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match === null ? 0 : Number(match[1]) / 1024;
}

function perf(args: string[]): Promise<PerfSummary> {
  return summaryOf("bench/peers/rivulet-perf.ts", [...args, "--timeout-ms", String(PHASE_MS_MAX)]);
}

// The machine's latency floor in the same run: 100 B echoes between two Bun processes (bench/peers/loopback-echo.ts).
function echo(args: string[]): Promise<PerfSummary> {
  return summaryOf("bench/peers/loopback-echo.ts", args);
}

// Runs `script` with `args` as a child process and parses the PerfSummary of its last line.
function summaryOf(script: string, args: string[]): Promise<PerfSummary> {
  return new Promise((resolve, reject) => {
    const child = spawn(BUN, [script, ...args, "--json"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
    child.once("exit", (code) => {
      if (code !== 0) return reject(new Error(`${script} ${args.join(" ")} exited ${code}: ${err}`));
      const summary = JSON.parse(out.trim().split("\n").pop() as string) as PerfSummary;
      if (summary.timedOut) return reject(new Error(`${script} ${args.join(" ")} timed out`));
      resolve(summary);
    });
  });
}

async function main(): Promise<void> {
  const broker = await startChildBroker(process.cwd(), [], PROFILE_DIR === undefined ? [] : ["--cpu-prof", "--cpu-prof-dir", PROFILE_DIR]);
  const pid = broker.pid;
  try {
    const server = ["--bootstrap-server", broker.bootstrap];
    const rows: string[] = ["| measurement | records/s | MB/s | p50 ms | p99 ms | p99.9 ms | max ms | broker VmRSS MB |", "|---|---:|---:|---:|---:|---:|---:|---:|"];
    const row = (name: string, s: PerfSummary): void => {
      rows.push(`| ${name} | ${Math.round(s.recordsPerSec).toLocaleString("en-US")} | ${s.mbPerSec.toFixed(1)} | ${s.latencyP50Ms.toFixed(3)} | ${s.latencyP99Ms.toFixed(3)} | ${s.latencyP999Ms.toFixed(3)} | ${s.latencyMaxMs.toFixed(3)} | ${memoryMb(pid, "VmRSS").toFixed(0)} |`);
      console.error(rows[rows.length - 1]);
    };
    const batching = ["batch.size=65536", "linger.ms=5"];
    const small = ["--num-records", String(SMALL_RECORDS), "--record-size", "100", "--throughput", "-1"];
    await perf(["produce", "--topic", "targets-warmup", "--num-records", String(WARMUP_RECORDS), "--record-size", "100", "--throughput", "-1", "--producer-props", ...batching, "acks=1", ...server]);
    await perf(["consume", "--topic", "targets-warmup", "--messages", String(WARMUP_RECORDS), ...server]);
    const gbPerSec = (s: PerfSummary): string => (((s.bytes / s.elapsedMs) * 1000) / 1e9).toFixed(3);
    const phases = {
      acks1: `produce ${SMALL_RECORDS} x 100 B, acks=1, batch.size 64 KiB, linger.ms 5`,
      acksAll: `produce ${SMALL_RECORDS} x 100 B, acks=all (fsync), batch.size 64 KiB, linger.ms 5`,
      consume: `consume ${SMALL_RECORDS} x 100 B from the start`,
      large: `produce ${LARGE_RECORDS} x 1 KiB, acks=1`,
    };
    const rates: Record<keyof typeof phases, number[]> = { acks1: [], acksAll: [], consume: [], large: [] };
    const measured = (phase: keyof typeof phases, round: number, s: PerfSummary): void => {
      rates[phase].push(s.recordsPerSec);
      row(`${phases[phase]}${phase === "large" ? ` (${gbPerSec(s)} GB/s)` : ""}${ROUNDS > 1 ? `, round ${round + 1}` : ""}`, s);
    };
    for (let round = 0; round < ROUNDS; round++) {
      const suffix = ROUNDS > 1 ? `-${round + 1}` : "";
      measured("acks1", round, await perf(["produce", "--topic", `targets-acks1${suffix}`, ...small, "--producer-props", ...batching, "acks=1", ...server]));
      measured("acksAll", round, await perf(["produce", "--topic", `targets-acksall${suffix}`, ...small, "--producer-props", ...batching, "acks=all", ...server]));
      measured("consume", round, await perf(["consume", "--topic", `targets-acks1${suffix}`, "--messages", String(SMALL_RECORDS), ...server]));
      measured("large", round, await perf(["produce", "--topic", `targets-1k${suffix}`, "--num-records", String(LARGE_RECORDS), "--record-size", "1024", "--throughput", "-1", "--producer-props", ...batching, "acks=1", ...server]));
    }
    const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    if (ROUNDS > 1) {
      for (const phase of Object.keys(phases) as (keyof typeof phases)[]) {
        const m = median(rates[phase]);
        const extra = phase === "large" ? ` (${((m * 1024) / 1e9).toFixed(3)} GB/s)` : "";
        rows.push(`| median of ${ROUNDS} rounds: ${phases[phase]}${extra} | ${Math.round(m).toLocaleString("en-US")} | | | | | | |`);
        console.error(rows[rows.length - 1]);
      }
    }
    const steady = ["--record-size", "100", "--throughput", "-1", "--producer-props", ...batching, "acks=1", ...server];
    row(
      `steady state: produce ${STEADY_RECORDS} x 100 B after ${STEADY_WARMUP_RECORDS} warm-up, acks=1, batch.size 64 KiB, linger.ms 5`,
      await perf(["produce", "--topic", "targets-steady", "--num-records", String(STEADY_WARMUP_RECORDS + STEADY_RECORDS), "--warmup-records", String(STEADY_WARMUP_RECORDS), ...steady]),
    );
    row(
      `steady state: consume ${STEADY_RECORDS} x 100 B after ${STEADY_WARMUP_RECORDS} warm-up, from the start`,
      await perf(["consume", "--topic", "targets-steady", "--messages", String(STEADY_WARMUP_RECORDS + STEADY_RECORDS), "--warmup-records", String(STEADY_WARMUP_RECORDS), ...server]),
    );
    const steadyLarge = await perf(["produce", "--topic", "targets-steady-1k", "--num-records", String(STEADY_LARGE_WARMUP_RECORDS + STEADY_LARGE_RECORDS), "--warmup-records", String(STEADY_LARGE_WARMUP_RECORDS), "--record-size", "1024", "--throughput", "-1", "--producer-props", ...batching, "acks=1", ...server]);
    row(`steady state: produce ${STEADY_LARGE_RECORDS} x 1 KiB after ${STEADY_LARGE_WARMUP_RECORDS} warm-up, acks=1 (${gbPerSec(steadyLarge)} GB/s)`, steadyLarge);
    row(
      `produce --sync ${SYNC_RECORDS} x 100 B after ${SYNC_WARMUP_RECORDS} warm-up, linger.ms 0, acks=1`,
      await perf(["produce", "--topic", "targets-sync", "--num-records", String(SYNC_RECORDS + SYNC_WARMUP_RECORDS), "--warmup-records", String(SYNC_WARMUP_RECORDS), "--record-size", "100", "--throughput", "-1", "--sync", "--producer-props", "linger.ms=0", "acks=1", ...server]),
    );
    row(`floor: ${SYNC_RECORDS} x 100 B echoed one at a time between two Bun processes after ${SYNC_WARMUP_RECORDS} warm-up (no broker)`, await echo(["--messages", String(SYNC_RECORDS), "--warmup-messages", String(SYNC_WARMUP_RECORDS)]));
    // e2e runs at half the median acks=1 rate.
    const half = Math.max(1, Math.round(median(rates.acks1) / 2));
    const e2eRecords = Math.max(1000, Math.round(half * E2E_SECONDS * SCALE));
    const e2eWarmupRecords = Math.round(half * E2E_WARMUP_SECONDS * SCALE);
    for (const [linger, sameThread] of [
      [0, false],
      [0, true],
      [5, false],
    ] as const) {
      row(
        `e2e ${e2eRecords} x 100 B at ${half.toLocaleString("en-US")} records/s (half of acks=1) after ${e2eWarmupRecords} warm-up, linger.ms ${linger}, ${sameThread ? "one thread" : "consumer Worker"}`,
        await perf([
          "e2e",
          ...(sameThread ? ["--same-thread"] : []),
          "--topic",
          `targets-e2e-${linger}${sameThread ? "-same-thread" : ""}`,
          "--num-records",
          String(e2eRecords + e2eWarmupRecords),
          "--warmup-records",
          String(e2eWarmupRecords),
          "--record-size",
          "100",
          "--throughput",
          String(half),
          "--producer-props",
          "batch.size=65536",
          `linger.ms=${linger}`,
          "acks=1",
          ...server,
        ]),
      );
    }
    row(
      `floor: ${e2eRecords} x 100 B echoed between two Bun processes at ${half.toLocaleString("en-US")}/s after ${e2eWarmupRecords} warm-up (one hop, no broker)`,
      await echo(["--messages", String(e2eRecords), "--warmup-messages", String(e2eWarmupRecords), "--rate", String(half)]),
    );
    if (MATRIX) {
      rows.push("", "| linger.ms | batch.size | records/s | MB/s | p50 ms | p99 ms |", "|---:|---:|---:|---:|---:|---:|");
      for (const linger of [0, 1, 5, 20]) {
        for (const batch of [16384, 65536, 262144]) {
          const s = await perf(["produce", "--topic", `matrix-${linger}-${batch}`, "--num-records", String(MATRIX_RECORDS), "--record-size", "100", "--throughput", "-1", "--producer-props", `batch.size=${batch}`, `linger.ms=${linger}`, "acks=1", ...server]);
          rows.push(`| ${linger} | ${batch / 1024} KiB | ${Math.round(s.recordsPerSec).toLocaleString("en-US")} | ${s.mbPerSec.toFixed(1)} | ${s.latencyP50Ms.toFixed(3)} | ${s.latencyP99Ms.toFixed(3)} |`);
          console.error(rows[rows.length - 1]);
        }
      }
    }
    rows.push("", `broker peak RSS (VmHWM): ${memoryMb(pid, "VmHWM").toFixed(0)} MB`);
    console.log(rows.join("\n"));
  } finally {
    await broker.stop();
  }
}

await main();
