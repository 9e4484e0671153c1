// A seeded protocol fuzz against a live broker: at least 100,000 mutated requests over real sockets.
//
//   structure-aware (most cases): valid requests of every API, decoded to value trees, then 1-3 mutations of
//     the body: half keep every type (edge integers, other names and config names, other or broken record
//     bytes, elements dropped or duplicated: these reach the handlers' own checks), half change types and shapes
//     (values of another type, maps, big arrays, nesting up to the protocol's depth limit: these reach the
//     schema); sometimes the api key or version changes too. The envelope header stays
//     decodable, so the broker must answer every case, in order, with its correlation id and an error code from
//     the shared table, and must never close the connection (a close here would mean a handler threw).
//   raw bytes: valid frames whose bodies get bit flips, byte insertions, deletions and truncations under a
//     correct length prefix. The broker answers or closes; the client reconnects and carries on.
//   bad prefixes: the length prefix itself mutated, sent on a throwaway connection.
//
// Side effects are kept cheap: admin requests are forced to validateOnly, auto-create is off, Produce acks=0 is
// turned into acks=1 (acks=0 failures close the connection by design), long polls are clamped to a few ms.
// Afterwards a normal client must still produce and fetch, and every fuzz connection must be gone.
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { ApiDefinition } from "../../core/formats/protocol/api-keys.ts";
import { AlterConfigsApi } from "../../core/formats/protocol/alter-configs.ts";
import { ApiVersionsApi } from "../../core/formats/protocol/api-versions.ts";
import { CreatePartitionsApi } from "../../core/formats/protocol/create-partitions.ts";
import { CreateTopicsApi } from "../../core/formats/protocol/create-topics.ts";
import { DeleteTopicsApi } from "../../core/formats/protocol/delete-topics.ts";
import { DescribeConfigsApi } from "../../core/formats/protocol/describe-configs.ts";
import { decodeResponseBody } from "../../core/formats/protocol/envelope.ts";
import { isKnownErrorCode } from "../../core/formats/protocol/errors.ts";
import { apiByKey } from "../../core/formats/protocol/messages.ts";
import { FetchApi } from "../../core/formats/protocol/fetch.ts";
import { encodeFrame } from "../../core/formats/protocol/frame.ts";
import { InitProducerIdApi } from "../../core/formats/protocol/init-producer-id.ts";
import { ListOffsetsApi } from "../../core/formats/protocol/list-offsets.ts";
import { MetadataApi } from "../../core/formats/protocol/metadata.ts";
import { MSGPACK_DEPTH_MAX, packValue } from "../../core/formats/protocol/msgpack.ts";
import { ProduceApi } from "../../core/formats/protocol/produce.ts";
import { type TestServer, fetchRequest, produceRequest, recordValues, startTestServer, testBatch } from "../server/server-fixture.ts";
import { RawClient } from "./raw-client.ts";

const SEED = 0x5eed_4b1d;
const STRUCTURE_CASES = 90_000;
const RAW_CASES = 8_000;
const PREFIX_CASES = 2_000;
const PIPELINE_DEPTH = 256;

let fixture: TestServer;

beforeAll(async () => {
  fixture = await startTestServer({ autoCreateTopicsEnable: false, limits: { fetchMaxWaitMsMax: 5, queuedRequestsMax: 512 } });
  await fixture.broker.createTopic("fuzz", { partitions: 2 });
});

afterAll(async () => {
  await fixture.stop();
});

/** xorshift32: deterministic and fast. */
class Random {
  constructor(private state: number) {}
  next(): number {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.state;
  }
  below(n: number): number {
    return this.next() % n;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)]!;
  }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.next() & 0xff;
    return out;
  }
}

const batch = testBatch(3, "fz");

