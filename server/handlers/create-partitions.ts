// CreatePartitions: raises a topic's partition count to `count` (the new total). validateOnly checks the count
// against the topic as it is and changes nothing.
import { PARTITIONS_PER_TOPIC_MAX } from "../../core/engine/topic-metadata.ts";
import {
  CreatePartitionsApi,
  type CreatePartitionsRequest,
  type CreatePartitionsResponse,
} from "../../core/formats/protocol/create-partitions.ts";
import { encodeResponse, type RequestHeader } from "../../core/formats/protocol/envelope.ts";
import { type Reply, type ServerContext, errorCode } from "../server-context.ts";

type Result = CreatePartitionsResponse["results"][number];

function checkOnly(context: ServerContext, name: string, count: number): Result {
  const described = context.broker.describeTopic(name);
  if (!described.ok) return { name, errorCode: errorCode(described.error), errorMessage: described.message };
  const current = described.value.partitions.length;
  if (count <= current || count > PARTITIONS_PER_TOPIC_MAX) {
    return { name, errorCode: errorCode("INVALID_PARTITIONS"), errorMessage: `Topic currently has ${current} partitions, ${count} is not a valid new total.` };
  }
  return { name, errorCode: 0, errorMessage: null };
}

/** Answers CreatePartitions. */
export async function handleCreatePartitions(context: ServerContext, header: RequestHeader, request: CreatePartitionsRequest): Promise<Reply> {
  const results: Result[] = [];
  const counts = new Map<string, number>();
  for (const topic of request.topics) counts.set(topic.name, (counts.get(topic.name) ?? 0) + 1);
  for (const { name, count } of request.topics) {
    if ((counts.get(name) ?? 0) > 1) {
      results.push({ name, errorCode: errorCode("INVALID_REQUEST"), errorMessage: `Duplicate topic in request: ${name}` });
    } else if (request.validateOnly) {
      results.push(checkOnly(context, name, count));
    } else {
      const created = await context.broker.createPartitions(name, count);
      results.push(created.ok ? { name, errorCode: 0, errorMessage: null } : { name, errorCode: errorCode(created.error), errorMessage: created.message });
    }
  }
  return encodeResponse(CreatePartitionsApi, header.apiVersion, header.correlationId, { throttleTimeMs: 0, results });
}
