// A FileRangeSender that copies file ranges to the socket inside the kernel with sendfile(2), through bun:ffi and
// libc, on the Bun socket's undocumented `fd` (measured and described in shared/reference/bun-wasm-spike.md §5).
//
// Why it is careful: sendfile writes to the descriptor behind Bun's back, so nothing of Bun's may be pending when
// it runs. The sender first waits until the connection's queue has written everything pushed before the range
// (`target.drained()`), then flushes Bun's cork buffer (`socket.flush()`), and only then calls sendfile. When the
// socket is full sendfile fails with EAGAIN; Bun knows nothing of that, so the sender pushes the next byte of the
// file through the queue: a write that returns 0 makes Bun arm its writable watcher, `drain` fires, the queue
// writes the byte, `drained()` resolves, and sendfile resumes one byte further on. The range therefore arrives
// whole and in order, with the bytes queued before and after it.
//
// Where it cannot work (no libc.so.6, a socket without a descriptor such as TLS) it falls back to read+write.
//
// Through the real server on this machine it fetched faster than read+write, with less broker CPU per byte
// (docs/benchmarks/server.md), so `rivulet broker` uses it by default (rivulet.sendfile.enable=false turns it off).
// The spike's opposite result measured a bare socket writing 1 MiB chunks, without the broker's per-fetch buffers.
import { FFIType, dlopen, ptr, read } from "bun:ffi";
import { fstatSync, readSync } from "node:fs";
import type { FileRange } from "../core/formats/protocol/frame.ts";
import { type FileRangeSender, type FileRangeTarget, readFileRangeSender } from "./file-range.ts";

// errno values (Linux, every architecture Bun runs on).
const EINTR = 4;
const EAGAIN = 11;

/** Most bytes one sendfile(2) call is asked for (Linux moves at most 0x7ffff000 per call anyway). */
export const SENDFILE_CALL_BYTES_MAX = 0x7ffff000;

/** Running counts of sendfile(2) calls and of EAGAIN waits (for metrics, and for tests to see the drain path ran). */
export const sendfileCounters = { calls: 0, eagain: 0 };

interface Libc {
  sendfile(outFd: number, inFd: number, offset: BigInt64Array, count: number): number;
  errno(): number;
}

let libc: Libc | null | undefined;

// Loads libc's sendfile once; null when this platform has none (the sender then reads and writes).
function loadLibc(): Libc | null {
  if (libc !== undefined) return libc;
  try {
    const { symbols } = dlopen("libc.so.6", {
      sendfile: { args: [FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.u64], returns: FFIType.i64 },
      __errno_location: { args: [], returns: FFIType.ptr },
    });
    libc = {
      sendfile: (outFd, inFd, offset, count) => Number(symbols.sendfile(outFd, inFd, ptr(offset), count)),
      errno: () => read.i32(symbols.__errno_location()!, 0),
    };
  } catch {
    libc = null;
  }
  return libc;
}

/** True when sendfile(2) can be called on this platform. */
export function sendfileAvailable(): boolean {
  return loadLibc() !== null;
}

function socketFd(target: FileRangeTarget): number {
  const fd = (target.socket as unknown as { fd?: unknown }).fd;
  return typeof fd === "number" && Number.isInteger(fd) && fd >= 0 ? fd : -1;
}

// Reads one byte of the file at `position` (to probe the socket after EAGAIN); null when the file ended.
function readByte(fd: number, position: number): Uint8Array | null {
  const byte = new Uint8Array(1);
  try {
    return readSync(fd, byte, 0, 1, position) === 1 ? byte : null;
  } catch {
    return null;
  }
}

// Which file a descriptor names (device and inode), or null when it is not open.
function fileIdentity(fd: number): string | null {
  try {
    const stat = fstatSync(fd, { bigint: true });
    return `${stat.dev}:${stat.ino}`;
  } catch {
    return null;
  }
}

async function sendRange(target: FileRangeTarget, range: FileRange, calls: Libc, outFd: number): Promise<boolean> {
  const offset = new BigInt64Array([BigInt(range.position)]);
  const end = range.position + range.length;
  // The segment's descriptor can be retired (closed) while a slow reader keeps us waiting for drain, and its number
  // reused: after a wait the descriptor must still name the same file, or the client would get another file's bytes.
  const file = fileIdentity(range.fd);
  if (file === null) return false;
  let waited = false;
  while (true) {
    // Nothing of ours or Bun's may sit in front of the range: wait for the queue, then empty Bun's cork buffer.
    if (target.queue.queuedBytes > 0 || target.queue.isBlocked) {
      await target.drained();
      waited = true;
    }
    if (waited && fileIdentity(range.fd) !== file) return false;
    // The socket may have closed while we waited, and its descriptor number been reused by another file or
    // socket: Bun sets `fd` to -1 on close, so the descriptor is re-read after every wait (nothing can close it
    // between this check and the synchronous sendfile loop below).
    if (socketFd(target) !== outFd) return false;
    target.socket.flush();
    let position = Number(offset[0]);
    while (position < end) {
      const sent = calls.sendfile(outFd, range.fd, offset, Math.min(end - position, SENDFILE_CALL_BYTES_MAX));
      sendfileCounters.calls++;
      if (sent > 0) {
        position = Number(offset[0]);
        continue;
      }
      if (sent === 0) return false; // The file ended before the range did (truncated underneath).
      const errno = calls.errno();
      if (errno === EINTR) continue;
      if (errno !== EAGAIN) return false;
      break;
    }
    if (position >= end) return true;
    // EAGAIN: the socket is full. One byte through the queue arms Bun's drain (see the top of the file).
    sendfileCounters.eagain++;
    const byte = readByte(range.fd, position);
    if (byte === null) return false;
    target.queue.push(byte);
    if (target.queue.flush() === "closed") return false;
    offset[0] = BigInt(position + 1);
    if (position + 1 >= end) {
      await target.drained();
      return true;
    }
  }
}

/** Sends file ranges with sendfile(2) (read+write where sendfile is unavailable). */
export const sendfileFileRangeSender: FileRangeSender = {
  name: "sendfile",
  send(target, range) {
    const calls = loadLibc();
    const outFd = socketFd(target);
    if (calls === null || outFd < 0) return readFileRangeSender.send(target, range);
    if (range.length === 0) return true;
    return sendRange(target, range, calls, outFd);
  },
};
