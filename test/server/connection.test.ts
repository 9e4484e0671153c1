// Connection against a scripted socket: backpressure (the queue's high-water mark and the pipelining bound stop
// reading, drain resumes it), coalescing (one write per data callback), and the handshake frame limit.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Socket } from "bun";
import { Broker } from "../../core/engine/broker.ts";
import { ApiVersionsApi } from "../../core/formats/protocol/api-versions.ts";
import { encodeRequest } from "../../core/formats/protocol/envelope.ts";
import { FetchApi } from "../../core/formats/protocol/fetch.ts";
import { FrameReader, HANDSHAKE_FRAME_BYTES_MAX } from "../../core/formats/protocol/frame.ts";
import { ProduceApi } from "../../core/formats/protocol/produce.ts";
import { Connection } from "../../server/connection.ts";
import { FetchWaiters } from "../../server/fetch-waiters.ts";
import { readFileRangeSender } from "../../server/file-range.ts";
import type { ServerContext } from "../../server/server-context.ts";
import { type ServerLimits, resolveServerLimits } from "../../server/server-limits.ts";
import { fetchRequest, produceRequest, recordValues, testBatch } from "./server-fixture.ts";

/** A stand-in for a Bun socket: accepts up to `budget` bytes, records pause/resume/end and write calls. */
class ScriptedSocket {
  budget = Number.POSITIVE_INFINITY;
  writes = 0;
  received: number[] = [];
  paused = false;
  ended = false;
  write(data: Uint8Array): number {
    if (this.ended) return -1;
    this.writes++;
    const n = Math.min(this.budget, data.byteLength);
    this.budget -= n;
    for (let i = 0; i < n; i++) this.received.push(data[i]!);
    return n;
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
  end(): void {
    this.ended = true;
  }
  /** Response frames received so far (whole ones). */
  frames(): Uint8Array[] {
    const reader = new FrameReader(0x7fffffff);
    reader.push(new Uint8Array(this.received));
    const out: Uint8Array[] = [];
    for (let next = reader.next(); next.ok; next = reader.next()) out.push(next.value);
    return out;
  }
}

let dataDir: string;
let broker: Broker;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "rivulet-connection-"));
  broker = await Broker.open({ dataDir, retentionCheckIntervalMs: 0, cleanerIntervalMs: 0, flushCheckIntervalMs: 0 });
  await broker.createTopic("bp");
  await broker.createTopic("big");
  const log = broker.partition("big", 0);
  if (!log.ok) throw new Error("no partition");
  // ~640 KiB of stored batches, so one fetch answer is large.
  for (let i = 0; i < 10; i++) log.value.append(testBatch(1, "z".repeat(64 * 1024)));
});

