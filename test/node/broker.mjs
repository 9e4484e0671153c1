// The Node suite's broker: `bun server/main.ts broker --port 0` in a child process with a fresh temporary data
// directory (the broker is Bun-native; the SDK under test is the built dist running on Node). Every wait is
// bounded; stop() ends only the process it started, by its handle.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (two levels above this file). */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
/** How long the broker may take to say it listens. */
export const BROKER_START_MS_MAX = 20_000;

const LISTENING = /listening on 127\.0\.0\.1:(\d+)/;

// Spawns `bun server/main.ts broker` and resolves once it prints its address.
async function spawnBroker(dataDir, port, sets) {
  const args = ["server/main.ts", "broker", "--port", String(port), "--data-dir", dataDir];
  for (const set of sets) args.push("--set", set);
  const child = spawn(join(ROOT, "node_modules", ".bin", "bun"), args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise((resolve) => child.once("exit", () => resolve()));
  const boundPort = await new Promise((resolve, reject) => {
    let output = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`broker did not start within ${BROKER_START_MS_MAX} ms: ${output}`));
    }, BROKER_START_MS_MAX);
    const onData = (chunk) => {
      output += chunk.toString();
      const match = LISTENING.exec(output);
      if (match === null) return;
      clearTimeout(timer);
      child.off("exit", onExit);
      resolve(Number(match[1]));
    };
    const onExit = (code) => {
      clearTimeout(timer);
      reject(new Error(`broker exited with ${code} before listening: ${output}`));
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("exit", onExit);
  });
  return { child, exited, port: boundPort };
}

/**
 * Starts a broker child process; resolves with { address, port, dataDir, kill(), restart(), stop() }. `sets`
 * are --set KEY=VALUE broker configs. kill() is SIGKILL (an unclean stop); restart() starts it again on the
 * same port and data directory.
 */
export async function startBroker(sets = []) {
  const dataDir = mkdtempSync(join(tmpdir(), "rivulet-node-"));
  let running = await spawnBroker(dataDir, 0, sets);
  const port = running.port;
  return {
    port,
    address: `127.0.0.1:${port}`,
    dataDir,
    async kill() {
      running.child.kill("SIGKILL");
      await running.exited;
    },
    async restart() {
      await running.exited;
      running = await spawnBroker(dataDir, port, sets);
    },
    async stop() {
      running.child.kill("SIGTERM");
      await running.exited;
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A unique topic name. */
export function topicName(prefix) {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
