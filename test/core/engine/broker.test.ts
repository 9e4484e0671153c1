import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, unlinkSync, writeFileSync, openSync, readSync, writeSync, closeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Broker, BrokerStartError } from "../../../core/engine/broker.ts";
import { FakeClock } from "../../../core/engine/clock.ts";
import type { PartitionLog } from "../../../core/engine/partition-log.ts";
import { TOPIC_METADATA_FILE, writeTopicMetadata } from "../../../core/engine/topic-metadata.ts";
import { deleteDirName } from "../../../core/engine/topic-registry.ts";
import { buildTestBatch, readLogRecords } from "./compaction-test-batches.ts";

let dataDir = "";
let clock: FakeClock;
const open: Broker[] = [];

async function start(defaults?: Record<string, string | number>): Promise<Broker> {
  const broker = await Broker.open({
    dataDir,
    clock,
    ...(defaults === undefined ? {} : { defaults }),
    retentionCheckIntervalMs: 0,
    cleanerIntervalMs: 0,
    flushCheckIntervalMs: 0,
  });
  open.push(broker);
  return broker;
}

function must<T>(result: { ok: true; value: T } | { ok: false; error: string; message?: string }): T {
  if (!result.ok) throw new Error(`${result.error}: ${"message" in result ? result.message : ""}`);
  return result.value;
}

function appendValues(log: PartitionLog, values: string[], timestamp = clock.nowMs()): void {
  for (const value of values) log.append(buildTestBatch([{ key: value, value }], { baseTimestamp: timestamp }));
}

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), "rivulet-broker-"));
  clock = new FakeClock(1_700_000_000_000);
});

