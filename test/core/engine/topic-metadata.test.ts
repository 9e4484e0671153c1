import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  TOPIC_METADATA_FILE,
  decodeTopicMetadata,
  encodeTopicMetadata,
  readTopicMetadata,
  removeStaleTopicMetadataTmp,
  writeTopicMetadata,
  type TopicRecord,
} from "../../../core/engine/topic-metadata.ts";

const ORDERS: TopicRecord = {
  name: "orders",
  id: "0f8fad5b-d9cb-469f-a165-70867728950e",
  partitions: 3,
  configs: { "retention.ms": "1000", "cleanup.policy": "compact,delete" },
  state: "live",
};
const GONE: TopicRecord = { name: "orders", id: "7c9e6679-7425-40de-944b-e07fc1f90ae7", partitions: 1, configs: {}, state: "deleting" };

function encodeRaw(body: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(body));
}

describe("topic metadata codec", () => {
  test("round-trips", () => {
    expect(decodeTopicMetadata(encodeTopicMetadata([ORDERS, GONE]))).toEqual({ ok: true, value: [ORDERS, GONE] });
    expect(decodeTopicMetadata(encodeTopicMetadata([]))).toEqual({ ok: true, value: [] });
  });

  test("refuses bad bytes with typed errors and never throws", () => {
    expect(decodeTopicMetadata(new Uint8Array([0xff, 0xfe]))).toEqual({ ok: false, error: "bad_json" });
    expect(decodeTopicMetadata(encodeRaw([1]))).toEqual({ ok: false, error: "bad_shape" });
    expect(decodeTopicMetadata(encodeRaw({ version: 2, topics: [] }))).toEqual({ ok: false, error: "unsupported_version" });
    const bad = (patch: Record<string, unknown>) => decodeTopicMetadata(encodeRaw({ version: 1, topics: [{ ...ORDERS, ...patch }] }));
    expect(bad({ name: "a b" }).ok).toBe(false);
    expect(bad({ id: "nope" }).ok).toBe(false);
    expect(bad({ partitions: 0 }).ok).toBe(false);
    expect(bad({ partitions: 1.5 }).ok).toBe(false);
    expect(bad({ partitions: 1e9 }).ok).toBe(false);
    expect(bad({ state: "zombie" }).ok).toBe(false);
    expect(bad({ configs: { "retention.ms": 5 } }).ok).toBe(false);
    expect(bad({ configs: { "bogus": "5" } }).ok).toBe(false);
    expect(decodeTopicMetadata(encodeRaw({ version: 1, topics: [ORDERS, { ...ORDERS, id: GONE.id }] }))).toEqual({ ok: false, error: "bad_shape" });
    // Every prefix of a valid file is refused, not thrown on.
    const whole = encodeTopicMetadata([ORDERS]);
    for (let cut = 0; cut < whole.length - 1; cut++) expect(decodeTopicMetadata(whole.subarray(0, cut)).ok).toBe(false);
  });
});

describe("topic metadata file", () => {
  let dir = "";
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "rivulet-meta-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test("a missing file is an empty registry; writes replace the file and leave no tmp", async () => {
    expect(await readTopicMetadata(dir)).toEqual({ ok: true, value: [] });
    await writeTopicMetadata(dir, [ORDERS]);
    await writeTopicMetadata(dir, [ORDERS, GONE]);
    expect(await readTopicMetadata(dir)).toEqual({ ok: true, value: [ORDERS, GONE] });
    expect(readdirSync(dir)).toEqual([TOPIC_METADATA_FILE]);
  });

  test("a leftover tmp from an interrupted write is ignored and removed", async () => {
    await writeTopicMetadata(dir, [ORDERS]);
    writeFileSync(join(dir, `${TOPIC_METADATA_FILE}.tmp`), "{\"version\":1,\"top");
    expect(await readTopicMetadata(dir)).toEqual({ ok: true, value: [ORDERS] });
    await removeStaleTopicMetadataTmp(dir);
    await removeStaleTopicMetadataTmp(dir);
    expect(readdirSync(dir)).toEqual([TOPIC_METADATA_FILE]);
  });

  test("a corrupt file is a typed error", async () => {
    writeFileSync(join(dir, TOPIC_METADATA_FILE), "{not json");
    expect(await readTopicMetadata(dir)).toEqual({ ok: false, error: "bad_json" });
  });
});
