// What the A/B drivers (bench/producer-ab.ts, bench/consumer-ab.ts, bench/perf-raw.ts) and
// bench/peers/loopback-echo.ts share: a child process on port 0 (a broker of some checkout with a temporary data
// directory, or another server), stopped by its PID; a process's CPU time from /proc; the median of a list.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const BUN = process.execPath;
const LISTENING = /listening on 127\.0\.0\.1:(\d+)/;
/** Longest wait for a child's "listening" line. */
export const CHILD_START_MS_MAX = 20_000;
// /proc/PID/stat counts CPU time in clock ticks of 1/100 s on Linux.
const CLOCK_TICKS_PER_SECOND = 100;

/** A running child process that listens on a port (a broker, or an echo server). */
export interface ChildServer {
  readonly port: number;
  readonly pid: number;
  /** SIGTERM by PID and wait for the exit. */
  stop(): Promise<void>;
}

/** A running child broker. */
export interface ChildBroker extends ChildServer {
  readonly bootstrap: string;
  /** SIGTERM by PID, wait for the exit, delete the data directory. */
  stop(): Promise<void>;
}

/**
 * Starts `bun args...` in `cwd` and waits for its "listening on 127.0.0.1:PORT" line (at most
 * CHILD_START_MS_MAX); after it, the child's output is read and dropped (a full pipe would stall it).
 */
export async function startChildServer(cwd: string, args: readonly string[]): Promise<ChildServer> {
  const child = spawn(BUN, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null) child.kill("SIGTERM");
    await exited;
  };
  try {
    const port = await new Promise<number>((done, fail) => {
      let output = "";
      const timer = setTimeout(() => fail(new Error(`bun ${args.join(" ")} in ${cwd} not listening within ${CHILD_START_MS_MAX} ms: ${output}`)), CHILD_START_MS_MAX);
      const onData = (chunk: Buffer): void => {
        output += chunk.toString();
        const match = LISTENING.exec(output);
        if (match === null) return;
        clearTimeout(timer);
        child.stdout.off("data", onData).on("data", () => {});
        child.stderr.off("data", onData).on("data", () => {});
        done(Number(match[1]));
      };
      child.stdout.on("data", onData);
      child.stderr.on("data", onData);
    });
    return { port, pid: child.pid as number, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Starts `bun server/main.ts broker` of checkout `root` on port 0 (extra broker flags in `args`, flags for Bun itself,
 * such as --cpu-prof, in `bunFlags`).
 */
export async function startChildBroker(root: string, args: readonly string[] = [], bunFlags: readonly string[] = []): Promise<ChildBroker> {
  const dataDir = mkdtempSync(join(tmpdir(), "rivulet-bench-broker-"));
  const removeDataDir = (): void => rmSync(dataDir, { recursive: true, force: true });
  let server: ChildServer;
  try {
    server = await startChildServer(root, [...bunFlags, "server/main.ts", "broker", "--port", "0", "--data-dir", dataDir, ...args]);
  } catch (error) {
    removeDataDir();
    throw error;
  }
  const stop = async (): Promise<void> => {
    await server.stop();
    removeDataDir();
  };
  return { port: server.port, pid: server.pid, bootstrap: `127.0.0.1:${server.port}`, stop };
}

/** CPU seconds (user + system) process `pid` has used so far: disturbed less by the machine's other tenants than wall time. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name (which may hold spaces) start at field 3; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

/** The median of `values` (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
