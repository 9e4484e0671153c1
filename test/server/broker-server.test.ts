import { afterEach, describe, expect, test } from "bun:test";
import { ApiVersionsApi } from "../../core/formats/protocol/api-versions.ts";
import { MetadataApi } from "../../core/formats/protocol/metadata.ts";
import { ProduceApi } from "../../core/formats/protocol/produce.ts";
import { FetchApi } from "../../core/formats/protocol/fetch.ts";
import { decodeRecordBatch } from "../../core/formats/record-batch.ts";
import { type TestServer, startTestServer, testBatch } from "./server-fixture.ts";

let fixture: TestServer | null = null;
afterEach(async () => {
  await fixture?.stop();
  fixture = null;
});

describe("broker server", () => {
  test("smoke: ApiVersions, auto-create, produce, fetch", async () => {
    fixture = await startTestServer();
    const client = await fixture.client();
    const versions = await client.request(ApiVersionsApi, { clientSoftwareName: "t", clientSoftwareVersion: "0" });
    expect(versions.errorCode).toBe(0);
    const metadata = await client.request(MetadataApi, { topics: ["orders"], allowAutoTopicCreation: true });
    expect(metadata.topics[0]!.errorCode).toBe(0);
    const produced = await client.request(ProduceApi, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 1000,
      topics: [{ name: "orders", partitions: [{ index: 0, records: testBatch(3) }] }],
    });
    expect(produced.topics[0]!.partitions[0]!.errorCode).toBe(0);
    expect(produced.topics[0]!.partitions[0]!.baseOffset).toBe(0);
    const fetched = await client.request(FetchApi, {
      maxWaitMs: 0,
      minBytes: 1,
      maxBytes: 1 << 20,
      isolationLevel: 0,
      topics: [{ name: "orders", partitions: [{ index: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }] }],
    });
    const partition = fetched.topics[0]!.partitions[0]!;
    expect(partition.highWatermark).toBe(3);
    const batch = decodeRecordBatch(partition.records);
    expect(batch.ok).toBe(true);
    if (batch.ok) expect(batch.value.records.map((r) => new TextDecoder().decode(r.value!))).toEqual(["v-0", "v-1", "v-2"]);
  });
});