// Valid requests of every API, as [api, request] pairs; admin ones only validate.
const BASES: [ApiDefinition<any, any, any, any>, unknown][] = [
  [ApiVersionsApi, { clientSoftwareName: "fuzz", clientSoftwareVersion: "1" }],
  [MetadataApi, { topics: ["fuzz", "other"], allowAutoTopicCreation: true }],
  [MetadataApi, { topics: null, allowAutoTopicCreation: false }],
  [ProduceApi, produceRequest("fuzz", 0, batch, 1)],
  [ProduceApi, { transactionalId: null, acks: -1, timeoutMs: 100, topics: [{ name: "fuzz", partitions: [{ index: 1, records: new Uint8Array([...batch, ...batch]) }] }] }],
  [FetchApi, fetchRequest("fuzz", 0, 0, { maxWaitMs: 5, minBytes: 1, maxBytes: 4096 })],
  [FetchApi, { maxWaitMs: 5, minBytes: 1 << 20, maxBytes: 1 << 20, isolationLevel: 1, topics: [{ name: "fuzz", partitions: [{ index: 0, fetchOffset: 3, partitionMaxBytes: 100 }, { index: 1, fetchOffset: 0, partitionMaxBytes: 1 << 20 }] }] }],
  [ListOffsetsApi, { isolationLevel: 0, topics: [{ name: "fuzz", partitions: [{ index: 0, timestamp: -1 }, { index: 1, timestamp: -3 }, { index: 0, timestamp: 1_763_700_000_001 }] }] }],
  [CreateTopicsApi, { topics: [{ name: "made", numPartitions: 3, replicationFactor: -1, configs: [{ name: "retention.ms", value: "1000" }] }], timeoutMs: 100, validateOnly: true }],
  [DeleteTopicsApi, { topicNames: ["doomed-never-existed"], timeoutMs: 100 }],
  [CreatePartitionsApi, { topics: [{ name: "fuzz", count: 4 }], timeoutMs: 100, validateOnly: true }],
  [DescribeConfigsApi, { resources: [{ resourceType: 2, resourceName: "fuzz", configurationKeys: null }, { resourceType: 4, resourceName: "0", configurationKeys: ["num.partitions"] }] }],
  [AlterConfigsApi, { resources: [{ resourceType: 2, resourceName: "fuzz", configs: [{ name: "retention.ms", value: "100000" }] }], validateOnly: true }],
  [InitProducerIdApi, { transactionalId: null, transactionTimeoutMs: 100, producerId: -1, producerEpoch: -1 }],
];

const WIRE_BASES = BASES.map(([api, request]) => ({ apiKey: api.apiKey, body: api.requests[0]!.toWire(request as never) as unknown[] }));

function randomValue(random: Random, depth = 0): unknown {
  switch (random.below(16)) {
    case 0:
      return random.pick([0, -1, 1, 127, 128, -129, 0x7fff, 0x8000, -0x8001, 0x7fffffff, 0x80000000, -0x80000001, 2 ** 53 - 1, -(2 ** 53 - 1)]);
    case 1:
      return random.pick([2n ** 53n, -(2n ** 63n), 2n ** 64n - 1n]);
    case 2:
      return random.pick([0.5, -1.5, Number.NaN, Number.POSITIVE_INFINITY, 1e300, 2 ** 53]);
    case 3:
      return random.pick(["", "fuzz", "x".repeat(300), "ä€😀", "__proto__", "constructor", "bad/name", ".."]);
    case 4:
      return random.bytes(random.below(64));
    case 5:
      return random.pick([batch, batch.subarray(0, 40), new Uint8Array(0)]);
    case 6:
      return null;
    case 7:
      return random.below(2) === 0;
    case 8:
      return [];
    case 9:
      return depth > 3 ? null : Array.from({ length: random.below(5) }, () => randomValue(random, depth + 1));
    case 10: {
      let nested: unknown = [];
      for (let i = 0, n = 1 + random.below(60); i < n; i++) nested = [nested];
      return nested;
    }
    case 11:
      return new Map([[random.pick(["a", 1, "__proto__"]), randomValue(random, depth + 1)]]);
    case 12:
      return Array.from({ length: 1000 + random.below(2000) }, () => random.below(3));
    default:
      return random.next() - 0x80000000;
  }
}

