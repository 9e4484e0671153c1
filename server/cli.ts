// The `rivulet` command: one binary, subcommands. `broker` runs a broker until SIGTERM/SIGINT; `dump-log` prints
// segment files. Exit codes: 0 success (and a clean shutdown), 1 a failure at run time (data dir locked, port in
// use, unreadable file), 2 a usage or configuration error (nothing was started).
//
// The broker's one line on stdout is the contract tests and scripts wait for:
//   rivulet broker listening on 127.0.0.1:9192 (data: ./data)
// Everything else it says goes to stderr.
import { Broker, BrokerStartError } from "../core/engine/broker.ts";
import {
  BROKER_DATA_DIR_DEFAULT,
  BROKER_HOST_DEFAULT,
  BROKER_PORT_DEFAULT,
  type BrokerConfig,
  type ConfigEntry,
  FLAG_DATA_DIR,
  FLAG_HOST,
  FLAG_PORT,
  brokerConfigDocs,
  brokerOptionsFromConfig,
  parseSetArgument,
  readConfigFile,
  resolveBrokerConfig,
  serverLimitsFromConfig,
} from "./broker-config.ts";
import { type BrokerServer, startBrokerServer } from "./broker-server.ts";
import { dumpIndexFile, dumpLogSegment } from "./dump-log.ts";
import type { ClientCliIo } from "../client/cli/cli-io.ts";
import { runConsume } from "../client/cli/consume.ts";
import { runPerf } from "../client/cli/perf.ts";
import { runProduce } from "../client/cli/produce.ts";
import { runTopics } from "../client/cli/topics.ts";
import { readFileRangeSender } from "./file-range.ts";
import { sendfileAvailable, sendfileFileRangeSender } from "./sendfile.ts";

/** Exit code of a clean run. */
export const EXIT_OK = 0;
/** Exit code of a failure at run time (locked data dir, port in use, unreadable file). */
export const EXIT_FAILURE = 1;
/** Exit code of a usage or configuration error: nothing was started. */
export const EXIT_USAGE = 2;

/** Where the CLI writes and how it learns it should stop (the process's, or a test's). */
export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  /** Resolves with the signal's name when the broker should shut down. */
  shutdownSignal(): Promise<string>;
}

/** The process's stdout, stderr and SIGTERM/SIGINT. */
export const processIo: CliIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  shutdownSignal: () =>
    new Promise((resolve) => {
      let received = false;
      const onSignal = (signal: string) => {
        if (received) {
          // A second signal while shutting down: the operator wants out now (the next start recovers the tail).
          process.stderr.write(`rivulet broker: ${signal} again, exiting without a clean shutdown\n`);
          process.exit(EXIT_FAILURE);
        }
        received = true;
        resolve(signal);
      };
      process.on("SIGTERM", onSignal);
      process.on("SIGINT", onSignal);
    }),
};

const USAGE = `Usage: rivulet <command> [options]

Commands:
  broker     Run a broker (rivulet broker --help)
  topics     Create, list, describe, alter and delete topics (rivulet topics --help)
  produce    Send lines from stdin as records (rivulet produce --help)
  consume    Print records of a topic (rivulet consume --help)
  perf       Measure produce, consume and end-to-end throughput and latency (rivulet perf --help)
  dump-log   Print the batches of segment files (rivulet dump-log --help)

Docs: docs/cli.md, docs/cli-clients.md`;

const BROKER_USAGE = `Usage: rivulet broker [options]

Options:
  --data-dir DIR     Data directory (default ${BROKER_DATA_DIR_DEFAULT}; Kafka's log.dirs)
  --host HOST        Address to listen on (default ${BROKER_HOST_DEFAULT})
  --port PORT        Port to listen on (default ${BROKER_PORT_DEFAULT}; 0 picks a free port)
  --config FILE      Kafka-style .properties file with broker configs (read first)
  --set KEY=VALUE    A broker config by its Kafka name (repeatable; later wins)
  --help             This text

Stops cleanly on SIGTERM or SIGINT.

Broker configs (Kafka's names; also every log.* topic default, see docs/cli.md):
${brokerConfigDocs()
  .map((doc) => `  ${doc.name.padEnd(32)} ${doc.defaultValue}`)
  .join("\n")}`;

