// DeleteTopics: each topic deleted crash-safely by the engine, answered per topic in request order.
import { DeleteTopicsApi, type DeleteTopicsRequest, type DeleteTopicsResponse } from "../../core/formats/protocol/delete-topics.ts";
import { encodeResponse, type RequestHeader } from "../../core/formats/protocol/envelope.ts";
import { type Reply, type ServerContext, errorCode } from "../server-context.ts";

/** Answers DeleteTopics. */
export async function handleDeleteTopics(context: ServerContext, header: RequestHeader, request: DeleteTopicsRequest): Promise<Reply> {
  const responses: DeleteTopicsResponse["responses"] = [];
  for (const name of new Set(request.topicNames)) {
    const deleted = await context.broker.deleteTopic(name);
    responses.push(deleted.ok ? { name, errorCode: 0, errorMessage: null } : { name, errorCode: errorCode(deleted.error), errorMessage: deleted.message });
  }
  return encodeResponse(DeleteTopicsApi, header.apiVersion, header.correlationId, { throttleTimeMs: 0, responses });
}
