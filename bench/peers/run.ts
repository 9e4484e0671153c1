// Rivulet side by side with NATS JetStream and Redis Streams on this machine, in one run, each with its fastest
// client here. Not part of the test suite.
//
//   npx bun bench/peers/run.ts [--scale 1] [--no-install]
//
// What it does:
//   1. installs nats-server, redis-server and redis-tools with apt-get when a binary is missing (apt-get update;
//      apt-get install -y ...), unless --no-install;
//   2. starts each server on 127.0.0.1 on a free port, in its own temporary directory, with these durability
//      settings:
//        Rivulet    `bun server/main.ts broker`; acks=1 (written to the log, no fsync) and acks=all (fsync before
//                   the ack, group commit);
//        NATS       `nats-server -js`, JetStream file store, one replica (its default sync_interval: no fsync
//                   per message);
//        Redis      appendonly yes with `appendfsync everysec`, and again (a fresh server) with `appendfsync always`;
//                   no RDB snapshots;
//   3. warms the Rivulet broker up (500,000 records produced and consumed, not reported), then runs for each workload (1,000,000 records of 100 bytes, 200,000 of 1 KiB; --scale multiplies the counts):
//        produce    one producer connection:
//                     Rivulet  `rivulet perf produce` (bench/peers/rivulet-perf.ts), batch.size 64 KiB,
//                              linger.ms 5, acks=1 and acks=all;
//                     Redis    `redis-benchmark -c 1 -P 64 XADD key * f <value>`;
//                     NATS     core publish with a reply inbox to the stream's subject, NATS_IN_FLIGHT in flight,
//                              every ack checked;
//        consume    one consumer reading everything:
//                     Rivulet  `rivulet perf consume` from the earliest offset;
//                     Redis    `redis-benchmark -c 1 -P 16 XREADGROUP GROUP g c COUNT 1000 NOACK STREAMS key >`
//                              (the group's entries-read is checked to be the whole stream afterwards);
//                     NATS     a durable pull consumer (ack policy none), consume() until every message came;
//        latency    one acked publish at a time (LATENCY_SAMPLES of them, 100 B): Rivulet `perf produce --sync`
//                   (linger.ms 0), Redis `redis-benchmark -c 1 -P 1 XADD`, NATS `request()` to the stream; the
//                   JavaScript clients (Rivulet, NATS) first make LATENCY_WARMUP unmeasured publishes; and the
//                   machine's floor for the same shape: 100 B echoed one at a time between two Bun processes
//                   (bench/peers/loopback-echo.ts);
//   4. stops everything it started by PID and prints one table (records/s, MB/s, latency p50/p99 of a single
//      acked publish, Rivulet's ratio to each peer) and the broker's peak RSS.
// Every loop is bounded in count, and every phase in time (PHASE_MS_MAX). MB is 1024 * 1024 bytes of values.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "hdr-histogram-js";
import { AckPolicy, type NatsConnection, StorageType, connect, createInbox } from "nats";
import type { PerfSummary } from "../../client/cli/perf.ts";

const NATS_IN_FLIGHT = 2000;
const LATENCY_SAMPLES = 5000;
// Publishes made before the measured ones by the JavaScript clients (Rivulet's SDK, nats.js): their first ones
// pay for JIT compilation; redis-benchmark is C and needs none.
const LATENCY_WARMUP = 10_000;
const PHASE_MS_MAX = 300_000;
const START_MS_MAX = 20_000;
const BYTES_PER_MB = 1024 * 1024;
const REDIS_READ_COUNT = 1000;

function argValue(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  return at > 0 ? process.argv[at + 1] : undefined;
}
const SCALE = Number(argValue("--scale") ?? "1");
if (!(SCALE > 0 && SCALE <= 1)) throw new Error("--scale must be in (0, 1]");
const INSTALL = !process.argv.includes("--no-install");
const WORKLOADS = [
  { records: Math.round(1_000_000 * SCALE), bytes: 100 },
  { records: Math.round(200_000 * SCALE), bytes: 1024 },
];

interface Row {
  system: string;
  workload: string;
  recordsPerSec: number;
  mbPerSec: number;
}
interface LatencyRow {
  system: string;
  p50Ms: number;
  p99Ms: number;
}

// ---------------------------------------------------------------------------------------------------- processes

