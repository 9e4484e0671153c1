// Metadata: this broker, and topics with their partitions. One node leads every partition; an OFFLINE partition
// is reported with KAFKA_STORAGE_ERROR, no leader and its replica offline. Unknown topics asked for with
// allowAutoTopicCreation are created with num.partitions when auto.create.topics.enable is on (Kafka's rule),
// and reported as they are after creation.
import type { TopicDescription } from "../../core/engine/broker.ts";
import { encodeResponse, type RequestHeader } from "../../core/formats/protocol/envelope.ts";
import { MetadataApi, type MetadataRequest, type MetadataResponse } from "../../core/formats/protocol/metadata.ts";
import { NODE_ID, type Reply, type ServerContext, errorCode } from "../server-context.ts";

type TopicMetadata = MetadataResponse["topics"][number];

function describeForMetadata(description: TopicDescription): TopicMetadata {
  return {
    errorCode: 0,
    name: description.name,
    isInternal: false,
    partitions: description.partitions.map((partition) =>
      partition.state === "online"
        ? { errorCode: 0, partitionIndex: partition.partition, leaderId: NODE_ID, leaderEpoch: 0, replicaNodes: [NODE_ID], isrNodes: [NODE_ID], offlineReplicas: [] }
        : {
            errorCode: errorCode("KAFKA_STORAGE_ERROR"),
            partitionIndex: partition.partition,
            leaderId: -1,
            leaderEpoch: 0,
            replicaNodes: [NODE_ID],
            isrNodes: [],
            offlineReplicas: [NODE_ID],
          },
    ),
  };
}

function failedTopic(name: string, code: number): TopicMetadata {
  return { errorCode: code, name, isInternal: false, partitions: [] };
}

async function topicMetadata(context: ServerContext, name: string, autoCreate: boolean): Promise<TopicMetadata> {
  const described = context.broker.describeTopic(name);
  if (described.ok) return describeForMetadata(described.value);
  if (!autoCreate) return failedTopic(name, errorCode(described.error));
  const created = await context.broker.createTopic(name, { partitions: context.numPartitions });
  if (created.ok) return describeForMetadata(created.value);
  // Another request created it meanwhile: report it as it is now.
  const again = context.broker.describeTopic(name);
  if (again.ok) return describeForMetadata(again.value);
  return failedTopic(name, errorCode(created.error));
}

/** Answers Metadata, creating unknown topics when both the request and the broker allow it. */
export async function handleMetadata(context: ServerContext, header: RequestHeader, request: MetadataRequest): Promise<Reply> {
  const autoCreate = request.allowAutoTopicCreation && context.autoCreateTopicsEnable;
  const names = request.topics === null ? context.broker.listTopics() : [...new Set(request.topics)];
  const topics: TopicMetadata[] = [];
  for (const name of names) topics.push(await topicMetadata(context, name, autoCreate && request.topics !== null));
  const response: MetadataResponse = {
    throttleTimeMs: 0,
    brokers: [{ nodeId: NODE_ID, host: context.advertisedHost, port: context.advertisedPort, rack: null }],
    clusterId: null,
    controllerId: NODE_ID,
    topics,
  };
  return encodeResponse(MetadataApi, header.apiVersion, header.correlationId, response);
}
