// The seam through which a Fetch response puts stored segment bytes on the wire.
//
// A Fetch response is msgpack framing around file ranges `{ fd, position, length }` of segment files (the
// zero-copy rule of docs/protocol.md: records are never decoded or re-encoded). When a response reaches the head
// of its connection's ordered output, the connection hands it over part by part: in-memory parts go to the
// connection's OutboundQueue, file ranges to a FileRangeSender, which must put exactly `range.length` bytes of
// the file on the socket after everything queued before it and before anything queued after it.
//
//   sendfile(2) (server/sendfile.ts, the default): wait until the queue is empty (`target.drained()`), then copy
//     the range from the file to the socket's descriptor in the kernel, resuming after EAGAIN once `drain` fires.
//     Measured faster and cheaper in broker CPU than read+write through this server (docs/benchmarks/server.md).
//   read+write (this file; the fallback where sendfile is unavailable): fs.readSync the range into one Buffer and
//     queue it. The queue writes it with the coalescing writer and keeps a short-write tail for `drain`.
//
// A sender returns true (or nothing) when it is done synchronously, or a promise the connection awaits before it
// sends anything else; false (or a promise of false) means the range could not be read, and the connection is
// closed: a frame that was started cannot be finished any other way.
//
// Validity: a range's descriptor belongs to the engine, which closes it when the topic is deleted (and, after
// retention, at its next maintenance call), after which the number may be reused for another file. So a range is
// only trusted during the synchronous block in which the engine produced it. The connection hands it to send()
// in that block when the response is next in line; otherwise it pins the range there (pinRange: the file's
// device and inode, from fstat) and checks the pin when the range's turn comes (unpinRange), closing the
// connection if the descriptor no longer names that file. A sender that continues asynchronously (sendfile after
// EAGAIN) must check the same after every wait (server/sendfile.ts does).
import { fstatSync, readSync } from "node:fs";
import type { Socket } from "bun";
import type { FileRange, FramePart } from "../core/formats/protocol/frame.ts";
import type { OutboundQueue } from "./outbound-queue.ts";

/** What a FileRangeSender writes to: the connection's queue and its socket. */
export interface FileRangeTarget {
  /** The connection's outbound queue; bytes pushed here go out in order (flushed by the connection). */
  readonly queue: OutboundQueue;
  /** The Bun socket (its undocumented `fd` is what sendfile(2) needs). */
  readonly socket: Socket<unknown>;
  /** Resolves when the queue has written every byte pushed so far (at once when it is empty). */
  drained(): Promise<void>;
}

/** Puts file ranges on a connection's wire, in order with its other bytes. */
export interface FileRangeSender {
  /** Short name for logs and benchmarks ("read", "sendfile"). */
  readonly name: string;
  /** Sends `range` after everything queued so far: true/void when done, false when the range could not be read. */
  send(target: FileRangeTarget, range: FileRange): boolean | void | Promise<boolean | void>;
}

/** The bytes of one file range, read now; null when the file no longer holds them. */
export function readRange(range: FileRange): Uint8Array | null {
  const buffer = Buffer.allocUnsafe(range.length);
  let filled = 0;
  try {
    while (filled < range.length) {
      const got = readSync(range.fd, buffer, filled, range.length - filled, range.position + filled);
      if (got <= 0) return null;
      filled += got;
    }
  } catch {
    return null;
  }
  return buffer;
}

/** A file range with the identity of the file its descriptor named when it was pinned. */
export interface PinnedRange {
  readonly range: FileRange;
  /** Device and inode of the file (fstat), "dev:ino". */
  readonly file: string;
}

/** A part of an answer that may wait: bytes, or a pinned file range. */
export type PinnedPart = Uint8Array | PinnedRange;

/** Which file a descriptor names (device and inode), or null when it is not open. */
export function fileIdentity(fd: number): string | null {
  try {
    const stat = fstatSync(fd, { bigint: true });
    return `${stat.dev}:${stat.ino}`;
  } catch {
    return null;
  }
}

/** True for a pinned range (as opposed to bytes or a fresh file range). */
export function isPinnedRange(part: FramePart | PinnedRange): part is PinnedRange {
  return !(part instanceof Uint8Array) && "file" in part;
}

/** Pins every file range of `parts` from `from` on (call in the block that produced them); null if one is not open. */
export function pinRanges(parts: readonly (FramePart | PinnedRange)[], from = 0): PinnedPart[] | null {
  const out: PinnedPart[] = [];
  for (let i = from; i < parts.length; i++) {
    const part = parts[i]!;
    if (part instanceof Uint8Array || isPinnedRange(part)) out.push(part);
    else {
      const file = fileIdentity(part.fd);
      if (file === null) return null;
      out.push({ range: part, file });
    }
  }
  return out;
}

/** The range of a pin when its descriptor still names the pinned file, else null (the file went away). */
export function unpinRange(pinned: PinnedRange): FileRange | null {
  return fileIdentity(pinned.range.fd) === pinned.file ? pinned.range : null;
}

/** Reads each range into a Buffer of its size and queues it (read+write: the fallback, and a baseline). */
export const readFileRangeSender: FileRangeSender = {
  name: "read",
  send(target, range) {
    const bytes = readRange(range);
    if (bytes === null) return false;
    target.queue.push(bytes);
    return true;
  },
};
