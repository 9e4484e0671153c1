// `rivulet` as a user runs it: the broker as a child process (its one listening line, clean exits on SIGTERM and
// SIGINT, the data dir lock, configuration errors) and dump-log and usage in-process.
import { afterAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Broker } from "../../core/engine/broker.ts";
import { encodeRecordBatch } from "../../core/formats/record-batch.ts";
import {
  ApiVersionsApi,
  FrameReader,
  MetadataApi,
  ProduceApi,
  concatFrameParts,
  decodeResponseBody,
  decodeResponseEnvelope,
  encodeRequest,
} from "../../core/formats/protocol/index.ts";
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type CliIo, runCli } from "../../server/cli.ts";
import { type BrokerStartFailure, sourceCommand, startBrokerProcess, started } from "../fault/fixtures/broker-process.ts";
import { createTopic, fetchAll, produce, produceRequest } from "../fault/fixtures/broker-traffic.ts";
import { RawClient } from "../e2e/raw-client.ts";

const root = fs.mkdtempSync(join(tmpdir(), "rivulet-cli-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

function captureIo(): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (line) => stdout.push(line), err: (line) => stderr.push(line), shutdownSignal: () => new Promise(() => undefined) };
}

// One ApiVersions round trip over a raw socket: the broker is really serving the protocol on that port.
async function apiVersions(host: string, port: number): Promise<number> {
  const reader = new FrameReader();
  let resolveFrame!: (body: Uint8Array) => void;
  const frame = new Promise<Uint8Array>((resolve) => (resolveFrame = resolve));
  const socket = await Bun.connect({
    hostname: host,
    port,
    socket: {
      data(_socket, chunk) {
        reader.push(new Uint8Array(chunk));
        const next = reader.next();
        if (next.ok) resolveFrame(next.value);
      },
    },
  });
  socket.write(encodeRequest(ApiVersionsApi, { apiVersion: 0, correlationId: 7, clientId: "cli-test" }, { clientSoftwareName: null, clientSoftwareVersion: null }));
  let timer: ReturnType<typeof setTimeout> | undefined;
  const body = await Promise.race([frame, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error("no ApiVersions answer")), 10_000)))]);
  clearTimeout(timer);
  socket.end();
  const envelope = decodeResponseEnvelope(body);
  if (!envelope.ok) throw new Error(envelope.error);
  expect(envelope.value.correlationId).toBe(7);
  const decoded = decodeResponseBody(ApiVersionsApi, 0, envelope.value.body);
  if (!decoded.ok) throw new Error(decoded.error);
  return decoded.value.apiKeys.length;
}

