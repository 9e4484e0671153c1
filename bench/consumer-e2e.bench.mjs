// Consumer throughput end to end (docs/benchmarks/consumer.md): a broker child process holds a topic of 100-byte
// or 1 KiB records (4 partitions, 64 KiB batches, no compression); each pass reads the whole topic from offset 0
// (an SDK pass includes making its consumer: connect, ApiVersions, metadata).
// Runs on Bun (the SDK's TypeScript sources) and on Node (the built dist), so the same passes measure both:
//
//   raw fetch    baseline: node:net + msgpackr, a Fetch loop with one request at a time (the consumer also has
//                one in flight), frames walked for the next offset only; no CRC, no record decoding. The ceiling.
//   sdk batches  consumer.batches(): every batch CRC-checked and every record decoded into a Message.
//   sdk for-await  for await (const message of consumer): the same, one message at a time.
//   sdk run      consumer.run({ eachMessage }).
//
// Passes are interleaved (raw, batches, for-await, run, raw, ...) so load changes on this shared machine hit all
// of them alike; the report gives the median of REPEATS passes and the ratio to the raw baseline.
//
// Run: `node scripts/build-wasm.mjs && npx bun bench/consumer-e2e.bench.mjs` (Bun) and
//      `node scripts/build-client.mjs && node bench/consumer-e2e.bench.mjs` (Node).
// Optional arguments: record sizes (default "100 1024"), e.g. `... bench/consumer-e2e.bench.mjs 100`.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Packr, Unpackr } from "msgpackr";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const isBun = process.versions.bun !== undefined;
const sdk = await import(isBun ? "../client/index.ts" : "../dist/client/index.js");
const runtime = isBun ? `bun ${process.versions.bun} (sources)` : `node ${process.versions.node} (dist)`;

// Value bytes per record size (CONSUMER_BENCH_MIB overrides, for a quick check).
const TOPIC_BYTES = Number(process.env.CONSUMER_BENCH_MIB ?? 32) * 1024 * 1024;
const PARTITIONS = 4;
const REPEATS = 5;
const SIZES = process.argv.slice(2).length > 0 ? process.argv.slice(2).map(Number) : [100, 1024];
const FETCH_MAX_BYTES = 52428800;
const PARTITION_MAX_BYTES = 1048576;
const FETCH_API_KEY = 1;
const LISTENING = /listening on 127\.0\.0\.1:(\d+)/;

