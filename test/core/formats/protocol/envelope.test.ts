import { describe, expect, test } from "bun:test";
import { ApiKey, API_VERSION_RANGES, apiVersionRange } from "../../../../core/formats/protocol/api-keys.ts";
import { ApiVersionsApi, apiVersionsResponse } from "../../../../core/formats/protocol/api-versions.ts";
import {
  CLIENT_ID_CHARS_MAX,
  REQUEST_ELEMENTS_MAX_DEFAULT,
  RESPONSE_ELEMENTS_MAX_DEFAULT,
  decodeRequestEnvelope,
  decodeResponseBody,
  decodeResponseEnvelope,
  encodeErrorResponse,
  encodeRequest,
  encodeResponse,
  errorCodeForRequestBodyError,
  isSupportedVersion,
} from "../../../../core/formats/protocol/envelope.ts";
import { ErrorCode } from "../../../../core/formats/protocol/errors.ts";
import { decodeRequest, encodeRequestFailureResponse } from "../../../../core/formats/protocol/messages.ts";
import { MetadataApi } from "../../../../core/formats/protocol/metadata.ts";
import { packValue } from "../../../../core/formats/protocol/msgpack.ts";

describe("request envelope", () => {
  test("layout: [apiKey, apiVersion, correlationId, clientId, body]", () => {
    const frame = encodeRequest(MetadataApi, { apiVersion: 0, correlationId: 0x01020304, clientId: "c" }, { topics: ["t"], allowAutoTopicCreation: false });
    expect([...frame.subarray(4)]).toEqual([...packValue([3, 0, 0x01020304, "c", [["t"], false]])]);
    expect(new DataView(frame.buffer).getUint32(0)).toBe(frame.byteLength - 4);
  });

  test("wrong shapes are bad_envelope, bad msgpack is malformed", () => {
    const good = [3, 0, 1, "c", [null, false]];
    expect(decodeRequestEnvelope(packValue(good)).ok).toBe(true);
    expect(decodeRequestEnvelope(packValue([3, 0, 1, null, []])).ok).toBe(true);
    const bad: unknown[] = [
      {},
      "x",
      good.slice(0, 4),
      [...good, 1],
      ["3", 0, 1, "c", []],
      [3, 0x8000, 1, "c", []],
      [3, 0, 2 ** 31, "c", []],
      [3, 0, 1.5, "c", []],
      [3, 0, 1, 7, []],
      [3, 0, 1, "x".repeat(CLIENT_ID_CHARS_MAX + 1), []],
      new Map([[0, 3]]),
    ];
    for (const value of bad) expect(decodeRequestEnvelope(packValue(value))).toEqual({ ok: false, error: "bad_envelope" });
    expect(decodeRequestEnvelope(new Uint8Array([0x95, 3]))).toEqual({ ok: false, error: "malformed" });
    expect(decodeRequestEnvelope(new Uint8Array(0))).toEqual({ ok: false, error: "malformed" });
    expect(decodeRequestEnvelope(new Uint8Array([0xc1]))).toEqual({ ok: false, error: "malformed" });
    // msgpack extension types (timestamps, msgpackr's own) are refused before msgpackr sees them.
    expect(decodeRequestEnvelope(new Uint8Array([0xd6, 0xff, 0, 0, 0, 1]))).toEqual({ ok: false, error: "malformed" });
  });
});

describe("decode budgets", () => {
  test("a request with more elements than the budget is too_large (close), responses get a larger budget", () => {
    const manyTopics = packValue([3, 0, 1, null, [Array.from({ length: 2000 }, (_, i) => `t${i}`), false]]);
    expect(decodeRequestEnvelope(manyTopics).ok).toBe(true);
    expect(decodeRequestEnvelope(manyTopics, 1000)).toEqual({ ok: false, error: "too_large" });
    expect(decodeRequest(manyTopics, 1000)).toEqual({ ok: false, error: "too_large" });
    expect(REQUEST_ELEMENTS_MAX_DEFAULT).toBeLessThan(RESPONSE_ELEMENTS_MAX_DEFAULT);
    const bigResponse = packValue([1, 0, [new Array(REQUEST_ELEMENTS_MAX_DEFAULT + 1).fill(0)]]);
    expect(decodeResponseEnvelope(bigResponse).ok).toBe(true);
    expect(decodeResponseEnvelope(bigResponse, REQUEST_ELEMENTS_MAX_DEFAULT)).toEqual({ ok: false, error: "too_large" });
  });
});

