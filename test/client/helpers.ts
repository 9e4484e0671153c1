// Shared helpers of the SDK tests: a real broker in-process (engine + server on 127.0.0.1 port 0, in a fresh
// temporary data directory) or in a child process (for kill and restart tests), and a bounded wait for a
// condition that is signalled by events rather than polled with sleeps.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Broker, type BrokerOptions } from "../../core/engine/broker.ts";
import { type BrokerServer, type ServerOptions, startBrokerServer } from "../../server/broker-server.ts";

/** A broker and its server running in this process. */
export interface InProcessBroker {
  readonly broker: Broker;
  readonly server: BrokerServer;
  readonly dataDir: string;
  readonly port: number;
  /** "127.0.0.1:PORT", for the client's `brokers` option. */
  readonly address: string;
  /** Stops the server and the engine and removes the data directory. */
  stop(): Promise<void>;
}

/** Starts an engine and a server on 127.0.0.1, port 0, in a new temporary data directory. */
export async function startBroker(options: Partial<ServerOptions> = {}, brokerOptions: Partial<BrokerOptions> = {}): Promise<InProcessBroker> {
  const dataDir = mkdtempSync(join(tmpdir(), "rivulet-client-"));
  const broker = await Broker.open({ dataDir, retentionCheckIntervalMs: 0, cleanerIntervalMs: 0, flushCheckIntervalMs: 0, ...brokerOptions });
  const server = await startBrokerServer(broker, { host: "127.0.0.1", port: 0, ...options });
  let stopped = false;
  return {
    broker,
    server,
    dataDir,
    port: server.port,
    address: `127.0.0.1:${server.port}`,
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.close();
      await broker.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** How long helpers wait for a child broker to say it listens before failing the test. */
export const CHILD_BROKER_START_MS_MAX = 20_000;

/** A broker in a child process (`bun server/main.ts broker`), which a test may kill and start again. */
export interface ChildBroker {
  readonly dataDir: string;
  /** The port it listens on (kept across restarts). */
  readonly port: number;
  readonly address: string;
  /** Kills the process with SIGKILL (an unclean stop) and waits for it to exit. */
  kill(): Promise<void>;
  /** Starts it again on the same port and data directory. */
  restart(): Promise<void>;
  /** Stops it (SIGTERM) and removes the data directory. */
  stop(): Promise<void>;
}

const LISTENING = /listening on 127\.0\.0\.1:(\d+)/;

function bunBinary(): string {
  return join(process.cwd(), "node_modules", ".bin", "bun");
}

function spawnBroker(dataDir: string, port: number, extraArgs: readonly string[]): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(bunBinary(), ["server/main.ts", "broker", "--port", String(port), "--data-dir", dataDir, ...extraArgs], {
    cwd: process.cwd(),
    stdio: ["ignore", "pipe", "pipe"],
  });
  return new Promise((resolve, reject) => {
    let output = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`broker did not start within ${CHILD_BROKER_START_MS_MAX} ms: ${output}`));
    }, CHILD_BROKER_START_MS_MAX);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = LISTENING.exec(output);
      if (match !== null) {
        clearTimeout(timer);
        child.stdout?.off("data", onData);
        child.stderr?.off("data", onData);
        // Keep draining so a chatty broker never blocks on a full pipe.
        child.stdout?.resume();
        child.stderr?.resume();
        resolve({ child, port: Number(match[1]) });
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`broker exited with ${code} before listening: ${output}`));
    });
  });
}

function waitExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

/** Starts a broker child process on a free port in a new temporary data directory. */
export async function startChildBroker(extraArgs: readonly string[] = []): Promise<ChildBroker> {
  const dataDir = mkdtempSync(join(tmpdir(), "rivulet-client-child-"));
  let { child, port } = await spawnBroker(dataDir, 0, extraArgs);
  return {
    dataDir,
    port,
    address: `127.0.0.1:${port}`,
    async kill() {
      child.kill("SIGKILL");
      await waitExit(child);
    },
    async restart() {
      await waitExit(child);
      ({ child } = await spawnBroker(dataDir, port, extraArgs));
    },
    async stop() {
      child.kill("SIGTERM");
      await waitExit(child);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Races `promise` against a deadline so a hung wait fails the test with `what` instead of hanging it. */
export async function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not done within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** A unique topic name for one test. */
export function topicName(prefix = "t"): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
