// API keys are Kafka's numbers for the same operations, so logs and tools read alike; version ranges are
// Rivulet's own (every API starts at version 0 here). A message definition ties an API key to one request and
// one response wire type per supported version; envelope.ts and messages.ts look them up here.
import { assert } from "../../assert.ts";
import type { WireType } from "./schema.ts";

/** Kafka's api key numbers for the APIs Rivulet speaks. */
export const ApiKey = {
  Produce: 0,
  Fetch: 1,
  ListOffsets: 2,
  Metadata: 3,
  ApiVersions: 18,
  CreateTopics: 19,
  DeleteTopics: 20,
  InitProducerId: 22,
  DescribeConfigs: 32,
  AlterConfigs: 33,
  CreatePartitions: 37,
} as const;

/** The name of an API Rivulet speaks. */
export type ApiName = keyof typeof ApiKey;

/** Supported versions of one API, inclusive. */
export interface ApiVersionRange {
  readonly apiKey: number;
  readonly minVersion: number;
  readonly maxVersion: number;
}

/** What this build supports, as ApiVersions reports it; ordered by api key. */
export const API_VERSION_RANGES: readonly ApiVersionRange[] = [
  { apiKey: ApiKey.Produce, minVersion: 0, maxVersion: 0 },
  { apiKey: ApiKey.Fetch, minVersion: 0, maxVersion: 0 },
  { apiKey: ApiKey.ListOffsets, minVersion: 0, maxVersion: 0 },
  { apiKey: ApiKey.Metadata, minVersion: 0, maxVersion: 0 },
  { apiKey: ApiKey.ApiVersions, minVersion: 0, maxVersion: 0 },
  { apiKey: ApiKey.CreateTopics, minVersion: 0, maxVersion: 0 },
  { apiKey: ApiKey.DeleteTopics, minVersion: 0, maxVersion: 0 },
  { apiKey: ApiKey.InitProducerId, minVersion: 0, maxVersion: 0 },
  { apiKey: ApiKey.DescribeConfigs, minVersion: 0, maxVersion: 0 },
  { apiKey: ApiKey.AlterConfigs, minVersion: 0, maxVersion: 0 },
  { apiKey: ApiKey.CreatePartitions, minVersion: 0, maxVersion: 0 },
];

const RANGE_BY_KEY = new Map(API_VERSION_RANGES.map((range) => [range.apiKey, range]));

/** The supported range of `apiKey`, or undefined when Rivulet does not speak it. */
export function apiVersionRange(apiKey: number): ApiVersionRange | undefined {
  return RANGE_BY_KEY.get(apiKey);
}

/** One API: its key and a request and response wire type for each supported version (index = version). */
export interface ApiDefinition<ReqOut = unknown, ReqIn = ReqOut, ResOut = unknown, ResIn = ResOut, N extends ApiName = ApiName> {
  readonly name: N;
  readonly apiKey: number;
  readonly minVersion: number;
  readonly maxVersion: number;
  readonly requests: readonly (WireType<ReqOut, ReqIn> | undefined)[];
  readonly responses: readonly (WireType<ResOut, ResIn> | undefined)[];
}

/** The decoded request type of an API. */
export type RequestOf<A> = A extends ApiDefinition<infer O, any, any, any> ? O : never;
/** The encodable request type of an API. */
export type RequestInputOf<A> = A extends ApiDefinition<any, infer I, any, any> ? I : never;
/** The decoded response type of an API. */
export type ResponseOf<A> = A extends ApiDefinition<any, any, infer O, any> ? O : never;
/** The encodable response type of an API. */
export type ResponseInputOf<A> = A extends ApiDefinition<any, any, any, infer I> ? I : never;

/** Declares an API; its versions must be exactly the supported range in API_VERSION_RANGES. */
export function defineApi<ReqOut, ReqIn, ResOut, ResIn, N extends ApiName>(
  name: N,
  versions: Record<number, { request: WireType<ReqOut, ReqIn>; response: WireType<ResOut, ResIn> }>,
): ApiDefinition<ReqOut, ReqIn, ResOut, ResIn, N> {
  const apiKey = ApiKey[name];
  const range = apiVersionRange(apiKey);
  assert(range !== undefined, `${name} has no version range`);
  const requests: WireType<ReqOut, ReqIn>[] = [];
  const responses: WireType<ResOut, ResIn>[] = [];
  for (let version = range.minVersion; version <= range.maxVersion; version++) {
    const schemas = versions[version];
    assert(schemas !== undefined, `${name} v${version} has no schema`);
    requests[version] = schemas.request;
    responses[version] = schemas.response;
  }
  assert(Object.keys(versions).length === range.maxVersion - range.minVersion + 1, `${name} defines unsupported versions`);
  return { name, apiKey, minVersion: range.minVersion, maxVersion: range.maxVersion, requests, responses };
}