describe("rivulet broker", () => {
  test("prints one listening line, serves, and exits 0 on SIGTERM after a clean shutdown", async () => {
    const dataDir = join(root, "term");
    const broker = started(await startBrokerProcess(sourceCommand(["--port", "0", "--data-dir", dataDir])));
    expect(broker.line).toBe(`rivulet broker listening on 127.0.0.1:${broker.port} (data: ${dataDir})`);
    expect(broker.port).toBeGreaterThan(0);
    expect(fs.readFileSync(join(dataDir, ".lock"), "utf8").trim()).toBe(String(broker.pid));
    expect(await apiVersions(broker.host, broker.port)).toBeGreaterThan(5);
    expect(await broker.stop("SIGTERM")).toBe(EXIT_OK);
    expect(broker.stderr()).toContain("stopped cleanly");
    // The lock is released by the clean shutdown.
    expect(fs.existsSync(join(dataDir, ".lock"))).toBe(false);
  });

  test("what was acknowledged before SIGTERM is served after a restart", async () => {
    const dataDir = join(root, "restart");
    const first = started(await startBrokerProcess(sourceCommand(["--port", "0", "--data-dir", dataDir, "--set", "num.partitions=2"])));
    const client = await RawClient.connect(first.port);
    await createTopic(client, "kept", -1);
    for (let i = 0; i < 10; i++) {
      const answer = await produce(client, "kept", i % 2, encodeRecordBatch({ records: [{ value: `v${i}`, timestamp: 1000 + i }] }), 1);
      expect(answer.errorCode).toBe(0);
    }
    client.close();
    expect(await first.stop("SIGTERM")).toBe(EXIT_OK);
    const second = started(await startBrokerProcess(sourceCommand(["--port", "0", "--data-dir", dataDir])));
    const reader = await RawClient.connect(second.port);
    try {
      // num.partitions=2 made the topic (numPartitions -1 means the broker's default).
      const decode = (value: Uint8Array | null) => new TextDecoder().decode(value!);
      expect((await fetchAll(reader, "kept", 0)).records.map((r) => decode(r.value))).toEqual(["v0", "v2", "v4", "v6", "v8"]);
      expect((await fetchAll(reader, "kept", 1)).records.map((r) => decode(r.value))).toEqual(["v1", "v3", "v5", "v7", "v9"]);
    } finally {
      reader.close();
      expect(await second.stop("SIGTERM")).toBe(EXIT_OK);
    }
  });

  test("SIGTERM answers the requests already read (acks=all waits for its fsync) before exiting 0", async () => {
    const dataDir = join(root, "in-flight");
    const broker = started(await startBrokerProcess(sourceCommand(["--port", "0", "--data-dir", dataDir])));
    const client = await RawClient.connect(broker.port);
    await createTopic(client, "drain");
    // Ten acks=all requests in one write: the broker reads them in one go, so once the first answer is out all ten
    // are in flight, most of them waiting on a group-commit fsync when SIGTERM arrives.
    const COUNT = 10;
    const frames = Array.from({ length: COUNT }, (_, i) =>
      encodeRequest(ProduceApi, { apiVersion: 0, correlationId: 100 + i, clientId: "drain" }, produceRequest("drain", 0, encodeRecordBatch({ records: [{ value: `r${i}`, timestamp: 1 }] }), -1)),
    );
    client.sendBytes(concatFrameParts(frames));
    const first = await client.nextResponse();
    expect(first.correlationId).toBe(100);
    const exited = broker.stop("SIGTERM");
    for (let i = 1; i < COUNT; i++) {
      const response = await client.nextResponse();
      expect(response.correlationId).toBe(100 + i);
      expect(response.errorCode).toBe(0);
    }
    expect(await exited).toBe(EXIT_OK);
    const again = started(await startBrokerProcess(sourceCommand(["--port", "0", "--data-dir", dataDir])));
    const reader = await RawClient.connect(again.port);
    try {
      expect((await fetchAll(reader, "drain", 0)).records).toHaveLength(COUNT);
    } finally {
      reader.close();
      expect(await again.stop()).toBe(EXIT_OK);
    }
  });

  test("exits 0 on SIGINT", async () => {
    const broker = started(await startBrokerProcess(sourceCommand(["--port=0", `--data-dir=${join(root, "int")}`])));
    expect(await broker.stop("SIGINT")).toBe(EXIT_OK);
    expect(broker.stderr()).toContain("SIGINT received");
  });

  test("refuses a second broker on the same data dir with a clear message", async () => {
    const dataDir = join(root, "locked");
    const first = started(await startBrokerProcess(sourceCommand(["--port", "0", "--data-dir", dataDir])));
    try {
      const second = (await startBrokerProcess(sourceCommand(["--port", "0", "--data-dir", dataDir]))) as BrokerStartFailure;
      expect("pid" in second).toBe(false);
      expect(second.exitCode).toBe(EXIT_FAILURE);
      expect(second.stderr).toContain(`data directory ${dataDir} is in use by process ${first.pid}`);
      expect(second.stdout).toBe("");
      // The first broker still serves.
      expect(await apiVersions(first.host, first.port)).toBeGreaterThan(5);
    } finally {
      expect(await first.stop()).toBe(EXIT_OK);
    }
  });

  test("--config then --set in order, later wins; the listener comes from the config file", async () => {
    const dataDir = join(root, "configured");
    const config = join(root, "server.properties");
    fs.writeFileSync(config, `listeners=PLAINTEXT://127.0.0.1:1\nlog.dirs=${join(root, "ignored")}\nnum.partitions=3\n`);
    const broker = started(
      await startBrokerProcess(sourceCommand(["--set", "log.retention.hours=1", "--config", config, "--port", "0", "--set", `log.dir=${dataDir}`])),
    );
    try {
      expect(broker.line).toBe(`rivulet broker listening on 127.0.0.1:${broker.port} (data: ${dataDir})`);
      expect(fs.existsSync(join(dataDir, ".lock"))).toBe(true);
    } finally {
      expect(await broker.stop()).toBe(EXIT_OK);
    }
  });

  test("broker configs reach the server: auto.create.topics.enable, num.partitions, max.connections", async () => {
    const off = started(
      await startBrokerProcess(sourceCommand(["--port", "0", "--data-dir", join(root, "limits"), "--set", "auto.create.topics.enable=false", "--set", "max.connections=1"])),
    );
    const client = await RawClient.connect(off.port);
    try {
      const metadata = await client.request(MetadataApi, { topics: ["nope"], allowAutoTopicCreation: true });
      expect(metadata.topics[0]?.errorCode).toBe(3); // UNKNOWN_TOPIC_OR_PARTITION: not auto-created
      // max.connections=1: a second connection is closed on accept.
      const second = await RawClient.connect(off.port);
      await second.waitClosed();
    } finally {
      client.close();
      expect(await off.stop()).toBe(EXIT_OK);
    }
    const on = started(await startBrokerProcess(sourceCommand(["--port", "0", "--data-dir", join(root, "auto"), "--set", "num.partitions=3"])));
    const auto = await RawClient.connect(on.port);
    try {
      const metadata = await auto.request(MetadataApi, { topics: ["fresh"], allowAutoTopicCreation: true });
      expect(metadata.topics[0]?.errorCode).toBe(0);
      expect(metadata.topics[0]?.partitions).toHaveLength(3);
    } finally {
      auto.close();
      expect(await on.stop()).toBe(EXIT_OK);
    }
  });

  test("configuration errors exit 2 before anything starts", async () => {
    const cases: [string[], string][] = [
      [["--set", "zookeeper.connect=localhost:2181"], "unknown broker config 'zookeeper.connect'"],
      [["--set", "num.partitions=zero"], "num.partitions"],
      [["--config", join(root, "missing.properties")], "cannot read config file"],
      [["--port", "99999"], "--port"],
      [["--bogus"], "unknown option '--bogus'"],
      [["--set"], "--set needs a value"],
    ];
    for (const [args, message] of cases) {
      const io = captureIo();
      expect(await runCli(["broker", "--data-dir", join(root, "never"), ...args], io)).toBe(EXIT_USAGE);
      expect(io.stderr.join("\n")).toContain(message);
      expect(io.stdout).toEqual([]);
    }
    expect(fs.existsSync(join(root, "never"))).toBe(false);
  });

  test("a port in use is a run-time failure (exit 1) that leaves the data dir unlocked", async () => {
    const holder = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      const io = captureIo();
      const dataDir = join(root, "port-in-use");
      expect(await runCli(["broker", "--port", String(holder.port), "--data-dir", dataDir], io)).toBe(EXIT_FAILURE);
      expect(io.stderr.join("\n")).toContain(`cannot listen on 127.0.0.1:${holder.port}`);
      expect(fs.existsSync(join(dataDir, ".lock"))).toBe(false);
    } finally {
      holder.stop(true);
    }
  });
});

