// Cluster against a real broker: bootstrap, metadata cache and refresh, routing by leader, typed topic errors,
// retries with backoff, reconnect after the broker restarts (a child process killed and started again), close.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ErrorCode, RivuletError } from "../../core/formats/protocol/errors.ts";
import { CreateTopicsApi } from "../../core/formats/protocol/create-topics.ts";
import { Cluster, backoffMs, parseBrokerAddress, resolveClientOptions } from "../../client/cluster.ts";
import { RivuletClosedError, RivuletConfigError, RivuletConnectionError } from "../../client/errors.ts";
import { type InProcessBroker, startBroker, startChildBroker, topicName, within } from "./helpers.ts";

let broker: InProcessBroker;

beforeAll(async () => {
  broker = await startBroker({ numPartitions: 3 });
});

afterAll(async () => {
  await broker.stop();
});

function cluster(overrides: Record<string, unknown> = {}): Cluster {
  return Cluster.create({ brokers: [broker.address], clientId: "cluster-test", retry: { retries: 2, initialRetryTime: 10, maxRetryTime: 50 }, ...overrides });
}

describe("client options", () => {
  test("defaults, Kafka names and camelCase", () => {
    const defaults = resolveClientOptions({});
    expect(defaults.brokers).toEqual(["127.0.0.1:9192"]);
    expect(defaults.clientId).toBe("rivulet");
    expect(defaults.requestTimeout).toBe(30_000);
    expect(defaults.retry).toEqual({ retries: 5, initialRetryTime: 100, maxRetryTime: 1000 });
    const kafka = resolveClientOptions({ "bootstrap.servers": "a:1,b:2", "client.id": "x", "request.timeout.ms": "5000", retry: { "retry.backoff.ms": 7 } });
    expect(kafka.brokers).toEqual(["a:1", "b:2"]);
    expect(kafka.clientId).toBe("x");
    expect(kafka.requestTimeout).toBe(5000);
    expect(kafka.retry.initialRetryTime).toBe(7);
  });

  test("bad options throw RivuletConfigError naming the option", () => {
    expect(() => resolveClientOptions({ brokers: ["nope:99999"] })).toThrow(RivuletConfigError);
    expect(() => resolveClientOptions({ requestTimeout: -1 })).toThrow(/requestTimeout/);
    expect(() => resolveClientOptions({ retry: { retries: "many" } })).toThrow(/retries/);
  });

  test("broker addresses", () => {
    expect(parseBrokerAddress("127.0.0.1:9192")).toEqual({ host: "127.0.0.1", port: 9192 });
    expect(parseBrokerAddress("localhost")).toEqual({ host: "localhost", port: 9192 });
    expect(parseBrokerAddress("[::1]:9")).toEqual({ host: "::1", port: 9 });
    expect(parseBrokerAddress("host:0")).toBeNull();
    expect(parseBrokerAddress("")).toBeNull();
  });

  test("backoff doubles up to the maximum, with bounded jitter", () => {
    const retry = { retries: 5, initialRetryTime: 100, maxRetryTime: 1000 };
    expect(backoffMs(retry, 0, () => 0.5)).toBe(100);
    expect(backoffMs(retry, 1, () => 0.5)).toBe(200);
    expect(backoffMs(retry, 3, () => 0.5)).toBe(800);
    expect(backoffMs(retry, 10, () => 0.5)).toBe(1000);
    expect(backoffMs(retry, 0, () => 0)).toBe(80);
    expect(backoffMs(retry, 0, () => 1)).toBe(120);
    expect(backoffMs(retry, 10, () => 1)).toBe(1000);
  });
});

