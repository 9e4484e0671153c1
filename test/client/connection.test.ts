// Connection against a real broker: handshake, pipelining in order, the in-flight bound, broker errors as typed
// RivuletErrors, unanswered requests, and what pending requests see when the socket dies or a request times out.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createServer, type Server, type Socket } from "node:net";
import { ApiVersionsApi } from "../../core/formats/protocol/api-versions.ts";
import { ErrorCode, RivuletError } from "../../core/formats/protocol/errors.ts";
import { MetadataApi } from "../../core/formats/protocol/metadata.ts";
import { ProduceApi } from "../../core/formats/protocol/produce.ts";
import { CreateTopicsApi } from "../../core/formats/protocol/create-topics.ts";
import { encodeRecordBatch } from "../../core/formats/record-batch.ts";
import { Connection, type ConnectionOptions } from "../../client/connection.ts";
import { RivuletClosedError, RivuletConnectionError, RivuletTimeoutError } from "../../client/errors.ts";
import { type InProcessBroker, startBroker, topicName, within } from "./helpers.ts";

let broker: InProcessBroker;

beforeAll(async () => {
  broker = await startBroker();
});

afterAll(async () => {
  await broker.stop();
});

function options(overrides: Partial<ConnectionOptions> = {}): ConnectionOptions {
  return { host: "127.0.0.1", port: broker.port, clientId: "connection-test", connectTimeoutMs: 5000, requestTimeoutMs: 5000, maxInFlightRequests: 5, ...overrides };
}

// A TCP server that accepts and never answers (for timeouts and handshake deadlines).
async function silentServer(): Promise<{ server: Server; port: number; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return { server, port: address.port, sockets };
}

