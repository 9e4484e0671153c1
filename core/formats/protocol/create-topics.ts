// CreateTopics (api key 19). numPartitions and replicationFactor -1 mean the broker's defaults (num.partitions,
// default.replication.factor). Configs use Kafka's topic config names; a nil value means "the default".
// validateOnly checks everything and creates nothing.
//
// Request v0:
//   [topics: [[name: str, numPartitions: int32, replicationFactor: int16,
//              configs: [[name: str, value: str | nil]]]],
//    timeoutMs: int32, validateOnly: bool]
// Response v0:
//   [throttleTimeMs: int32,
//    topics: [[name: str, errorCode: int16, errorMessage: str | nil, numPartitions: int32,
//              replicationFactor: int16]]]
import { defineApi } from "./api-keys.ts";
import { type Decoded, array, boolean, int16, int32, nullable, string, struct } from "./schema.ts";

/** A config entry as sent in CreateTopics and AlterConfigs: [name, value | nil]. */
export const configEntryV0 = struct([
  ["name", string],
  ["value", nullable(string)],
]);

const createTopicsRequestV0 = struct([
  [
    "topics",
    array(struct([["name", string], ["numPartitions", int32], ["replicationFactor", int16], ["configs", array(configEntryV0)]])),
  ],
  ["timeoutMs", int32],
  ["validateOnly", boolean],
]);

const createTopicsResponseV0 = struct([
  ["throttleTimeMs", int32],
  [
    "topics",
    array(
      struct([
        ["name", string],
        ["errorCode", int16],
        ["errorMessage", nullable(string)],
        ["numPartitions", int32],
        ["replicationFactor", int16],
      ]),
    ),
  ],
]);

/** A CreateTopics request. */
export type CreateTopicsRequest = Decoded<typeof createTopicsRequestV0>;
/** A CreateTopics response. */
export type CreateTopicsResponse = Decoded<typeof createTopicsResponseV0>;

/** The CreateTopics API. */
export const CreateTopicsApi = defineApi("CreateTopics", { 0: { request: createTopicsRequestV0, response: createTopicsResponseV0 } });