const started: { pid: number; name: string; child: ReturnType<typeof spawn> }[] = [];

function which(binary: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${binary}`]).status === 0;
}

function ensureInstalled(): void {
  const missing = [
    ["nats-server", "nats-server"],
    ["redis-server", "redis-server"],
    ["redis-benchmark", "redis-tools"],
    ["redis-cli", "redis-tools"],
  ].filter(([binary]) => !which(binary as string));
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map(([, pkg]) => pkg as string))];
  if (!INSTALL) throw new Error(`missing ${packages.join(", ")} (run without --no-install to apt-get them)`);
  console.error(`installing ${packages.join(" ")} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  if (spawnSync("apt-get", ["update"], { stdio: "inherit", env, timeout: PHASE_MS_MAX }).status !== 0) throw new Error("apt-get update failed");
  if (spawnSync("apt-get", ["install", "-y", ...packages], { stdio: "inherit", env, timeout: PHASE_MS_MAX }).status !== 0) throw new Error("apt-get install failed");
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

// Starts `command` and resolves once `ready` matches its output (bounded by START_MS_MAX).
function startServer(name: string, command: string, args: string[], ready: RegExp): Promise<{ pid: number; match: RegExpExecArray }> {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
  if (child.pid === undefined) throw new Error(`${name} did not start`);
  started.push({ pid: child.pid, name, child });
  return new Promise((resolve, reject) => {
    let output = "";
    const timer = setTimeout(() => reject(new Error(`${name} not ready within ${START_MS_MAX} ms: ${output}`)), START_MS_MAX);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = ready.exec(output);
      if (match !== null) {
        clearTimeout(timer);
        resolve({ pid: child.pid as number, match });
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}): ${output}`));
    });
  });
}

async function stopServer(pid: number): Promise<void> {
  const entry = started.find((s) => s.pid === pid);
  if (entry === undefined) return;
  started.splice(started.indexOf(entry), 1);
  if (entry.child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => entry.child.once("exit", () => resolve()));
  process.kill(pid, "SIGTERM");
  const timer = setTimeout(() => entry.child.exitCode === null && process.kill(pid, "SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}

// Runs a tool to completion (bounded by PHASE_MS_MAX) and returns its stdout; throws on a non-zero exit.
function runTool(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
    const timer = setTimeout(() => child.pid !== undefined && process.kill(child.pid, "SIGKILL"), PHASE_MS_MAX);
    child.once("exit", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${command} ${args.slice(0, 4).join(" ")} exited ${code}: ${err.slice(-2000)}`));
    });
  });
}

function memoryKb(pid: number, field: "VmRSS" | "VmHWM"): number {
  const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match === null ? 0 : Number(match[1]);
}

// ---------------------------------------------------------------------------------------------------- Rivulet

const BUN = join(process.cwd(), "node_modules", ".bin", "bun");

async function rivuletPerf(args: string[]): Promise<PerfSummary> {
  const out = await runTool(BUN, ["bench/peers/rivulet-perf.ts", ...args, "--json", "--timeout-ms", String(PHASE_MS_MAX - 30_000)]);
  const summary = JSON.parse(out.trim().split("\n").pop() as string) as PerfSummary;
  if (summary.errors > 0 || summary.timedOut) throw new Error(`rivulet perf ${args.join(" ")}: ${JSON.stringify(summary)}`);
  return summary;
}

