// InitProducerId (api key 22): gives an idempotent (or transactional) producer its producer id and epoch. A
// producer asking for the first time sends producerId -1 and producerEpoch -1; one that wants its epoch bumped
// (KIP-360) sends its current pair.
//
// Request v0:
//   [transactionalId: str | nil, transactionTimeoutMs: int32, producerId: int64, producerEpoch: int16]
// Response v0:
//   [throttleTimeMs: int32, errorCode: int16, producerId: int64, producerEpoch: int16]
import { defineApi } from "./api-keys.ts";
import { type Decoded, int16, int32, int64, nullable, string, struct } from "./schema.ts";

const initProducerIdRequestV0 = struct([
  ["transactionalId", nullable(string)],
  ["transactionTimeoutMs", int32],
  ["producerId", int64],
  ["producerEpoch", int16],
]);

const initProducerIdResponseV0 = struct([
  ["throttleTimeMs", int32],
  ["errorCode", int16],
  ["producerId", int64],
  ["producerEpoch", int16],
]);

/** An InitProducerId request. */
export type InitProducerIdRequest = Decoded<typeof initProducerIdRequestV0>;
/** An InitProducerId response. */
export type InitProducerIdResponse = Decoded<typeof initProducerIdResponseV0>;

/** The InitProducerId API. */
export const InitProducerIdApi = defineApi("InitProducerId", {
  0: { request: initProducerIdRequestV0, response: initProducerIdResponseV0 },
});
