// Should the SDK have a Bun-only transport? The SDK writes through node:net so one code base serves Bun and Node;
// this measures what Bun.connect (the baseline) would gain on Bun: 64 MiB streamed in 64 KiB writes to a sink
// on 127.0.0.1, both honouring backpressure (node:net's "drain"; Bun.connect's partial writes + drain).
// Run: `npx bun bench/client-socket.bench.ts`. Prints mitata's table, then node:net's ratio against Bun.connect
// (baseline time / row time: below 1x node:net is slower) from the medians and minimums of this same run.
import { bench, run } from "mitata";
import { createConnection, type Socket as NodeSocket } from "node:net";
import type { Socket as BunSocket } from "bun";

const TOTAL_BYTES = 64 * 1024 * 1024;
const WRITE_BYTES = 64 * 1024;
const chunk = new Uint8Array(WRITE_BYTES).fill(7);

let received = 0;
let target = 0;
let done: () => void = () => {};
const sink = Bun.listen({
  hostname: "127.0.0.1",
  port: 0,
  socket: {
    data(_socket, data) {
      received += data.byteLength;
      if (received >= target) done();
    },
  },
});

function expect(bytes: number): Promise<void> {
  target = received + bytes;
  return new Promise((resolve) => (done = resolve));
}

const nodeSocket: NodeSocket = createConnection({ host: "127.0.0.1", port: sink.port });
await new Promise((resolve) => nodeSocket.once("connect", resolve));
nodeSocket.setNoDelay(true);

let onDrain: () => void = () => {};
const bunSocket: BunSocket<undefined> = await Bun.connect<undefined>({
  hostname: "127.0.0.1",
  port: sink.port,
  socket: { data() {}, drain: () => onDrain() },
});
bunSocket.setNoDelay(true);

bench("Bun.connect", async () => {
  const arrived = expect(TOTAL_BYTES);
  for (let sent = 0; sent < TOTAL_BYTES; sent += WRITE_BYTES) {
    let rest = chunk;
    for (;;) {
      const written = bunSocket.write(rest);
      if (written >= rest.byteLength) break;
      rest = rest.subarray(Math.max(written, 0));
      await new Promise<void>((resolve) => (onDrain = resolve));
    }
  }
  await arrived;
});

bench("node:net", async () => {
  const arrived = expect(TOTAL_BYTES);
  for (let sent = 0; sent < TOTAL_BYTES; sent += WRITE_BYTES) {
    if (!nodeSocket.write(chunk)) await new Promise((resolve) => nodeSocket.once("drain", resolve));
  }
  await arrived;
});

const result = await run();
const stats = new Map<string, { p50: number; min: number }>();
for (const trial of result.benchmarks) for (const r of trial.runs) if (r.stats) stats.set(r.name, { p50: r.stats.p50, min: r.stats.min });
const base = stats.get("Bun.connect");
const row = stats.get("node:net");
if (base !== undefined && row !== undefined) {
  console.log("\n| case | median ms | vs Bun.connect (median) | min ms | vs Bun.connect (min) |");
  console.log("|---|---|---|---|---|");
  for (const [name, s] of [["Bun.connect", base], ["node:net", row]] as const) {
    console.log(`| ${name} | ${(s.p50 / 1e6).toFixed(1)} | ${(base.p50 / s.p50).toFixed(2)}x | ${(s.min / 1e6).toFixed(1)} | ${(base.min / s.min).toFixed(2)}x |`);
  }
}
nodeSocket.destroy();
bunSocket.end();
sink.stop(true);