// A value of the same msgpack type as `value` (so the schema still accepts it more often than not): edge
// integers, other names, flipped booleans, other record bytes. This reaches the handlers' own checks.
function sameTypeValue(value: unknown, random: Random): unknown {
  if (typeof value === "number" || typeof value === "bigint") {
    return random.pick([0, -1, 1, -2, -3, -4, 2, 3, 7, 100, 0x7fff, -0x8000, 0x7fffffff, -0x80000000, 2 ** 40, 2 ** 53 - 1, -(2 ** 53 - 1)]);
  }
  if (typeof value === "string") return random.pick(["fuzz", "other", "", "x".repeat(250), "retention.ms", "max.message.bytes", "cleanup.policy", "constructor", "0", "ä"]);
  if (typeof value === "boolean") return !value;
  if (value instanceof Uint8Array) {
    return random.pick([batch, new Uint8Array([...batch, ...batch]), batch.subarray(0, 61), batch.subarray(0, batch.length - 1), random.bytes(80), new Uint8Array(0)]);
  }
  if (value === null) return random.pick([null, "fuzz", 0]);
  return value;
}

// Replaces one leaf of `value` by sameTypeValue (or drops/duplicates an array element).
function mutateSameType(value: unknown, random: Random): unknown {
  if (!Array.isArray(value)) return sameTypeValue(value, random);
  if (value.length === 0) return value;
  const copy = [...value];
  const at = random.below(copy.length);
  if (random.below(8) === 0) {
    if (random.below(2) === 0) copy.splice(at, 1);
    else copy.push(copy[at]);
    return copy;
  }
  copy[at] = mutateSameType(copy[at], random);
  return copy;
}

// Mutates a random place inside `value` (an array tree); returns the new value.
function mutate(value: unknown, random: Random): unknown {
  if (!Array.isArray(value) || value.length === 0 || random.below(4) === 0) {
    if (Array.isArray(value) && random.below(3) === 0) {
      const copy = [...value];
      const op = random.below(3);
      if (op === 0 && copy.length > 0) copy.splice(random.below(copy.length), 1);
      else if (op === 1 && copy.length > 0) copy.push(copy[random.below(copy.length)]);
      else copy.push(randomValue(random));
      return copy;
    }
    return randomValue(random);
  }
  const copy = [...value];
  const at = random.below(copy.length);
  copy[at] = mutate(copy[at], random);
  return copy;
}

// Keeps fuzz side effects cheap and every structure-aware case answerable (see the header comment).
function tame(apiKey: number, body: unknown): unknown {
  if (!Array.isArray(body)) return body;
  const copy = [...body];
  if (apiKey === ProduceApi.apiKey && copy[1] === 0) copy[1] = 1;
  if ((apiKey === CreateTopicsApi.apiKey || apiKey === CreatePartitionsApi.apiKey) && typeof copy[2] === "boolean") copy[2] = true;
  if (apiKey === AlterConfigsApi.apiKey && typeof copy[1] === "boolean") copy[1] = true;
  // The fuzz topic stays: deleting it would leave the later cases nothing to produce to or fetch from.
  if (apiKey === DeleteTopicsApi.apiKey && Array.isArray(copy[0])) copy[0] = copy[0].filter((name: unknown) => name !== "fuzz");
  return copy;
}

// Nesting depth of a value tree as msgpack counts it (arrays and maps).
function depthOf(value: unknown): number {
  if (Array.isArray(value)) return 1 + value.reduce((max: number, item) => Math.max(max, depthOf(item)), 0);
  if (value instanceof Map) return 1 + [...value.values()].reduce((max: number, item) => Math.max(max, depthOf(item)), 0);
  return 0;
}

