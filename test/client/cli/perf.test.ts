// `rivulet perf produce|consume|e2e` against a real in-process broker with small counts: the JSON summary's
// fields and counts, the text summary and progress shapes, usage errors, and the throttler's schedule (as
// arithmetic on given clocks, never as a timed assertion).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { EXIT_OK, EXIT_USAGE } from "../../../client/cli/cli-io.ts";
import { CLOCK_SYNC_ROUNDS, E2E_TIMESTAMP_BYTES, E2E_UNTIMED_STAMP, type FromE2eConsumer, type ToE2eConsumer, measureClockOffsetMs, startE2eConsumer } from "../../../client/cli/perf-e2e-consumer.ts";
import { build } from "hdr-histogram-js";
import { DIRECT_COUNT_US_MAX, LATENCY_US_MAX, clockMs, clockUs } from "../../../client/cli/perf-stats.ts";
import { Deliveries, LatencyStats, type PerfSummary, ThroughputThrottler, runPerf, summaryLine } from "../../../client/cli/perf.ts";
import { Rivulet } from "../../../client/index.ts";
import { type InProcessBroker, startBroker, topicName, within } from "../helpers.ts";

const WAIT_MS = 30_000;

let broker: InProcessBroker;

beforeAll(async () => {
  broker = await startBroker();
});

afterAll(async () => {
  await broker.stop();
});

async function perf(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let out = "";
  let err = "";
  const io = { stdin: [], stdout: { write: (chunk: string) => void (out += chunk) }, stderr: { write: (chunk: string) => void (err += chunk) } };
  const code = await within(runPerf(argv, io), WAIT_MS, argv.join(" "));
  return { code, stdout: out, stderr: err };
}

const SUMMARY_KEYS = [
  "command",
  "topic",
  "records",
  "bytes",
  "errors",
  "elapsedMs",
  "recordsPerSec",
  "mbPerSec",
  "latencyAvgMs",
  "latencyMaxMs",
  "latencyP50Ms",
  "latencyP95Ms",
  "latencyP99Ms",
  "latencyP999Ms",
  "timedOut",
];

function checkSummary(summary: PerfSummary, command: string, topic: string, records: number, recordSize: number): void {
  expect(Object.keys(summary).sort()).toEqual([...SUMMARY_KEYS].sort());
  expect(summary.command).toBe(command as PerfSummary["command"]);
  expect(summary.topic).toBe(topic);
  expect(summary.records).toBe(records);
  expect(summary.bytes).toBe(records * recordSize);
  expect(summary.errors).toBe(0);
  expect(summary.timedOut).toBe(false);
  expect(summary.elapsedMs).toBeGreaterThan(0);
  expect(summary.recordsPerSec).toBeGreaterThan(0);
  expect(summary.mbPerSec).toBeGreaterThanOrEqual(0);
  // Percentiles are ordered and lie within (0, max].
  const ordered = [summary.latencyP50Ms, summary.latencyP95Ms, summary.latencyP99Ms, summary.latencyP999Ms, summary.latencyMaxMs];
  expect(summary.latencyP50Ms).toBeGreaterThan(0);
  for (let i = 1; i < ordered.length; i++) expect(ordered[i]!).toBeGreaterThanOrEqual(ordered[i - 1]! * 0.999);
  expect(summary.latencyAvgMs).toBeGreaterThan(0);
  expect(summary.latencyAvgMs).toBeLessThanOrEqual(summary.latencyMaxMs * 1.001);
}

