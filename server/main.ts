#!/usr/bin/env bun
// The entry point of `rivulet` (the compiled binary, `npm start` and `bun server/main.ts`): runs the command line
// and exits with its code. Kept apart from cli.ts so that tests import the CLI without running it.
import { runCli } from "./cli.ts";

process.exit(await runCli(process.argv.slice(2)));