describe("response envelope", () => {
  test("layout: [correlationId, errorCode, body]", () => {
    const frame = encodeResponse(ApiVersionsApi, 0, 5, apiVersionsResponse(0));
    const envelope = decodeResponseEnvelope(frame.subarray(4));
    expect(envelope).toMatchObject({ ok: true, value: { correlationId: 5, errorCode: 0 } });
  });

  test("a request-level error carries no body", () => {
    const frame = encodeErrorResponse(9, ErrorCode.UNSUPPORTED_VERSION);
    expect(decodeResponseEnvelope(frame.subarray(4))).toEqual({ ok: true, value: { correlationId: 9, errorCode: 35, body: null } });
    expect(decodeResponseEnvelope(packValue([9, 35, []]))).toEqual({ ok: false, error: "bad_envelope" });
    expect(decodeResponseEnvelope(packValue([9, 0]))).toEqual({ ok: false, error: "bad_envelope" });
    expect(decodeResponseEnvelope(packValue(["9", 0, null]))).toEqual({ ok: false, error: "bad_envelope" });
    expect(() => encodeErrorResponse(1, ErrorCode.NONE)).toThrow();
  });

  test("a response body for a version this build does not speak is unsupported_version", () => {
    expect(decodeResponseBody(MetadataApi, 3, [])).toEqual({ ok: false, error: "unsupported_version" });
  });
});

describe("versioning", () => {
  test("ApiVersions lists every supported range; unsupported versions and keys are detected", () => {
    const response = apiVersionsResponse(ErrorCode.UNSUPPORTED_VERSION);
    expect(response.errorCode).toBe(35);
    expect(response.apiKeys).toEqual(API_VERSION_RANGES.map((range) => ({ ...range })));
    expect(response.apiKeys.map((entry) => entry.apiKey).sort((a, b) => a - b)).toEqual(Object.values(ApiKey).sort((a, b) => a - b));
    expect(isSupportedVersion(ApiKey.Fetch, 0)).toBe(true);
    expect(isSupportedVersion(ApiKey.Fetch, 1)).toBe(false);
    expect(isSupportedVersion(ApiKey.Fetch, -1)).toBe(false);
    expect(isSupportedVersion(4, 0)).toBe(false);
    expect(apiVersionRange(ApiKey.Produce)).toEqual({ apiKey: 0, minVersion: 0, maxVersion: 0 });
  });

  test("request body errors map to the envelope codes the broker answers with", () => {
    expect(errorCodeForRequestBodyError("unsupported_version")).toBe(ErrorCode.UNSUPPORTED_VERSION);
    expect(errorCodeForRequestBodyError("unknown_api_key")).toBe(ErrorCode.INVALID_REQUEST);
    expect(errorCodeForRequestBodyError("bad_field")).toBe(ErrorCode.INVALID_REQUEST);
  });

  test("encoding a version this build does not speak is a bug", () => {
    expect(() => encodeRequest(MetadataApi, { apiVersion: 1, correlationId: 1, clientId: null }, { topics: null, allowAutoTopicCreation: false })).toThrow();
  });
});

describe("answering requests that do not decode", () => {
  test("no header: close; unknown key or bad field: INVALID_REQUEST; unsupported version: UNSUPPORTED_VERSION", () => {
    const answer = (frameBody: Uint8Array) => {
      const decoded = decodeRequest(frameBody);
      if (decoded.ok) throw new Error("expected a failure");
      const frame = encodeRequestFailureResponse(decoded);
      return frame === null ? null : decodeResponseEnvelope(frame.subarray(4));
    };
    expect(answer(new Uint8Array([0x93]))).toBeNull();
    expect(answer(packValue({ a: 1 }))).toBeNull();
    expect(answer(packValue([99, 0, 11, null, []]))).toEqual({ ok: true, value: { correlationId: 11, errorCode: 42, body: null } });
    expect(answer(packValue([ApiKey.Metadata, 0, 12, null, [1, 2]]))).toEqual({ ok: true, value: { correlationId: 12, errorCode: 42, body: null } });
    expect(answer(packValue([ApiKey.Metadata, 5, 13, null, []]))).toEqual({ ok: true, value: { correlationId: 13, errorCode: 35, body: null } });
  });

  test("ApiVersions of an unknown version is answered with a v0 ApiVersions body listing the ranges", () => {
    const decoded = decodeRequest(packValue([ApiKey.ApiVersions, 9, 14, "future-client", ["x", "9", "extra"]]));
    if (decoded.ok) throw new Error("expected a failure");
    const frame = encodeRequestFailureResponse(decoded);
    if (frame === null) throw new Error("expected an answer");
    const envelope = decodeResponseEnvelope(frame.subarray(4));
    if (!envelope.ok) throw new Error("bad envelope");
    expect(envelope.value.errorCode).toBe(0);
    const body = decodeResponseBody(ApiVersionsApi, 0, envelope.value.body);
    expect(body).toEqual({ ok: true, value: apiVersionsResponse(ErrorCode.UNSUPPORTED_VERSION) });
  });
});
