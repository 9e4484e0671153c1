// ListOffsets (api key 2): per partition, the offset for a timestamp. Special timestamps are Kafka's:
// -1 latest (the log end offset, or the last stable offset under read_committed), -2 earliest (log start),
// -3 the offset of the record with the largest timestamp. For a real timestamp the answer is the first offset
// whose timestamp is >= it, or -1 with timestamp -1 when there is none.
//
// Request v0:
//   [isolationLevel: int8,
//    topics: [[name: str, partitions: [[index: int32, timestamp: int64]]]]]
// Response v0:
//   [throttleTimeMs: int32,
//    topics: [[name: str,
//              partitions: [[index: int32, errorCode: int16, timestamp: int64, offset: int64,
//                            leaderEpoch: int32]]]]]
import { defineApi } from "./api-keys.ts";
import { type Decoded, array, int8, int16, int32, int64, string, struct } from "./schema.ts";

/** Kafka's special ListOffsets timestamps. */
export const ListOffsetsTimestamp = { LATEST: -1, EARLIEST: -2, MAX_TIMESTAMP: -3 } as const;

const listOffsetsRequestV0 = struct([
  ["isolationLevel", int8],
  ["topics", array(struct([["name", string], ["partitions", array(struct([["index", int32], ["timestamp", int64]]))]]))],
]);

const listOffsetsResponseV0 = struct([
  ["throttleTimeMs", int32],
  [
    "topics",
    array(
      struct([
        ["name", string],
        [
          "partitions",
          array(struct([["index", int32], ["errorCode", int16], ["timestamp", int64], ["offset", int64], ["leaderEpoch", int32]])),
        ],
      ]),
    ),
  ],
]);

/** A ListOffsets request. */
export type ListOffsetsRequest = Decoded<typeof listOffsetsRequestV0>;
/** A ListOffsets response. */
export type ListOffsetsResponse = Decoded<typeof listOffsetsResponseV0>;

/** The ListOffsets API. */
export const ListOffsetsApi = defineApi("ListOffsets", { 0: { request: listOffsetsRequestV0, response: listOffsetsResponseV0 } });
