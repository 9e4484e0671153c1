// What the command-line clients (topics.ts, produce.ts, consume.ts) share: their streams, exit codes, argument
// parsing with node:util's parseArgs (strict: an unknown flag is a usage error, not ignored), the
// --bootstrap-server flag, and turning SDK errors into one line on stderr.
import { parseArgs } from "node:util";
import { Rivulet } from "../index.ts";
import { RivuletConfigError, RivuletError } from "../errors.ts";

/** Exit code of a clean run. */
export const EXIT_OK = 0;
/** Exit code of a failure at run time (the broker refused, a connection failed, a timeout passed). */
export const EXIT_FAILURE = 1;
/** Exit code of a usage error: nothing was sent. */
export const EXIT_USAGE = 2;
/** Longest stdin line the clients accept (a bound on what one unterminated line may buffer). */
export const STDIN_LINE_CHARS_MAX = 16 * 1024 * 1024;
/** The broker the clients talk to when --bootstrap-server is not given. */
export const BOOTSTRAP_SERVER_DEFAULT = "127.0.0.1:9192";

/** A stream the clients write to (process.stdout and process.stderr fit). */
export interface CliOutput {
  write(chunk: string): boolean | void;
  /** Optional backpressure: when write() returned false, the clients wait for "drain" before writing more. */
  once?(event: "drain" | "close" | "error", listener: () => void): unknown;
  /** Optional: the clients listen for "error" while they run, so a closed pipe ends them instead of crashing. */
  on?(event: "error", listener: (error: Error) => void): unknown;
  off?(event: "error" | "drain" | "close", listener: (error: Error) => void): unknown;
}

/** The reader of the output went away (a closed pipe, as `rivulet consume ... | head`): stop quietly. */
export class OutputClosedError extends Error {
  override name = "OutputClosedError";
}

/** The streams of a command-line client: `process.stdin`, `process.stdout`, `process.stderr`, or a test's. */
export interface ClientCliIo {
  stdin: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>;
  stdout: CliOutput;
  stderr: CliOutput;
}

/** A usage error: printed with the command's usage, exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Options of parseArgs for one command: flag name -> string / boolean, repeatable or not. */
export type FlagSpec = Record<string, { type: "string" | "boolean"; multiple?: boolean; short?: string }>;