function structureCase(random: Random, correlationId: number): { apiKey: number; frame: Uint8Array } {
  const base = random.pick(WIRE_BASES);
  let apiKey = base.apiKey;
  let version = 0;
  let body: unknown = base.body;
  // Half the cases keep every type (they reach the handlers), half change types and shapes (they reach the schema).
  const sameType = random.below(2) === 0;
  for (let i = 0, n = 1 + random.below(3); i < n; i++) body = sameType ? mutateSameType(body, random) : mutate(body, random);
  // Nesting past the protocol's limit is malformed (a close, covered by the raw cases): mutate again instead.
  while (depthOf(body) + 1 > MSGPACK_DEPTH_MAX) body = mutate(base.body, random);
  const header = random.below(20);
  if (header === 0) apiKey = random.below(120) - 5;
  else if (header === 1) version = random.pick([-1, 1, 2, 0x7fff, -0x8000]);
  // Produce acks=0 and an unknown version of ApiVersions have their own rules; keep the one-answer-per-case rule.
  return { apiKey, frame: encodeFrame(packValue([apiKey, version, correlationId, random.below(2) === 0 ? null : "fuzz", tame(apiKey, body)])) };
}

function validFrame(random: Random, correlationId: number): Uint8Array {
  const base = random.pick(WIRE_BASES);
  return encodeFrame(packValue([base.apiKey, 0, correlationId, "fuzz", tame(base.apiKey, base.body)]));
}

function rawMutation(frame: Uint8Array, random: Random): Uint8Array {
  let body = frame.subarray(4);
  for (let i = 0, n = 1 + random.below(4); i < n; i++) {
    const op = random.below(4);
    if (op === 0 && body.length > 0) {
      const copy = new Uint8Array(body);
      copy[random.below(copy.length)]! ^= 1 << random.below(8);
      body = copy;
    } else if (op === 1) {
      const at = random.below(body.length + 1);
      body = new Uint8Array([...body.subarray(0, at), ...random.bytes(1 + random.below(8)), ...body.subarray(at)]);
    } else if (op === 2 && body.length > 1) {
      const at = random.below(body.length);
      body = new Uint8Array([...body.subarray(0, at), ...body.subarray(at + 1 + random.below(8))]);
    } else if (body.length > 1) body = body.subarray(0, 1 + random.below(body.length - 1));
  }
  return body.length === 0 ? new Uint8Array([0xc1]) : body;
}

async function greetedClient(): Promise<RawClient> {
  const client = await RawClient.connect(fixture.port);
  await client.request(ApiVersionsApi, { clientSoftwareName: "fuzz", clientSoftwareVersion: "1" });
  return client;
}

async function checkStillServes(): Promise<void> {
  const client = await greetedClient();
  await fixture.broker.createTopic("after-fuzz");
  const produced = await client.request(ProduceApi, produceRequest("after-fuzz", 0, testBatch(1, "check"), 1));
  expect(produced.topics[0]!.partitions[0]!.errorCode).toBe(0);
  const offset = produced.topics[0]!.partitions[0]!.baseOffset;
  const fetched = await client.request(FetchApi, fetchRequest("after-fuzz", 0, offset));
  expect(recordValues(fetched.topics[0]!.partitions[0]!.records)[0]).toBe("check-0");
  client.close();
  await client.waitClosed();
}