async function runRivulet(rows: Row[], latencies: LatencyRow[]): Promise<{ peakRssMb: number }> {
  const dataDir = mkdtempSync(join(tmpdir(), "rivulet-peers-"));
  const { pid, match } = await startServer("rivulet", BUN, ["server/main.ts", "broker", "--port", "0", "--data-dir", dataDir], /listening on 127\.0\.0\.1:(\d+)/);
  const server = `127.0.0.1:${match[1]}`;
  let peakRssKb = 0;
  const sampleRss = (): void => void (peakRssKb = Math.max(peakRssKb, memoryKb(pid, "VmHWM")));
  try {
    // A warm-up, not reported: the broker's code is compiled before it is measured, as a long-running broker's is
    // (Redis and NATS are compiled ahead of time).
    const warmupRecords = String(Math.round(500_000 * SCALE));
    await rivuletPerf(["produce", "--topic", "peers-warmup", "--num-records", warmupRecords, "--record-size", "100", "--throughput", "-1", "--bootstrap-server", server]);
    await rivuletPerf(["consume", "--topic", "peers-warmup", "--messages", warmupRecords, "--bootstrap-server", server]);
    for (const { records, bytes } of WORKLOADS) {
      const workload = `${records} x ${bytes} B`;
      const common = ["--num-records", String(records), "--record-size", String(bytes), "--throughput", "-1", "--bootstrap-server", server];
      for (const acks of ["1", "all"]) {
        const topic = `peers-${bytes}-${acks}`;
        const s = await rivuletPerf(["produce", "--topic", topic, ...common, "--producer-props", "batch.size=65536", "linger.ms=5", `acks=${acks}`]);
        rows.push({ system: `Rivulet produce acks=${acks}`, workload, recordsPerSec: s.recordsPerSec, mbPerSec: s.mbPerSec });
        sampleRss();
      }
      const c = await rivuletPerf(["consume", "--topic", `peers-${bytes}-1`, "--messages", String(records), "--bootstrap-server", server]);
      rows.push({ system: "Rivulet consume", workload, recordsPerSec: c.recordsPerSec, mbPerSec: c.mbPerSec });
      sampleRss();
    }
    for (const acks of ["1", "all"]) {
      const s = await rivuletPerf([
        "produce",
        "--topic",
        `peers-latency-${acks}`,
        "--num-records",
        String(LATENCY_SAMPLES + LATENCY_WARMUP),
        "--warmup-records",
        String(LATENCY_WARMUP),
        "--record-size",
        "100",
        "--throughput",
        "-1",
        "--sync",
        "--producer-props",
        "linger.ms=0",
        `acks=${acks}`,
        "--bootstrap-server",
        server,
      ]);
      latencies.push({ system: `Rivulet acks=${acks}`, p50Ms: s.latencyP50Ms, p99Ms: s.latencyP99Ms });
    }
    sampleRss();
  } finally {
    await stopServer(pid);
    rmSync(dataDir, { recursive: true, force: true });
  }
  return { peakRssMb: peakRssKb / 1024 };
}

// ---------------------------------------------------------------------------------------------------- Redis

function csvRow(out: string): { rps: number; p50: number; p99: number } {
  // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
  const line = out.trim().split("\n").pop() as string;
  const fields = line.split('","').map((field) => field.replaceAll('"', ""));
  return { rps: Number(fields[1]), p50: Number(fields[4]), p99: Number(fields[6]) };
}

