// ApiVersions (api key 18): the first request on every connection. The client learns which APIs and versions
// the broker speaks and picks, per API, the highest version both sides know. The broker answers an ApiVersions
// request of any version it does not know with a version-0 response carrying UNSUPPORTED_VERSION and the full
// list, so that a newer client can step down (Kafka's rule).
//
// Request v0:
//   [clientSoftwareName: str | nil, clientSoftwareVersion: str | nil]
// Response v0:
//   [errorCode: int16,
//    apiKeys: [[apiKey: int16, minVersion: int16, maxVersion: int16]],
//    throttleTimeMs: int32]
import { API_VERSION_RANGES, defineApi } from "./api-keys.ts";
import { type Decoded, array, int16, int32, nullable, string, struct } from "./schema.ts";

const apiVersionsRequestV0 = struct([
  ["clientSoftwareName", nullable(string)],
  ["clientSoftwareVersion", nullable(string)],
]);

const apiVersionsResponseV0 = struct([
  ["errorCode", int16],
  ["apiKeys", array(struct([["apiKey", int16], ["minVersion", int16], ["maxVersion", int16]]))],
  ["throttleTimeMs", int32],
]);

/** An ApiVersions request. */
export type ApiVersionsRequest = Decoded<typeof apiVersionsRequestV0>;
/** An ApiVersions response. */
export type ApiVersionsResponse = Decoded<typeof apiVersionsResponseV0>;

/** The ApiVersions API. */
export const ApiVersionsApi = defineApi("ApiVersions", { 0: { request: apiVersionsRequestV0, response: apiVersionsResponseV0 } });

/** The broker's ApiVersions response listing this build's ranges, with `errorCode` (0, or UNSUPPORTED_VERSION). */
export function apiVersionsResponse(errorCode: number, throttleTimeMs = 0): ApiVersionsResponse {
  return {
    errorCode,
    apiKeys: API_VERSION_RANGES.map(({ apiKey, minVersion, maxVersion }) => ({ apiKey, minVersion, maxVersion })),
    throttleTimeMs,
  };
}
