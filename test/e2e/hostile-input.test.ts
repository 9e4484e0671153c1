// Hostile input against a live broker: bad length prefixes close the connection before a body is buffered,
// undecodable frames close it, requests with a readable header but a bad api key, version or field get typed
// error answers on a connection that keeps working, and none of it touches other connections.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ApiVersionsApi } from "../../core/formats/protocol/api-versions.ts";
import { decodeResponseBody } from "../../core/formats/protocol/envelope.ts";
import { ErrorCode } from "../../core/formats/protocol/errors.ts";
import { HANDSHAKE_FRAME_BYTES_MAX, encodeFrame } from "../../core/formats/protocol/frame.ts";
import { MetadataApi } from "../../core/formats/protocol/metadata.ts";
import { packValue } from "../../core/formats/protocol/msgpack.ts";
import { ProduceApi } from "../../core/formats/protocol/produce.ts";
import { type TestServer, produceRequest, startTestServer, testBatch } from "../server/server-fixture.ts";
import { RawClient } from "./raw-client.ts";

const REQUEST_LIMIT_BYTES = 256 * 1024;
let fixture: TestServer;
let bystander: RawClient;

beforeAll(async () => {
  fixture = await startTestServer({ limits: { socketRequestMaxBytes: REQUEST_LIMIT_BYTES, messageMaxBytes: 128 * 1024 } });
  bystander = await fixture.client();
  await bystander.request(ApiVersionsApi, { clientSoftwareName: "bystander", clientSoftwareVersion: "1" });
  await bystander.request(MetadataApi, { topics: ["hostile"], allowAutoTopicCreation: true });
});

afterAll(async () => {
  // The bystander saw none of it.
  const produced = await bystander.request(ProduceApi, produceRequest("hostile", 0, testBatch(1), 1));
  expect(produced.topics[0]!.partitions[0]!.errorCode).toBe(0);
  expect(bystander.isClosed).toBe(false);
  await fixture.stop();
});

function prefix(length: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, length);
  return bytes;
}

async function greeted(): Promise<RawClient> {
  const client = await fixture.client();
  await client.request(ApiVersionsApi, { clientSoftwareName: null, clientSoftwareVersion: null });
  return client;
}

async function expectStillServes(client: RawClient): Promise<void> {
  const versions = await client.request(ApiVersionsApi, { clientSoftwareName: null, clientSoftwareVersion: null });
  expect(versions.errorCode).toBe(0);
}

describe("frames that close the connection", () => {
  test.each([
    ["a zero length", prefix(0)],
    ["a negative (top bit) length", prefix(0x80000000)],
    ["a length over the handshake limit before the first request", prefix(HANDSHAKE_FRAME_BYTES_MAX + 1)],
    ["2 GiB - 1 announced", prefix(0x7fffffff)],
  ])("%s closes at once, without waiting for a body", async (_name, bytes) => {
    const client = await fixture.client();
    client.sendBytes(bytes);
    await client.waitClosed(5000);
  });

  test("a length over socket.request.max.bytes after the handshake closes at once", async () => {
    const client = await greeted();
    client.sendBytes(prefix(REQUEST_LIMIT_BYTES + 1));
    await client.waitClosed(5000);
  });

  test.each([
    ["msgpack that does not decode (0xc1)", new Uint8Array([0xc1])],
    ["truncated msgpack", new Uint8Array([0x95, 0x03, 0x00])],
    ["trailing bytes after the envelope", new Uint8Array([...packValue([18, 0, 1, null, [null, null]]), 0x00])],
    ["a map instead of an array", packValue(new Map([[1, 2]]))],
    ["a 4-element envelope", packValue([18, 0, 1, null])],
    ["a string api key", packValue(["18", 0, 1, null, []])],
    ["a correlation id beyond int32", packValue([18, 0, 2 ** 33, null, []])],
    ["a client id that is a number", packValue([18, 0, 1, 5, []])],
  ])("%s closes the connection", async (_name, body) => {
    const client = await greeted();
    client.sendBytes(encodeFrame(body));
    await client.waitClosed(5000);
  });
});

