// The SDK's Connection and Cluster on the runtime they ship for (on Node: the built dist): pipelining within the
// in-flight bound, typed connection errors (definite when nothing was sent), a deadline that closes the
// connection, and a Cluster that reconnects after the broker is killed and restarted.
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { after, before, describe, test } from "node:test";
import { startBroker, topicName } from "./broker.mjs";
import { runtime, sdk } from "./sdk.mjs";

const { Cluster, Connection, ErrorCode, RivuletConnectionError, RivuletTimeoutError } = sdk;
const { MetadataApi } = sdk.protocol;

let broker;

before(async () => {
  broker = await startBroker();
});

after(async () => {
  await broker?.stop();
});

const options = (overrides = {}) => ({ host: "127.0.0.1", port: broker.port, clientId: "node-connection", connectTimeoutMs: 5000, requestTimeoutMs: 5000, maxInFlightRequests: 2, ...overrides });

describe(`Connection on ${runtime}`, () => {
  test("pipelines within the in-flight bound and matches every answer", async () => {
    const connection = await Connection.open(options());
    const names = Array.from({ length: 20 }, (_, i) => `${topicName("node-pipe")}-${i}`);
    const answers = names.map((name) => connection.request(MetadataApi, { topics: [name], allowAutoTopicCreation: false }));
    assert.equal(connection.inFlightRequests, 2);
    assert.equal(connection.waitingRequests, 18);
    assert.deepEqual((await Promise.all(answers)).map((answer) => answer.topics[0].name), names);
    await connection.close();
    assert.equal(await connection.closed, null);
  });

  test("a refused connect is a definite, retriable RivuletConnectionError", async () => {
    const server = createServer();
    await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address();
    await new Promise((resolve) => server.close(resolve));
    await assert.rejects(Connection.open(options({ port })), (error) => error instanceof RivuletConnectionError && error.definite && error.retriable && error.code === ErrorCode.NETWORK_EXCEPTION);
  });

  test("a silent peer: the handshake deadline is a definite connection error", async () => {
    const sockets = [];
    const server = createServer((socket) => sockets.push(socket.on("error", () => {})));
    await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      await assert.rejects(Connection.open(options({ port: server.address().port, connectTimeoutMs: 150 })), (error) => error instanceof RivuletConnectionError && error.definite);
    } finally {
      for (const socket of sockets) socket.destroy();
      server.close();
    }
  });

  test("requests in flight when the broker dies fail indeterminate; the Cluster reconnects after a restart", async () => {
    const cluster = Cluster.create({ brokers: [broker.address], retry: { retries: 50, initialRetryTime: 20, maxRetryTime: 200 } });
    const topic = topicName("node-reconnect");
    await cluster.partitionsFor(topic, { allowAutoTopicCreation: true });
    const first = await cluster.connectionFor(topic, 0);
    await broker.kill();
    const reason = await first.closed;
    assert.ok(reason instanceof RivuletConnectionError);
    const late = await first.request(MetadataApi, { topics: [], allowAutoTopicCreation: false }).catch((error) => error);
    assert.ok(late instanceof RivuletConnectionError && late.definite, "a request after the loss was never sent");
    const restarted = broker.restart();
    const second = await cluster.connectionFor(topic, 0);
    await restarted;
    assert.notEqual(second, first);
    assert.equal((await cluster.partitionsFor(topic)).length, 1);
    await cluster.close();
  });

  test("a request past its deadline is a RivuletTimeoutError and closes the connection", async () => {
    const sockets = [];
    // Answers the handshake ([0, 0, [0, [[3, 0, 0]], 0]]: Metadata v0 only), then nothing.
    const server = createServer((socket) => {
      sockets.push(socket.on("error", () => {}));
      socket.once("data", () => socket.write(Uint8Array.of(0, 0, 0, 11, 0x93, 0x00, 0x00, 0x93, 0x00, 0x91, 0x93, 0x03, 0x00, 0x00, 0x00)));
    });
    await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const connection = await Connection.open(options({ port: server.address().port, requestTimeoutMs: 100 }));
      await assert.rejects(connection.request(MetadataApi, { topics: [], allowAutoTopicCreation: false }), (error) => error instanceof RivuletTimeoutError && !error.definite);
      assert.ok(connection.isClosed);
    } finally {
      for (const socket of sockets) socket.destroy();
      server.close();
    }
  });
});
