// The fault-injection proxy on its own, in front of a tiny framed echo server: transparent forwarding of pipelined
// frames split at any byte, each fault on command (dropped response after the server handled the request, cut
// before the request, delay with order kept), seeded random faults that reproduce, bounds, and close().
import { afterEach, describe, expect, test } from "bun:test";
import type { Socket, TCPSocketListener } from "bun";
import { FrameReader, encodeFrame } from "../../core/formats/protocol/frame.ts";
import { FaultProxy } from "./proxy.ts";

const WAIT_MS = 5_000;

// Answers every frame with a frame "re:" + body, and remembers what it received.
class EchoServer {
  readonly received: string[] = [];
  private constructor(readonly listener: TCPSocketListener<FrameReader>) {}

  static start(): EchoServer {
    let server: EchoServer | null = null;
    const listener = Bun.listen<FrameReader>({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        open: (socket) => {
          socket.data = new FrameReader();
        },
        data: (socket, chunk) => {
          socket.data.push(chunk.slice());
          for (let next = socket.data.next(); next.ok; next = socket.data.next()) {
            const text = new TextDecoder().decode(next.value);
            server!.received.push(text);
            socket.write(encodeFrame(new TextEncoder().encode(`re:${text}`)));
          }
        },
      },
    });
    server = new EchoServer(listener);
    return server;
  }

  stop(): void {
    this.listener.stop(true);
  }
}

// A client that sends frames and collects answer frames; every wait is bounded.
class FrameClient {
  readonly answers: string[] = [];
  private readonly reader = new FrameReader();
  private waiters: (() => void)[] = [];
  closed = false;
  private socket!: Socket<undefined>;

  static async connect(port: number): Promise<FrameClient> {
    const client = new FrameClient();
    client.socket = await Bun.connect<undefined>({
      hostname: "127.0.0.1",
      port,
      socket: {
        data: (_socket, chunk) => {
          client.reader.push(chunk.slice());
          for (let next = client.reader.next(); next.ok; next = client.reader.next()) client.answers.push(new TextDecoder().decode(next.value));
          client.wake();
        },
        close: () => {
          client.closed = true;
          client.wake();
        },
      },
    });
    return client;
  }

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  send(text: string): void {
    this.sendBytes(encodeFrame(new TextEncoder().encode(text)));
  }

  sendBytes(bytes: Uint8Array): void {
    let written = 0;
    while (written < bytes.length) written += Math.max(0, this.socket.write(bytes.subarray(written)));
  }

