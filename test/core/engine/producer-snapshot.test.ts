// Producer snapshot format: round trip, the header size pinned, every truncation and every single-byte change a
// typed error (never a throw), file names, atomic writes that keep the two newest.
import { afterAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { asOffset } from "../../../core/engine/offsets.ts";
import {
  SNAPSHOT_BATCH_BYTES,
  SNAPSHOT_BYTES_MAX,
  SNAPSHOT_ENTRY_HEADER_BYTES,
  SNAPSHOT_HEADER_BYTES,
  decodeProducerSnapshot,
  encodeProducerSnapshot,
  listSnapshotOffsets,
  parseSnapshotFileName,
  readProducerSnapshot,
  removeSnapshotTemporaries,
  snapshotFileName,
  writeProducerSnapshot,
} from "../../../core/engine/producer-snapshot.ts";
import type { ProducerEntry, ProducerId, Sequence } from "../../../core/engine/producer-state.ts";

const root = fs.mkdtempSync(join(tmpdir(), "rivulet-snapshot-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

function entries(): ProducerEntry[] {
  return [
    { producerId: 0 as ProducerId, epoch: 0, lastAppendMs: 1_700_000_000_000, batches: [] },
    {
      producerId: 123_456_789_012 as ProducerId,
      epoch: 32767,
      lastAppendMs: 42,
      batches: Array.from({ length: 5 }, (_, i) => ({
        firstSequence: (i * 3) as Sequence,
        lastSequence: (i * 3 + 2) as Sequence,
        firstOffset: asOffset(1000 + i * 3),
        lastOffset: asOffset(1002 + i * 3),
        timestamp: -1 + i,
      })),
    },
  ];
}

describe("encoding", () => {
  test("layout sizes are pinned and a snapshot round-trips", () => {
    expect(SNAPSHOT_HEADER_BYTES).toBe(22);
    expect(SNAPSHOT_ENTRY_HEADER_BYTES).toBe(19);
    expect(SNAPSHOT_BATCH_BYTES).toBe(32);
    expect(SNAPSHOT_BYTES_MAX).toBeLessThan(16 * 1024 * 1024);
    const bytes = encodeProducerSnapshot(asOffset(2000), entries());
    expect(bytes.length).toBe(22 + 2 * 19 + 5 * 32);
    const decoded = decodeProducerSnapshot(bytes);
    expect(decoded).toEqual({ ok: true, value: { offset: asOffset(2000), entries: entries() } });
    expect(decodeProducerSnapshot(encodeProducerSnapshot(asOffset(0), []))).toEqual({ ok: true, value: { offset: asOffset(0), entries: [] } });
  });

  test("every truncation and every single-byte change is a typed error, never a throw", () => {
    const bytes = encodeProducerSnapshot(asOffset(2000), entries());
    for (let length = 0; length < bytes.length; length++) {
      const decoded = decodeProducerSnapshot(bytes.subarray(0, length));
      expect(decoded.ok).toBe(false);
    }
    for (let at = 0; at < bytes.length; at++) {
      const damaged = bytes.slice();
      damaged[at] = damaged[at]! ^ 0x5a;
      const decoded = decodeProducerSnapshot(damaged);
      expect(decoded.ok).toBe(false);
      if (!decoded.ok) expect(["bad_magic", "bad_version", "crc_mismatch"]).toContain(decoded.error);
    }
  });

  test("a batch at or past the snapshot offset is malformed even with a good CRC", () => {
    const decoded = decodeProducerSnapshot(encodeProducerSnapshot(asOffset(1005), entries()));
    expect(decoded).toEqual({ ok: false, error: "malformed" });
  });
});

describe("files", () => {
  test("names carry the offset in 20 digits", () => {
    expect(snapshotFileName(asOffset(42))).toBe("00000000000000000042.snapshot");
    expect(parseSnapshotFileName("00000000000000000042.snapshot")).toBe(asOffset(42));
    expect(parseSnapshotFileName("00000000000000000042.snapshot.tmp")).toBeNull();
    expect(parseSnapshotFileName("00000000000000000042.log")).toBeNull();
  });

  test("writes are atomic and keep the two newest; temporaries are swept; oversize files are not read", async () => {
    const dir = join(root, "p-0");
    fs.mkdirSync(dir);
    for (const offset of [10, 20, 30]) await writeProducerSnapshot(dir, asOffset(offset), encodeProducerSnapshot(asOffset(offset), []));
    expect(listSnapshotOffsets(dir)).toEqual([asOffset(20), asOffset(30)]);
    expect(readProducerSnapshot(dir, asOffset(30)).ok).toBe(true);
    expect(readProducerSnapshot(dir, asOffset(40))).toEqual({ ok: false, error: "missing" });
    fs.writeFileSync(join(dir, snapshotFileName(asOffset(50)) + ".tmp"), "half");
    expect(removeSnapshotTemporaries(dir)).toBe(1);
    // A file under another offset's name is refused (its contents name a different offset).
    fs.copyFileSync(join(dir, snapshotFileName(asOffset(30))), join(dir, snapshotFileName(asOffset(35))));
    expect(readProducerSnapshot(dir, asOffset(35))).toEqual({ ok: false, error: "malformed" });
    const big = join(dir, snapshotFileName(asOffset(60)));
    fs.writeFileSync(big, "");
    fs.truncateSync(big, SNAPSHOT_BYTES_MAX + 1);
    expect(readProducerSnapshot(dir, asOffset(60))).toEqual({ ok: false, error: "too_large" });
  });
});
