// InitProducerId: the engine keeps no producer state yet (idempotence and transactions come with the producer
// work), so the broker cannot hand out producer ids it would honour. It says so in the body instead of handing
// out an id whose sequence numbers nobody checks.
import { encodeResponse, type RequestHeader } from "../../core/formats/protocol/envelope.ts";
import { InitProducerIdApi } from "../../core/formats/protocol/init-producer-id.ts";
import { type Reply, errorCode } from "../server-context.ts";

/** Answers InitProducerId with UNSUPPORTED_VERSION in the body (no producer state in this build). */
export function handleInitProducerId(header: RequestHeader): Reply {
  return encodeResponse(InitProducerIdApi, header.apiVersion, header.correlationId, {
    throttleTimeMs: 0,
    errorCode: errorCode("UNSUPPORTED_VERSION"),
    producerId: -1,
    producerEpoch: -1,
  });
}
