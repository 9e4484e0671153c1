// The msgpack envelope inside every frame (frame.ts puts the u32 length in front).
//
//   request  = [apiKey: int16, apiVersion: int16, correlationId: int32, clientId: str | nil, body]
//   response = [correlationId: int32, errorCode: int16, body | nil]
//
// `body` is the message's own array (one schema per API and version, see the message files). A response's
// errorCode is for the request as a whole: 0 with a body, or a code from errors.ts with nil when the broker could
// not process the request at all (unknown api key, unsupported version, a body of the wrong shape). Errors about
// a topic or partition travel inside the body instead. Requests on one connection are answered in order, and a
// correlation id lets a client check that; Produce with acks=0 gets no response at all (as in Kafka).
//
// Decoding never throws: msgpack that msgpackr rejects is "malformed", a value of the wrong shape is
// "bad_envelope", more array/map elements than the decode budget is "too_large"; all mean the connection can not
// be trusted any more and should be closed.
import { type Result, err, ok } from "../result.ts";
import { assert } from "../../assert.ts";
import { type ApiDefinition, type RequestOf, type ResponseOf, apiVersionRange } from "./api-keys.ts";
import { ErrorCode } from "./errors.ts";
import type { FramePart } from "./frame.ts";
import { MsgpackWriter, packFrame, unpackValue } from "./msgpack.ts";
import { type DecodeResult, INVALID, decodeAs, int16, int32 } from "./schema.ts";

/** Longest client id accepted, in UTF-16 units (Kafka's client id is an int16-length string). */
export const CLIENT_ID_CHARS_MAX = 0x7fff;

/**
 * Most array and map elements a broker decodes from one request (about 8-16 MiB of JS arrays): a Produce to
 * 10,000 partitions needs about 40,000, a Fetch or ListOffsets of 100,000 partitions about 500,000.
 */
export const REQUEST_ELEMENTS_MAX_DEFAULT = 1 << 20;

/** Most elements a client decodes from one response: responses come from a trusted broker and Metadata can be big. */
export const RESPONSE_ELEMENTS_MAX_DEFAULT = 1 << 23;

/** Fields every request carries before its body. */
export interface RequestHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
}

/** A decoded request envelope; `body` is still unchecked. */
export interface RequestEnvelope extends RequestHeader {
  body: unknown;
}

/** A decoded response envelope; `body` is still unchecked (nil when errorCode is not NONE). */
export interface ResponseEnvelope {
  correlationId: number;
  errorCode: number;
  body: unknown;
}

/**
 * Why an envelope could not be read; the connection should be closed. "too_large": more array/map elements than
 * the decode budget allows.
 */
export type EnvelopeError = "malformed" | "bad_envelope" | "too_large";

const REQUEST_FIELDS = 5;
const RESPONSE_FIELDS = 3;

/** Reads the request envelope of one frame body. Never throws. */
export function decodeRequestEnvelope(
  frameBody: Uint8Array,
  maxElements: number = REQUEST_ELEMENTS_MAX_DEFAULT,
): Result<RequestEnvelope, EnvelopeError> {
  const unpacked = unpackValue(frameBody, maxElements);
  if (!unpacked.ok) return unpacked;
  const value = unpacked.value;
  if (!Array.isArray(value) || value.length !== REQUEST_FIELDS) return err("bad_envelope");
  const apiKey = int16.decode(value[0]);
  const apiVersion = int16.decode(value[1]);
  const correlationId = int32.decode(value[2]);
  const clientId: unknown = value[3];
  if (apiKey === INVALID || apiVersion === INVALID || correlationId === INVALID) return err("bad_envelope");
  if (clientId !== null && (typeof clientId !== "string" || clientId.length > CLIENT_ID_CHARS_MAX)) return err("bad_envelope");
  return ok({ apiKey, apiVersion, correlationId, clientId, body: value[4] });
}

/** Reads the response envelope of one frame body. Never throws. */
export function decodeResponseEnvelope(
  frameBody: Uint8Array,
  maxElements: number = RESPONSE_ELEMENTS_MAX_DEFAULT,
): Result<ResponseEnvelope, EnvelopeError> {
  const unpacked = unpackValue(frameBody, maxElements);
  if (!unpacked.ok) return unpacked;
  const value = unpacked.value;
  if (!Array.isArray(value) || value.length !== RESPONSE_FIELDS) return err("bad_envelope");
  const correlationId = int32.decode(value[0]);
  const errorCode = int16.decode(value[1]);
  if (correlationId === INVALID || errorCode === INVALID) return err("bad_envelope");
  if (errorCode !== ErrorCode.NONE && value[2] !== null) return err("bad_envelope");
  return ok({ correlationId, errorCode, body: value[2] });
}