const DUMP_LOG_USAGE = `Usage: rivulet dump-log FILE... [--print-data-log]

Prints every batch of each segment (.log) file like Kafka's DumpLogSegments, and the
entries of .index and .timeindex files.
  --print-data-log   Also print every record (offset, timestamp, key, value, headers)
  --files A,B        Files to dump (Kafka's spelling; positional FILEs work too)`;

/** The process's streams for a client command, and an abort signal raised by SIGINT or SIGTERM. */
function processClientIo(): ClientCliIo & { signal: AbortSignal } {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  return { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, signal: controller.signal };
}

/** Runs the `rivulet` command with `argv` (without the program names) and returns its exit code. */
export async function runCli(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "broker":
      return runBroker(rest, io);
    case "dump-log":
      return runDumpLog(rest, io);
    // The client commands are the SDK's (client/cli/); they get the process's streams, and stop on SIGINT/SIGTERM.
    case "topics":
      return runTopics(rest, processClientIo());
    case "produce":
      return runProduce(rest, processClientIo());
    case "consume":
      return runConsume(rest, processClientIo());
    case "perf":
      return runPerf(rest, processClientIo());
    case undefined:
    case "help":
    case "--help":
    case "-h":
      io.out(USAGE);
      return command === undefined ? EXIT_USAGE : EXIT_OK;
    default:
      io.err(`rivulet: unknown command '${command}'`);
      io.err(USAGE);
      return EXIT_USAGE;
  }
}

interface ParsedFlags {
  values: { flag: string; value: string }[];
  positional: string[];
  switches: Set<string>;
}

// Splits `--flag value`, `--flag=value`, switches and positional arguments; unknown flags are an error.
function parseFlags(args: readonly string[], valued: ReadonlySet<string>, switches: ReadonlySet<string>): ParsedFlags | string {
  const out: ParsedFlags = { values: [], positional: [], switches: new Set() };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith("--") || arg === "--") {
      out.positional.push(arg);
      continue;
    }
    const equals = arg.indexOf("=");
    const flag = equals < 0 ? arg : arg.slice(0, equals);
    if (switches.has(flag) && equals < 0) {
      out.switches.add(flag);
    } else if (valued.has(flag)) {
      const value = equals < 0 ? args[++i] : arg.slice(equals + 1);
      if (value === undefined) return `${flag} needs a value`;
      out.values.push({ flag, value });
    } else {
      return `unknown option '${flag}'`;
    }
  }
  return out;
}

const BROKER_FLAGS: ReadonlySet<string> = new Set(["--data-dir", "--host", "--port", "--config", "--set"]);
const FLAG_KEYS: Readonly<Record<string, string>> = { "--data-dir": FLAG_DATA_DIR, "--host": FLAG_HOST, "--port": FLAG_PORT };

/** Builds the broker's configuration from its command-line arguments: config files first, then flags in order. */
export function brokerConfigFromArgs(args: readonly string[]): { ok: true; value: BrokerConfig } | { ok: false; message: string; help?: boolean } {
  const parsed = parseFlags(args, BROKER_FLAGS, new Set(["--help"]));
  if (typeof parsed === "string") return { ok: false, message: parsed };
  if (parsed.switches.has("--help")) return { ok: false, message: "", help: true };
  if (parsed.positional.length > 0) return { ok: false, message: `unexpected argument '${parsed.positional[0]}'` };
  const entries: ConfigEntry[] = [];
  for (const { flag, value } of parsed.values) {
    if (flag !== "--config") continue;
    const file = readConfigFile(value);
    if (!file.ok) return { ok: false, message: file.message };
    entries.push(...file.value);
  }
  for (const { flag, value } of parsed.values) {
    if (flag === "--config") continue;
    if (flag === "--set") {
      const entry = parseSetArgument(value);
      if (!entry.ok) return { ok: false, message: entry.message };
      entries.push(entry.value);
    } else {
      entries.push({ key: FLAG_KEYS[flag]!, value, source: flag });
    }
  }
  const config = resolveBrokerConfig(entries);
  return config.ok ? config : { ok: false, message: config.message };
}