async function runRedis(fsync: "everysec" | "always", rows: Row[], latencies: LatencyRow[]): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "redis-peers-"));
  const port = await freePort();
  const { pid } = await startServer("redis", "redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--appendonly", "yes", "--appendfsync", fsync, "--save", ""], /Ready to accept connections/);
  const cli = (...args: string[]): Promise<string> => runTool("redis-cli", ["-h", "127.0.0.1", "-p", String(port), ...args]);
  const bench = (...args: string[]): Promise<string> => runTool("redis-benchmark", ["-h", "127.0.0.1", "-p", String(port), "--csv", ...args]);
  try {
    for (const { records, bytes } of WORKLOADS) {
      const workload = `${records} x ${bytes} B`;
      const key = `s${bytes}`;
      const value = "x".repeat(bytes);
      const produced = csvRow(await bench("-c", "1", "-P", "64", "-n", String(records), "XADD", key, "*", "f", value));
      rows.push({ system: `Redis XADD appendfsync ${fsync}`, workload, recordsPerSec: produced.rps, mbPerSec: (produced.rps * bytes) / BYTES_PER_MB });
      if (fsync !== "everysec") continue;
      // redis-benchmark rounds -n up to whole pipelines: read what the stream holds.
      const length = Number((await cli("XLEN", key)).trim());
      if (length < records) throw new Error(`redis stream ${key} holds ${length} of ${records} entries`);
      await cli("XGROUP", "CREATE", key, "g", "0");
      const calls = Math.ceil(length / REDIS_READ_COUNT);
      const consumed = csvRow(await bench("-c", "1", "-P", "16", "-n", String(calls), "XREADGROUP", "GROUP", "g", "c", "COUNT", String(REDIS_READ_COUNT), "NOACK", "STREAMS", key, ">"));
      const info = await cli("XINFO", "GROUPS", key);
      const read = Number(/entries-read\n(\d+)/.exec(info)?.[1] ?? "-1");
      if (read !== length) throw new Error(`redis XREADGROUP read ${read} of ${length} entries`);
      const recordsPerSec = (consumed.rps * length) / calls;
      rows.push({ system: "Redis XREADGROUP COUNT 1000 NOACK", workload, recordsPerSec, mbPerSec: (recordsPerSec * bytes) / BYTES_PER_MB });
    }
    const latency = csvRow(await bench("-c", "1", "-P", "1", "-n", String(LATENCY_SAMPLES), "XADD", "latency", "*", "f", "x".repeat(100)));
    latencies.push({ system: `Redis XADD appendfsync ${fsync}`, p50Ms: latency.p50, p99Ms: latency.p99 });
  } finally {
    await stopServer(pid);
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------- NATS

// Publishes `records` messages with a reply inbox, at most NATS_IN_FLIGHT unacknowledged; every ack is checked.
async function natsPublish(nc: NatsConnection, subject: string, records: number, value: Uint8Array): Promise<number> {
  const inbox = createInbox();
  let acked = 0;
  let failed = 0;
  let inFlight = 0;
  let wake: (() => void) | null = null;
  const done = new Promise<void>((resolve) => {
    nc.subscribe(`${inbox}.*`, {
      max: records,
      callback: (_error, msg) => {
        // A JetStream ack is {"stream":...,"seq":N}; a refusal carries "error".
        if (msg.data.length === 0 || new TextDecoder().decode(msg.data).includes('"error"')) failed++;
        acked++;
        inFlight--;
        if (wake !== null) {
          const w = wake;
          wake = null;
          w();
        }
        if (acked === records) resolve();
      },
    });
  });
  const startMs = performance.now();
  const deadline = startMs + PHASE_MS_MAX;
  for (let i = 0; i < records; i++) {
    while (inFlight >= NATS_IN_FLIGHT) {
      if (performance.now() > deadline) throw new Error("nats publish: out of time");
      await new Promise<void>((resolve) => (wake = resolve));
    }
    inFlight++;
    nc.publish(subject, value, { reply: `${inbox}.${i}` });
  }
  await Promise.race([done, new Promise((_, reject) => setTimeout(() => reject(new Error("nats acks: out of time")), Math.max(deadline - performance.now(), 1)))]);
  if (failed > 0) throw new Error(`nats: ${failed} publishes refused`);
  return (records / (performance.now() - startMs)) * 1000;
}

async function natsConsume(nc: NatsConnection, stream: string, records: number): Promise<number> {
  const jsm = await nc.jetstreamManager();
  await jsm.consumers.add(stream, { durable_name: "perf", ack_policy: AckPolicy.None });
  const consumer = await nc.jetstream().consumers.get(stream, "perf");
  const startMs = performance.now();
  const messages = await consumer.consume({ max_messages: 10_000 });
  const timer = setTimeout(() => void messages.stop(), PHASE_MS_MAX);
  let count = 0;
  for await (const _ of messages) {
    if (++count >= records) break;
  }
  clearTimeout(timer);
  const elapsedMs = performance.now() - startMs;
  messages.stop();
  if (count !== records) throw new Error(`nats consume read ${count} of ${records}`);
  return (records / elapsedMs) * 1000;
}

async function runNats(rows: Row[], latencies: LatencyRow[]): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "nats-peers-"));
  const port = await freePort();
  const { pid } = await startServer("nats", "nats-server", ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", dir], /Server is ready/);
  const nc = await connect({ servers: `127.0.0.1:${port}` });
  try {
    const jsm = await nc.jetstreamManager();
    for (const { records, bytes } of WORKLOADS) {
      const workload = `${records} x ${bytes} B`;
      const stream = `S${bytes}`;
      await jsm.streams.add({ name: stream, subjects: [`s${bytes}`], storage: StorageType.File, num_replicas: 1 });
      const value = new Uint8Array(bytes).fill(120);
      const produced = await natsPublish(nc, `s${bytes}`, records, value);
      rows.push({ system: "NATS JetStream publish (2000 in flight)", workload, recordsPerSec: produced, mbPerSec: (produced * bytes) / BYTES_PER_MB });
      const consumed = await natsConsume(nc, stream, records);
      rows.push({ system: "NATS JetStream pull consume", workload, recordsPerSec: consumed, mbPerSec: (consumed * bytes) / BYTES_PER_MB });
    }
    await jsm.streams.add({ name: "LATENCY", subjects: ["latency"], storage: StorageType.File, num_replicas: 1 });
    const histogram = build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
    const value = new Uint8Array(100).fill(120);
    for (let i = 0; i < LATENCY_WARMUP + LATENCY_SAMPLES; i++) {
      const t0 = performance.now();
      await nc.request("latency", value, { timeout: 5_000 });
      if (i >= LATENCY_WARMUP) histogram.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1000)));
    }
    latencies.push({ system: "NATS JetStream request", p50Ms: histogram.getValueAtPercentile(50) / 1000, p99Ms: histogram.getValueAtPercentile(99) / 1000 });
  } finally {
    await nc.close();
    await stopServer(pid);
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------- table

function number(value: number): string {
  return Math.round(value).toLocaleString("en-US");
}

function table(rows: Row[], latencies: LatencyRow[], peakRssMb: number): string {
  const lines: string[] = [];
  lines.push("| workload | system | records/s | MB/s |", "|---|---|---:|---:|");
  for (const row of rows) lines.push(`| ${row.workload} | ${row.system} | ${number(row.recordsPerSec)} | ${row.mbPerSec.toFixed(1)} |`);
  lines.push("", "| one acked publish at a time (100 B) | p50 ms | p99 ms |", "|---|---:|---:|");
  for (const row of latencies) lines.push(`| ${row.system} | ${row.p50Ms.toFixed(3)} | ${row.p99Ms.toFixed(3)} |`);
  lines.push("", "| Rivulet's ratio (records/s) | workload | ratio |", "|---|---|---:|");
  const find = (system: string, workload: string): number | undefined => rows.find((row) => row.system === system && row.workload === workload)?.recordsPerSec;
  for (const { records, bytes } of WORKLOADS) {
    const workload = `${records} x ${bytes} B`;
    const pairs: [string, string][] = [
      ["Rivulet produce acks=1", "Redis XADD appendfsync everysec"],
      ["Rivulet produce acks=1", "NATS JetStream publish (2000 in flight)"],
      ["Rivulet produce acks=all", "Redis XADD appendfsync always"],
      ["Rivulet consume", "Redis XREADGROUP COUNT 1000 NOACK"],
      ["Rivulet consume", "NATS JetStream pull consume"],
    ];
    for (const [ours, theirs] of pairs) {
      const a = find(ours, workload);
      const b = find(theirs, workload);
      if (a !== undefined && b !== undefined) lines.push(`| ${ours} / ${theirs} | ${workload} | ${(a / b).toFixed(2)}x |`);
    }
  }
  lines.push("", `Rivulet broker peak RSS (VmHWM): ${peakRssMb.toFixed(0)} MB`);
  return lines.join("\n");
}

async function main(): Promise<void> {
  ensureInstalled();
  const rows: Row[] = [];
  const latencies: LatencyRow[] = [];
  console.error("Rivulet ...");
  const { peakRssMb } = await runRivulet(rows, latencies);
  console.error("Redis (appendfsync everysec) ...");
  await runRedis("everysec", rows, latencies);
  console.error("Redis (appendfsync always) ...");
  await runRedis("always", rows, latencies);
  console.error("NATS JetStream ...");
  await runNats(rows, latencies);
  console.error("loopback floor ...");
  const floor = await runTool(BUN, ["bench/peers/loopback-echo.ts", "--messages", String(LATENCY_SAMPLES), "--warmup-messages", String(LATENCY_WARMUP), "--json"]);
  const echo = JSON.parse(floor.trim().split("\n").pop() as string) as PerfSummary;
  latencies.push({ system: "floor: 100 B echoed by a Bun process (no broker)", p50Ms: echo.latencyP50Ms, p99Ms: echo.latencyP99Ms });
  console.log(table(rows, latencies, peakRssMb));
}

let exitCode = 0;
try {
  await main();
} catch (error) {
  console.error(error);
  exitCode = 1;
} finally {
  // Whatever is still running was started here: stop it by PID.
  for (const { pid } of [...started]) await stopServer(pid).catch(() => undefined);
}
// The nats client's pull-consumer timers can outlive its connection; the run is over.
process.exit(exitCode);
