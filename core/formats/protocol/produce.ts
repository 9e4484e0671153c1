// Produce (api key 0). Each partition's `records` is one msgpack bin holding one or more Kafka RecordBatch v2
// batches back to back, exactly as the producer built them; the broker decodes them as views into the request
// frame and stores those bytes (after patching baseOffset). acks: 0 (no response is sent at all), 1 (answer after
// the write reached the OS), -1 = all (answer after fsync). transactionalId is nil outside transactions.
//
// Request v0:
//   [transactionalId: str | nil, acks: int16, timeoutMs: int32,
//    topics: [[name: str,
//              partitions: [[index: int32, records: bin]]]]]
// Response v0:
//   [topics: [[name: str,
//              partitions: [[index: int32, errorCode: int16, baseOffset: int64, logAppendTimeMs: int64,
//                            logStartOffset: int64, errorMessage: str | nil]]]],
//    throttleTimeMs: int32]
//
// baseOffset is the offset given to the first record of the first batch, -1 on error; logAppendTimeMs is -1
// unless the topic uses LogAppendTime.
import { defineApi } from "./api-keys.ts";
import { type Decoded, type Encodable, array, int16, int32, int64, nullable, records, string, struct } from "./schema.ts";

/** Kafka's acks values. */
export const Acks = { NONE: 0, LEADER: 1, ALL: -1 } as const;

const produceRequestV0 = struct([
  ["transactionalId", nullable(string)],
  ["acks", int16],
  ["timeoutMs", int32],
  ["topics", array(struct([["name", string], ["partitions", array(struct([["index", int32], ["records", records]]))]]))],
]);

const producePartitionResponseV0 = struct([
  ["index", int32],
  ["errorCode", int16],
  ["baseOffset", int64],
  ["logAppendTimeMs", int64],
  ["logStartOffset", int64],
  ["errorMessage", nullable(string)],
]);

const produceResponseV0 = struct([
  ["topics", array(struct([["name", string], ["partitions", array(producePartitionResponseV0)]]))],
  ["throttleTimeMs", int32],
]);

/** A decoded Produce request: each partition's `records` is a view into the request frame. */
export type ProduceRequest = Decoded<typeof produceRequestV0>;
/** A Produce request to encode: `records` may be one buffer or a list of chunks (sent without copying). */
export type ProduceRequestInput = Encodable<typeof produceRequestV0>;
/** A Produce response. */
export type ProduceResponse = Decoded<typeof produceResponseV0>;

/** The Produce API. */
export const ProduceApi = defineApi("Produce", { 0: { request: produceRequestV0, response: produceResponseV0 } });