describe("rivulet perf against a broker", () => {
  test("produce --json reports every record acknowledged, then consume reads them all back", async () => {
    const topic = topicName("perf");
    const server = ["--bootstrap-server", broker.address];
    const produced = await perf([
      "produce",
      "--topic",
      topic,
      "--num-records",
      "3000",
      "--record-size",
      "100",
      "--throughput",
      "-1",
      "--producer-props",
      "batch.size=16384",
      "linger.ms=1",
      "acks=1",
      ...server,
      "--json",
    ]);
    expect(produced.stderr).toBe("");
    expect(produced.code).toBe(EXIT_OK);
    checkSummary(JSON.parse(produced.stdout) as PerfSummary, "produce", topic, 3000, 100);

    const consumed = await perf(["consume", "--topic", topic, "--messages", "3000", "--group", "g1", ...server, "--json"]);
    expect(consumed.code).toBe(EXIT_OK);
    expect(consumed.stderr).toContain("consumer groups are not supported yet");
    checkSummary(JSON.parse(consumed.stdout) as PerfSummary, "consume", topic, 3000, 100);

    // What is on the log is exactly what perf produce said it sent.
    const admin = new Rivulet({ brokers: [broker.address] }).admin();
    await admin.connect();
    try {
      const ends = await admin.listOffsets({ topic, at: "latest" });
      expect(ends.reduce((sum, end) => sum + Number(end.offset), 0)).toBe(3000);
    } finally {
      await admin.disconnect();
    }
  });

  test("produce stamps each record with the time it was sent (CreateTime), in order", async () => {
    const topic = topicName("perf-ts");
    const before = Date.now();
    const produced = await perf(["produce", "--topic", topic, "--num-records", "2000", "--record-size", "20", "--throughput", "-1", "--bootstrap-server", broker.address, "--json"]);
    const after = Date.now();
    expect(produced.code).toBe(EXIT_OK);
    const consumer = new Rivulet({ brokers: [broker.address] }).consumer({ "fetch.max.wait.ms": 50 });
    await consumer.connect();
    const timestamps: number[] = [];
    try {
      consumer.assign([{ topic, partition: 0, offset: 0 }]);
      await within(
        (async () => {
          for await (const message of consumer) {
            timestamps.push(message.timestamp);
            if (timestamps.length === 2000) break;
          }
        })(),
        WAIT_MS,
        "read the records back",
      );
    } finally {
      await consumer.disconnect();
    }
    // The send loop's clock (performance.timeOrigin + now) against the wall clock: within a few ms of it.
    expect(timestamps[0]!).toBeGreaterThanOrEqual(before - 5);
    expect(timestamps[1999]!).toBeLessThanOrEqual(after + 5);
    for (let i = 1; i < timestamps.length; i++) expect(timestamps[i]!).toBeGreaterThanOrEqual(timestamps[i - 1]!);
  });

  test("produce with acks=all and a throughput limit, as a text summary", async () => {
    const topic = topicName("perf");
    const result = await perf([
      "produce",
      "--topic",
      topic,
      "--num-records",
      "400",
      "--record-size",
      "1024",
      "--throughput",
      "20000",
      "--producer-props",
      "acks=all",
      "linger.ms=0",
      "--bootstrap-server",
      broker.address,
    ]);
    expect(result.code).toBe(EXIT_OK);
    expect(result.stdout).toMatch(/^400 records sent, [\d.]+ records\/sec \([\d.]+ MB\/sec\), [\d.]+ ms avg latency, [\d.]+ ms max latency, [\d.]+ ms 50th, [\d.]+ ms 95th, [\d.]+ ms 99th, [\d.]+ ms 99\.9th\.\n$/);
  });

  test("produce --sync sends one record at a time and counts each", async () => {
    const topic = topicName("perf");
    const result = await perf(["produce", "--topic", topic, "--num-records", "200", "--record-size", "100", "--throughput", "-1", "--sync", "--producer-props", "linger.ms=0", "acks=1", "--bootstrap-server", broker.address, "--json"]);
    expect(result.code).toBe(EXIT_OK);
    checkSummary(JSON.parse(result.stdout) as PerfSummary, "produce", topic, 200, 100);
  });

  test("produce --warmup-records leaves the first records out of the summary", async () => {
    const topic = topicName("perf");
    const result = await perf(["produce", "--topic", topic, "--num-records", "500", "--warmup-records", "200", "--record-size", "100", "--throughput", "-1", "--sync", "--producer-props", "linger.ms=0", "--bootstrap-server", broker.address, "--json"]);
    expect(result.code).toBe(EXIT_OK);
    checkSummary(JSON.parse(result.stdout) as PerfSummary, "produce", topic, 300, 100);
    // All 500 were sent.
    const admin = new Rivulet({ brokers: [broker.address] }).admin();
    await admin.connect();
    try {
      const ends = await admin.listOffsets({ topic, at: "latest" });
      expect(ends.reduce((sum, end) => sum + Number(end.offset), 0)).toBe(500);
    } finally {
      await admin.disconnect();
    }
  });

  test("consume --warmup-records reads the first records but leaves them out of the summary", async () => {
    const topic = topicName("perf");
    const produced = await perf(["produce", "--topic", topic, "--num-records", "500", "--record-size", "100", "--throughput", "-1", "--sync", "--producer-props", "linger.ms=0", "--bootstrap-server", broker.address, "--json"]);
    expect(produced.code).toBe(EXIT_OK);
    // Polls of at most 70 records: the warm-up ends inside one, whose records after it are counted.
    const result = await perf(["consume", "--topic", topic, "--messages", "500", "--warmup-records", "200", "--consumer-props", "max.poll.records=70", "--bootstrap-server", broker.address, "--json"]);
    expect(result.code).toBe(EXIT_OK);
    checkSummary(JSON.parse(result.stdout) as PerfSummary, "consume", topic, 300, 100);
    const refused = await perf(["consume", "--topic", topic, "--messages", "500", "--warmup-records", "500", "--bootstrap-server", broker.address]);
    expect(refused.code).toBe(EXIT_USAGE);
  });

  test("consume stops at --messages even when the topic holds more", async () => {
    const topic = topicName("perf");
    const server = ["--bootstrap-server", broker.address];
    expect((await perf(["produce", "--topic", topic, "--num-records", "1000", "--record-size", "10", "--throughput", "-1", ...server, "--json"])).code).toBe(EXIT_OK);
    const consumed = await perf(["consume", "--topic", topic, "--messages", "250", ...server, "--json"]);
    expect(consumed.code).toBe(EXIT_OK);
    checkSummary(JSON.parse(consumed.stdout) as PerfSummary, "consume", topic, 250, 10);
  });

  test("consume of an empty topic ends after --idle-timeout-ms with what it read", async () => {
    const topic = topicName("perf");
    const admin = new Rivulet({ brokers: [broker.address] }).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic }] });
    await admin.disconnect();
    const consumed = await perf(["consume", "--topic", topic, "--messages", "10", "--idle-timeout-ms", "200", "--bootstrap-server", broker.address, "--json"]);
    expect(consumed.code).toBe(EXIT_OK);
    const summary = JSON.parse(consumed.stdout) as PerfSummary;
    expect(summary.records).toBe(0);
    expect(summary.latencyP99Ms).toBe(0);
  });

  test("e2e counts every record of this run once, with end-to-end latencies", async () => {
    const topic = topicName("perf");
    const server = ["--bootstrap-server", broker.address];
    // Records already on the topic are not part of the run.
    expect((await perf(["produce", "--topic", topic, "--num-records", "100", "--record-size", "16", "--throughput", "-1", ...server])).code).toBe(EXIT_OK);
    const result = await perf([
      "e2e",
      "--topic",
      topic,
      "--num-records",
      "1500",
      "--record-size",
      "64",
      "--throughput",
      "10000",
      "--producer-props",
      "linger.ms=1",
      "acks=1",
      "--consumer-props",
      "fetch.max.wait.ms=50",
      ...server,
      "--json",
    ]);
    expect(result.code).toBe(EXIT_OK);
    // The consumer ran in its own thread (no fallback note).
    expect(result.stderr).not.toContain("no consumer thread");
    checkSummary(JSON.parse(result.stdout) as PerfSummary, "e2e", topic, 1500, 64);
  });

  test("e2e --warmup-records reads every record but counts only those after the warm-up (default linger.ms 0; --same-thread)", async () => {
    const topic = topicName("perf");
    const result = await perf([
      "e2e",
      "--same-thread",
      "--topic",
      topic,
      "--num-records",
      "1200",
      "--warmup-records",
      "400",
      "--record-size",
      "32",
      "--throughput",
      "-1",
      "--bootstrap-server",
      broker.address,
      "--json",
    ]);
    expect(result.code).toBe(EXIT_OK);
    // Asked for, not fallen back to: no note.
    expect(result.stderr).not.toContain("no consumer thread");
    checkSummary(JSON.parse(result.stdout) as PerfSummary, "e2e", topic, 800, 32);
  });
});

