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

/** Starts a broker child process; resolves with { address, port, dataDir, stop() }. `sets` are --set k=v flags. */
export async function startBroker(sets = []) {
  const dataDir = mkdtempSync(join(tmpdir(), "rivulet-node-"));
  const args = ["server/main.ts", "broker", "--port", "0", "--data-dir", dataDir];
  for (const set of sets) args.push("--set", set);
  const child = spawn(join(ROOT, "node_modules", ".bin", "bun"), args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  const port = await new Promise((resolve, reject) => {
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
  const exited = new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", () => resolve());
  });
  return {
    port,
    address: `127.0.0.1:${port}`,
    dataDir,
    async stop() {
      child.kill("SIGTERM");
      await exited;
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A unique topic name. */
export function topicName(prefix) {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
