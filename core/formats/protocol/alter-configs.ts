// AlterConfigs (api key 33), with Kafka's semantics: the given entries replace the resource's whole set of
// dynamic configs (an entry absent from the list returns to its default). Resource types as DescribeConfigs.
//
// Request v0:
//   [resources: [[resourceType: int8, resourceName: str, configs: [[name: str, value: str | nil]]]],
//    validateOnly: bool]
// Response v0:
//   [throttleTimeMs: int32,
//    responses: [[errorCode: int16, errorMessage: str | nil, resourceType: int8, resourceName: str]]]
import { defineApi } from "./api-keys.ts";
import { configEntryV0 } from "./create-topics.ts";
import { type Decoded, array, boolean, int8, int16, int32, nullable, string, struct } from "./schema.ts";

const alterConfigsRequestV0 = struct([
  ["resources", array(struct([["resourceType", int8], ["resourceName", string], ["configs", array(configEntryV0)]]))],
  ["validateOnly", boolean],
]);

const alterConfigsResponseV0 = struct([
  ["throttleTimeMs", int32],
  [
    "responses",
    array(
      struct([["errorCode", int16], ["errorMessage", nullable(string)], ["resourceType", int8], ["resourceName", string]]),
    ),
  ],
]);

/** An AlterConfigs request. */
export type AlterConfigsRequest = Decoded<typeof alterConfigsRequestV0>;
/** An AlterConfigs response. */
export type AlterConfigsResponse = Decoded<typeof alterConfigsResponseV0>;

/** The AlterConfigs API. */
export const AlterConfigsApi = defineApi("AlterConfigs", { 0: { request: alterConfigsRequestV0, response: alterConfigsResponseV0 } });
