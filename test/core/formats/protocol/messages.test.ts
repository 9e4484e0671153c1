import { describe, expect, test } from "bun:test";
import { ApiKey } from "../../../../core/formats/protocol/api-keys.ts";
import {
  decodeRequestBody,
  decodeResponseBody,
  decodeResponseEnvelope,
  encodeRequest,
  encodeRequestParts,
  encodeResponse,
  encodeResponseParts,
} from "../../../../core/formats/protocol/envelope.ts";
import { FetchApi, type FetchResponseInput } from "../../../../core/formats/protocol/fetch.ts";
import { type FileRange, type FramePart, FrameReader, concatFrameParts } from "../../../../core/formats/protocol/frame.ts";
import { APIS, apiByKey, decodeRequest } from "../../../../core/formats/protocol/messages.ts";
import { INLINE_BIN_BYTES_MAX, packValue } from "../../../../core/formats/protocol/msgpack.ts";
import { ProduceApi, type ProduceRequestInput } from "../../../../core/formats/protocol/produce.ts";
import { readFileSync } from "node:fs";
import { readBatchFrame } from "../../../../core/formats/record-batch-header.ts";
import { SAMPLES, patternBytes } from "./samples.ts";

// Reads exactly one frame body out of a whole frame, as a connection would.
function frameBody(frame: Uint8Array): Uint8Array {
  const reader = new FrameReader();
  reader.push(frame);
  const body = reader.next();
  if (!body.ok) throw new Error(`no frame: ${body.error}`);
  expect(reader.next()).toEqual({ ok: false, error: "incomplete" });
  return body.value;
}

const header = { apiVersion: 0, correlationId: 42, clientId: "test-client" };

describe("every API", () => {
  test("has a sample, and the registry holds exactly the APIs of api-keys.ts", () => {
    expect(new Set(SAMPLES.map((sample) => sample.api.name))).toEqual(new Set(APIS.map((api) => api.name)));
    expect(APIS.map((api) => api.apiKey).sort((a, b) => a - b)).toEqual(Object.values(ApiKey).sort((a, b) => a - b));
    for (const api of APIS) expect(apiByKey(api.apiKey)).toBe(api);
    expect(apiByKey(99)).toBeUndefined();
  });

  for (const sample of SAMPLES) {
    const { api } = sample;
    test(`${api.name}: request round trip through both encoders`, () => {
      for (const frame of [encodeRequest(api, header, sample.request), concatFrameParts(encodeRequestParts(api, header, sample.request))]) {
        const decoded = decodeRequest(frameBody(frame));
        if (!decoded.ok) throw new Error(`decode failed: ${decoded.error}`);
        expect(decoded.value.api).toBe(api.name);
        expect(decoded.value.header).toEqual({ apiKey: api.apiKey, apiVersion: 0, correlationId: 42, clientId: "test-client" });
        expect(decoded.value.request).toEqual(sample.request as never);
      }
    });

    test(`${api.name}: response round trip through both encoders`, () => {
      for (const frame of [encodeResponse(api, 0, 7, sample.response), concatFrameParts(encodeResponseParts(api, 0, 7, sample.response))]) {
        const envelope = decodeResponseEnvelope(frameBody(frame));
        if (!envelope.ok) throw new Error(`envelope failed: ${envelope.error}`);
        expect(envelope.value.correlationId).toBe(7);
        expect(envelope.value.errorCode).toBe(0);
        const body = decodeResponseBody(api, 0, envelope.value.body);
        if (!body.ok) throw new Error(`body failed: ${body.error}`);
        expect(body.value).toEqual(sample.response as never);
      }
    });
  }

  test("both encoders agree byte for byte when no bin is involved", () => {
    for (const sample of SAMPLES) {
      if (sample.api === ProduceApi || sample.api === FetchApi) continue;
      expect(concatFrameParts(encodeRequestParts(sample.api, header, sample.request))).toEqual(encodeRequest(sample.api, header, sample.request));
      expect(concatFrameParts(encodeResponseParts(sample.api, 0, 9, sample.response))).toEqual(encodeResponse(sample.api, 0, 9, sample.response));
    }
  });

  test("int64 fields beyond 32 bits travel as msgpack int64 (0xd3), not as floats", () => {
    const frame = encodeResponse(ProduceApi, 0, 1, SAMPLES[0]?.response);
    const bytes = [...frame];
    const at = bytes.indexOf(0xd3);
    expect(at).toBeGreaterThan(0);
    expect(new DataView(frame.buffer, frame.byteOffset + at + 1, 8).getBigInt64(0)).toBe(2n ** 40n + 5n);
    expect(bytes.includes(0xcb)).toBe(false);
  });
});

