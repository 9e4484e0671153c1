// The sendfile(2) FileRangeSender against a real loopback socket: the range arrives whole, byte for byte, between
// the bytes queued before and after it, including when the socket fills up (EAGAIN) and must drain first. The
// receiver runs on the same event loop, so a large range is sure to fill the socket buffers.
import { afterAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Socket } from "bun";
import type { FileRangeTarget } from "../../server/file-range.ts";
import { OutboundQueue } from "../../server/outbound-queue.ts";
import { sendfileAvailable, sendfileCounters, sendfileFileRangeSender } from "../../server/sendfile.ts";
import { Broker } from "../../core/engine/broker.ts";
import { encodeRecordBatch } from "../../core/formats/record-batch.ts";
import { BASE_OFFSET_OFFSET, MAGIC_OFFSET } from "../../core/formats/record-batch-header.ts";
import { startBrokerServer } from "../../server/broker-server.ts";
import { readFileRangeSender } from "../../server/file-range.ts";
import { RawClient } from "../e2e/raw-client.ts";
import { createTopic, fetchAll, produce } from "../fault/fixtures/broker-traffic.ts";

const root = fs.mkdtempSync(join(tmpdir(), "rivulet-sendfile-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const FILE_BYTES = 24 * 1024 * 1024;
const WAIT_MS = 20_000;

function pattern(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0;
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

interface ServerSide {
  target: FileRangeTarget;
}

// A minimal connection: an OutboundQueue on the server's socket, drained on `drain` and woken on close, as the
// broker's connection does.
async function connectedPair(expectBytes: number, onServerClose: () => void = () => undefined) {
  let resolveServer!: (side: ServerSide) => void;
  const serverSide = new Promise<ServerSide>((resolve) => (resolveServer = resolve));
  const waiters: (() => void)[] = [];
  let queue: OutboundQueue;
  const settle = () => {
    if (queue.queuedBytes === 0) for (const wake of waiters.splice(0)) wake();
  };
  const listener = Bun.listen<undefined>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(socket: Socket<undefined>) {
        queue = new OutboundQueue({ write: (data) => socket.write(data) });
        resolveServer({
          target: {
            queue,
            socket: socket as Socket<unknown>,
            drained: () => (queue.queuedBytes === 0 ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve))),
          },
        });
      },
      drain() {
        queue.onDrain();
        settle();
      },
      // As the broker's connection does: waiters wake on close, and the sender sees the socket is gone.
      close() {
        queue.close();
        onServerClose();
        for (const wake of waiters.splice(0)) wake();
      },
      data() {},
    },
  });
  const chunks: Uint8Array[] = [];
  let received = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  const client = await Bun.connect({
    hostname: "127.0.0.1",
    port: listener.port,
    socket: {
      data(_socket, chunk) {
        chunks.push(new Uint8Array(chunk));
        received += chunk.length;
        if (received >= expectBytes) resolveDone();
      },
    },
  });
  const { target } = await serverSide;
  const received$ = async (): Promise<Uint8Array> => {
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`received ${received} of ${expectBytes}`)), WAIT_MS));
    await Promise.race([done, timeout]);
    return Buffer.concat(chunks);
  };
  return { target, received: received$, flushQueue: () => { queue.flush(); settle(); }, close: () => { client.end(); listener.stop(true); } };
}