afterAll(async () => {
  await broker.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function connection(limits: Partial<ServerLimits> = {}): { socket: ScriptedSocket; connection: Connection; context: ServerContext } {
  const socket = new ScriptedSocket();
  const context: ServerContext = {
    broker,
    limits: resolveServerLimits(limits),
    advertisedHost: "127.0.0.1",
    advertisedPort: 9,
    autoCreateTopicsEnable: true,
    numPartitions: 1,
    fetchWaiters: new FetchWaiters(100),
  };
  return { socket, context, connection: new Connection(socket as unknown as Socket<unknown>, context, readFileRangeSender, Date.now(), "127.0.0.1") };
}

let correlationId = 1;
function frame(api: Parameters<typeof encodeRequest>[0], request: unknown): Uint8Array {
  return encodeRequest(api, { apiVersion: 0, correlationId: correlationId++, clientId: "t" }, request as never);
}

function bpEnd(): number {
  const log = broker.partition("bp", 0);
  return log.ok ? Number(log.value.logEndOffset) : -1;
}

describe("Connection", () => {
  test("answers of one data callback are coalesced into one write", () => {
    const { socket, connection: c } = connection();
    const frames = Array.from({ length: 50 }, () => frame(ApiVersionsApi, { clientSoftwareName: null, clientSoftwareVersion: null }));
    c.onData(new Uint8Array(frames.flatMap((f) => [...f])), Date.now());
    expect(socket.frames().length).toBe(50);
    expect(socket.writes).toBe(1);
  });

  test("a queue over its high-water mark stops reading until drain; then the held requests run", () => {
    const { socket, connection: c } = connection({ outboundHighWaterBytes: 256 * 1024 });
    c.onData(frame(ApiVersionsApi, { clientSoftwareName: null, clientSoftwareVersion: null }), Date.now());
    socket.budget = 1000;
    const before = bpEnd();
    const chunk = [
      ...frame(FetchApi, fetchRequest("big", 0, 0, { maxBytes: 8 << 20 })),
      ...frame(ProduceApi, produceRequest("bp", 0, testBatch(1), 1)),
    ];
    c.onData(new Uint8Array(chunk), Date.now());
    // The fetch answer (~640 KiB) is over the mark: the produce behind it was not taken, and reading paused.
    expect(socket.paused).toBe(true);
    expect(bpEnd()).toBe(before);
    socket.budget = Number.POSITIVE_INFINITY;
    c.onDrain();
    expect(socket.paused).toBe(false);
    expect(bpEnd()).toBe(before + 1);
    const frames = socket.frames();
    expect(frames.length).toBe(3);
  });

  test("pipelined Produce requests split across chunks (their frame buffer passed on from one to the next) are stored intact", async () => {
    const { socket, connection: c } = connection();
    await broker.createTopic("recycled");
    c.onData(frame(ApiVersionsApi, { clientSoftwareName: null, clientSoftwareVersion: null }), Date.now());
    // Three requests of 130-200 KiB, the middle one acks=all (its answer waits for an fsync while the third is read).
    const values = [["a", 200, 1], ["b", 150, -1], ["c", 130, 1]] as const;
    const stream = values.flatMap(([letter, kib, acks]) => [...frame(ProduceApi, produceRequest("recycled", 0, testBatch(1, letter.repeat(kib * 1024)), acks))]);
    const bytes = new Uint8Array(stream);
    // Delivered as a socket would: 64 KiB chunks, so every request is assembled from several of them.
    for (let at = 0; at < bytes.length; at += 64 * 1024) c.onData(bytes.slice(at, at + 64 * 1024), Date.now());
    await c.whenQuiet();
    expect(socket.frames().length).toBe(4);
    const log = broker.partition("recycled", 0);
    if (!log.ok) throw new Error("no partition");
    const read = log.value.read(0, 8 << 20);
    if (!read.ok) throw new Error(read.error);
    expect(recordValues(log.value.readRanges(read.value.ranges))).toEqual(values.map(([letter, kib]) => `${letter.repeat(kib * 1024)}-0`));
  });

  test("queuedRequestsMax bounds unanswered requests: long polls past it wait in the framer", async () => {
    const { socket, connection: c, context } = connection({ queuedRequestsMax: 3, fetchMaxWaitMsMax: 60_000 });
    c.onData(frame(ApiVersionsApi, { clientSoftwareName: null, clientSoftwareVersion: null }), Date.now());
    const polls = Array.from({ length: 6 }, () => [...frame(FetchApi, fetchRequest("bp", 0, bpEnd(), { maxWaitMs: 60_000 }))]);
    c.onData(new Uint8Array(polls.flat()), Date.now());
    expect(context.fetchWaiters.size).toBe(3);
    expect(c.pendingRequests).toBe(3);
    expect(socket.paused).toBe(true);
    context.fetchWaiters.expireAll();
    // The expired answers are written in a microtask; then the next three are read and park.
    await new Promise<void>((resolve) => queueMicrotask(resolve));
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(context.fetchWaiters.size).toBe(3);
    context.fetchWaiters.expireAll();
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(socket.frames().length).toBe(7);
    expect(c.pendingRequests).toBe(0);
    // Answered long polls left the connection's close list (a long-lived consumer must not grow it).
    expect((c as unknown as { closeCallbacks: Set<unknown> }).closeCallbacks.size).toBe(0);
    c.close(null);
  });

  test("a fetch answer waiting its turn pins its file ranges; a topic deleted meanwhile closes instead of sending other bytes", async () => {
    const { socket, connection: c, context } = connection({ fetchMaxWaitMsMax: 60_000 });
    await broker.createTopic("victim");
    const victim = broker.partition("victim", 0);
    if (!victim.ok) throw new Error("no partition");
    victim.value.append(testBatch(3, "gone"));
    c.onData(frame(ApiVersionsApi, { clientSoftwareName: null, clientSoftwareVersion: null }), Date.now());
    // A long poll first (its answer is pending), then a fetch of the victim whose answer must wait behind it.
    const chunk = [...frame(FetchApi, fetchRequest("bp", 0, bpEnd(), { maxWaitMs: 60_000 })), ...frame(FetchApi, fetchRequest("victim", 0, 0))];
    c.onData(new Uint8Array(chunk), Date.now());
    expect(c.pendingRequests).toBe(2);
    expect((await broker.deleteTopic("victim")).ok).toBe(true);
    context.fetchWaiters.expireAll();
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(c.closeReason).toBe("send_failed");
    expect(socket.frames().length).toBe(2);
  });

  test("a pinned answer whose file is still there is sent whole when its turn comes", async () => {
    const { socket, connection: c, context } = connection({ fetchMaxWaitMsMax: 60_000 });
    c.onData(frame(ApiVersionsApi, { clientSoftwareName: null, clientSoftwareVersion: null }), Date.now());
    const chunk = [...frame(FetchApi, fetchRequest("bp", 0, bpEnd(), { maxWaitMs: 60_000 })), ...frame(FetchApi, fetchRequest("big", 0, 0, { maxBytes: 8 << 20, partitionMaxBytes: 8 << 20 }))];
    c.onData(new Uint8Array(chunk), Date.now());
    context.fetchWaiters.expireAll();
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(c.closeReason).toBe(null);
    const frames = socket.frames();
    expect(frames.length).toBe(3);
    expect(frames[2]!.byteLength).toBeGreaterThan(10 * 64 * 1024);
    c.close(null);
  });

  test("before the first request frames are held to the handshake limit; after it, to socket.request.max.bytes", () => {
    const tooBig = new Uint8Array(4);
    new DataView(tooBig.buffer).setUint32(0, HANDSHAKE_FRAME_BYTES_MAX + 1);
    const first = connection();
    first.connection.onData(tooBig, Date.now());
    expect(first.socket.ended).toBe(true);
    expect(first.connection.closeReason).toBe("too_large");
    const second = connection();
    second.connection.onData(frame(ApiVersionsApi, { clientSoftwareName: null, clientSoftwareVersion: null }), Date.now());
    second.connection.onData(tooBig, Date.now());
    expect(second.socket.ended).toBe(false);
    second.connection.close(null);
  });

  test("a partial frame starts the header-read clock; a whole one stops it", () => {
    const { connection: c } = connection();
    const whole = frame(ApiVersionsApi, { clientSoftwareName: null, clientSoftwareVersion: null });
    c.onData(whole.subarray(0, 3), 1000);
    expect(c.partialSinceMs).toBe(1000);
    c.onData(whole.subarray(3, 6), 2000);
    expect(c.partialSinceMs).toBe(1000);
    c.onData(whole.subarray(6), 3000);
    expect(c.partialSinceMs).toBe(0);
    expect(c.lastActivityMs).toBe(3000);
  });
});