  /** Resolves when `condition` holds (checked on every event); rejects after WAIT_MS. */
  async until(condition: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + WAIT_MS;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.socket.end();
  }
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(options: Partial<Parameters<typeof FaultProxy.start>[0]> = {}): Promise<{ server: EchoServer; proxy: FaultProxy }> {
  const server = EchoServer.start();
  cleanups.push(() => server.stop());
  const proxy = await FaultProxy.start({ targetPort: server.listener.port, ...options });
  cleanups.push(() => proxy.close());
  return { server, proxy };
}

async function connect(port: number): Promise<FrameClient> {
  const client = await FrameClient.connect(port);
  cleanups.push(() => client.close());
  return client;
}

describe("forwarding", () => {
  test("pipelined frames, written in pieces of every size, arrive whole and in order both ways", async () => {
    const { server, proxy } = await setup();
    const client = await connect(proxy.port);
    const texts = Array.from({ length: 200 }, (_, i) => `m${i}-${"x".repeat((i * 37) % 3000)}`);
    const stream = new Uint8Array(texts.reduce((n, t) => n + 4 + t.length, 0));
    let at = 0;
    for (const text of texts) {
      stream.set(encodeFrame(new TextEncoder().encode(text)), at);
      at += 4 + text.length;
    }
    // Pieces of 1..97 bytes, so prefixes and bodies straddle writes.
    for (let start = 0, size = 1; start < stream.length; start += size, size = (size % 97) + 1) client.sendBytes(stream.subarray(start, start + size));
    await client.until(() => client.answers.length === texts.length, "every answer");
    expect(server.received).toEqual(texts);
    expect(client.answers).toEqual(texts.map((t) => `re:${t}`));
    expect(proxy.stats).toMatchObject({ requestsForwarded: 200, responsesForwarded: 200, responsesDropped: 0, cuts: 0 });
  });
});

describe("faults on command", () => {
  test("a dropped response: the server handled the request, the client gets no answer and a closed connection", async () => {
    const { server, proxy } = await setup();
    const client = await connect(proxy.port);
    client.send("a");
    await client.until(() => client.answers.length === 1, "first answer");
    proxy.dropNextResponses(1);
    client.send("b");
    await client.until(() => client.closed, "the cut");
    expect(server.received).toEqual(["a", "b"]);
    expect(client.answers).toEqual(["re:a"]);
    expect(proxy.stats.responsesDropped).toBe(1);
    expect(proxy.events.some((e) => e.kind === "drop_response")).toBe(true);
    // A new connection works as before.
    const again = await connect(proxy.port);
    again.send("c");
    await again.until(() => again.answers.length === 1, "answer after reconnect");
    expect(again.answers).toEqual(["re:c"]);
  });

  test("a cut before the request: the server never sees it", async () => {
    const { server, proxy } = await setup();
    const client = await connect(proxy.port);
    proxy.cutNextRequests(1);
    client.send("never");
    await client.until(() => client.closed, "the cut");
    expect(server.received).toEqual([]);
    expect(proxy.stats.cuts).toBe(1);
  });

  test("cutAll closes every open connection", async () => {
    const { proxy } = await setup();
    const clients = await Promise.all([connect(proxy.port), connect(proxy.port), connect(proxy.port)]);
    for (const client of clients) client.send("hi");
    for (const client of clients) await client.until(() => client.answers.length === 1, "answer");
    expect(proxy.cutAll()).toBe(3);
    for (const client of clients) await client.until(() => client.closed, "cut");
    expect(proxy.openConnections).toBe(0);
  });

  test("a delayed request holds back the ones behind it: order is kept", async () => {
    const { server, proxy } = await setup();
    const client = await connect(proxy.port);
    proxy.delayNextRequests(1, 30);
    for (const text of ["1", "2", "3"]) client.send(text);
    await client.until(() => client.answers.length === 3, "answers");
    expect(server.received).toEqual(["1", "2", "3"]);
    expect(client.answers).toEqual(["re:1", "re:2", "re:3"]);
    expect(proxy.stats.delays).toBe(1);
  });
});

describe("seeded random faults", () => {
  // Lock-step traffic over reconnecting clients; returns the fault events' kinds in order.
  async function run(seed: number): Promise<{ kinds: string[]; answered: number; received: number }> {
    const { server, proxy } = await setup({ seed, faults: { dropResponse: 0.1, cutBeforeRequest: 0.05, delayRequest: 0.1, delayMsMax: 3 } });
    let answered = 0;
    let client = await connect(proxy.port);
    for (let i = 0; i < 150; i++) {
      if (client.closed) client = await connect(proxy.port);
      const before = client.answers.length;
      client.send(`r${i}`);
      await client.until(() => client.answers.length > before || client.closed, "answer or cut");
      if (client.answers.length > before) answered++;
    }
    const kinds = proxy.events.filter((e) => e.kind !== "connect" && !(e.kind === "cut" && e.reason === "client_closed")).map((e) => (e.kind === "cut" ? `cut:${e.reason}` : e.kind));
    return { kinds, answered, received: server.received.length };
  }

  test("the same seed gives the same faults; every kind happens; drops follow handled requests", async () => {
    const first = await run(1234);
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    const second = await run(1234);
    expect(second.kinds).toEqual(first.kinds);
    expect(first.kinds).toContain("drop_response");
    expect(first.kinds).toContain("cut:random");
    expect(first.kinds).toContain("delay");
    // Requests the server saw = answered + dropped responses; cut requests never reached it.
    const drops = first.kinds.filter((k) => k === "drop_response").length;
    expect(first.received).toBe(first.answered + drops);
  });
});

describe("bounds and close", () => {
  test("a frame over frameBytesMax cuts the connection before it is buffered", async () => {
    const { server, proxy } = await setup({ frameBytesMax: 1024 });
    const client = await connect(proxy.port);
    client.send("y".repeat(2000));
    await client.until(() => client.closed, "cut");
    expect(server.received).toEqual([]);
    expect(proxy.events.some((e) => e.kind === "cut" && e.reason === "frame_error")).toBe(true);
  });

  test("close() stops listening and closes every connection it opened", async () => {
    const { proxy } = await setup();
    const client = await connect(proxy.port);
    client.send("x");
    await client.until(() => client.answers.length === 1, "answer");
    await proxy.close();
    await client.until(() => client.closed, "close");
    expect(proxy.openConnections).toBe(0);
    let refused = false;
    try {
      const late = await FrameClient.connect(proxy.port);
      await late.until(() => late.closed, "refusal");
      refused = true;
    } catch {
      refused = true;
    }
    expect(refused).toBe(true);
  });
});