describe("sendfileFileRangeSender", () => {
  test("sendfile is available on this platform", () => {
    expect(sendfileAvailable()).toBe(true);
  });

  test("a large range arrives byte-identical and in order with queued bytes, through EAGAIN and drain", async () => {
    const file = pattern(FILE_BYTES, 7);
    const path = join(root, "segment.log");
    fs.writeFileSync(path, file);
    const fd = fs.openSync(path, "r");
    const prefix = pattern(1000, 1);
    const suffix = pattern(3000, 2);
    const rangeStart = 12345;
    const rangeLength = FILE_BYTES - rangeStart - 777;
    const pair = await connectedPair(prefix.length + rangeLength + suffix.length);
    try {
      pair.target.queue.push(prefix);
      pair.flushQueue();
      const eagainBefore = sendfileCounters.eagain;
      const sent = await sendfileFileRangeSender.send(pair.target, { fd, position: rangeStart, length: rangeLength });
      expect(sent).not.toBe(false);
      pair.target.queue.push(suffix);
      pair.flushQueue();
      const bytes = await pair.received();
      expect(bytes.length).toBe(prefix.length + rangeLength + suffix.length);
      expect(Buffer.compare(bytes.subarray(0, prefix.length), prefix)).toBe(0);
      expect(Buffer.compare(bytes.subarray(prefix.length, prefix.length + rangeLength), file.subarray(rangeStart, rangeStart + rangeLength))).toBe(0);
      expect(Buffer.compare(bytes.subarray(prefix.length + rangeLength), suffix)).toBe(0);
      // The receiver shares this event loop, so the socket filled: the EAGAIN + drain path was exercised.
      expect(sendfileCounters.eagain).toBeGreaterThan(eagainBefore);
    } finally {
      pair.close();
      fs.closeSync(fd);
    }
  });

  test("a socket that closes while the sender waits for drain fails the send instead of writing to a reused descriptor", async () => {
    const path = join(root, "closing.log");
    fs.writeFileSync(path, pattern(FILE_BYTES, 5));
    const fd = fs.openSync(path, "r");
    // Opened the moment the socket closes, before the sender wakes: it takes the lowest free descriptor, very
    // likely the socket's old number, and sendfile(2) would happily write to it.
    const trapPath = join(root, "trap.bin");
    let trapFd = -1;
    const pair = await connectedPair(FILE_BYTES, () => (trapFd = fs.openSync(trapPath, "w")));
    try {
      const sending = sendfileFileRangeSender.send(pair.target, { fd, position: 0, length: FILE_BYTES });
      // The receiver shares this event loop and has not read yet: the sender is parked on drain. Close under it.
      pair.target.socket.end();
      pair.close();
      expect(await sending).toBe(false);
      expect(trapFd).toBeGreaterThanOrEqual(0);
      expect(fs.fstatSync(trapFd).size).toBe(0);
    } finally {
      fs.closeSync(fd);
      if (trapFd >= 0) fs.closeSync(trapFd);
    }
  });

  test("a segment descriptor retired and reused while the sender waits fails the send: no other file's bytes go out", async () => {
    const path = join(root, "retired.log");
    const file = pattern(FILE_BYTES, 9);
    fs.writeFileSync(path, file);
    const otherPath = join(root, "other.log");
    fs.writeFileSync(otherPath, pattern(FILE_BYTES, 10));
    const fd = fs.openSync(path, "r");
    const pair = await connectedPair(FILE_BYTES);
    let other = -1;
    try {
      const sending = sendfileFileRangeSender.send(pair.target, { fd, position: 0, length: FILE_BYTES });
      // Parked on drain (the receiver has not run yet): retire the descriptor; the next open takes its number.
      fs.closeSync(fd);
      other = fs.openSync(otherPath, "r");
      expect(other).toBe(fd);
      expect(await sending).toBe(false);
    } finally {
      if (other >= 0) fs.closeSync(other);
      pair.close();
    }
  });

  test("a range past the end of the file fails instead of hanging", async () => {
    const path = join(root, "short.log");
    fs.writeFileSync(path, pattern(100, 3));
    const fd = fs.openSync(path, "r");
    const pair = await connectedPair(1);
    try {
      expect(await sendfileFileRangeSender.send(pair.target, { fd, position: 50, length: 100 })).toBe(false);
    } finally {
      pair.close();
      fs.closeSync(fd);
    }
  });
});

describe("fetch through a server configured with sendfile", () => {
  test("delivers byte-identical batches (same as read+write, same as produced)", async () => {
    const broker = await Broker.open({ dataDir: join(root, "broker"), retentionCheckIntervalMs: 0, cleanerIntervalMs: 0, flushCheckIntervalMs: 0 });
    const viaSendfile = await startBrokerServer(broker, { host: "127.0.0.1", port: 0, fileRangeSender: sendfileFileRangeSender });
    const viaRead = await startBrokerServer(broker, { host: "127.0.0.1", port: 0, fileRangeSender: readFileRangeSender });
    const producer = await RawClient.connect(viaRead.port);
    const sendfileClient = await RawClient.connect(viaSendfile.port);
    const readClient = await RawClient.connect(viaRead.port);
    try {
      await createTopic(producer, "bytes");
      // 48 batches of ~160 KiB: several MiB per fetch, enough to fill the socket and take the EAGAIN path.
      const produced: Uint8Array[] = [];
      for (let i = 0; i < 48; i++) {
        const records = Array.from({ length: 40 }, (_, r) => ({ key: `k${i}-${r}`, value: pattern(4000, i * 100 + r), timestamp: 1_700_000_000_000 + i }));
        const batch = encodeRecordBatch({ records });
        produced.push(batch.slice());
        const answer = await produce(producer, "bytes", 0, batch, 1);
        expect(answer.errorCode).toBe(0);
      }
      const eagainBefore = sendfileCounters.eagain;
      const callsBefore = sendfileCounters.calls;
      const sent = await fetchAll(sendfileClient, "bytes", 0);
      expect(sendfileCounters.calls).toBeGreaterThan(callsBefore);
      const read = await fetchAll(readClient, "bytes", 0);
      expect(sent.batches).toHaveLength(produced.length);
      expect(read.batches).toHaveLength(produced.length);
      let offset = 0;
      for (let i = 0; i < produced.length; i++) {
        expect(Buffer.compare(sent.batches[i]!, read.batches[i]!)).toBe(0);
        // As produced from the magic byte on (the CRC covers it); the broker patched only the base offset before it.
        expect(Buffer.compare(sent.batches[i]!.subarray(MAGIC_OFFSET), produced[i]!.subarray(MAGIC_OFFSET))).toBe(0);
        expect(Number(new DataView(sent.batches[i]!.buffer).getBigInt64(BASE_OFFSET_OFFSET))).toBe(offset);
        offset += 40;
      }
      expect(sent.records).toHaveLength(48 * 40);
      // Reported, not asserted: whether the socket filled depends on the machine.
      if (sendfileCounters.eagain === eagainBefore) console.error("sendfile fetch did not hit EAGAIN this run");
    } finally {
      producer.close();
      sendfileClient.close();
      readClient.close();
      await viaSendfile.close();
      await viaRead.close();
      await broker.close();
    }
  });
});
