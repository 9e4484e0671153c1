// `rivulet perf e2e` from a compiled binary: Bun's --compile bundles a Worker's module only when it is listed as
// an entry point next to server/main.ts. Built that way, the e2e consumer runs in its Worker; built without it
// (scripts/build-binary.mjs until it lists client/cli/perf-e2e-worker.ts), the run still works, on one thread.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PerfSummary } from "../../../client/cli/perf.ts";
import { type InProcessBroker, startBroker, topicName } from "../helpers.ts";

const REPO_ROOT = join(import.meta.dir, "..", "..", "..");
const BUILD_TIMEOUT_MS = 120_000;
const RUN_TIMEOUT_MS = 60_000;

let broker: InProcessBroker;
const root = fs.mkdtempSync(join(tmpdir(), "rivulet-perf-binary-"));

beforeAll(async () => {
  broker = await startBroker();
});

afterAll(async () => {
  await broker.stop();
  fs.rmSync(root, { recursive: true, force: true });
});

// Compiles `entries` as scripts/build-binary.mjs compiles server/main.ts (same flags), into the temp dir.
function compile(name: string, entries: string[]): string {
  const binary = join(root, name);
  const build = Bun.spawnSync([process.execPath, "build", "--compile", "--bytecode", "--format=esm", ...entries, "--outfile", binary], {
    cwd: REPO_ROOT,
    stdout: "pipe",
    stderr: "pipe",
    timeout: BUILD_TIMEOUT_MS,
  });
  if (build.exitCode !== 0) throw new Error(`bun build failed: ${build.stderr.toString()}`);
  return binary;
}

// Runs `perf e2e` from `binary` in a directory with no sources or node_modules in reach.
async function e2e(binary: string): Promise<{ code: number; summary: PerfSummary; stderr: string }> {
  const workDir = fs.mkdtempSync(join(root, "work-"));
  const topic = topicName("perf-binary");
  const child = Bun.spawn(
    [binary, "perf", "e2e", "--topic", topic, "--num-records", "2000", "--record-size", "32", "--throughput", "20000", "--producer-props", "linger.ms=1", "--bootstrap-server", broker.address, "--json", "--timeout-ms", String(RUN_TIMEOUT_MS)],
    { cwd: workDir, env: { PATH: "/usr/bin:/bin", HOME: root }, stdout: "pipe", stderr: "pipe" },
  );
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { code, summary: JSON.parse(stdout.trim().split("\n").pop() ?? "{}") as PerfSummary, stderr };
}

describe("rivulet perf e2e from a compiled binary", () => {
  test(
    "with the worker listed as an entry point the consumer has its own thread; without it the run falls back to one",
    async () => {
      const withWorker = await e2e(compile("rivulet-with-worker", ["server/main.ts", "client/cli/perf-e2e-worker.ts"]));
      expect(withWorker.code).toBe(0);
      expect(withWorker.stderr).not.toContain("no consumer thread");
      expect(withWorker.summary.records).toBe(2000);
      expect(withWorker.summary.errors).toBe(0);

      const withoutWorker = await e2e(compile("rivulet-main-only", ["server/main.ts"]));
      expect(withoutWorker.code).toBe(0);
      expect(withoutWorker.stderr).toContain("no consumer thread");
      expect(withoutWorker.summary.records).toBe(2000);
    },
    2 * BUILD_TIMEOUT_MS + 2 * RUN_TIMEOUT_MS,
  );
});