describe("rivulet perf usage", () => {
  test.each([
    [["produce", "--num-records", "1", "--record-size", "1", "--throughput", "-1"], "--topic is required"],
    [["produce", "--topic", "t", "--record-size", "1", "--throughput", "-1"], "--num-records is required"],
    [["produce", "--topic", "t", "--num-records", "1", "--record-size", "1", "--throughput", "0"], "--throughput must be -1"],
    [["produce", "--topic", "t", "--num-records", "1", "--record-size", "1", "--throughput", "-1", "--producer-props"], "--producer-props needs at least one key=value"],
    [["produce", "--topic", "t", "--num-records", "1", "--record-size", "1", "--throughput", "-1", "--producer-props", "acks"], "takes key=value"],
    [["e2e", "--topic", "t", "--num-records", "1", "--record-size", "4", "--throughput", "-1"], "--record-size must be from 8"],
    [["consume", "--topic", "t"], "--messages is required"],
    [["produce", "--topic", "t", "--num-records", "5", "--warmup-records", "5", "--record-size", "1", "--throughput", "-1"], "--warmup-records must be from 0 to 4"],
    [["e2e", "--topic", "t", "--num-records", "5", "--warmup-records", "5", "--record-size", "8", "--throughput", "-1"], "--warmup-records must be from 0 to 4"],
    [["produce", "--topic", "t", "--num-records", "5", "--record-size", "8", "--throughput", "-1", "--same-thread"], "--same-thread applies to perf e2e"],
    [["bogus"], "unknown perf command"],
    [["consume", "--topic", "t", "--messages", "1", "--nope"], "Unknown option"],
  ])("%j is a usage error", async (argv, message) => {
    const result = await perf(argv);
    expect(result.code).toBe(EXIT_USAGE);
    expect(result.stderr).toContain(message);
    expect(result.stdout).toBe("");
  });

  test("a bad producer option is refused before anything is sent", async () => {
    const result = await perf(["produce", "--topic", "t", "--num-records", "1", "--record-size", "1", "--throughput", "-1", "--producer-props", "linger.ms=soon", "--bootstrap-server", "127.0.0.1:1"]);
    expect(result.code).toBe(EXIT_USAGE);
    expect(result.stderr).toContain("linger.ms");
  });
});

