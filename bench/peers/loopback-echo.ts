// The machine's own latency floor for issue 7's latency targets: 100-byte messages echoed between two Bun processes
// over loopback, timed the way `rivulet perf` times records, so a Rivulet latency can be read against what the
// same two vCPUs do with no broker in between, in the same run. Not part of the test suite.
//
//   npx bun bench/peers/loopback-echo.ts --messages N [--warmup-messages W] [--rate R] [--json]
//
//   without --rate   one message at a time, the next sent when the echo is back (as `rivulet perf produce --sync`)
//   --rate R         R messages/s paced like `rivulet perf` (due message i at start + i / R; a 1 ms timer sends
//                    all due messages in one write), each timed from that write to the arrival of its echo
//
// The echo server is this file run with `serve`, a child process on port 0 (bench/child-broker.ts's
// startChildServer), stopped by its PID. Latencies go into
// the perf tool's HDR histogram (client/cli/perf-stats.ts) and the summary is the perf tool's (`--json`: one line).
// Bounded: at most MESSAGES_MAX messages, and the run gives up after RUN_MS_MAX.
import type { Socket } from "bun";
import { LatencyStats, summarize } from "../../client/cli/perf-stats.ts";
import { startChildServer } from "../child-broker.ts";

const MESSAGE_BYTES = 100;
const MESSAGES_MAX = 10_000_000;
const RUN_MS_MAX = 120_000;
// The server exits by itself after this long, should its parent die without stopping it.
const SERVE_MS_MAX = RUN_MS_MAX + 10_000;
const TICK_MS = 1;
/** Most bytes either end keeps waiting for its socket to take. */
const OUTBOX_BYTES_MAX = 64 * 1024 * 1024;

// Bytes a socket did not take yet, written again on its drain (Bun's write may take part of a buffer).
class Outbox {
  #pending: Uint8Array[] = [];
  #bytes = 0;

  write(socket: Socket<undefined>, bytes: Uint8Array): void {
    if (this.#pending.length > 0) return this.#queue(bytes);
    const written = socket.write(bytes);
    if (written < bytes.length) this.#queue(bytes.subarray(Math.max(written, 0)));
  }

  drain(socket: Socket<undefined>): void {
    while (this.#pending.length > 0) {
      const head = this.#pending[0]!;
      const written = socket.write(head);
      this.#bytes -= Math.max(written, 0);
      if (written < head.length) {
        this.#pending[0] = head.subarray(Math.max(written, 0));
        return;
      }
      this.#pending.shift();
    }
  }

  #queue(bytes: Uint8Array): void {
    this.#bytes += bytes.length;
    if (this.#bytes > OUTBOX_BYTES_MAX) throw new Error(`echo: over ${OUTBOX_BYTES_MAX} bytes waiting to be written`);
    // A copy: Bun's data chunk may be reused once the handler returns.
    this.#pending.push(bytes.slice());
  }
}

function serve(): void {
  const outboxes = new WeakMap<Socket<undefined>, Outbox>();
  const server = Bun.listen<undefined>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open: (socket) => {
        socket.setNoDelay(true);
        outboxes.set(socket, new Outbox());
      },
      data: (socket, chunk) => outboxes.get(socket)!.write(socket, chunk),
      drain: (socket) => outboxes.get(socket)!.drain(socket),
    },
  });
  console.log(`echo listening on 127.0.0.1:${server.port}`);
  setTimeout(() => process.exit(0), SERVE_MS_MAX).unref();
}

function argument(name: string): number | undefined {
  const at = process.argv.indexOf(name);
  if (at < 0) return undefined;
  const value = Number(process.argv[at + 1]);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer`);
  return value;
}

async function measure(): Promise<void> {
  const messages = argument("--messages") ?? 20_000;
  const warmup = argument("--warmup-messages") ?? 0;
  const rate = argument("--rate");
  const total = messages + warmup;
  if (messages < 1 || total > MESSAGES_MAX) throw new Error(`--messages plus --warmup-messages must be in [1, ${MESSAGES_MAX}]`);
  if (rate === 0) throw new Error("--rate must be positive");
  const server = await startChildServer(process.cwd(), [import.meta.path, "serve"]);
  try {
    const stats = new LatencyStats(performance.now());
    // Writes not yet echoed in full: when each went, and how many messages had been sent once it had (an echo is
    // timed from the write that carried its message).
    const writeMs: number[] = [];
    const writeEnds: number[] = [];
    let received = 0;
    let receivedBytes = 0;
    let measuredFromMs = -1;
    let finish!: () => void;
    let fail!: (error: Error) => void;
    const finished = new Promise<void>((done, failed) => {
      finish = done;
      fail = failed;
    });
    const outbox = new Outbox();
    let sent = 0;
    // Sends `count` messages in one write (called only once `socket` below is connected).
    const write = (count: number): void => {
      writeMs.push(performance.now());
      sent += count;
      writeEnds.push(sent);
      outbox.write(socket, new Uint8Array(count * MESSAGE_BYTES));
    };
    const socket: Socket<undefined> = await Bun.connect({
      hostname: "127.0.0.1",
      port: server.port,
      socket: {
        data: (_socket, chunk) => {
          receivedBytes += chunk.length;
          const nowMs = performance.now();
          let carrier = 0;
          while (received < Math.floor(receivedBytes / MESSAGE_BYTES)) {
            while (writeEnds[carrier]! <= received) carrier++;
            if (received === warmup) measuredFromMs = nowMs;
            if (received >= warmup) stats.record((nowMs - writeMs[carrier]!) * 1000, 1, MESSAGE_BYTES);
            received++;
          }
          // Forget writes whose messages are all back (keeps the lists short).
          if (carrier > 0) {
            writeMs.splice(0, carrier);
            writeEnds.splice(0, carrier);
          }
          if (received === total) finish();
          else if (rate === undefined) write(1);
        },
        drain: (socket) => outbox.drain(socket),
        close: () => fail(new Error("echo connection closed")),
        error: (_socket, error) => fail(error),
      },
    });
    socket.setNoDelay(true);
    const startMs = performance.now();
    let timer: ReturnType<typeof setTimeout> | null = null;
    if (rate === undefined) write(1);
    else {
      const tick = (): void => {
        const due = Math.min(total, Math.floor(((performance.now() - startMs) / 1000) * rate));
        if (due > sent) write(due - sent);
        timer = sent < total ? setTimeout(tick, TICK_MS) : null;
      };
      tick();
    }
    const giveUp = setTimeout(() => fail(new Error(`echo run over ${RUN_MS_MAX} ms`)), RUN_MS_MAX);
    try {
      await finished;
    } finally {
      clearTimeout(giveUp);
      if (timer !== null) clearTimeout(timer);
      socket.end();
    }
    const summary = summarize("e2e", rate === undefined ? "loopback-echo" : `loopback-echo-${rate}`, stats, 0, performance.now() - measuredFromMs, false);
    if (process.argv.includes("--json")) console.log(JSON.stringify(summary));
    else
      console.log(
        `${summary.records} echoes of ${MESSAGE_BYTES} B${rate === undefined ? ", one at a time" : ` at ${rate}/s`}: p50 ${summary.latencyP50Ms} ms, p99 ${summary.latencyP99Ms} ms, p99.9 ${summary.latencyP999Ms} ms, max ${summary.latencyMaxMs} ms`,
      );
  } finally {
    await server.stop();
  }
}

if (process.argv[2] === "serve") serve();
else await measure();