afterEach(async () => {
  for (const broker of open.splice(0)) await broker.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("topics", () => {
  test("create, list, describe with Kafka's defaults and the overrides given", async () => {
    const broker = await start();
    const created = must(await broker.createTopic("orders", { partitions: 3, configs: { "retention.ms": 1000, "cleanup.policy": "delete,compact" } }));
    expect(created.partitions.map((p) => [p.partition, p.state])).toEqual([
      [0, "online"],
      [1, "online"],
      [2, "online"],
    ]);
    expect(created.configs["retention.ms"]).toBe("1000");
    expect(created.configs["cleanup.policy"]).toBe("compact,delete");
    expect(created.configs["segment.bytes"]).toBe("1073741824");
    expect(created.configSources["retention.ms"]).toBe("DYNAMIC_TOPIC_CONFIG");
    expect(created.configSources["segment.bytes"]).toBe("DEFAULT_CONFIG");
    must(await broker.createTopic("audit"));
    expect(broker.listTopics()).toEqual(["audit", "orders"]);
    expect(must(broker.describeTopic("audit")).partitions.length).toBe(1);
    for (let p = 0; p < 3; p++) expect(existsSync(join(dataDir, `orders-${p}`))).toBe(true);
  });

  test("refusals carry Kafka's codes", async () => {
    const broker = await start();
    must(await broker.createTopic("metrics_cpu"));
    const cases: [Promise<{ ok: boolean; error?: string }>, string][] = [
      [broker.createTopic("metrics_cpu"), "TOPIC_ALREADY_EXISTS"],
      [broker.createTopic("metrics.cpu"), "INVALID_TOPIC_EXCEPTION"],
      [broker.createTopic("bad name"), "INVALID_TOPIC_EXCEPTION"],
      [broker.createTopic(".."), "INVALID_TOPIC_EXCEPTION"],
      [broker.createTopic("x", { partitions: 0 }), "INVALID_PARTITIONS"],
      [broker.createTopic("x", { replicationFactor: 3 }), "INVALID_REPLICATION_FACTOR"],
      [broker.createTopic("x", { configs: { "retention.ms": "soon" } }), "INVALID_CONFIG"],
      [broker.createTopic("x", { configs: { "no.such.config": "1" } }), "INVALID_CONFIG"],
      [broker.deleteTopic("missing"), "UNKNOWN_TOPIC_OR_PARTITION"],
      [broker.createPartitions("missing", 2), "UNKNOWN_TOPIC_OR_PARTITION"],
      [broker.createPartitions("metrics_cpu", 1), "INVALID_PARTITIONS"],
      [broker.alterConfigs("metrics_cpu", { "segment.ms": 0 }), "INVALID_CONFIG"],
      [broker.alterConfigs("missing", { "segment.ms": 5 }), "UNKNOWN_TOPIC_OR_PARTITION"],
    ];
    for (const [promise, code] of cases) expect((await promise).error).toBe(code);
    expect(broker.partition("metrics_cpu", 1).ok).toBe(false);
    expect(broker.partition("nope", 0)).toMatchObject({ ok: false, error: "UNKNOWN_TOPIC_OR_PARTITION" });
    expect(broker.listTopics()).toEqual(["metrics_cpu"]);
  });

  test("create, delete, add partitions and alter configs survive close and reopen", async () => {
    let broker = await start();
    must(await broker.createTopic("keep", { partitions: 1, configs: { "retention.ms": 5000 } }));
    must(await broker.createTopic("gone", { partitions: 2 }));
    appendValues(must(broker.partition("keep", 0)), ["a", "b", "c"]);
    appendValues(must(broker.partition("gone", 1)), ["x"]);
    must(await broker.createPartitions("keep", 3));
    appendValues(must(broker.partition("keep", 2)), ["z"]);
    must(await broker.alterConfigs("keep", { "retention.ms": null, "segment.bytes": 4096, "message.timestamp.type": "LogAppendTime" }));
    must(await broker.deleteTopic("gone"));
    expect(readdirSync(dataDir).filter((name) => name.startsWith("gone"))).toEqual([]);
    const id = must(broker.describeTopic("keep")).id;
    await broker.close();

    broker = await start();
    expect(broker.listTopics()).toEqual(["keep"]);
    const keep = must(broker.describeTopic("keep"));
    expect(keep.id).toBe(id);
    expect(keep.partitions.length).toBe(3);
    expect(keep.configs["retention.ms"]).toBe("604800000");
    expect(keep.configs["segment.bytes"]).toBe("4096");
    expect(keep.configs["message.timestamp.type"]).toBe("LogAppendTime");
    expect(must(broker.partition("keep", 0)).config.segmentBytes).toBe(4096);
    expect(readLogRecords(must(broker.partition("keep", 0))).map((r) => r.value)).toEqual(["a", "b", "c"]);
    expect(readLogRecords(must(broker.partition("keep", 2))).map((r) => r.value)).toEqual(["z"]);
    expect(broker.partition("gone", 0).ok).toBe(false);
    // A topic can be created again under a deleted name, empty and with a new id.
    const again = must(await broker.createTopic("gone", { partitions: 1 }));
    expect(again.partitions[0]).toMatchObject({ logStartOffset: 0, logEndOffset: 0 });
  });

  test("alterConfigs applies to open logs at once", async () => {
    const broker = await start();
    must(await broker.createTopic("t", { configs: { "segment.bytes": 100000 } }));
    must(await broker.alterConfigs("t", { "segment.bytes": 200, "flush.messages": 1 }));
    const log = must(broker.partition("t", 0));
    expect(log.config.segmentBytes).toBe(200);
    expect(log.config.flushMessages).toBe(1);
  });

  test("broker defaults apply to topics that do not override them", async () => {
    let broker = await start({ "log.retention.hours": 1, "log.segment.bytes": 8192 });
    must(await broker.createTopic("t", { configs: { "segment.bytes": 1024 } }));
    let described = must(broker.describeTopic("t"));
    expect(described.configs["retention.ms"]).toBe("3600000");
    expect(described.configSources["retention.ms"]).toBe("STATIC_BROKER_CONFIG");
    expect(described.configs["segment.bytes"]).toBe("1024");
    await broker.close();
    // Only overrides are stored: new broker defaults reach the topic after a restart.
    broker = await start({ "log.retention.ms": 5 });
    described = must(broker.describeTopic("t"));
    expect(described.configs["retention.ms"]).toBe("5");
    expect(described.configs["segment.bytes"]).toBe("1024");
    await expect(Broker.open({ dataDir: join(dataDir, "other"), defaults: { "log.retention.ms": "x" } })).rejects.toBeInstanceOf(BrokerStartError);
  });
});

describe("data directory", () => {
  test("a second broker on the same dir is refused with a clear message; after close it opens", async () => {
    const first = await start();
    let failure: unknown;
    try {
      await Broker.open({ dataDir });
    } catch (error) {
      failure = error;
    }
    expect(failure).toBeInstanceOf(BrokerStartError);
    expect((failure as BrokerStartError).code).toBe("DATA_DIR_LOCKED");
    expect((failure as Error).message).toContain(String(process.pid));
    await first.close();
    expect(first.partition("any", 0)).toMatchObject({ ok: false, error: "BROKER_NOT_AVAILABLE" });
    expect(await first.createTopic("late")).toMatchObject({ ok: false, error: "BROKER_NOT_AVAILABLE" });
    open.splice(open.indexOf(first), 1);
    const second = await start();
    expect(second.listTopics()).toEqual([]);
  });

  test("another live process's broker holds the dir; once it is killed its stale lock is taken over", async () => {
    const child = Bun.spawn([process.execPath, join(import.meta.dir, "broker-lock-child.ts"), dataDir], { stdout: "pipe", stderr: "inherit" });
    const reader = child.stdout.getReader();
    let text = "";
    while (!text.includes("\n")) {
      const chunk = await reader.read();
      if (chunk.done) break;
      text += new TextDecoder().decode(chunk.value);
    }
    expect(text).toBe(`ready ${child.pid}\n`);
    let failure: unknown;
    try {
      await Broker.open({ dataDir });
    } catch (error) {
      failure = error;
    }
    expect((failure as BrokerStartError).code).toBe("DATA_DIR_LOCKED");
    expect((failure as Error).message).toContain(`process ${child.pid}`);
    child.kill("SIGKILL");
    await child.exited;
    expect((await start()).listTopics()).toEqual([]);
  }, 30_000);

  test("unreadable topic metadata refuses to start instead of forgetting topics", async () => {
    writeFileSync(join(dataDir, TOPIC_METADATA_FILE), "{garbage");
    let failure: unknown;
    try {
      await start();
    } catch (error) {
      failure = error;
    }
    expect((failure as BrokerStartError).code).toBe("METADATA_UNREADABLE");
    // The lock was released on the way out.
    writeFileSync(join(dataDir, TOPIC_METADATA_FILE), JSON.stringify({ version: 1, topics: [] }));
    expect((await start()).listTopics()).toEqual([]);
  });

  test("a deletion interrupted by a crash is finished at start-up", async () => {
    const id = "0f8fad5b-d9cb-469f-a165-70867728950e";
    // Crash after the metadata said "deleting": one partition dir still in place, one already renamed.
    mkdirSync(join(dataDir, "old-0"));
    writeFileSync(join(dataDir, "old-0", "00000000000000000000.log"), "");
    mkdirSync(join(dataDir, deleteDirName("old", 1, id)));
    // A stray `-delete` dir of an earlier deletion whose metadata entry was already dropped.
    mkdirSync(join(dataDir, deleteDirName("older", 0, "7c9e6679-7425-40de-944b-e07fc1f90ae7")));
    await writeTopicMetadata(dataDir, [{ name: "old", id, partitions: 2, configs: {}, state: "deleting" }]);
    const broker = await start();
    expect(broker.listTopics()).toEqual([]);
    expect(readdirSync(dataDir).sort()).toEqual([".lock", TOPIC_METADATA_FILE]);
    await broker.close();
    open.splice(0);
    expect((await start()).listTopics()).toEqual([]);
  });

  test("a create interrupted after its metadata write gets its directories at the next start", async () => {
    await writeTopicMetadata(dataDir, [
      { name: "fresh", id: "0f8fad5b-d9cb-469f-a165-70867728950e", partitions: 2, configs: { "segment.bytes": "1000" }, state: "live" },
    ]);
    const broker = await start();
    const described = must(broker.describeTopic("fresh"));
    expect(described.partitions.map((p) => p.state)).toEqual(["online", "online"]);
    expect(described.configs["segment.bytes"]).toBe("1000");
    expect(existsSync(join(dataDir, "fresh-1"))).toBe(true);
  });

  test("delete dir names fit 255 bytes even for 249-character topics", () => {
    const name = deleteDirName("t".repeat(249), 9999, "0f8fad5b-d9cb-469f-a165-70867728950e");
    expect(name.length).toBe(255);
    expect(name.endsWith("-9999.0f8fad5bd9cb469fa16570867728950e-delete")).toBe(true);
  });
});

describe("offline partitions", () => {
  test("a partition with a bad batch in the middle goes offline; the rest keeps serving", async () => {
    let broker = await start();
    must(await broker.createTopic("t", { partitions: 2 }));
    const values = Array.from({ length: 20 }, (_, i) => `value-${i}`);
    appendValues(must(broker.partition("t", 0)), values);
    appendValues(must(broker.partition("t", 1)), values);
    await broker.close();
    open.splice(0);
    // Flip a byte inside the 5th batch of partition 0 and drop its checkpoint (as if it had crashed).
    const dir = join(dataDir, "t-0");
    const logPath = join(dir, "00000000000000000000.log");
    const size = statSync(logPath).size;
    const fd = openSync(logPath, "r+");
    const byte = new Uint8Array(1);
    const at = Math.floor((size / 20) * 4.5);
    readSync(fd, byte, 0, 1, at);
    byte[0]! ^= 0xff;
    writeSync(fd, byte, 0, 1, at);
    closeSync(fd);
    for (const name of readdirSync(dir)) if (name.startsWith("rivulet.checkpoint")) unlinkSync(join(dir, name));

    broker = await start();
    const described = must(broker.describeTopic("t"));
    expect(described.partitions[0]).toMatchObject({ partition: 0, state: "offline", error: "corrupt_middle" });
    expect(described.partitions[1]).toMatchObject({ partition: 1, state: "online", logEndOffset: 20 });
    expect(broker.partition("t", 0)).toMatchObject({ ok: false, error: "KAFKA_STORAGE_ERROR" });
    const healthy = must(broker.partition("t", 1));
    expect(readLogRecords(healthy).map((r) => r.value)).toEqual(values);
    appendValues(healthy, ["more"]);
    expect(Number(healthy.logEndOffset)).toBe(21);
    // The damaged log was not truncated.
    expect(statSync(logPath).size).toBe(size);
  });
});

describe("retention", () => {
  test("runRetention deletes whole old segments by retention.ms with a fake clock, never the active one", async () => {
    const broker = await start();
    must(await broker.createTopic("t", { configs: { "retention.ms": 60_000, "segment.bytes": 200 } }));
    const log = must(broker.partition("t", 0));
    appendValues(log, ["a", "b", "c", "d"], clock.nowMs());
    clock.advance(30_000);
    appendValues(log, ["e", "f", "g", "h"], clock.nowMs());
    const segmentsBefore = log.segmentCount;
    expect(segmentsBefore).toBeGreaterThan(2);
    expect(await broker.runRetention()).toBe(0);
    clock.advance(40_000);
    const deleted = await broker.runRetention();
    expect(deleted).toBeGreaterThan(0);
    expect(Number(log.logStartOffset)).toBe(4);
    expect(readLogRecords(log).map((r) => r.value)).toEqual(["e", "f", "g", "h"]);
    clock.advance(1_000_000);
    await broker.runRetention();
    expect(log.segmentCount).toBe(1);
    expect(Number(log.logEndOffset)).toBe(8);
    expect(must(broker.describeTopic("t")).partitions[0]).toMatchObject({ logStartOffset: log.logStartOffset, logEndOffset: 8 });
  });

  test("retention.bytes, and no deletion under cleanup.policy=compact", async () => {
    const broker = await start();
    must(await broker.createTopic("sized", { configs: { "retention.bytes": 300, "segment.bytes": 200 } }));
    must(await broker.createTopic("compacted", { configs: { "cleanup.policy": "compact", "retention.ms": 1, "retention.bytes": 1, "segment.bytes": 200 } }));
    const sized = must(broker.partition("sized", 0));
    const compacted = must(broker.partition("compacted", 0));
    const values = Array.from({ length: 12 }, (_, i) => `v${i}`);
    appendValues(sized, values);
    appendValues(compacted, values);
    clock.advance(10_000);
    await broker.runRetention();
    expect(sized.sizeBytes).toBeLessThanOrEqual(300 + 200);
    expect(sized.logStartOffset).toBeGreaterThan(0);
    expect(Number(compacted.logStartOffset)).toBe(0);
    expect(readLogRecords(compacted).length).toBe(12);
  });
});
