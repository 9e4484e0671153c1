import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as engine from "../../../core/engine/index.ts";
import { buildTestBatch } from "./compaction-test-batches.ts";

let dataDir = "";
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

test("the public entry point is enough to embed a broker", async () => {
  dataDir = mkdtempSync(join(tmpdir(), "rivulet-engine-"));
  const broker = await engine.Broker.open({ dataDir, clock: new engine.FakeClock() });
  try {
    const created = await broker.createTopic("events", { partitions: 2 });
    expect(created.ok).toBe(true);
    const log = broker.partition("events", 1);
    if (!log.ok) throw new Error(log.message);
    const appended = log.value.append(buildTestBatch([{ key: "k", value: "v" }]));
    expect(Number(appended.baseOffset)).toBe(0);
    await log.value.durable();
    expect(Number(log.value.latestOffset())).toBe(1);
    expect(engine.TOPIC_CONFIG_NAMES).toContain("cleanup.policy");
    expect(engine.validateTopicName("a b").ok).toBe(false);
  } finally {
    await broker.close();
  }
});