/** Parses `argv` against `flags` (plus --bootstrap-server and --help); throws UsageError on anything unknown. */
export function parseFlags<F extends FlagSpec>(
  argv: readonly string[],
  flags: F,
): { values: { [K in keyof F]?: F[K]["multiple"] extends true ? (F[K]["type"] extends "string" ? string[] : boolean[]) : F[K]["type"] extends "string" ? string : boolean } & { "bootstrap-server"?: string; help?: boolean }; positionals: string[] } {
  try {
    const parsed = parseArgs({
      args: [...argv],
      options: { ...flags, "bootstrap-server": { type: "string" }, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: true,
    });
    return parsed as never;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** A strictly parsed non-negative integer flag value (or undefined when absent). */
export function integerFlag(name: string, value: string | undefined, min = 0, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(value.trim())) throw new UsageError(`--${name} must be an integer, got ${JSON.stringify(value)}`);
  const number = Number(value.trim());
  if (!Number.isSafeInteger(number) || number < min || number > max) throw new UsageError(`--${name} must be from ${min} to ${max}, got ${value}`);
  return number;
}

/** Parses repeated `k=v` flag values into an object (a value may contain "="; a key may not be empty or repeat). */
export function keyValues(name: string, values: readonly string[] | undefined): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  for (const entry of values ?? []) {
    const at = entry.indexOf("=");
    if (at <= 0) throw new UsageError(`--${name} takes key=value, got ${JSON.stringify(entry)}`);
    const key = entry.slice(0, at);
    if (key in out) throw new UsageError(`--${name} ${key} is given twice`);
    out[key] = entry.slice(at + 1);
  }
  return out;
}

/** A Rivulet client for --bootstrap-server (comma-separated host:port list). */
export function clientFor(bootstrapServer: string | undefined, clientId: string): Rivulet {
  const brokers = (bootstrapServer ?? BOOTSTRAP_SERVER_DEFAULT).split(",").map((entry) => entry.trim()).filter((entry) => entry !== "");
  try {
    // Short retries: a command-line user wants to hear about a missing broker in seconds, not minutes.
    return new Rivulet({ brokers, clientId, connectionTimeout: 5_000, retry: { retries: 3 } });
  } catch (error) {
    if (error instanceof RivuletConfigError) throw new UsageError(`--bootstrap-server: ${error.message}`);
    throw error;
  }
}

/** Writes `text` and waits for the stream to drain when it asks to (bounded memory for large outputs). */
export async function write(stream: CliOutput, text: string): Promise<void> {
  let accepted: boolean | void;
  try {
    accepted = stream.write(text);
  } catch (error) {
    if (isClosedPipe(error)) throw new OutputClosedError("output closed");
    throw error;
  }
  if (accepted === false && stream.once !== undefined) {
    // A pipe whose reader left never drains: "close" or "error" (EPIPE) ends the wait too.
    let closed = false;
    await new Promise<void>((resolve) => {
      const onDrain = (): void => {
        stream.off?.("close", onClose);
        stream.off?.("error", onClose);
        resolve();
      };
      const onClose = (): void => {
        closed = true;
        stream.off?.("drain", onDrain);
        stream.off?.("close", onClose);
        stream.off?.("error", onClose);
        resolve();
      };
      stream.once!("drain", onDrain);
      stream.once!("close", onClose);
      stream.once!("error", onClose);
    });
    if (closed) throw new OutputClosedError("output closed");
  }
}

/** True for the errors a write to a pipe whose reader is gone raises. */
export function isClosedPipe(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "EPIPE" || code === "ERR_STREAM_DESTROYED" || code === "ERR_STREAM_WRITE_AFTER_END";
}

/** Calls `onClosed` when `stream` reports a closed pipe while the command runs; returns the unsubscribe. */
export function watchOutput(stream: CliOutput, onClosed: () => void): () => void {
  if (stream.on === undefined || stream.off === undefined) return () => undefined;
  const listener = (error: Error): void => {
    if (isClosedPipe(error)) onClosed();
  };
  stream.on("error", listener);
  return () => stream.off!("error", listener);
}

/** Runs a command body: usage errors print usage and exit 2, SDK errors print one line and exit 1. */
export async function runCommand(command: string, usage: string, io: ClientCliIo, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof UsageError || error instanceof RivuletConfigError) {
      await write(io.stderr, `rivulet ${command}: ${error.message}\n${usage}\n`);
      return EXIT_USAGE;
    }
    if (error instanceof RivuletError) {
      await write(io.stderr, `rivulet ${command}: ${error.name} (code ${error.code}${error.retriable ? ", retriable" : ""}): ${error.message}\n`);
      return EXIT_FAILURE;
    }
    await write(io.stderr, `rivulet ${command}: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT_FAILURE;
  }
}

/** Reads `stdin` as lines (without their "\n" or "\r\n"), one at a time; throws past STDIN_LINE_CHARS_MAX. */
export async function* lines(stdin: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>): AsyncGenerator<string, void, undefined> {
  const decoder = new TextDecoder();
  let rest = "";
  for await (const chunk of stdin) {
    rest += typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true });
    let at = rest.indexOf("\n");
    let start = 0;
    while (at >= 0) {
      const line = rest.slice(start, at);
      yield line.endsWith("\r") ? line.slice(0, -1) : line;
      start = at + 1;
      at = rest.indexOf("\n", start);
    }
    rest = rest.slice(start);
    if (rest.length > STDIN_LINE_CHARS_MAX) throw new Error(`a line of stdin is longer than ${STDIN_LINE_CHARS_MAX} characters`);
  }
  rest += decoder.decode();
  if (rest !== "") yield rest.endsWith("\r") ? rest.slice(0, -1) : rest;
}
