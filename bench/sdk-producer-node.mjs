// The producer end-to-end throughput of bench/producer.bench.ts, run on Node against the built SDK
// (scripts/build-client.mjs -> dist/client/index.js, or the bundle named by RIVULET_CLIENT): a broker child
// process (the local bun binary running server/main.ts), one partition per run, 100 B and 1 KiB values, acks=1 and
// acks=all, producer.produce() in a loop + flush() and producer.send() with 1,000 messages per call, 8 in flight.
// Rounds run in turn; the best and the median round are printed. Compare with the Bun figures of a run made
// right before or after (docs/benchmarks/producer.md).
//
// Run: `node bench/sdk-producer-node.mjs [--rounds 3]` from the repository root.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const roundsAt = process.argv.indexOf("--rounds");
const ROUNDS = roundsAt > 0 ? Number(process.argv[roundsAt + 1]) : 3;
const WORKLOADS = [
  { valueBytes: 100, records: 200_000 },
  { valueBytes: 1024, records: 50_000 },
];
const SEND_MESSAGES_PER_CALL = 1000;
const SEND_CALLS_IN_FLIGHT = 8;
const START_TIMEOUT_MS = 20_000;

const { Rivulet } = await import(pathToFileURL(resolve(process.env.RIVULET_CLIENT ?? "dist/client/index.js")).href);

function valueOf(bytes) {
  const value = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) value[i] = (31 + i * 7) & 0xff;
  return value;
}

function startBroker(dataDir) {
  const child = spawn(join("node_modules", ".bin", "bun"), ["server/main.ts", "broker", "--port", "0", "--data-dir", dataDir], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolvePort, reject) => {
    let text = "";
    const timer = setTimeout(() => reject(new Error(`broker did not start: ${text}`)), START_TIMEOUT_MS);
    child.stdout.on("data", (chunk) => {
      text += chunk.toString();
      const match = /listening on 127\.0\.0\.1:(\d+)/.exec(text);
      if (match !== null) {
        clearTimeout(timer);
        resolvePort({ port: Number(match[1]), child });
      }
    });
    child.once("exit", (code) => reject(new Error(`broker exited with ${code}: ${text}`)));
  });
}

async function runProduce(producer, topic, value, records) {
  const message = { value };
  for (let i = 0; i < records; i++) {
    const waiting = producer.produce(topic, message);
    if (waiting !== undefined) await waiting;
  }
  await producer.flush();
}

async function runSend(producer, topic, value, records) {
  const messages = Array.from({ length: SEND_MESSAGES_PER_CALL }, () => ({ value }));
  const inFlight = new Set();
  for (let sent = 0; sent < records; sent += SEND_MESSAGES_PER_CALL) {
    const call = producer.send({ topic, messages }).finally(() => inFlight.delete(call));
    inFlight.add(call);
    if (inFlight.size >= SEND_CALLS_IN_FLIGHT) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const dataDir = mkdtempSync(join(tmpdir(), "rivulet-producer-node-bench-"));
const { port, child } = await startBroker(dataDir);
const rivulet = new Rivulet({ brokers: [`127.0.0.1:${port}`], clientId: "bench-node" });
try {
  console.log(`e2e on Node ${process.version}: broker child process on 127.0.0.1:${port}, ${ROUNDS} rounds`);
  for (const { valueBytes, records } of WORKLOADS) {
    const value = valueOf(valueBytes);
    for (const acks of [1, -1]) {
      const results = { produce: [], send: [] };
      for (let round = 0; round < ROUNDS; round++) {
        for (const kind of ["produce", "send"]) {
          const topic = `node-${valueBytes}-${acks}-${round}-${kind}`;
          const producer = rivulet.producer({ acks });
          await producer.connect();
          await producer.send({ topic, messages: [{ value }] }); // auto-creates the topic, loads metadata
          const started = performance.now();
          if (kind === "produce") await runProduce(producer, topic, value, records);
          else await runSend(producer, topic, value, records);
          results[kind].push(records / ((performance.now() - started) / 1000));
          await producer.disconnect();
        }
      }
      console.log(`\n${valueBytes} B values, acks=${acks === -1 ? "all" : acks} (${records} records)`);
      for (const [kind, rates] of Object.entries(results)) {
        const best = Math.max(...rates);
        console.log(`  ${kind.padEnd(8)} best ${(best / 1e3).toFixed(0).padStart(6)} k rec/s ${((best * valueBytes) / 1e6).toFixed(1).padStart(7)} MB/s  median ${(median(rates) / 1e3).toFixed(0).padStart(6)} k`);
      }
    }
  }
} finally {
  child.kill("SIGTERM");
  await new Promise((done) => child.once("exit", done));
  rmSync(dataDir, { recursive: true, force: true });
}
