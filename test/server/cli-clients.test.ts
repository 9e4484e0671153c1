// The client commands through the `rivulet` entry itself (server/main.ts run as a child process, as a user runs
// `npx rivulet ...`), against a real broker: the dispatcher wiring, stdin, stdout and exit codes.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { type TestServer, startTestServer } from "./server-fixture.ts";

const MAIN = join(import.meta.dir, "..", "..", "server", "main.ts");
const COMMAND_TIMEOUT_MS = 20_000;

let fixture: TestServer;
let bootstrap: string;

beforeAll(async () => {
  fixture = await startTestServer();
  bootstrap = `127.0.0.1:${fixture.port}`;
});

afterAll(async () => {
  await fixture.stop();
});

/** Runs `rivulet ...args` with `stdin`, bounded in time; returns exit code and output. */
async function rivulet(args: string[], stdin = ""): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = Bun.spawn([process.execPath, MAIN, ...args], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  child.stdin.write(stdin);
  await child.stdin.end();
  const timer = setTimeout(() => child.kill("SIGKILL"), COMMAND_TIMEOUT_MS);
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}

describe("rivulet topics | produce | consume", () => {
  test("create a topic, produce keyed lines, consume them back with keys and offsets", async () => {
    const created = await rivulet(["topics", "create", "--topic", "rides", "--partitions", "2", "--bootstrap-server", bootstrap]);
    expect(created.stderr).toBe("");
    expect(created.code).toBe(0);

    const listed = await rivulet(["topics", "list", "--bootstrap-server", bootstrap]);
    expect(listed.code).toBe(0);
    expect(listed.stdout.split("\n")).toContain("rides");

    const lines = ["a:first", "b:second", "a:third"].join("\n") + "\n";
    const produced = await rivulet(["produce", "rides", "--key-separator", ":", "--bootstrap-server", bootstrap], lines);
    expect(produced.stderr).toBe("");
    expect(produced.code).toBe(0);

    const consumed = await rivulet([
      "consume", "rides", "--from-beginning", "--max-messages", "3", "--print-key", "--timeout-ms", "10000", "--bootstrap-server", bootstrap,
    ]);
    expect(consumed.code).toBe(0);
    const records = consumed.stdout.trim().split("\n").map((line) => line.split("\t"));
    expect(records.map(([key, value]) => `${key}:${value}`).sort()).toEqual(["a:first", "a:third", "b:second"]);
    // One key, one partition, in order: "first" before "third".
    const aValues = records.filter(([key]) => key === "a").map(([, value]) => value);
    expect(aValues).toEqual(["first", "third"]);
  });

  test("an unknown topic option is a usage error (exit 2) naming the flag", async () => {
    const result = await rivulet(["topics", "create", "--topic", "x", "--no-such-flag", "--bootstrap-server", bootstrap]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("no-such-flag");
  });
});