async function startBroker() {
  const dataDir = mkdtempSync(join(tmpdir(), "rivulet-consumer-bench-"));
  const child = spawn(join(ROOT, "node_modules", ".bin", "bun"), ["server/main.ts", "broker", "--port", "0", "--data-dir", dataDir], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const port = await new Promise((resolve, reject) => {
    let output = "";
    const timer = setTimeout(() => reject(new Error(`broker did not start: ${output}`)), 20_000);
    const onData = (chunk) => {
      output += chunk.toString();
      const match = LISTENING.exec(output);
      if (match === null) return;
      clearTimeout(timer);
      child.stdout.resume();
      child.stderr.resume();
      resolve(Number(match[1]));
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
  });
  return {
    address: `127.0.0.1:${port}`,
    port,
    async stop() {
      child.kill("SIGTERM");
      await exited;
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

// Loads `count` records of `size` value bytes (keys "k<i>", one header) with the SDK producer; returns log ends.
async function load(rivulet, topic, size, count) {
  const admin = rivulet.admin();
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }] });
  const producer = rivulet.producer({ acks: 1, "linger.ms": 5, "batch.size": 65536 });
  await producer.connect();
  const value = new Uint8Array(size).fill(120);
  for (let i = 0; i < count; i++) {
    const waiting = producer.produce(topic, { key: `k${i}`, value, headers: { h: "1" } });
    if (waiting !== undefined) await waiting;
  }
  await producer.flush();
  await producer.disconnect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  return ends.map((entry) => Number(entry.high));
}

// The baseline: one connection, one Fetch at a time for every partition, answers unpacked by msgpackr, batch
// frames walked (length and last offset) to know where each partition's next fetch starts.
async function rawFetchPass(port, topic, ends) {
  const socket = createConnection({ host: "127.0.0.1", port });
  await new Promise((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  socket.setNoDelay(true);
  const packr = new Packr({ useRecords: false });
  const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: false, int64AsType: "auto", copyBuffers: false });
  const chunks = [];
  let buffered = 0;
  let waiter = null;
  socket.on("data", (chunk) => {
    chunks.push(chunk);
    buffered += chunk.length;
    waiter?.();
  });
  // Chunks are joined once per frame, when all of it is there (joining on every chunk would be quadratic).
  let frameLength = -1;
  const readFrame = async () => {
    for (;;) {
      if (frameLength < 0 && buffered >= 4) {
        const head = chunks[0].length >= 4 ? chunks[0] : Buffer.concat(chunks);
        frameLength = head.readUInt32BE(0);
      }
      if (frameLength >= 0 && buffered >= 4 + frameLength) {
        const all = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
        const frame = all.subarray(4, 4 + frameLength);
        const rest = all.subarray(4 + frameLength);
        chunks.length = 0;
        if (rest.length > 0) chunks.push(rest);
        buffered = rest.length;
        frameLength = -1;
        return frame;
      }
      await new Promise((resolve) => (waiter = resolve));
      waiter = null;
    }
  };
  const positions = new Array(PARTITIONS).fill(0);
  let bytes = 0;
  let correlationId = 0;
  while (positions.some((position, p) => position < ends[p])) {
    const body = [500, 1, FETCH_MAX_BYTES, 0, [[topic, positions.map((fetchOffset, index) => [index, fetchOffset, PARTITION_MAX_BYTES])]]];
    const payload = packr.pack([FETCH_API_KEY, 0, correlationId++, "bench", body]);
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32BE(payload.length);
    socket.write(Buffer.concat([prefix, payload]));
    const [, errorCode, response] = unpackr.unpack(await readFrame());
    if (errorCode !== 0) throw new Error(`fetch error ${errorCode}`);
    for (const [, partitions] of response[2]) {
      for (const [index, code, , , , , records] of partitions) {
        if (code !== 0) throw new Error(`partition error ${code}`);
        const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
        let at = 0;
        while (at + 61 <= records.length) {
          const size = 12 + view.getInt32(at + 8);
          if (at + size > records.length) break;
          positions[index] = Number(view.getBigInt64(at)) + view.getInt32(at + 23) + 1;
          bytes += size;
          at += size;
        }
      }
    }
  }
  socket.destroy();
  return bytes;
}

async function sdkPass(rivulet, topic, total, style) {
  const consumer = rivulet.consumer({ "fetch.max.wait.ms": 500 });
  await consumer.connect();
  consumer.assign(Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition, offset: 0 })));
  let count = 0;
  let valueBytes = 0;
  if (style === "batches") {
    for await (const batch of consumer.batches()) {
      for (const message of batch.messages) valueBytes += message.value.length;
      count += batch.messages.length;
      if (count >= total) break;
    }
  } else if (style === "for-await") {
    for await (const message of consumer) {
      valueBytes += message.value.length;
      if (++count >= total) break;
    }
  } else {
    await new Promise((resolve) => {
      void consumer.run({
        eachMessage: ({ message }) => {
          valueBytes += message.value.length;
          if (++count === total) resolve();
        },
      });
    });
    await consumer.stop();
  }
  await consumer.disconnect();
  if (count < total || valueBytes === 0) throw new Error(`read ${count} of ${total}`);
  return count;
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const broker = await startBroker();
try {
  const rivulet = new sdk.Rivulet({ brokers: [broker.address], clientId: "consumer-bench" });
  console.log(`consumer end-to-end throughput, ${runtime}, ${PARTITIONS} partitions, ${TOPIC_BYTES / 1048576} MiB of values per size, median of ${REPEATS}`);
  for (const size of SIZES) {
    const count = Math.floor(TOPIC_BYTES / size);
    const topic = `bench-${size}-${Date.now().toString(36)}`;
    const ends = await load(rivulet, topic, size, count);
    const total = ends.reduce((sum, end) => sum + end, 0);
    const times = { raw: [], batches: [], "for-await": [], run: [] };
    let storedBytes = 0;
    for (let repeat = 0; repeat < REPEATS; repeat++) {
      let start = performance.now();
      storedBytes = await rawFetchPass(broker.port, topic, ends);
      times.raw.push(performance.now() - start);
      for (const style of ["batches", "for-await", "run"]) {
        start = performance.now();
        await sdkPass(rivulet, topic, total, style);
        times[style].push(performance.now() - start);
      }
    }
    const rawMs = median(times.raw);
    console.log(`\n${size}-byte values: ${total} records, ${(storedBytes / 1048576).toFixed(1)} MiB stored`);
    for (const [name, list] of Object.entries(times)) {
      const ms = median(list);
      const recordsPerSecond = total / (ms / 1000);
      const megabytesPerSecond = storedBytes / 1e6 / (ms / 1000);
      console.log(
        `  ${name.padEnd(10)} ${ms.toFixed(0).padStart(6)} ms  ${(recordsPerSecond / 1e6).toFixed(2).padStart(6)} M records/s  ${megabytesPerSecond.toFixed(0).padStart(5)} MB/s  ${(rawMs / ms).toFixed(2)}x of raw fetch`,
      );
    }
  }
} finally {
  await broker.stop();
}
