// Builds dist/rivulet: one executable holding Bun, the broker's code and the WASM kernels (embedded as base64 in
// core/formats/wasm-binary.generated.ts by scripts/build-wasm.mjs, which must run first), so it runs from any
// directory without node_modules.
//
// --bytecode precompiles the JavaScript: measured here it cut the time from exec to the broker's listening line
// from ~150 ms to ~40 ms (median of 15; docs/benchmarks/server.md). Bytecode needs --format=esm because
// server/main.ts uses top-level await. --minify gained nothing measurable on top and would mangle stack traces.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const generated = join(root, "core", "formats", "wasm-binary.generated.ts");
if (!existsSync(generated)) {
  console.error("build-binary: core/formats/wasm-binary.generated.ts is missing; run `node scripts/build-wasm.mjs` first");
  process.exit(1);
}
const localBun = join(root, "node_modules", ".bin", process.platform === "win32" ? "bun.exe" : "bun");
const bun = existsSync(localBun) ? localBun : "bun";
// `--outfile PATH` builds elsewhere (the binary test builds into a temp dir); the default is dist/rivulet.
const outfileFlag = process.argv.indexOf("--outfile");
const outfile = outfileFlag > 0 && process.argv[outfileFlag + 1] !== undefined ? process.argv[outfileFlag + 1] : join("dist", "rivulet");
mkdirSync(dirname(resolve(root, outfile)), { recursive: true });
// The perf e2e consumer's Worker module is an entry point too: Bun bundles a Worker's module into the executable only
// when it is listed (without it `rivulet perf e2e` falls back to one thread; client/cli/perf-e2e-consumer.ts).
execFileSync(bun, ["build", "--compile", "--bytecode", "--format=esm", "server/main.ts", "client/cli/perf-e2e-worker.ts", "--outfile", outfile], {
  cwd: root,
  stdio: "inherit",
});
console.log(`build-binary: wrote ${outfile}`);
