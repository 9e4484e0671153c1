// The public entry point: options validated up front, each client with its own connections, and the issue's
// example (create a topic, produce with headers, consume from the beginning, read text) end to end.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Rivulet, RivuletConfigError, RivuletError, ErrorCode, text, headerText } from "../../client/index.ts";
import { type InProcessBroker, startBroker, topicName, within } from "./helpers.ts";

let broker: InProcessBroker;

beforeAll(async () => {
  broker = await startBroker();
});

afterAll(async () => {
  await broker.stop();
});

describe("Rivulet", () => {
  test("validates client options when constructed", () => {
    expect(() => new Rivulet({ brokers: [] })).toThrow(RivuletConfigError);
    expect(() => new Rivulet({ clientID: "x" } as never)).toThrow(/unknown option "clientID".*did you mean "clientId"/);
    expect(() => new Rivulet({ clientId: "x", "client.id": "y" })).toThrow(/same option/);
    const rivulet = new Rivulet({ "bootstrap.servers": [broker.address], clientId: "index-test" });
    expect(rivulet.options.brokers).toEqual([broker.address]);
    expect(rivulet.options.clientId).toBe("index-test");
  });

  test("bad producer and consumer options throw before anything connects", () => {
    const rivulet = new Rivulet({ brokers: [broker.address] });
    expect(() => rivulet.producer({ "batch.size": -1 } as never)).toThrow(RivuletConfigError);
    expect(() => rivulet.consumer({ "auto.offset.reset": "sideways" } as never)).toThrow(RivuletConfigError);
    expect(() => rivulet.admin({ nonsense: 1 } as never)).toThrow(RivuletConfigError);
  });

  test("admin, producer and consumer round trip", async () => {
    const rivulet = new Rivulet({ brokers: [broker.address], clientId: "ride-api" });
    const admin = rivulet.admin();
    const topic = topicName("dispatch");
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
    const producer = rivulet.producer({ acks: "all", "linger.ms": 1, compression: "lz4" });
    await producer.connect();
    const event = { ride: 123, at: "2026-11-22" };
    const sent = await producer.send({ topic, messages: [{ key: "ride_123", value: JSON.stringify(event), headers: { source: "api" } }] });
    expect(sent.length).toBe(1);
    expect(sent[0]?.topic).toBe(topic);
    expect(typeof sent[0]?.offset).toBe("bigint");
    await producer.disconnect();

    const consumer = rivulet.consumer({ "auto.offset.reset": "earliest" });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const message = await within(
      (async () => {
        for await (const message of consumer) return message;
        return null;
      })(),
      10_000,
      "consume",
    );
    expect(message).not.toBeNull();
    expect(text(message!.key)).toBe("ride_123");
    expect(JSON.parse(text(message!.value!))).toEqual(event);
    expect(headerText(message!.headers, "source")).toBe("api");
    expect(message!.partition).toBe(sent[0]!.partition);
    expect(message!.offset).toBe(sent[0]!.offset);
    await consumer.disconnect();

    const [latest] = await admin.listOffsets({ topic, partitions: [sent[0]!.partition] });
    expect(latest?.offset).toBe(sent[0]!.offset + 1n);
    await admin.deleteTopics({ topics: [topic] });
    const gone = await admin.describeTopics([topic]).catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(RivuletError);
    expect((gone as RivuletError).code).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    await admin.disconnect();
  });
});
