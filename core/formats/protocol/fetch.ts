// Fetch (api key 1). The broker answers when it has minBytes of records for the request or maxWaitMs has
// passed. maxBytes bounds the whole response's records and partitionMaxBytes each partition's, except that the
// first batch of the first non-empty partition is sent whole even when larger (Kafka's rule, so a consumer can
// always make progress). isolationLevel: 0 read_uncommitted, 1 read_committed.
//
// Request v0:
//   [maxWaitMs: int32, minBytes: int32, maxBytes: int32, isolationLevel: int8,
//    topics: [[name: str,
//              partitions: [[index: int32, fetchOffset: int64, partitionMaxBytes: int32]]]]]
// Response v0:
//   [throttleTimeMs: int32, errorCode: int16,
//    topics: [[name: str,
//              partitions: [[index: int32, errorCode: int16, highWatermark: int64, lastStableOffset: int64,
//                            logStartOffset: int64,
//                            abortedTransactions: [[producerId: int64, firstOffset: int64]] | nil,
//                            records: bin]]]]]
//
// `records` is the stored batches as they are on disk, back to back; the last one may be cut short by the size
// limits (the consumer ignores a partial batch at the end, as Kafka's does). The broker emits it with
// encodeResponseParts: a hand-written bin32 header followed by the stored bytes as separate buffers or file
// ranges, so records are never copied or re-encoded; the client decodes it as a view into the response frame.
import { defineApi } from "./api-keys.ts";
import { type Decoded, type Encodable, array, int8, int16, int32, int64, nullable, records, string, struct } from "./schema.ts";

/** Kafka's isolation levels. */
export const IsolationLevel = { READ_UNCOMMITTED: 0, READ_COMMITTED: 1 } as const;

const fetchRequestV0 = struct([
  ["maxWaitMs", int32],
  ["minBytes", int32],
  ["maxBytes", int32],
  ["isolationLevel", int8],
  [
    "topics",
    array(
      struct([
        ["name", string],
        ["partitions", array(struct([["index", int32], ["fetchOffset", int64], ["partitionMaxBytes", int32]]))],
      ]),
    ),
  ],
]);

const fetchPartitionResponseV0 = struct([
  ["index", int32],
  ["errorCode", int16],
  ["highWatermark", int64],
  ["lastStableOffset", int64],
  ["logStartOffset", int64],
  ["abortedTransactions", nullable(array(struct([["producerId", int64], ["firstOffset", int64]])))],
  ["records", records],
]);

const fetchResponseV0 = struct([
  ["throttleTimeMs", int32],
  ["errorCode", int16],
  ["topics", array(struct([["name", string], ["partitions", array(fetchPartitionResponseV0)]]))],
]);

/** A Fetch request. */
export type FetchRequest = Decoded<typeof fetchRequestV0>;
/** A decoded Fetch response: each partition's `records` is a view into the response frame. */
export type FetchResponse = Decoded<typeof fetchResponseV0>;
/** A Fetch response to encode: `records` may be one buffer or a list of buffers and file ranges. */
export type FetchResponseInput = Encodable<typeof fetchResponseV0>;

/** The Fetch API. */
export const FetchApi = defineApi("Fetch", { 0: { request: fetchRequestV0, response: fetchResponseV0 } });
