import { afterEach, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CHECKPOINT_FILE_NAME,
  type PartitionCheckpoint,
  decodeCheckpoint,
  encodeCheckpoint,
  readCheckpoint,
  writeCheckpoint,
} from "../../../core/engine/checkpoint.ts";
import { decodeSwapManifest, encodeSwapManifest } from "../../../core/engine/swap-manifest.ts";
import { asOffset } from "../../../core/engine/offsets.ts";

const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) fs.rmSync(root, { recursive: true, force: true });
});

const SAMPLE: PartitionCheckpoint = {
  recoveryPoint: asOffset(1234),
  logStartOffset: asOffset(17),
  logEndOffset: asOffset(1300),
  clean: true,
  activeSegmentBaseOffset: asOffset(1200),
  activeSegmentBytes: 65536,
  activeSegmentCtimeNs: 1_700_000_000_123_456_789n,
};

describe("partition checkpoint", () => {
  test("round-trips through the file", async () => {
    const root = fs.mkdtempSync(join(tmpdir(), "rivulet-ckpt-"));
    roots.push(root);
    expect(readCheckpoint(root)).toEqual({ ok: false, error: "missing" });
    await writeCheckpoint(root, SAMPLE);
    expect(readCheckpoint(root)).toEqual({ ok: true, value: SAMPLE });
    expect(fs.readdirSync(root)).toEqual([CHECKPOINT_FILE_NAME]);
  });

  test("every truncation and every single-byte change is rejected, never thrown", () => {
    const bytes = new TextEncoder().encode(encodeCheckpoint(SAMPLE));
    for (let cut = 0; cut < bytes.length; cut++) expect(decodeCheckpoint(bytes.subarray(0, cut)).ok).toBe(false);
    for (let at = 0; at < bytes.length; at++) {
      const changed = bytes.slice();
      changed[at] = changed[at]! ^ 0x04;
      expect(decodeCheckpoint(changed).ok).toBe(false);
    }
    expect(decodeCheckpoint(new Uint8Array(5000)).ok ? "ok" : "too_large").toBe("too_large");
  });
});

describe("swap manifest", () => {
  test("round-trips and rejects damage", () => {
    const manifest = { oldBaseOffsets: [asOffset(0), asOffset(100)], newBaseOffsets: [asOffset(0)] };
    const bytes = new TextEncoder().encode(encodeSwapManifest(manifest));
    expect(decodeSwapManifest(bytes)).toEqual({ ok: true, value: manifest });
    for (let cut = 0; cut < bytes.length; cut++) expect(decodeSwapManifest(bytes.subarray(0, cut)).ok).toBe(false);
    for (let at = 0; at < bytes.length; at++) {
      const changed = bytes.slice();
      changed[at] = changed[at]! ^ 0x01;
      expect(decodeSwapManifest(changed).ok).toBe(false);
    }
  });
});