/** Why a request body could not be used; each maps to the envelope error code the broker answers with. */
export type RequestBodyError = "unknown_api_key" | "unsupported_version" | "bad_field";

/** The envelope error code a broker answers a request body error with. */
export function errorCodeForRequestBodyError(error: RequestBodyError): number {
  return error === "unsupported_version" ? ErrorCode.UNSUPPORTED_VERSION : ErrorCode.INVALID_REQUEST;
}

/** True when this build speaks `apiKey` at `apiVersion`. */
export function isSupportedVersion(apiKey: number, apiVersion: number): boolean {
  const range = apiVersionRange(apiKey);
  return range !== undefined && apiVersion >= range.minVersion && apiVersion <= range.maxVersion;
}

/** Checks a request body against `api`'s schema for `version`. Never throws. */
export function decodeRequestBody<A extends ApiDefinition<any, any, any, any>>(
  api: A,
  version: number,
  body: unknown,
): DecodeResult<RequestOf<A>> | { ok: false; error: "unsupported_version" } {
  const schema = api.requests[version];
  if (schema === undefined) return err("unsupported_version");
  return decodeAs(schema, body) as DecodeResult<RequestOf<A>>;
}

/** Checks a response body against `api`'s schema for `version` (the version the request was sent with). */
export function decodeResponseBody<A extends ApiDefinition<any, any, any, any>>(
  api: A,
  version: number,
  body: unknown,
): DecodeResult<ResponseOf<A>> | { ok: false; error: "unsupported_version" } {
  const schema = api.responses[version];
  if (schema === undefined) return err("unsupported_version");
  return decodeAs(schema, body) as DecodeResult<ResponseOf<A>>;
}

/** Request header fields a client chooses (the api key comes from the API). */
export interface RequestHeaderInput {
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
}

function requestSchema<In>(api: ApiDefinition<any, In, any, any>, version: number) {
  const schema = api.requests[version];
  if (schema === undefined) assert(false, `${api.name} v${version} is not supported by this build`);
  return schema;
}

function responseSchema<In>(api: ApiDefinition<any, any, any, In>, version: number) {
  const schema = api.responses[version];
  if (schema === undefined) assert(false, `${api.name} v${version} is not supported by this build`);
  return schema;
}

function checkHeader(header: RequestHeaderInput): void {
  assert(Number.isInteger(header.correlationId) && header.correlationId >= -0x80000000 && header.correlationId <= 0x7fffffff, "correlation id must be an int32");
  assert(header.clientId === null || header.clientId.length <= CLIENT_ID_CHARS_MAX, "client id too long");
}

/** Encodes a whole request frame with msgpackr (records, if any, are copied into it). */
export function encodeRequest<In>(api: ApiDefinition<any, In, any, any>, header: RequestHeaderInput, request: In): Uint8Array {
  checkHeader(header);
  const body = requestSchema(api, header.apiVersion).toWire(request);
  return packFrame([api.apiKey, header.apiVersion, header.correlationId, header.clientId, body]);
}

/** Encodes a request frame as parts: record chunks over the inline limit are referenced, not copied. */
export function encodeRequestParts<In>(api: ApiDefinition<any, In, any, any>, header: RequestHeaderInput, request: In): FramePart[] {
  checkHeader(header);
  const schema = requestSchema(api, header.apiVersion);
  const writer = new MsgpackWriter();
  writer.arrayHeader(REQUEST_FIELDS);
  writer.int(api.apiKey);
  writer.int(header.apiVersion);
  writer.int(header.correlationId);
  if (header.clientId === null) writer.nil();
  else writer.str(header.clientId);
  schema.write(writer, request);
  return writer.finishParts();
}

/** Encodes a whole response frame with msgpackr. */
export function encodeResponse<In>(api: ApiDefinition<any, any, any, In>, version: number, correlationId: number, response: In): Uint8Array {
  const body = responseSchema(api, version).toWire(response);
  return packFrame([correlationId, ErrorCode.NONE, body]);
}

/** Encodes a response frame as parts: record chunks and file ranges are referenced, never copied. */
export function encodeResponseParts<In>(api: ApiDefinition<any, any, any, In>, version: number, correlationId: number, response: In): FramePart[] {
  const schema = responseSchema(api, version);
  const writer = new MsgpackWriter();
  writer.arrayHeader(RESPONSE_FIELDS);
  writer.int(correlationId);
  writer.int(ErrorCode.NONE);
  schema.write(writer, response);
  return writer.finishParts();
}

/** Encodes a response frame that fails the whole request with `errorCode` and no body. */
export function encodeErrorResponse(correlationId: number, errorCode: number): Uint8Array {
  assert(errorCode !== ErrorCode.NONE, "an error response needs an error code");
  return packFrame([correlationId, errorCode, null]);
}
