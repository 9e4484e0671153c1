// The data directory's lock: `<dataDir>/.lock`, created exclusively and holding the owner's PID in decimal.
//
// Two brokers writing one data dir would interleave appends and each trust its own in-memory offsets, so the
// second must refuse to start. An exclusive create (O_CREAT|O_EXCL) decides the race between two processes; a
// lock left behind by a process that died (kill -9, power loss) names a PID that no longer runs and is taken
// over. PID reuse can make a stale lock look live; the message then tells the operator which file to remove.
// Within one process the PID is our own and alive, so a second Broker on the same dir is refused too.
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";

/** The lock file's name inside a data directory (Kafka uses the same name). */
export const DATA_DIR_LOCK_FILE = ".lock";

// A PID is at most 7 digits on Linux (pid_max <= 2^22); anything longer is not our lock file.
const LOCK_FILE_BYTES_MAX = 32;

/** A held lock; release() removes the file if it still holds our PID. */
export interface DataDirLock {
  path: string;
  release(): void;
}

/** Why the lock could not be taken: another live process holds it (its PID), or the file system refused. */
export interface DataDirLockFailure {
  ok: false;
  error: "locked" | "io_error";
  /** The holder's PID for "locked" (-1 when unknown). */
  pid: number;
  message: string;
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function readLockPid(path: string): number | undefined {
  try {
    const text = readFileSync(path).subarray(0, LOCK_FILE_BYTES_MAX).toString("latin1").trim();
    return /^\d{1,10}$/.test(text) ? Number(text) : undefined;
  } catch {
    return undefined;
  }
}

function tryCreate(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, "wx", 0o644);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  }
  try {
    writeSync(fd, `${process.pid}\n`);
  } finally {
    closeSync(fd);
  }
  return true;
}

/** Takes the lock on `dataDir` (which must exist), taking over a lock whose PID is no longer running. */
export function acquireDataDirLock(dataDir: string): { ok: true; value: DataDirLock } | DataDirLockFailure {
  const path = join(dataDir, DATA_DIR_LOCK_FILE);
  const lock: DataDirLock = {
    path,
    release() {
      if (readLockPid(path) === process.pid) unlinkSync(path);
    },
  };
  try {
    // Two attempts: the second follows the removal of a stale lock. Losing that race to another process that
    // also found it stale leaves their live PID in the file, which the second attempt reports.
    for (let attempt = 0; attempt < 2; attempt++) {
      if (tryCreate(path)) return { ok: true, value: lock };
      const pid = readLockPid(path);
      if (pid !== undefined && processIsAlive(pid)) {
        return {
          ok: false,
          error: "locked",
          pid,
          message:
            `data directory ${dataDir} is in use by process ${pid}` +
            (pid === process.pid ? " (this process: another Broker has it open)" : "") +
            `; stop that broker first, or remove ${path} if that process is not a broker`,
        };
      }
      // Dead PID or an unreadable file (a crash between create and write): stale.
      try {
        unlinkSync(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      }
    }
    const pid = readLockPid(path) ?? -1;
    return { ok: false, error: "locked", pid, message: `data directory ${dataDir} is locked by process ${pid}, which started at the same time` };
  } catch (error) {
    return { ok: false, error: "io_error", pid: -1, message: `cannot lock data directory ${dataDir}: ${(error as Error).message}` };
  }
}
