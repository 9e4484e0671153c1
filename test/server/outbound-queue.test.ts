import { describe, expect, test } from "bun:test";
import { COALESCE_BUFFER_BYTES, type ByteSink, OutboundQueue } from "../../server/outbound-queue.ts";

/** A sink that accepts at most `budget` bytes until given more, recording every write call. */
class ScriptedSink implements ByteSink {
  received: number[] = [];
  writes = 0;
  constructor(public budget = Number.POSITIVE_INFINITY, public closed = false) {}
  write(data: Uint8Array): number {
    if (this.closed) return -1;
    this.writes++;
    const n = Math.min(this.budget, data.length);
    this.budget -= n;
    for (let i = 0; i < n; i++) this.received.push(data[i]!);
    return n;
  }
}

function sequence(start: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (start + i) & 0xff;
  return out;
}

describe("OutboundQueue", () => {
  test("coalesces small parts into few writes, in order", () => {
    const sink = new ScriptedSink();
    const queue = new OutboundQueue(sink);
    const parts = Array.from({ length: 1000 }, (_, i) => sequence(i * 100, 100));
    queue.push(...parts);
    expect(queue.flush()).toBe("flushed");
    expect(sink.writes).toBe(Math.ceil((1000 * 100) / COALESCE_BUFFER_BYTES));
    expect(sink.received).toEqual(Array.from(sequence(0, 100_000)));
    expect(queue.queuedBytes).toBe(0);
  });

  test("keeps the unwritten tail of a short write and resends it on drain", () => {
    const sink = new ScriptedSink(150);
    const queue = new OutboundQueue(sink);
    queue.push(sequence(0, 100), sequence(100, 100), sequence(200, 100_000));
    expect(queue.flush()).toBe("blocked");
    expect(queue.isBlocked).toBe(true);
    expect(queue.queuedBytes).toBe(100_200 - 150);
    // A flush while blocked writes nothing: only drain resumes.
    expect(queue.flush()).toBe("blocked");
    expect(sink.received.length).toBe(150);
    sink.budget = 50_000;
    expect(queue.onDrain()).toBe("blocked");
    sink.budget = Number.POSITIVE_INFINITY;
    expect(queue.onDrain()).toBe("flushed");
    expect(sink.received).toEqual(Array.from(sequence(0, 100_200)));
  });

  test("a zero-byte write blocks without losing anything", () => {
    const sink = new ScriptedSink(0);
    const queue = new OutboundQueue(sink);
    queue.push(sequence(0, 10));
    expect(queue.flush()).toBe("blocked");
    sink.budget = 3;
    expect(queue.onDrain()).toBe("blocked");
    sink.budget = 100;
    expect(queue.onDrain()).toBe("flushed");
    expect(sink.received).toEqual(Array.from(sequence(0, 10)));
  });

  test("reports full above the high-water mark and closed sockets drop the queue", () => {
    const sink = new ScriptedSink(0);
    const queue = new OutboundQueue(sink, 1000);
    queue.push(sequence(0, 1001));
    expect(queue.isFull).toBe(true);
    sink.closed = true;
    expect(queue.flush()).toBe("closed");
    expect(queue.queuedBytes).toBe(0);
    queue.push(sequence(0, 10));
    expect(queue.queuedBytes).toBe(0);
  });

  test("over a real socket, 24 MiB through backpressure arrives whole and in order", async () => {
    const total = 24 * 1024 * 1024;
    const payload = sequence(7, total);
    let serverQueue: OutboundQueue | undefined;
    let sawBlocked = false;
    const { promise: done, resolve, reject } = Promise.withResolvers<Uint8Array>();
    const received = new Uint8Array(total);
    let receivedBytes = 0;

    using server = Bun.listen<undefined>({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        open(socket) {
          serverQueue = new OutboundQueue(socket);
          // Small and large parts mixed, as a fetch response would be.
          for (let at = 0; at < total; at += 1 << 20) {
            serverQueue.push(payload.subarray(at, at + 10), payload.subarray(at + 10, at + (1 << 20)));
          }
          sawBlocked = serverQueue.flush() === "blocked";
        },
        drain() {
          serverQueue!.onDrain();
        },
        data() {},
        error(_socket, error) {
          reject(error);
        },
      },
    });

    const client = await Bun.connect<undefined>({
      hostname: "127.0.0.1",
      port: server.port,
      socket: {
        data(_socket, chunk) {
          if (receivedBytes + chunk.length > total) return reject(new Error("more bytes than sent"));
          received.set(chunk, receivedBytes);
          receivedBytes += chunk.length;
          if (receivedBytes === total) resolve(received);
        },
        error(_socket, error) {
          reject(error);
        },
      },
    });
    const timeout = setTimeout(() => reject(new Error(`timed out after ${receivedBytes} bytes`)), 20_000);
    const bytes = await done;
    clearTimeout(timeout);
    client.end();
    // 24 MiB cannot fit in loopback socket buffers at once, so the first flush must have hit backpressure.
    expect(sawBlocked).toBe(true);
    expect(Buffer.compare(bytes, payload)).toBe(0);
    expect(serverQueue!.queuedBytes).toBe(0);
  });
});