describe("ThroughputThrottler", () => {
  test("record i is due at start + i / rate, whatever happened before", () => {
    const throttler = new ThroughputThrottler(1000, 5000);
    expect(throttler.delayMs(0, 5000)).toBe(0);
    expect(throttler.delayMs(10, 5000)).toBe(10);
    expect(throttler.delayMs(10, 5004)).toBe(6);
    // Behind schedule (a late timer): no wait, and no debt carried either way.
    expect(throttler.delayMs(10, 5050)).toBe(0);
    expect(throttler.delayMs(1000, 5999)).toBe(1);
    expect(throttler.delayMs(1_000_000, 5000)).toBe(1_000_000);
  });

  test("-1 never waits", () => {
    const throttler = new ThroughputThrottler(-1, 0);
    expect(throttler.delayMs(1e9, 0)).toBe(0);
  });
});

describe("LatencyStats", () => {
  test("percentiles come from the histogram, counts from the records", () => {
    const stats = new LatencyStats(0);
    for (let us = 1; us <= 1000; us++) stats.record(us, 1, 10);
    stats.record(500, 99, 990);
    expect(stats.count).toBe(1099);
    expect(stats.bytes).toBe(10_990);
    expect(stats.histogram.totalCount).toBe(1001);
    expect(stats.histogram.getValueAtPercentile(50)).toBe(500);
    expect(Math.abs(stats.histogram.getValueAtPercentile(99) - 991)).toBeLessThanOrEqual(1);
    expect(stats.histogram.maxValue).toBe(1000);
    expect(stats.progressLine("sent", 2000)).toBe("1099 records sent, 549.5 records/sec (0.01 MB/sec), 0.500 ms avg latency, 1.000 ms max latency.");
    // A new window starts empty.
    expect(stats.progressLine("sent", 3000)).toBe("0 records sent, 0.0 records/sec (0.00 MB/sec), 0.000 ms avg latency, 0.000 ms max latency.");
  });

  test("latencies counted directly below DIRECT_COUNT_US_MAX read the same as an HDR histogram fed each value", () => {
    const stats = new LatencyStats(0);
    const oracle = build({ lowestDiscernibleValue: 1, highestTrackableValue: LATENCY_US_MAX, numberOfSignificantValueDigits: 3, autoResize: false });
    let seed = 7;
    const values: number[] = [0.2, 1, DIRECT_COUNT_US_MAX - 1, DIRECT_COUNT_US_MAX, DIRECT_COUNT_US_MAX + 1, LATENCY_US_MAX * 2];
    for (let i = 0; i < 20_000; i++) {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      values.push((seed % 1000) * (i % 7 === 0 ? 997 : 3.7));
    }
    for (const [i, us] of values.entries()) {
      stats.record(us, 1, 1);
      oracle.recordValue(us < 1 ? 1 : us > LATENCY_US_MAX ? LATENCY_US_MAX : Math.round(us));
      // Reading the histogram midway adds what was counted so far, once.
      if (i === 1000) expect(stats.histogram.totalCount).toBe(1001);
    }
    const h = stats.histogram;
    expect(h.totalCount).toBe(oracle.totalCount);
    expect(h.maxValue).toBe(oracle.maxValue);
    expect(h.minNonZeroValue).toBe(oracle.minNonZeroValue);
    expect(h.mean).toBeCloseTo(oracle.mean, 6);
    for (const p of [1, 25, 50, 90, 95, 99, 99.9, 99.99, 100]) expect(h.getValueAtPercentile(p)).toBe(oracle.getValueAtPercentile(p));
  });

  test("samples: one latency counted as many equal samples, the same as recording each", () => {
    const many = new LatencyStats(0);
    const each = new LatencyStats(0);
    many.record(250, 8, 800, 8);
    many.record(DIRECT_COUNT_US_MAX + 5, 3, 300, 3);
    for (let i = 0; i < 8; i++) each.record(250, 1, 100);
    for (let i = 0; i < 3; i++) each.record(DIRECT_COUNT_US_MAX + 5, 1, 100);
    expect(many.count).toBe(11);
    expect(many.bytes).toBe(1100);
    expect(many.histogram.totalCount).toBe(each.histogram.totalCount);
    expect(many.histogram.mean).toBeCloseTo(each.histogram.mean, 6);
    for (const p of [50, 72, 73, 99]) expect(many.histogram.getValueAtPercentile(p)).toBe(each.histogram.getValueAtPercentile(p));
    expect(many.progressLine("sent", 1000)).toBe(each.progressLine("sent", 1000));
  });

  test("summaryLine names failures and a timeout", () => {
    const summary: PerfSummary = {
      command: "produce",
      topic: "t",
      records: 5,
      bytes: 50,
      errors: 2,
      elapsedMs: 1,
      recordsPerSec: 5000,
      mbPerSec: 0.05,
      latencyAvgMs: 1,
      latencyMaxMs: 2,
      latencyP50Ms: 1,
      latencyP95Ms: 2,
      latencyP99Ms: 2,
      latencyP999Ms: 2,
      timedOut: true,
    };
    expect(summaryLine(summary)).toEndWith("2 records failed. Stopped by --timeout-ms.");
  });
});

