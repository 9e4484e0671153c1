import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DATA_DIR_LOCK_FILE, acquireDataDirLock } from "../../../core/engine/data-dir-lock.ts";

describe("data dir lock", () => {
  let dir = "";
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "rivulet-lock-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test("holds our PID, refuses a second holder with a clear message, and releases", () => {
    const first = acquireDataDirLock(dir);
    expect(first.ok).toBe(true);
    expect(readFileSync(join(dir, DATA_DIR_LOCK_FILE), "utf8").trim()).toBe(String(process.pid));
    const second = acquireDataDirLock(dir);
    expect(second.ok).toBe(false);
    if (!second.ok && second.error === "locked") {
      expect(second.pid).toBe(process.pid);
      expect(second.message).toContain("another Broker");
    } else throw new Error("expected a locked error");
    if (first.ok) first.value.release();
    expect(existsSync(join(dir, DATA_DIR_LOCK_FILE))).toBe(false);
    const third = acquireDataDirLock(dir);
    expect(third.ok).toBe(true);
    if (third.ok) third.value.release();
  });

  test("a lock held by a dead PID or an unreadable lock file is stale and taken over", () => {
    const child = Bun.spawnSync(["true"]);
    expect(child.exitCode).toBe(0);
    writeFileSync(join(dir, DATA_DIR_LOCK_FILE), `${child.pid}\n`);
    const taken = acquireDataDirLock(dir);
    expect(taken.ok).toBe(true);
    if (taken.ok) taken.value.release();
    writeFileSync(join(dir, DATA_DIR_LOCK_FILE), "");
    const again = acquireDataDirLock(dir);
    expect(again.ok).toBe(true);
    if (again.ok) again.value.release();
  });
});
