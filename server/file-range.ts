// The seam through which a Fetch response puts stored segment bytes on the wire.
//
// A Fetch response is msgpack framing around file ranges `{ fd, position, length }` of segment files (the
// zero-copy rule of docs/protocol.md: records are never decoded or re-encoded). When a response reaches the head
// of its connection's ordered output, the connection hands it over part by part: in-memory parts go to the
// connection's OutboundQueue, file ranges to a FileRangeSender, which must put exactly `range.length` bytes of
// the file on the socket after everything queued before it and before anything queued after it.
//
//   read+write (this file, the default): fs.readSync the range into one Buffer and queue it. The queue writes it
//     with the coalescing writer and keeps a short-write tail for `drain`, like any other response bytes.
//   sendfile(2) (server/sendfile.ts): wait until the queue is empty (`target.drained()`), then copy the range
//     from the file to the socket's descriptor in the kernel, resuming after EAGAIN once `drain` fires.
//
// A sender returns nothing when it is done synchronously, or a promise the connection awaits before it sends
// anything else; it returns/rejects with "failed" semantics by returning false (or resolving false) when the
// range can no longer be read (a segment deleted underneath), and the connection is then closed: a frame that
// was started cannot be finished any other way.
import { readSync } from "node:fs";
import type { Socket } from "bun";
import type { FileRange } from "../core/formats/protocol/frame.ts";
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

/** Reads each range into a Buffer of its size and queues it (the default: faster than sendfile on loopback here). */
export const readFileRangeSender: FileRangeSender = {
  name: "read",
  send(target, range) {
    const buffer = Buffer.allocUnsafe(range.length);
    let filled = 0;
    try {
      while (filled < range.length) {
        const got = readSync(range.fd, buffer, filled, range.length - filled, range.position + filled);
        if (got <= 0) return false;
        filled += got;
      }
    } catch {
      return false;
    }
    target.queue.push(buffer);
    return true;
  },
};
