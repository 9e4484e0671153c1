// 1,000 idle or byte-at-a-time connections do not stop a normal client from producing and fetching: framing is
// per connection and incremental (a trickling sender costs only the bytes it sent), timeouts are swept by one
// timer, and no connection's state blocks another's.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { ApiVersionsApi } from "../../core/formats/protocol/api-versions.ts";
import { encodeRequest } from "../../core/formats/protocol/envelope.ts";
import { FetchApi } from "../../core/formats/protocol/fetch.ts";
import { ProduceApi } from "../../core/formats/protocol/produce.ts";
import { type TestServer, fetchRequest, produceRequest, recordValues, startTestServer, testBatch } from "../server/server-fixture.ts";
import { RawClient } from "./raw-client.ts";

const IDLE_CONNECTIONS = 500;
const TRICKLING_CONNECTIONS = 500;
const CONNECT_BATCH = 100;

let fixture: TestServer;

beforeAll(async () => {
  fixture = await startTestServer();
  await fixture.broker.createTopic("busy");
});

afterAll(async () => {
  await fixture.stop();
});

async function connectMany(count: number): Promise<RawClient[]> {
  const out: RawClient[] = [];
  for (let done = 0; done < count; done += CONNECT_BATCH) {
    out.push(...(await Promise.all(Array.from({ length: Math.min(CONNECT_BATCH, count - done) }, () => fixture.client()))));
  }
  return out;
}

async function untilConnections(count: number): Promise<void> {
  for (let attempt = 0; attempt < 10_000 && fixture.server.connectionCount() !== count; attempt++) await new Promise((resolve) => setImmediate(resolve));
  expect(fixture.server.connectionCount()).toBe(count);
}

test("1,000 idle and trickling connections; a normal client produces and fetches meanwhile", async () => {
  const idle = await connectMany(IDLE_CONNECTIONS);
  const trickling = await connectMany(TRICKLING_CONNECTIONS);
  const normal = await fixture.client();
  await untilConnections(IDLE_CONNECTIONS + TRICKLING_CONNECTIONS + 1);
  await normal.request(ApiVersionsApi, { clientSoftwareName: "normal", clientSoftwareVersion: "1" });

  // Every trickling connection sends one ApiVersions frame a byte per round, interleaved with the normal client.
  const frames = trickling.map((_, i) => encodeRequest(ApiVersionsApi, { apiVersion: 0, correlationId: i, clientId: "slow" }, { clientSoftwareName: null, clientSoftwareVersion: null }));
  const rounds = Math.max(...frames.map((frame) => frame.length));
  const values: string[] = [];
  for (let round = 0; round < rounds; round++) {
    trickling.forEach((client, i) => {
      const frame = frames[i]!;
      if (round < frame.length) client.sendBytes(frame.subarray(round, round + 1));
    });
    const produced = await normal.request(ProduceApi, produceRequest("busy", 0, testBatch(2, `r${round}`), 1));
    expect(produced.topics[0]!.partitions[0]!.errorCode).toBe(0);
    values.push(`r${round}-0`, `r${round}-1`);
  }
  const fetched = await normal.request(FetchApi, fetchRequest("busy", 0, 0, { maxBytes: 8 << 20, partitionMaxBytes: 8 << 20 }));
  expect(recordValues(fetched.topics[0]!.partitions[0]!.records)).toEqual(values);

  // Every trickled frame was framed and answered with its own correlation id.
  const answers = await Promise.all(trickling.map((client) => client.nextResponse()));
  expect(answers.map((answer) => answer.correlationId)).toEqual(trickling.map((_, i) => i));
  expect(idle.every((client) => !client.isClosed)).toBe(true);
  expect(fixture.server.connectionCount()).toBe(IDLE_CONNECTIONS + TRICKLING_CONNECTIONS + 1);

  for (const client of [...idle, ...trickling]) client.close();
  await untilConnections(1);
}, 60_000);
