// Start-up time of the compiled binary by build flags: time from exec to the broker's listening line, median of
// RUNS starts each, the variants interleaved (the machine is shared). Decides scripts/build-binary.mjs's flags.
//
//   npx bun bench/binary-startup.ts          (after node scripts/build-wasm.mjs)
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBrokerProcess, started } from "../test/fault/fixtures/broker-process.ts";

const RUNS = 15;
const VARIANTS: Record<string, string[]> = {
  plain: [],
  minify: ["--minify"],
  bytecode: ["--bytecode", "--format=esm"],
  "bytecode+minify": ["--bytecode", "--format=esm", "--minify"],
};
const root = mkdtempSync(join(tmpdir(), "rivulet-startup-"));
try {
  const binaries: Record<string, string> = {};
  for (const [name, flags] of Object.entries(VARIANTS)) {
    const outfile = join(root, `rivulet-${name.replace("+", "-")}`);
    const build = Bun.spawnSync([process.execPath, "build", "--compile", ...flags, join(import.meta.dir, "..", "server", "main.ts"), "--outfile", outfile], { stdout: "ignore", stderr: "inherit" });
    if (build.exitCode !== 0) throw new Error(`build ${name} failed`);
    binaries[name] = outfile;
  }
  const times: Record<string, number[]> = {};
  for (let run = 0; run < RUNS; run++) {
    for (const [name, binary] of Object.entries(binaries)) {
      const dataDir = join(root, `data-${name.replace("+", "-")}-${run}`);
      const begin = performance.now();
      const broker = started(await startBrokerProcess([binary, "broker", "--port", "0", "--data-dir", dataDir], { cwd: root }));
      (times[name] ??= []).push(performance.now() - begin);
      await broker.stop();
    }
  }
  const median = (values: number[]) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)]!;
  const baseline = median(times.plain!);
  for (const [name, values] of Object.entries(times)) {
    console.log(`${name.padEnd(16)} median ${median(values).toFixed(1)} ms, min ${Math.min(...values).toFixed(1)} ms, x plain ${(median(values) / baseline).toFixed(2)}`);
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
