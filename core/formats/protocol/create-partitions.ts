// CreatePartitions (api key 37): raises a topic's partition count to `count` (the new total, as in Kafka).
// Replica assignments are left to the broker (one broker today), so Kafka's assignments field is absent.
//
// Request v0:
//   [topics: [[name: str, count: int32]], timeoutMs: int32, validateOnly: bool]
// Response v0:
//   [throttleTimeMs: int32,
//    results: [[name: str, errorCode: int16, errorMessage: str | nil]]]
import { defineApi } from "./api-keys.ts";
import { type Decoded, array, boolean, int16, int32, nullable, string, struct } from "./schema.ts";

const createPartitionsRequestV0 = struct([
  ["topics", array(struct([["name", string], ["count", int32]]))],
  ["timeoutMs", int32],
  ["validateOnly", boolean],
]);

const createPartitionsResponseV0 = struct([
  ["throttleTimeMs", int32],
  ["results", array(struct([["name", string], ["errorCode", int16], ["errorMessage", nullable(string)]]))],
]);

/** A CreatePartitions request. */
export type CreatePartitionsRequest = Decoded<typeof createPartitionsRequestV0>;
/** A CreatePartitions response. */
export type CreatePartitionsResponse = Decoded<typeof createPartitionsResponseV0>;

/** The CreatePartitions API. */
export const CreatePartitionsApi = defineApi("CreatePartitions", {
  0: { request: createPartitionsRequestV0, response: createPartitionsResponseV0 },
});