describe("zero copy", () => {
  test("Produce: the parts reference large batches, and the broker's decoded records are views into the frame", () => {
    const big = patternBytes(64 * 1024, 11);
    const small = patternBytes(200, 12);
    const request: ProduceRequestInput = {
      transactionalId: null,
      acks: 1,
      timeoutMs: 1000,
      topics: [{ name: "t", partitions: [{ index: 0, records: [big, small, big] }, { index: 1, records: small }] }],
    };
    const parts = encodeRequestParts(ProduceApi, header, request);
    expect(parts.filter((part) => part === big).length).toBe(2);
    expect(parts.includes(small)).toBe(false); // under INLINE_BIN_BYTES_MAX: copied into the header bytes
    expect(small.byteLength).toBeLessThanOrEqual(INLINE_BIN_BYTES_MAX);

    const frame = concatFrameParts(parts); // what the broker's socket delivers
    const body = frameBody(frame);
    expect(body.buffer).toBe(frame.buffer);
    const decoded = decodeRequest(body);
    if (!decoded.ok || decoded.value.api !== "Produce") throw new Error("decode failed");
    const [p0, p1] = decoded.value.request.topics[0]?.partitions ?? [];
    if (p0 === undefined || p1 === undefined) throw new Error("partitions missing");
    for (const records of [p0.records, p1.records]) {
      expect(records.buffer).toBe(frame.buffer);
      expect(records.byteOffset).toBeGreaterThan(frame.byteOffset);
      expect(records.byteOffset + records.byteLength).toBeLessThanOrEqual(frame.byteOffset + frame.byteLength);
    }
    expect(p0.records).toEqual(concatFrameParts([big, small, big]));
    expect(p1.records).toEqual(small);
    // A write through the view shows in the frame: the same memory, not a copy.
    p1.records[0] = (p1.records[0] ?? 0) ^ 0xff;
    expect(frame[p1.records.byteOffset - frame.byteOffset]).toBe(p1.records[0] as number);
  });

  test("Fetch: stored batches go out as the caller's buffers and file ranges, and the client gets views", () => {
    const stored = patternBytes(64 * 1024, 21);
    const file = patternBytes(300 * 1024, 22); // a fake segment file: fd 5
    const range: FileRange = { fd: 5, position: 1000, length: 128 * 1024 };
    const response: FetchResponseInput = {
      throttleTimeMs: 0,
      errorCode: 0,
      topics: [
        {
          name: "t",
          partitions: [
            { index: 0, errorCode: 0, highWatermark: 10, lastStableOffset: 10, logStartOffset: 0, abortedTransactions: null, records: [stored, range] },
            { index: 1, errorCode: 0, highWatermark: 0, lastStableOffset: 0, logStartOffset: 0, abortedTransactions: null, records: [] },
          ],
        },
      ],
    };
    const parts = encodeResponseParts(FetchApi, 0, 99, response);
    expect(parts.includes(stored)).toBe(true);
    expect(parts.includes(range)).toBe(true);
    // The sender resolves file ranges (pread or sendfile); here, from the fake file.
    const resolved = parts.map((part: FramePart) =>
      part instanceof Uint8Array ? part : file.subarray(part.position, part.position + part.length),
    );
    const frame = concatFrameParts(resolved);
    const envelope = decodeResponseEnvelope(frameBody(frame));
    if (!envelope.ok) throw new Error("envelope failed");
    expect(envelope.value.correlationId).toBe(99);
    const decoded = decodeResponseBody(FetchApi, 0, envelope.value.body);
    if (!decoded.ok) throw new Error("body failed");
    const records = decoded.value.topics[0]?.partitions[0]?.records;
    if (records === undefined) throw new Error("records missing");
    expect(records.buffer).toBe(frame.buffer);
    expect(records).toEqual(concatFrameParts([stored, file.subarray(1000, 1000 + 128 * 1024)]));
    expect(decoded.value.topics[0]?.partitions[1]?.records.byteLength).toBe(0);
  });

  test("the records bin header is a hand-written bin32: 0xc6 + u32 length, right before the stored bytes", () => {
    const stored = patternBytes(10_000, 31);
    const parts = encodeResponseParts(FetchApi, 0, 1, {
      throttleTimeMs: 0,
      errorCode: 0,
      topics: [{ name: "t", partitions: [{ index: 0, errorCode: 0, highWatermark: 1, lastStableOffset: 1, logStartOffset: 0, abortedTransactions: null, records: [stored] }] }],
    });
    const index = parts.indexOf(stored);
    const before = parts[index - 1];
    if (!(before instanceof Uint8Array)) throw new Error("expected header bytes before the records");
    expect([...before.subarray(before.byteLength - 5)]).toEqual([0xc6, 0, 0, 0x27, 0x10]);
  });
});

