// `rivulet perf ...` as a standalone process (the peer comparison runs each Rivulet workload in its own child, as
// it runs each peer's benchmark tool): `bun bench/peers/rivulet-perf.ts produce --topic T ... --json`.
import { runPerf } from "../../client/cli/perf.ts";

// The tool writes one summary line and a progress line every few seconds: no backpressure to wait on.
const code = await runPerf(process.argv.slice(2), {
  stdin: [],
  stdout: { write: (chunk: string) => process.stdout.write(chunk) },
  stderr: { write: (chunk: string) => process.stderr.write(chunk) },
});
process.exit(code);