test("100,000 seeded mutated requests: typed answers or closes, never a crash, the broker still serves", async () => {
  const random = new Random(SEED);
  let casesRun = 0;

  // Structure-aware: pipelined, every case answered in order on one connection.
  let client = await greetedClient();
  let correlationId = 1;
  for (let done = 0; done < STRUCTURE_CASES; ) {
    const depth = Math.min(PIPELINE_DEPTH, STRUCTURE_CASES - done);
    const ids: number[] = [];
    const apiKeys: number[] = [];
    const frames: Uint8Array[] = [];
    for (let i = 0; i < depth; i++) {
      ids.push(correlationId);
      const generated = structureCase(random, correlationId++);
      apiKeys.push(generated.apiKey);
      frames.push(generated.frame);
    }
    const all = new Uint8Array(frames.reduce((sum, frame) => sum + frame.length, 0));
    let at = 0;
    for (const frame of frames) {
      all.set(frame, at);
      at += frame.length;
    }
    client.sendBytes(all);
    for (let i = 0; i < ids.length; i++) {
      const response = await client.nextResponse();
      expect(response.correlationId).toBe(ids[i]!);
      expect(isKnownErrorCode(response.errorCode)).toBe(true);
      // An answered request's body matches its API's response schema, whatever the request held.
      if (response.errorCode === 0) {
        const api = apiByKey(apiKeys[i]!);
        expect(api !== undefined && decodeResponseBody(api, 0, response.body).ok).toBe(true);
      }
    }
    expect(client.isClosed).toBe(false);
    done += depth;
    casesRun += depth;
  }
  client.close();

  // Raw bytes: answered or closed; on a close, the cases after the closing one are sent again on a new connection.
  let pending: Uint8Array[] = [];
  for (let i = 0; i < RAW_CASES; i++) pending.push(encodeFrame(rawMutation(validFrame(random, i + 1), random)));
  client = await greetedClient();
  while (pending.length > 0) {
    const chunk = pending.slice(0, 64);
    for (const frame of chunk) client.sendBytes(frame);
    const sentinel = client.send(ApiVersionsApi, { clientSoftwareName: null, clientSoftwareVersion: null }, { correlationId: 0x7fff_fff0 });
    let answered = 0;
    let sentinelSeen = false;
    while (!sentinelSeen) {
      const response = await client.nextResponse().catch(() => null);
      if (response === null) break;
      if (response.correlationId === sentinel && answered >= chunk.length - 1) sentinelSeen = true;
      else answered++;
    }
    if (sentinelSeen) {
      casesRun += chunk.length;
      pending = pending.slice(chunk.length);
      continue;
    }
    // Closed: the answered cases ran, and so did the one that closed it.
    const ran = Math.min(chunk.length, answered + 1);
    casesRun += ran;
    pending = pending.slice(ran);
    await client.waitClosed();
    client = await greetedClient();
  }
  client.close();

  // Bad prefixes on throwaway connections: the broker closes them or waits for bytes that never come.
  const throwaway: RawClient[] = [];
  for (let i = 0; i < PREFIX_CASES; i++) {
    const frame = validFrame(random, i + 1);
    const mutated = new Uint8Array(frame);
    const view = new DataView(mutated.buffer);
    view.setUint32(0, random.pick([0, 1, 3, frame.length - 5, frame.length + 10, 0x7fffffff, 0xffffffff, random.next()]));
    const c = await RawClient.connect(fixture.port);
    c.sendBytes(mutated.subarray(0, 4 + random.below(mutated.length - 3)));
    throwaway.push(c);
    casesRun++;
    if (throwaway.length >= 200) for (const old of throwaway.splice(0)) old.close();
  }
  for (const old of throwaway.splice(0)) old.close();

  expect(casesRun).toBeGreaterThanOrEqual(100_000);
  // The fuzz topic survived and took appends from the mutated produces.
  const log = fixture.broker.partition("fuzz", 0);
  expect(log.ok && Number(log.value.logEndOffset) > 0).toBe(true);
  await checkStillServes();
  // Every fuzz connection is gone (closed by either side); bounded wait on the server's count.
  for (let attempt = 0; fixture.server.connectionCount() > 0 && attempt < 200; attempt++) await new Promise((resolve) => setImmediate(resolve));
  expect(fixture.server.connectionCount()).toBe(0);
}, 120_000);