describe("Deliveries", () => {
  test("a pass of acknowledgements is counted when it ends: one sample per record, at its send time's latency", async () => {
    const deliveries = new Deliveries(new LatencyStats(0), 100);
    const sentUs = clockUs();
    const early = deliveries.timed(sentUs - 5000);
    const late = deliveries.timed(sentUs - 1000);
    const metadata = { topic: "t", partition: 0, offset: 0n, timestamp: 0 };
    // One synchronous pass, as a delivered batch's callbacks run: runs of 5, 3 and 2 records by send time.
    for (let i = 0; i < 5; i++) early(null, metadata);
    for (let i = 0; i < 3; i++) late(null, metadata);
    for (let i = 0; i < 2; i++) early(null, metadata);
    deliveries.untimed(null, metadata);
    late(new Error("refused"), null);
    await Promise.resolve();
    const { stats } = deliveries;
    expect(stats.count).toBe(10);
    expect(stats.bytes).toBe(1000);
    expect(stats.histogram.totalCount).toBe(10);
    // The three late records are the fastest 30 %, the seven early ones the rest.
    expect(stats.histogram.getValueAtPercentile(30)).toBeGreaterThanOrEqual(1000);
    expect(stats.histogram.getValueAtPercentile(30)).toBeLessThan(5000);
    expect(stats.histogram.getValueAtPercentile(40)).toBeGreaterThanOrEqual(5000);
    expect(deliveries.errors).toBe(1);
    expect(deliveries.firstError?.message).toBe("refused");
  });
});

