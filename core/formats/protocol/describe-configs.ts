// DescribeConfigs (api key 32). Resource types are Kafka's: 2 topic, 4 broker. A nil key list asks for every
// config of the resource. configSource is Kafka's: -1 unknown, 1 dynamic topic config, 4 static broker config,
// 5 default.
//
// Request v0:
//   [resources: [[resourceType: int8, resourceName: str, configurationKeys: [str] | nil]]]
// Response v0:
//   [throttleTimeMs: int32,
//    results: [[errorCode: int16, errorMessage: str | nil, resourceType: int8, resourceName: str,
//               configs: [[name: str, value: str | nil, readOnly: bool, configSource: int8,
//                          isSensitive: bool]]]]]
import { defineApi } from "./api-keys.ts";
import { type Decoded, array, boolean, int8, int16, int32, nullable, string, struct } from "./schema.ts";

/** Kafka's config resource types used by Rivulet. */
export const ConfigResourceType = { TOPIC: 2, BROKER: 4 } as const;

/** Kafka's config sources, as DescribeConfigs reports them. */
export const ConfigSource = { UNKNOWN: -1, DYNAMIC_TOPIC_CONFIG: 1, STATIC_BROKER_CONFIG: 4, DEFAULT_CONFIG: 5 } as const;

const describeConfigsRequestV0 = struct([
  [
    "resources",
    array(struct([["resourceType", int8], ["resourceName", string], ["configurationKeys", nullable(array(string))]])),
  ],
]);

const describeConfigsResponseV0 = struct([
  ["throttleTimeMs", int32],
  [
    "results",
    array(
      struct([
        ["errorCode", int16],
        ["errorMessage", nullable(string)],
        ["resourceType", int8],
        ["resourceName", string],
        [
          "configs",
          array(
            struct([
              ["name", string],
              ["value", nullable(string)],
              ["readOnly", boolean],
              ["configSource", int8],
              ["isSensitive", boolean],
            ]),
          ),
        ],
      ]),
    ),
  ],
]);

/** A DescribeConfigs request. */
export type DescribeConfigsRequest = Decoded<typeof describeConfigsRequestV0>;
/** A DescribeConfigs response. */
export type DescribeConfigsResponse = Decoded<typeof describeConfigsResponseV0>;

/** The DescribeConfigs API. */
export const DescribeConfigsApi = defineApi("DescribeConfigs", {
  0: { request: describeConfigsRequestV0, response: describeConfigsResponseV0 },
});
