// Producer id allocation: unique across restarts (a block is reserved on disk before any id of it is handed out),
// and a damaged allocator file refuses to start the broker instead of risking reuse.
import { afterAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Broker, BrokerStartError } from "../../../core/engine/broker.ts";
import {
  PRODUCER_IDS_FILE_NAME,
  PRODUCER_ID_BLOCK_SIZE,
  ProducerIdManager,
  decodeProducerIds,
  encodeProducerIds,
} from "../../../core/engine/producer-ids.ts";

const root = fs.mkdtempSync(join(tmpdir(), "rivulet-pids-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
let counter = 0;
function dir(): string {
  const path = join(root, `d${counter++}`);
  fs.mkdirSync(path);
  return path;
}

function open(path: string): ProducerIdManager {
  const opened = ProducerIdManager.open(path);
  if (!opened.ok) throw new Error(opened.error);
  return opened.value;
}

describe("ProducerIdManager", () => {
  test("ids are consecutive inside a block and never repeat across reopen, crash or not", async () => {
    const path = dir();
    const seen = new Set<number>();
    for (let restart = 0; restart < 4; restart++) {
      const manager = open(path);
      const ids = await Promise.all(Array.from({ length: 300 + restart * 700 }, () => manager.allocate()));
      for (let i = 1; i < ids.length; i++) expect(ids[i]).toBeGreaterThan(ids[i - 1]!);
      for (const id of ids) {
        expect(seen.has(id)).toBe(false);
        seen.add(id);
      }
    }
    // Each restart skipped the rest of its block: the file holds the end of the last block reserved.
    const persisted = decodeProducerIds(fs.readFileSync(join(path, PRODUCER_IDS_FILE_NAME)));
    expect(persisted.ok && persisted.value % PRODUCER_ID_BLOCK_SIZE).toBe(0);
    expect(persisted.ok && persisted.value).toBeGreaterThan(Math.max(...seen));
  });

  test("the file round-trips; damage is a typed error", () => {
    expect(decodeProducerIds(new TextEncoder().encode(encodeProducerIds(5000)))).toEqual({ ok: true, value: 5000 });
    const bytes = new TextEncoder().encode(encodeProducerIds(5000));
    for (let at = 0; at < bytes.length; at++) {
      const damaged = bytes.slice();
      damaged[at] = damaged[at]! ^ 0x01;
      expect(decodeProducerIds(damaged).ok).toBe(false);
    }
    for (let length = 0; length < bytes.length; length++) expect(decodeProducerIds(bytes.subarray(0, length)).ok).toBe(false);
  });

  test("a broker refuses to start over a damaged allocator file", async () => {
    const dataDir = dir();
    fs.writeFileSync(join(dataDir, PRODUCER_IDS_FILE_NAME), "rivulet-producer-ids 1\nnext-block-start 7\ncrc32c 00000000\n");
    let error: unknown = null;
    try {
      const broker = await Broker.open({ dataDir });
      await broker.close();
    } catch (caught) {
      error = caught;
    }
    expect(error instanceof BrokerStartError && error.code).toBe("METADATA_UNREADABLE");
  });

  test("InitProducerId through the broker: fresh ids, epoch 0, still fresh after a restart", async () => {
    const dataDir = dir();
    let broker = await Broker.open({ dataDir });
    const first = await broker.initProducerId();
    await broker.close();
    broker = await Broker.open({ dataDir });
    const second = await broker.initProducerId();
    await broker.close();
    expect(first.ok && second.ok).toBe(true);
    if (first.ok && second.ok) {
      expect(second.value.producerId).toBeGreaterThan(first.value.producerId);
      expect([first.value.producerEpoch, second.value.producerEpoch]).toEqual([0, 0]);
    }
  });
});