describe("Connection", () => {
  test("handshakes and picks a version per API", async () => {
    const connection = await Connection.open(options());
    expect(connection.apiVersion(MetadataApi)).toBe(0);
    expect(connection.apiVersion(ProduceApi)).toBe(0);
    expect(connection.broker).toBe(`127.0.0.1:${broker.port}`);
    await connection.close();
    expect(connection.isClosed).toBe(true);
    expect(await connection.closed).toBeNull();
  });

  test("pipelines many requests and matches every answer", async () => {
    const connection = await Connection.open(options({ maxInFlightRequests: 3 }));
    const names = Array.from({ length: 50 }, (_, i) => `${topicName("pipe")}-${i}`);
    const answers = await Promise.all(names.map((name) => connection.request(MetadataApi, { topics: [name], allowAutoTopicCreation: false })));
    expect(answers.map((answer) => answer.topics[0]?.name)).toEqual(names);
    expect(answers.every((answer) => answer.topics[0]?.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)).toBe(true);
    expect(connection.inFlightRequests).toBe(0);
    expect(connection.waitingRequests).toBe(0);
    await connection.close();
  });

  test("never has more than maxInFlightRequests requests in flight", async () => {
    const connection = await Connection.open(options({ maxInFlightRequests: 2 }));
    const promises = Array.from({ length: 10 }, () => connection.request(MetadataApi, { topics: [], allowAutoTopicCreation: false }));
    expect(connection.inFlightRequests).toBe(2);
    expect(connection.waitingRequests).toBe(8);
    let maxSeen = 0;
    for (const promise of promises) {
      await promise;
      maxSeen = Math.max(maxSeen, connection.inFlightRequests);
    }
    expect(maxSeen).toBeLessThanOrEqual(2);
    await connection.close();
  });

  test("produces record batches passed as parts, large and small", async () => {
    const connection = await Connection.open(options());
    const topic = topicName("produce");
    await connection.request(CreateTopicsApi, { topics: [{ name: topic, numPartitions: 1, replicationFactor: -1, configs: [] }], timeoutMs: 5000, validateOnly: false });
    const big = encodeRecordBatch({ records: Array.from({ length: 100 }, (_, i) => ({ value: "x".repeat(500) + i, timestamp: 1000 + i })) });
    const small = encodeRecordBatch({ records: [{ key: "k", value: "v", timestamp: 1 }] });
    expect(big.byteLength).toBeGreaterThan(16 * 1024);
    const [first, second] = await Promise.all([
      connection.request(ProduceApi, { transactionalId: null, acks: -1, timeoutMs: 5000, topics: [{ name: topic, partitions: [{ index: 0, records: big }] }] }),
      connection.request(ProduceApi, { transactionalId: null, acks: 1, timeoutMs: 5000, topics: [{ name: topic, partitions: [{ index: 0, records: small }] }] }),
    ]);
    expect(first.topics[0]?.partitions[0]?.errorCode).toBe(0);
    expect(first.topics[0]?.partitions[0]?.baseOffset).toBe(0);
    expect(second.topics[0]?.partitions[0]?.baseOffset).toBe(100);
    // acks=0: no answer, no slot, resolves once written; the next answered request still matches.
    const none = await connection.request(ProduceApi, { transactionalId: null, acks: 0, timeoutMs: 5000, topics: [{ name: topic, partitions: [{ index: 0, records: small }] }] }, { expectResponse: false });
    expect(none).toBeUndefined();
    const after = await connection.request(ProduceApi, { transactionalId: null, acks: 1, timeoutMs: 5000, topics: [{ name: topic, partitions: [{ index: 0, records: small }] }] });
    expect(after.topics[0]?.partitions[0]?.baseOffset).toBe(102);
    await connection.close();
  });

  test("a connect to a closed port fails with a definite connection error", async () => {
    const { server, port } = await silentServer();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const error = await Connection.open(options({ port })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RivuletConnectionError);
    expect((error as RivuletConnectionError).definite).toBe(true);
    expect((error as RivuletConnectionError).retriable).toBe(true);
    expect((error as RivuletConnectionError).code).toBe(ErrorCode.NETWORK_EXCEPTION);
  });

  test("a broker that never answers the handshake fails open within connectTimeoutMs", async () => {
    const silent = await silentServer();
    const error = await within(Connection.open(options({ port: silent.port, connectTimeoutMs: 200 })).catch((e: unknown) => e), 5000, "open");
    expect(error).toBeInstanceOf(RivuletConnectionError);
    expect((error as RivuletConnectionError).definite).toBe(true);
    for (const socket of silent.sockets) socket.destroy();
    silent.server.close();
  });

  test("a request past its deadline rejects with RivuletTimeoutError and closes the connection", async () => {
    // Answer the handshake only, then go silent.
    const silent = await silentServer();
    const relayed = new Promise<void>((resolve) => {
      silent.server.on("connection", (socket: Socket) => {
        let first = true;
        socket.on("data", () => {
          if (!first) return;
          first = false;
          // A hand-made ApiVersions answer for correlation id 0: msgpack [0, 0, [0, [[3,0,0]], 0]].
          const body = Uint8Array.from([0x93, 0x00, 0x00, 0x93, 0x00, 0x91, 0x93, 0x03, 0x00, 0x00, 0x00]);
          const frame = new Uint8Array(4 + body.byteLength);
          new DataView(frame.buffer).setUint32(0, body.byteLength);
          frame.set(body, 4);
          socket.write(frame);
          resolve();
        });
      });
    });
    const connection = await Connection.open(options({ port: silent.port, requestTimeoutMs: 150 }));
    await relayed;
    const slow = connection.request(MetadataApi, { topics: [], allowAutoTopicCreation: false });
    const other = connection.request(MetadataApi, { topics: [], allowAutoTopicCreation: false }, { timeoutMs: 5000 });
    const error = await within(slow.catch((e: unknown) => e), 5000, "timeout");
    expect(error).toBeInstanceOf(RivuletTimeoutError);
    expect((error as RivuletTimeoutError).definite).toBe(false);
    expect((error as RivuletTimeoutError).code).toBe(ErrorCode.REQUEST_TIMED_OUT);
    const otherError = await other.catch((e: unknown) => e);
    expect(otherError).toBeInstanceOf(RivuletConnectionError);
    expect((otherError as RivuletConnectionError).definite).toBe(false);
    expect(connection.isClosed).toBe(true);
    expect(connection.apiVersion(ProduceApi)).toBeNull();
    for (const socket of silent.sockets) socket.destroy();
    silent.server.close();
  });

  test("when the broker goes away, in-flight requests fail indeterminate and waiting ones definite", async () => {
    const own = await startBroker();
    const connection = await Connection.open(options({ port: own.port, maxInFlightRequests: 1 }));
    // Long-polls would be ideal; a burst of requests with one slot leaves most of them waiting.
    const requests = Array.from({ length: 20 }, () => connection.request(MetadataApi, { topics: [], allowAutoTopicCreation: false }).then(() => null, (e: unknown) => e));
    const closed = connection.closed;
    await own.stop();
    const reason = await within(closed, 5000, "closed");
    expect(reason).toBeInstanceOf(RivuletConnectionError);
    const results = await Promise.all(requests);
    for (const result of results) if (result !== null) expect(result).toBeInstanceOf(RivuletConnectionError);
    const late = await connection.request(MetadataApi, { topics: [], allowAutoTopicCreation: false }).catch((e: unknown) => e);
    expect(late).toBeInstanceOf(RivuletConnectionError);
    expect((late as RivuletConnectionError).definite).toBe(true);
  });

  test("a request after close() rejects with RivuletClosedError", async () => {
    const connection = await Connection.open(options());
    await connection.close();
    const error = await connection.request(ApiVersionsApi, { clientSoftwareName: null, clientSoftwareVersion: null }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RivuletClosedError);
    expect(error).toBeInstanceOf(RivuletError);
    expect((error as RivuletClosedError).retriable).toBe(false);
  });

  test("a whole-request error code rejects with a typed RivuletError and the connection carries on", async () => {
    const connection = await Connection.open(options());
    // Acks 2 is not a valid acks value: the broker answers INVALID_REQUIRED_ACKS in the body or the envelope.
    const topic = topicName("acks");
    const answer = await connection
      .request(ProduceApi, { transactionalId: null, acks: 2, timeoutMs: 1000, topics: [{ name: topic, partitions: [{ index: 0, records: encodeRecordBatch({ records: [{ value: "v", timestamp: 1 }] }) }] }] })
      .then((response) => response.topics[0]?.partitions[0]?.errorCode, (error: unknown) => (error instanceof RivuletError ? error.code : -999));
    expect(answer).toBe(ErrorCode.INVALID_REQUIRED_ACKS);
    const versions = await connection.request(ApiVersionsApi, { clientSoftwareName: null, clientSoftwareVersion: null });
    expect(versions.errorCode).toBe(0);
    await connection.close();
  });

  test("raising maxInFlightRequests lets waiting callers through; lowering applies as slots free up", async () => {
    const connection = await Connection.open(options({ maxInFlightRequests: 1 }));
    const first = Array.from({ length: 6 }, () => connection.request(MetadataApi, { topics: [], allowAutoTopicCreation: false }));
    expect([connection.inFlightRequests, connection.waitingRequests]).toEqual([1, 5]);
    connection.maxInFlightRequests = 4;
    expect([connection.inFlightRequests, connection.waitingRequests]).toEqual([4, 2]);
    await Promise.all(first);
    connection.maxInFlightRequests = 2;
    const second = Array.from({ length: 5 }, () => connection.request(MetadataApi, { topics: [], allowAutoTopicCreation: false }));
    expect([connection.inFlightRequests, connection.waitingRequests]).toEqual([2, 3]);
    await Promise.all(second);
    expect([connection.inFlightRequests, connection.waitingRequests]).toEqual([0, 0]);
    await connection.close();
  });

  test("onClose listeners hear the reason, also when registered after the close", async () => {
    const connection = await Connection.open(options());
    const heard: (RivuletError | null)[] = [];
    connection.onClose((reason) => heard.push(reason));
    await connection.close();
    const late = await new Promise<RivuletError | null>((resolve) => connection.onClose(resolve));
    expect(heard).toEqual([null]);
    expect(late).toBeNull();
  });

  // A fake broker that answers the handshake properly, then answers the next request with `reply(correlationId)`.
  async function hostileBroker(reply: (correlationId: number) => Uint8Array): Promise<{ port: number; stop: () => void }> {
    const sockets: Socket[] = [];
    const server = createServer((socket) => {
      sockets.push(socket);
      socket.on("error", () => {});
      let frames = 0;
      let buffered = new Uint8Array(0);
      socket.on("data", (chunk: Buffer) => {
        const joined = new Uint8Array(buffered.byteLength + chunk.byteLength);
        joined.set(buffered);
        joined.set(chunk, buffered.byteLength);
        buffered = joined;
        while (buffered.byteLength >= 4) {
          const length = new DataView(buffered.buffer, buffered.byteOffset).getUint32(0);
          if (buffered.byteLength < 4 + length) break;
          buffered = buffered.subarray(4 + length);
          // The client numbers its requests from 0 (the handshake), so the n-th frame carries id n.
          const correlationId = frames;
          frames += 1;
          socket.write(correlationId === 0 ? handshakeAnswer() : reply(correlationId));
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("no port");
    return {
      port: address.port,
      stop: () => {
        for (const socket of sockets) socket.destroy();
        server.close();
      },
    };
  }

  function frameOf(body: readonly number[]): Uint8Array {
    const frame = new Uint8Array(4 + body.length);
    new DataView(frame.buffer).setUint32(0, body.length);
    frame.set(body, 4);
    return frame;
  }

  // [0, 0, [0, [[3, 0, 0]], 0]]: ApiVersions v0 answer for correlation id 0, Metadata v0 only.
  const handshakeAnswer = () => frameOf([0x93, 0x00, 0x00, 0x93, 0x00, 0x91, 0x93, 0x03, 0x00, 0x00, 0x00]);

  test.each([
    ["a wrong correlation id", (id: number) => frameOf([0x93, id + 5, 0x00, 0xc0]), /correlation id/],
    ["a response that is not msgpack", () => frameOf([0xc1, 0xc1]), /bad response envelope/],
    ["an envelope of the wrong shape", (id: number) => frameOf([0x92, id, 0x00]), /bad response envelope/],
    ["a body of the wrong shape", (id: number) => frameOf([0x93, id, 0x00, 0x91, 0x01]), /bad Metadata response/],
    ["a zero length prefix", () => Uint8Array.of(0, 0, 0, 0), /bad response frame \(bad_length\)/],
    ["a length over the response limit", () => Uint8Array.of(0x7f, 0xff, 0xff, 0xff), /bad response frame \(too_large\)/],
  ] as const)("%s closes the connection and fails the request, never throws", async (_name, reply, message) => {
    const hostile = await hostileBroker(reply);
    try {
      const connection = await Connection.open(options({ port: hostile.port }));
      const error = await within(connection.request(MetadataApi, { topics: [], allowAutoTopicCreation: false }).catch((e: unknown) => e), 5000, "answer");
      expect(error).toBeInstanceOf(RivuletConnectionError);
      expect((error as Error).message).toMatch(message);
      expect((error as RivuletConnectionError).definite).toBe(false);
      expect(connection.isClosed).toBe(true);
      expect(await connection.closed).toBeInstanceOf(RivuletConnectionError);
    } finally {
      hostile.stop();
    }
  });

  test("an API the broker does not speak rejects with UNSUPPORTED_VERSION without sending", async () => {
    const hostile = await hostileBroker(() => frameOf([0xc1]));
    try {
      const connection = await Connection.open(options({ port: hostile.port }));
      const error = await connection.request(ProduceApi, { transactionalId: null, acks: 1, timeoutMs: 1000, topics: [] }).catch((e: unknown) => e);
      expect((error as RivuletError).code).toBe(ErrorCode.UNSUPPORTED_VERSION);
      expect(connection.isClosed).toBe(false);
      await connection.close();
    } finally {
      hostile.stop();
    }
  });
});
