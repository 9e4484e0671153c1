// `rivulet perf ...` as a standalone process (the peer comparison runs each Rivulet workload in its own child, as
// it runs each peer's benchmark tool): `bun bench/peers/rivulet-perf.ts produce --topic T ... --json`.
import { runPerf } from "../../client/cli/perf.ts";

const code = await runPerf(process.argv.slice(2), { stdin: [], stdout: process.stdout, stderr: process.stderr });
process.exit(code);
