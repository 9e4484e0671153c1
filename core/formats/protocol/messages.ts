// The registry of every API this build speaks, and the broker's one-call request decoder: envelope, api key,
// version and body, with each failure typed by what the broker must do about it.
import { type ApiDefinition, type ApiName, type RequestOf } from "./api-keys.ts";
import { AlterConfigsApi } from "./alter-configs.ts";
import { ApiVersionsApi, apiVersionsResponse } from "./api-versions.ts";
import { CreatePartitionsApi } from "./create-partitions.ts";
import { CreateTopicsApi } from "./create-topics.ts";
import { DeleteTopicsApi } from "./delete-topics.ts";
import { DescribeConfigsApi } from "./describe-configs.ts";
import {
  REQUEST_ELEMENTS_MAX_DEFAULT,
  type EnvelopeError,
  type RequestBodyError,
  type RequestHeader,
  decodeRequestBody,
  decodeRequestEnvelope,
  encodeErrorResponse,
  encodeResponse,
  errorCodeForRequestBodyError,
} from "./envelope.ts";
import { ErrorCode } from "./errors.ts";
import { FetchApi } from "./fetch.ts";
import { InitProducerIdApi } from "./init-producer-id.ts";
import { ListOffsetsApi } from "./list-offsets.ts";
import { MetadataApi } from "./metadata.ts";
import { ProduceApi } from "./produce.ts";

/** Every API definition, in api key order. */
export const APIS = [
  ProduceApi,
  FetchApi,
  ListOffsetsApi,
  MetadataApi,
  ApiVersionsApi,
  CreateTopicsApi,
  DeleteTopicsApi,
  InitProducerIdApi,
  DescribeConfigsApi,
  AlterConfigsApi,
  CreatePartitionsApi,
] as const;

type AnyApi = (typeof APIS)[number];

const API_BY_KEY = new Map<number, AnyApi>(APIS.map((api) => [api.apiKey, api]));

/** The definition of `apiKey`, or undefined when this build does not speak it. */
export function apiByKey(apiKey: number): ApiDefinition<unknown, any, unknown, any> | undefined {
  return API_BY_KEY.get(apiKey) as ApiDefinition<unknown, any, unknown, any> | undefined;
}

/** A fully decoded request, discriminated by `api`. */
export type DecodedRequest = {
  [A in AnyApi as A["name"]]: { api: A["name"]; header: RequestHeader; request: RequestOf<A> };
}[ApiName];

/**
 * Why a request could not be decoded. Without a header (malformed msgpack, bad envelope) the broker closes the
 * connection; with one it answers `header.correlationId` with errorCodeForRequestBodyError(error) and carries on.
 */
export type RequestDecodeFailure =
  | { ok: false; error: EnvelopeError }
  | { ok: false; error: RequestBodyError; header: RequestHeader; field: string | null };

/** Decodes one request frame body completely (`maxElements`: see REQUEST_ELEMENTS_MAX_DEFAULT). Never throws. */
export function decodeRequest(
  frameBody: Uint8Array,
  maxElements: number = REQUEST_ELEMENTS_MAX_DEFAULT,
): { ok: true; value: DecodedRequest } | RequestDecodeFailure {
  const envelope = decodeRequestEnvelope(frameBody, maxElements);
  if (!envelope.ok) return envelope;
  const { body, ...header } = envelope.value;
  const api = API_BY_KEY.get(header.apiKey);
  if (api === undefined) return { ok: false, error: "unknown_api_key", header, field: null };
  const decoded = decodeRequestBody(api as ApiDefinition<unknown, unknown, unknown, unknown>, header.apiVersion, body);
  if (!decoded.ok) return { ok: false, error: decoded.error, header, field: "field" in decoded ? decoded.field : null };
  return { ok: true, value: { api: api.name, header, request: decoded.value } as DecodedRequest };
}

/**
 * The frame a broker answers an undecodable request with (failures that kept a header), or null when it must close
 * the connection instead. ApiVersions of an unknown version gets a version-0 ApiVersions body listing the supported
 * ranges, with UNSUPPORTED_VERSION inside it, so a newer client can step down (Kafka's rule).
 */
export function encodeRequestFailureResponse(failure: RequestDecodeFailure): Uint8Array | null {
  if (!("header" in failure)) return null;
  const { header } = failure;
  if (header.apiKey === ApiVersionsApi.apiKey && failure.error === "unsupported_version") {
    return encodeResponse(ApiVersionsApi, 0, header.correlationId, apiVersionsResponse(ErrorCode.UNSUPPORTED_VERSION));
  }
  return encodeErrorResponse(header.correlationId, errorCodeForRequestBodyError(failure.error));
}