async function runBroker(args: readonly string[], io: CliIo): Promise<number> {
  const configured = brokerConfigFromArgs(args);
  if (!configured.ok) {
    if (configured.help === true) {
      io.out(BROKER_USAGE);
      return EXIT_OK;
    }
    io.err(`rivulet broker: ${configured.message}`);
    return EXIT_USAGE;
  }
  const config = configured.value;
  // Installed before anything starts, so a signal during start-up still leads to a clean stop.
  const shutdown = io.shutdownSignal();

  let broker: Broker;
  try {
    broker = await Broker.open(brokerOptionsFromConfig(config));
  } catch (error) {
    if (error instanceof BrokerStartError) {
      io.err(`rivulet broker: cannot start: ${error.message}`);
      return error.code === "INVALID_CONFIG" ? EXIT_USAGE : EXIT_FAILURE;
    }
    throw error;
  }
  for (const name of broker.listTopics()) {
    const topic = broker.describeTopic(name);
    if (!topic.ok) continue;
    for (const partition of topic.value.partitions) {
      if (partition.state === "offline") io.err(`rivulet broker: partition ${name}-${partition.partition} is OFFLINE: ${partition.error}: ${partition.detail}`);
    }
  }

  let server: BrokerServer;
  try {
    server = await startBrokerServer(broker, {
      host: config.host,
      port: config.port,
      limits: serverLimitsFromConfig(config),
      autoCreateTopicsEnable: config.autoCreateTopicsEnable,
      numPartitions: config.numPartitions,
      fileRangeSender: config.sendfileEnable ? sendfileFileRangeSender : readFileRangeSender,
      ...(config.advertised === null ? {} : { advertised: config.advertised }),
    });
  } catch (error) {
    await broker.close();
    io.err(`rivulet broker: cannot listen on ${config.host}:${config.port}: ${(error as Error).message}`);
    return EXIT_FAILURE;
  }
  io.out(`rivulet broker listening on ${formatAddress(server.host, server.port)} (data: ${config.dataDir})`);
  if (config.explicitKeys.length > 0) io.err(`rivulet broker: configured: ${config.explicitKeys.join(", ")}`);
  const sender = !config.sendfileEnable ? "read+write" : sendfileAvailable() ? "sendfile" : "read+write (sendfile unavailable here)";
  io.err(`rivulet broker: fetches send file ranges with ${sender}`);

  const signal = await shutdown;
  io.err(`rivulet broker: ${signal} received, shutting down`);
  // Stop accepting and answer what was read, then sync and checkpoint every log and release the lock.
  try {
    await server.close();
  } finally {
    // Even when the server fails to close, the logs are synced and the lock released.
    try {
      await broker.close();
    } catch (error) {
      io.err(`rivulet broker: shutdown failed: ${(error as Error).message}; the next start recovers the log tails`);
      return EXIT_FAILURE;
    }
  }
  io.err("rivulet broker: stopped cleanly");
  return EXIT_OK;
}

function formatAddress(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

async function runDumpLog(args: readonly string[], io: CliIo): Promise<number> {
  const parsed = parseFlags(args, new Set(["--files"]), new Set(["--print-data-log", "--help"]));
  if (typeof parsed === "string") {
    io.err(`rivulet dump-log: ${parsed}`);
    return EXIT_USAGE;
  }
  if (parsed.switches.has("--help")) {
    io.out(DUMP_LOG_USAGE);
    return EXIT_OK;
  }
  const files = [...parsed.positional];
  for (const { value } of parsed.values) files.push(...value.split(",").filter((file) => file !== ""));
  if (files.length === 0) {
    io.err("rivulet dump-log: no file given");
    io.err(DUMP_LOG_USAGE);
    return EXIT_USAGE;
  }
  let code = EXIT_OK;
  for (const file of files) {
    const result =
      file.endsWith(".index") || file.endsWith(".timeindex")
        ? dumpIndexFile(file, io.out)
        : dumpLogSegment(file, { printDataLog: parsed.switches.has("--print-data-log") }, io.out);
    if (!result.ok) {
      io.err(`rivulet dump-log: ${result.message ?? result.error}`);
      code = EXIT_FAILURE;
    }
  }
  return code;
}