describe("Kafka batches pass through unchanged", () => {
  // Golden RecordBatch v2 files (test/fixtures/record-batch/README.md says how they were made).
  const golden = ["single-record.bin", "headers-nulls-tombstone.bin", "idempotent-transactional.bin"].map(
    (name) => new Uint8Array(readFileSync(new URL(`../../../fixtures/record-batch/${name}`, import.meta.url))),
  );

  // Splits concatenated batches with the batch-frame reader, checking each CRC.
  function batchesIn(records: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (let position = 0; position < records.byteLength; ) {
      const frame = readBatchFrame(records, position);
      if (!frame.ok) throw new Error(`batch at ${position}: ${frame.error}`);
      out.push(records.subarray(position, position + frame.value.sizeBytes));
      position += frame.value.sizeBytes;
    }
    return out;
  }

  test("producer -> broker -> consumer: the same bytes, CRCs intact, never re-encoded", () => {
    const produceFrame = concatFrameParts(
      encodeRequestParts(ProduceApi, header, {
        transactionalId: null,
        acks: -1,
        timeoutMs: 1000,
        topics: [{ name: "golden", partitions: [{ index: 0, records: golden }] }],
      }),
    );
    const produced = decodeRequest(frameBody(produceFrame));
    if (!produced.ok || produced.value.api !== "Produce") throw new Error("produce decode failed");
    const stored = produced.value.request.topics[0]?.partitions[0]?.records;
    if (stored === undefined) throw new Error("records missing");
    expect(stored.buffer).toBe(produceFrame.buffer);
    expect(batchesIn(stored)).toEqual(golden);

    const fetchFrame = concatFrameParts(
      encodeResponseParts(FetchApi, 0, 2, {
        throttleTimeMs: 0,
        errorCode: 0,
        topics: [{ name: "golden", partitions: [{ index: 0, errorCode: 0, highWatermark: 3, lastStableOffset: 3, logStartOffset: 0, abortedTransactions: null, records: batchesIn(stored) }] }],
      }),
    );
    const envelope = decodeResponseEnvelope(frameBody(fetchFrame));
    if (!envelope.ok) throw new Error("fetch envelope failed");
    const fetched = decodeResponseBody(FetchApi, 0, envelope.value.body);
    if (!fetched.ok) throw new Error("fetch decode failed");
    const records = fetched.value.topics[0]?.partitions[0]?.records;
    if (records === undefined) throw new Error("records missing");
    expect(records.buffer).toBe(fetchFrame.buffer);
    expect(batchesIn(records)).toEqual(golden);
  });
});

describe("typed decode failures", () => {
  test("wrong field types name the field", () => {
    const produce = SAMPLES[0]?.request as ProduceRequestInput;
    const wire = ProduceApi.requests[0]?.toWire(produce) as unknown[];
    const broken = structuredClone(wire) as any;
    broken[3][0][1][1][0] = "7"; // partition index as a string
    expect(decodeRequestBody(ProduceApi, 0, broken)).toEqual({ ok: false, error: "bad_field", field: "topics[0].partitions[1].index" });
    const notBin = structuredClone(wire) as any;
    notBin[3][0][1][0][1] = [1, 2, 3]; // records as an array instead of bin
    expect(decodeRequestBody(ProduceApi, 0, notBin)).toEqual({ ok: false, error: "bad_field", field: "topics[0].partitions[0].records" });
    expect(decodeRequestBody(ProduceApi, 0, wire.slice(0, 3))).toEqual({ ok: false, error: "bad_field", field: "(root)" });
    expect(decodeRequestBody(ProduceApi, 0, [null, 70000, 1, []])).toEqual({ ok: false, error: "bad_field", field: "acks" });
    expect(decodeRequestBody(ProduceApi, 0, [null, 1, 1.5, []])).toEqual({ ok: false, error: "bad_field", field: "timeoutMs" });
    expect(decodeRequestBody(ProduceApi, 0, [null, 1, 1, null])).toEqual({ ok: false, error: "bad_field", field: "topics" });
  });

  test("int64 beyond 2^53 is rejected, not rounded", () => {
    const tooBig = packValue([ApiKey.ListOffsets, 0, 2, null, [0, [["t", [[0, 2n ** 60n]]]]]]);
    expect(decodeRequest(tooBig)).toMatchObject({ ok: false, error: "bad_field", field: "topics[0].partitions[0].timestamp" });
    const largestSafe = packValue([ApiKey.ListOffsets, 0, 2, null, [0, [["t", [[0, BigInt(Number.MAX_SAFE_INTEGER)]]]]]]);
    expect(decodeRequest(largestSafe)).toMatchObject({ ok: true });
    const justOver = packValue([ApiKey.ListOffsets, 0, 2, null, [0, [["t", [[0, 2n ** 53n]]]]]]);
    expect(decodeRequest(justOver)).toMatchObject({ ok: false, error: "bad_field" });
  });

  test("unknown api key and unsupported version keep the header so the broker can answer", () => {
    expect(decodeRequest(packValue([99, 0, 5, null, []]))).toEqual({
      ok: false,
      error: "unknown_api_key",
      header: { apiKey: 99, apiVersion: 0, correlationId: 5, clientId: null },
      field: null,
    });
    expect(decodeRequest(packValue([ApiKey.Metadata, 7, 6, "c", [null, true]]))).toEqual({
      ok: false,
      error: "unsupported_version",
      header: { apiKey: ApiKey.Metadata, apiVersion: 7, correlationId: 6, clientId: "c" },
      field: null,
    });
  });
});
