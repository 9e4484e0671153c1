// DeleteTopics (api key 20).
//
// Request v0:
//   [topicNames: [str], timeoutMs: int32]
// Response v0:
//   [throttleTimeMs: int32,
//    responses: [[name: str, errorCode: int16, errorMessage: str | nil]]]
import { defineApi } from "./api-keys.ts";
import { type Decoded, array, int16, int32, nullable, string, struct } from "./schema.ts";

const deleteTopicsRequestV0 = struct([
  ["topicNames", array(string)],
  ["timeoutMs", int32],
]);

const deleteTopicsResponseV0 = struct([
  ["throttleTimeMs", int32],
  ["responses", array(struct([["name", string], ["errorCode", int16], ["errorMessage", nullable(string)]]))],
]);

/** A DeleteTopics request. */
export type DeleteTopicsRequest = Decoded<typeof deleteTopicsRequestV0>;
/** A DeleteTopics response. */
export type DeleteTopicsResponse = Decoded<typeof deleteTopicsResponseV0>;

/** The DeleteTopics API. */
export const DeleteTopicsApi = defineApi("DeleteTopics", { 0: { request: deleteTopicsRequestV0, response: deleteTopicsResponseV0 } });