describe("rivulet usage and dump-log", () => {
  test("usage lists the available commands", async () => {
    const io = captureIo();
    expect(await runCli([], io)).toBe(EXIT_USAGE);
    for (const command of ["broker", "topics", "produce", "consume", "perf", "dump-log"]) {
      expect(io.stdout.join("\n")).toMatch(new RegExp(`^  ${command} `, "m"));
    }
    const help = captureIo();
    expect(await runCli(["--help"], help)).toBe(EXIT_OK);
    const unknown = captureIo();
    expect(await runCli(["groups"], unknown)).toBe(EXIT_USAGE);
    expect(unknown.stderr[0]).toBe("rivulet: unknown command 'groups'");
    const brokerHelp = captureIo();
    expect(await runCli(["broker", "--help"], brokerHelp)).toBe(EXIT_OK);
    expect(brokerHelp.stdout.join("\n")).toContain("--data-dir");
    expect(brokerHelp.stdout.join("\n")).toContain("rivulet.sendfile.enable          true");
  });

  test("dump-log prints a segment, with records on request; a missing file exits 1", async () => {
    const dataDir = join(root, "dump");
    const broker = await Broker.open({ dataDir, retentionCheckIntervalMs: 0, cleanerIntervalMs: 0, flushCheckIntervalMs: 0 });
    await broker.createTopic("events");
    const log = broker.partition("events", 0);
    if (!log.ok) throw new Error(log.message);
    log.value.append(encodeRecordBatch({ records: [{ key: "a", value: "one", timestamp: 1000 }, { key: "b", value: "two", timestamp: 1001 }] }));
    await broker.close();
    const segment = join(dataDir, "events-0", "00000000000000000000.log");
    const io = captureIo();
    expect(await runCli(["dump-log", segment, "--print-data-log"], io)).toBe(EXIT_OK);
    expect(io.stdout[0]).toBe(`Dumping ${segment}`);
    expect(io.stdout.some((line) => line.startsWith("baseOffset: 0 lastOffset: 1 count: 2 "))).toBe(true);
    expect(io.stdout).toContain("| offset: 1 CreateTime: 1001 keySize: 1 valueSize: 3 sequence: -1 headerKeys: [] key: b payload: two");
    const kafkaStyle = captureIo();
    expect(await runCli(["dump-log", "--files", segment], kafkaStyle)).toBe(EXIT_OK);
    expect(kafkaStyle.stdout.some((line) => line.startsWith("|"))).toBe(false);
    const index = captureIo();
    expect(await runCli(["dump-log", segment.replace(/\.log$/, ".index"), segment.replace(/\.log$/, ".timeindex")], index)).toBe(EXIT_OK);
    expect(index.stdout.filter((line) => line.startsWith("Summary:"))).toHaveLength(2);
    const missing = captureIo();
    expect(await runCli(["dump-log", join(root, "nope.log")], missing)).toBe(EXIT_FAILURE);
    expect(missing.stderr[0]).toContain("nope.log");
    expect(await runCli(["dump-log"], captureIo())).toBe(EXIT_USAGE);
  });
});
