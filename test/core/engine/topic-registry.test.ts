import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TopicRegistry, deleteDirName, isDeleteDirName, partitionDirName } from "../../../core/engine/topic-registry.ts";

let dir = "";
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "rivulet-registry-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function load(): Promise<TopicRegistry> {
  const loaded = await TopicRegistry.load(dir);
  if (!loaded.ok) throw new Error(loaded.error);
  return loaded.value;
}

describe("names of directories", () => {
  test("partition and delete directories are named as Kafka names them", () => {
    expect(partitionDirName("orders", 3)).toBe("orders-3");
    const name = deleteDirName("my-topic", 0, "0f8fad5b-d9cb-469f-a165-70867728950e");
    expect(name).toBe("my-topic-0.0f8fad5bd9cb469fa16570867728950e-delete");
    expect(isDeleteDirName(name)).toBe(true);
    expect(isDeleteDirName("my-topic-0")).toBe(false);
    expect(isDeleteDirName("x-delete")).toBe(false);
  });
});

describe("TopicRegistry", () => {
  test("prepare checks, then durable changes that a reload sees", async () => {
    const registry = await load();
    const prepared = registry.prepareCreate("orders", { partitions: 2, configs: { "retention.ms": 10 } });
    if (!prepared.ok) throw new Error(prepared.message);
    expect(prepared.value).toMatchObject({ name: "orders", partitions: 2, configs: { "retention.ms": "10" }, state: "live" });
    // Preparing writes nothing.
    expect((await load()).live()).toEqual([]);
    await registry.add(prepared.value);
    expect(registry.prepareCreate("orders", {})).toMatchObject({ ok: false, error: "TOPIC_ALREADY_EXISTS" });
    const grown = registry.prepareCreatePartitions("orders", 5);
    if (!grown.ok) throw new Error(grown.message);
    await registry.update(grown.value);
    const altered = registry.prepareAlterConfigs("orders", { "retention.ms": null, "segment.ms": "100" });
    if (!altered.ok) throw new Error(altered.message);
    await registry.update(altered.value);
    const reloaded = await load();
    expect(reloaded.get("orders")).toEqual({ ...prepared.value, partitions: 5, configs: { "segment.ms": "100" } });
    await reloaded.markDeleting(prepared.value.id);
    expect(reloaded.get("orders")).toBeUndefined();
    expect((await load()).deleting().map((record) => record.name)).toEqual(["orders"]);
    await reloaded.remove(prepared.value.id);
    expect((await load()).deleting()).toEqual([]);
  });

  test("refusals", async () => {
    const registry = await load();
    const created = registry.prepareCreate("t", {});
    if (!created.ok) throw new Error(created.message);
    await registry.add(created.value);
    expect(registry.prepareCreatePartitions("t", 1)).toMatchObject({ ok: false, error: "INVALID_PARTITIONS", message: "Topic already has 1 partitions." });
    expect(registry.prepareCreatePartitions("t", 100_000)).toMatchObject({ ok: false, error: "INVALID_PARTITIONS" });
    expect(registry.prepareCreate("u", { partitions: 1.5 })).toMatchObject({ ok: false, error: "INVALID_PARTITIONS" });
    expect(registry.prepareCreate("u", { replicationFactor: -1 }).ok).toBe(true);
    expect(registry.prepareAlterConfigs("t", { "bogus.name": null })).toMatchObject({ ok: false, error: "INVALID_CONFIG" });
    expect(registry.prepareAlterConfigs("t", { "retention.ms": "-7" })).toMatchObject({
      ok: false,
      error: "INVALID_CONFIG",
      message: "Invalid value -7 for configuration retention.ms: Value must be at least -1",
    });
  });
});