describe("the e2e consumer", () => {
  test("without a worker module it runs on this thread: positioned at the end, times stamped records, skips warm-up ones", async () => {
    const topic = topicName("perf");
    const rivulet = new Rivulet({ brokers: [broker.address] });
    const producer = rivulet.producer({ "linger.ms": "0" });
    await producer.connect();
    try {
      // Already on the topic: not part of the run.
      await producer.send({ topic, messages: [{ value: new Uint8Array(E2E_TIMESTAMP_BYTES) }] });
      const reasons: string[] = [];
      let finish: (message: FromE2eConsumer) => void = () => undefined;
      const finished = new Promise<FromE2eConsumer>((resolve) => (finish = resolve));
      const { handle, offsetMs } = await within(
        startE2eConsumer(
          { bootstrap: broker.address, topic, consumerProps: { "fetch.max.wait.ms": "50" }, records: 10, stopAfterMs: WAIT_MS },
          (message) => {
            if (message.type === "done" || message.type === "failed") finish(message);
          },
          (reason) => reasons.push(reason),
          new URL("./no-such-perf-worker.ts", import.meta.url).href,
        ),
        WAIT_MS,
        "start the e2e consumer",
      );
      expect(handle.inWorker).toBe(false);
      expect(reasons).toHaveLength(1);
      // One thread, one clock: the measured offset is at most the round trip of a microtask hop.
      expect(Math.abs(offsetMs)).toBeLessThan(50);
      const startMs = clockMs();
      handle.send({ type: "go", startMs, offsetMs });
      const value = new Uint8Array(16);
      const view = new DataView(value.buffer);
      const messages = [];
      for (let i = 0; i < 10; i++) {
        view.setFloat64(0, i < 3 ? E2E_UNTIMED_STAMP : clockUs(), true);
        messages.push({ value: value.slice() });
      }
      handle.send({ type: "measure", fromMs: clockMs() });
      await producer.send({ topic, messages });
      handle.send({ type: "count", records: 10 });
      const outcome = await within(finished, WAIT_MS, "e2e consumer done");
      if (outcome.type !== "done") throw new Error(`expected done, got ${JSON.stringify(outcome)}`);
      expect(outcome.summary.records).toBe(7);
      expect(outcome.summary.bytes).toBe(7 * 16);
      expect(outcome.summary.timedOut).toBe(false);
      expect(outcome.summary.latencyP50Ms).toBeGreaterThan(0);
      handle.close();
    } finally {
      await producer.disconnect();
    }
  });

  test("the clock offset comes from the round trip with the least time", async () => {
    const consumerAheadMs = 1000;
    let answer: ((pong: { mainMs: number; consumerMs: number }) => void) | null = null;
    let pings = 0;
    const handle = {
      inWorker: true,
      send(message: ToE2eConsumer) {
        if (message.type !== "ping") return;
        pings++;
        // Every other answer is late: those round trips are long and must not be used.
        const late = pings % 2 === 0;
        const reply = (): void => answer?.({ mainMs: message.mainMs, consumerMs: clockMs() + consumerAheadMs });
        if (late) setTimeout(reply, 5);
        else queueMicrotask(reply);
      },
      close() {},
    };
    const offsetMs = await measureClockOffsetMs(handle, () => new Promise((resolve) => (answer = resolve)));
    expect(pings).toBe(CLOCK_SYNC_ROUNDS);
    expect(Math.abs(offsetMs - consumerAheadMs)).toBeLessThan(2);
  });
});
