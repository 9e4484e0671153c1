// `npm run bench`: runs every bench/*.bench.ts in its own process, one after another, so that one benchmark's
// garbage and JIT state do not colour the next. Pass names to run a subset: `npm run bench -- lz4 crc32c`.
import { readdirSync } from "node:fs";
import { join } from "node:path";

const benchDir = import.meta.dir;
const wanted = process.argv.slice(2);
const files = readdirSync(benchDir)
  .filter((name) => name.endsWith(".bench.ts"))
  .filter((name) => wanted.length === 0 || wanted.some((w) => name.startsWith(w)))
  .sort();

let failures = 0;
for (const name of files) {
  console.log(`\n=== ${name}`);
  const child = Bun.spawnSync([process.execPath, join(benchDir, name)], { stdout: "inherit", stderr: "inherit" });
  if (child.exitCode !== 0) failures++;
}
process.exit(failures === 0 ? 0 : 1);
