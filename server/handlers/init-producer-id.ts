// InitProducerId for idempotent producers: a fresh producer id from the engine (unique across restarts of the
// data directory) with epoch 0, whatever pair the request carries. Kafka does the same without a transactional
// id: a producer that bumps its epoch after an error (KIP-360) does so itself, and one that asks again gets a new
// id. Transactional ids need the transaction coordinator, which this build does not have: they are answered with
// UNSUPPORTED_VERSION in the body, so a client learns it before it sends a transactional batch.
import { encodeResponse, type RequestHeader } from "../../core/formats/protocol/envelope.ts";
import { InitProducerIdApi, type InitProducerIdRequest } from "../../core/formats/protocol/init-producer-id.ts";
import { type Reply, type ServerContext, errorCode } from "../server-context.ts";

/** Answers InitProducerId. */
export async function handleInitProducerId(context: ServerContext, header: RequestHeader, request: InitProducerIdRequest): Promise<Reply> {
  const answer = (code: number, producerId: number, producerEpoch: number): Reply =>
    encodeResponse(InitProducerIdApi, header.apiVersion, header.correlationId, { throttleTimeMs: 0, errorCode: code, producerId, producerEpoch });
  if (request.transactionalId !== null) return answer(errorCode("UNSUPPORTED_VERSION"), -1, -1);
  const allocated = await context.broker.initProducerId();
  if (!allocated.ok) return answer(errorCode(allocated.error), -1, -1);
  return answer(0, allocated.value.producerId, allocated.value.producerEpoch);
}