describe("Cluster", () => {
  test("connects and learns the broker list", async () => {
    const client = cluster();
    await client.connect();
    const metadata = await client.metadata([]);
    expect(metadata.brokers).toEqual([{ nodeId: expect.any(Number), host: "127.0.0.1", port: broker.port, rack: null }]);
    await client.close();
  });

  test("partitionsFor auto-creates when asked, caches, and routes to the leader", async () => {
    const client = cluster();
    const topic = topicName("auto");
    const partitions = await client.partitionsFor(topic, { allowAutoTopicCreation: true });
    expect(partitions.map((p) => p.partition)).toEqual([0, 1, 2]);
    expect(partitions.every((p) => p.errorCode === 0 && p.leader >= 0)).toBe(true);
    const again = await client.partitionsFor(topic);
    expect(again).toBe(partitions);
    const connection = await client.connectionFor(topic, 2);
    expect(connection.broker).toBe(broker.address);
    expect(await client.connectionFor(topic, 0)).toBe(connection);
    await client.close();
  });

  test("an unknown topic is a typed, retriable error after the retries run out", async () => {
    const client = cluster();
    const topic = topicName("missing");
    const error = await client.partitionsFor(topic).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RivuletError);
    expect((error as RivuletError).code).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect((error as RivuletError).message).toContain(topic);
    const partitionError = await client.connectionFor(topicName("missing"), 0).catch((e: unknown) => e);
    expect((partitionError as RivuletError).code).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    await client.close();
  });

  test("a partition past the end is UNKNOWN_TOPIC_OR_PARTITION", async () => {
    const client = cluster();
    const topic = topicName("range");
    await client.partitionsFor(topic, { allowAutoTopicCreation: true });
    const error = await client.connectionFor(topic, 7).catch((e: unknown) => e);
    expect((error as RivuletError).code).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    await client.close();
  });

  test("noteError marks a topic stale so the next lookup sees new partitions", async () => {
    const client = cluster();
    const topic = topicName("stale");
    const connection = await client.anyConnection();
    await connection.request(CreateTopicsApi, { topics: [{ name: topic, numPartitions: 1, replicationFactor: -1, configs: [] }], timeoutMs: 5000, validateOnly: false });
    expect((await client.partitionsFor(topic)).length).toBe(1);
    await broker.broker.createPartitions(topic, 4);
    expect((await client.partitionsFor(topic)).length).toBe(1);
    expect(client.noteError(new RivuletError(ErrorCode.NOT_LEADER_OR_FOLLOWER), topic)).toBe(true);
    expect(client.noteError(new RivuletError(ErrorCode.INVALID_CONFIG), topic)).toBe(false);
    expect((await client.partitionsFor(topic)).length).toBe(4);
    await client.close();
  });

  test("no reachable broker fails with a connection error after the retries", async () => {
    const client = Cluster.create({ brokers: ["127.0.0.1:1"], retry: { retries: 2, initialRetryTime: 5, maxRetryTime: 10 } });
    const error = await within(client.connect().catch((e: unknown) => e), 5000, "connect");
    expect(error).toBeInstanceOf(RivuletConnectionError);
    await client.close();
  });

  test("the first reachable bootstrap broker is used", async () => {
    const client = Cluster.create({ brokers: ["127.0.0.1:1", broker.address], retry: { retries: 0 } });
    await client.connect();
    expect((await client.anyConnection()).broker).toBe(broker.address);
    await client.close();
  });

  test("after close() every call rejects with RivuletClosedError", async () => {
    const client = cluster();
    await client.connect();
    await client.close();
    expect(client.isClosed).toBe(true);
    await expect(client.metadata()).rejects.toBeInstanceOf(RivuletClosedError);
    await expect(client.connectionFor("x", 0)).rejects.toBeInstanceOf(RivuletClosedError);
  });

  test("reconnects after the broker is killed and restarted", async () => {
    const child = await startChildBroker();
    try {
      const client = Cluster.create({ brokers: [child.address], retry: { retries: 20, initialRetryTime: 20, maxRetryTime: 200 } });
      const topic = topicName("restart");
      await client.partitionsFor(topic, { allowAutoTopicCreation: true });
      const first = await client.connectionFor(topic, 0);
      await child.kill();
      const reason = await within(first.closed, 5000, "connection loss");
      expect(reason).toBeInstanceOf(RivuletConnectionError);
      const restarted = child.restart();
      // Started while the broker is still down: the retry loop backs off until it is back.
      const second = await within(client.connectionFor(topic, 0), 20_000, "reconnect");
      await restarted;
      expect(second).not.toBe(first);
      expect(second.isClosed).toBe(false);
      expect((await client.partitionsFor(topic)).length).toBe(1);
      await client.close();
    } finally {
      await child.stop();
    }
  });

  test("maxInFlightRequests applies to open and future connections; unknown nodes are BROKER_NOT_AVAILABLE", async () => {
    const client = cluster();
    const connection = await client.anyConnection();
    client.maxInFlightRequests = 2;
    expect(connection.maxInFlightRequests).toBe(2);
    expect(client.maxInFlightRequests).toBe(2);
    const controller = await client.controllerConnection();
    expect(controller.broker).toBe(broker.address);
    const error = await client.connectionTo(4242).catch((e: unknown) => e);
    expect((error as RivuletError).code).toBe(ErrorCode.BROKER_NOT_AVAILABLE);
    await client.close();
  });

  test("a closed connection is replaced on next use; a clean close keeps the metadata cache", async () => {
    const own = await startBroker();
    try {
      const client = Cluster.create({ brokers: [own.address], retry: { retries: 0 } });
      const topic = topicName("lost");
      const partitions = await client.partitionsFor(topic, { allowAutoTopicCreation: true });
      const first = await client.connectionFor(topic, 0);
      // The client side closes it (as a failed socket would); the cluster must not hand it out again.
      await first.close();
      const second = await client.connectionFor(topic, 0);
      expect(second).not.toBe(first);
      expect(second.isClosed).toBe(false);
      expect(await client.partitionsFor(topic)).toBe(partitions);
      await client.close();
    } finally {
      await own.stop();
    }
  });
});