describe("requests answered with typed errors", () => {
  test("an unknown api key gets INVALID_REQUEST and the connection carries on", async () => {
    const client = await greeted();
    client.sendBytes(encodeFrame(packValue([99, 0, 77, "x", []])));
    const answer = await client.nextResponse();
    expect([answer.correlationId, answer.errorCode, answer.body]).toEqual([77, ErrorCode.INVALID_REQUEST, null]);
    await expectStillServes(client);
  });

  test("an unsupported version gets UNSUPPORTED_VERSION", async () => {
    const client = await greeted();
    client.sendBytes(encodeFrame(packValue([3, 7, 78, null, [null, false]])));
    const answer = await client.nextResponse();
    expect([answer.correlationId, answer.errorCode]).toEqual([78, ErrorCode.UNSUPPORTED_VERSION]);
    await expectStillServes(client);
  });

  test("ApiVersions of an unknown version steps down: a v0 body with UNSUPPORTED_VERSION and the ranges", async () => {
    const client = await fixture.client();
    client.sendBytes(encodeFrame(packValue([18, 9, 79, null, ["future", "field", 1]])));
    const answer = await client.nextResponse();
    expect([answer.correlationId, answer.errorCode]).toEqual([79, 0]);
    const body = decodeResponseBody(ApiVersionsApi, 0, answer.body);
    expect(body.ok && body.value.errorCode).toBe(ErrorCode.UNSUPPORTED_VERSION);
    expect(body.ok && body.value.apiKeys.length).toBeGreaterThan(5);
    await expectStillServes(client);
  });

  test.each([
    ["Metadata topics of the wrong type", [3, 0, 80, null, [5, false]]],
    ["Metadata with a missing field", [3, 0, 80, null, [null]]],
    ["Produce acks beyond int16", [0, 0, 80, null, [null, 70000, 1, []]]],
    ["Produce records as a string", [0, 0, 80, null, [null, 1, 1, [["hostile", [[0, "not bytes"]]]]]]],
    ["Fetch offset beyond 2^53", [1, 0, 80, null, [0, 1, 1, 0, [["hostile", [[0, 2n ** 60n, 100]]]]]]],
    ["CreateTopics with a map", [19, 0, 80, null, [new Map(), 1, false]]],
  ])("%s gets INVALID_REQUEST", async (_name, envelope) => {
    const client = await greeted();
    client.sendBytes(encodeFrame(packValue(envelope)));
    const answer = await client.nextResponse();
    expect([answer.correlationId, answer.errorCode, answer.body]).toEqual([80, ErrorCode.INVALID_REQUEST, null]);
    await expectStillServes(client);
  });

  test("a bad CRC and an oversized batch are refused per partition; nothing is written", async () => {
    const client = await greeted();
    await fixture.broker.createTopic("strict", { configs: { "max.message.bytes": 128 * 1024 } });
    const corrupt = testBatch(2);
    corrupt[30]! ^= 0x01;
    const bad = await client.request(ProduceApi, produceRequest("hostile", 0, corrupt, 1));
    expect(bad.topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);
    const big = testBatch(1, "x".repeat(200 * 1024));
    const large = await client.request(ProduceApi, produceRequest("strict", 0, big, 1));
    expect(large.topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.MESSAGE_TOO_LARGE);
    // A batch whose length field lies (claims more bytes than the records bin holds).
    const lying = testBatch(1);
    new DataView(lying.buffer).setInt32(8, 1 << 20);
    const lie = await client.request(ProduceApi, produceRequest("hostile", 0, lying, 1));
    expect(lie.topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);
    const strict = fixture.broker.partition("strict", 0);
    expect(strict.ok ? Number(strict.value.logEndOffset) : -1).toBe(0);
    await expectStillServes(client);
  });

  test("after the first request the full request limit applies: a 200 KiB produce is read", async () => {
    const client = await greeted();
    const batch = testBatch(1, "y".repeat(100 * 1024));
    const produced = await client.request(ProduceApi, produceRequest("hostile", 0, batch, 1));
    expect(produced.topics[0]!.partitions[0]!.errorCode).toBe(0);
  });

  test("a byte-at-a-time sender is framed correctly", async () => {
    const client = await fixture.client();
    const frame = encodeFrame(packValue([18, 0, 81, "slow", [null, null]]));
    for (const byte of frame) client.sendBytes(new Uint8Array([byte]));
    const answer = await client.nextResponse();
    expect(answer.correlationId).toBe(81);
  });
});
