// CreateTopics: each topic created through the engine (durably, one admin step at a time), answered per topic.
// numPartitions -1 means num.partitions; replicationFactor -1 or 1 (one broker). validateOnly runs the same
// checks the engine runs before creating, and creates nothing. A name given twice fails both entries with
// INVALID_REQUEST, as in Kafka.
import { PARTITIONS_PER_TOPIC_MAX } from "../../core/engine/topic-metadata.ts";
import { resolveTopicConfig, validateTopicConfigs } from "../../core/engine/topic-config.ts";
import { describeTopicNameError, findCollidingTopic, validateTopicName } from "../../core/engine/topic-name.ts";
import { CreateTopicsApi, type CreateTopicsRequest, type CreateTopicsResponse } from "../../core/formats/protocol/create-topics.ts";
import { encodeResponse, type RequestHeader } from "../../core/formats/protocol/envelope.ts";
import type { ErrorName } from "../../core/formats/protocol/errors.ts";
import { type Reply, type ServerContext, errorCode } from "../server-context.ts";
import { configsToSet, hasDuplicateNames, unknownConfigName } from "./config-entries.ts";

type TopicResult = CreateTopicsResponse["topics"][number];
type TopicRequest = CreateTopicsRequest["topics"][number];

function failed(name: string, error: ErrorName, message: string): TopicResult {
  return { name, errorCode: errorCode(error), errorMessage: message, numPartitions: -1, replicationFactor: -1 };
}

// The engine's pre-creation checks without creating (the engine has no validate-only entry point).
function validateOnly(context: ServerContext, name: string, partitions: number, replicationFactor: number, topic: TopicRequest): TopicResult {
  const valid = validateTopicName(name);
  if (!valid.ok) return failed(name, "INVALID_TOPIC_EXCEPTION", describeTopicNameError(name, valid.error));
  if (context.broker.describeTopic(name).ok) return failed(name, "TOPIC_ALREADY_EXISTS", `Topic '${name}' already exists.`);
  const colliding = findCollidingTopic(name, context.broker.listTopics());
  if (colliding !== undefined) return failed(name, "INVALID_TOPIC_EXCEPTION", `Topic '${name}' collides with existing topic: ${colliding}`);
  if (partitions < 1 || partitions > PARTITIONS_PER_TOPIC_MAX) return failed(name, "INVALID_PARTITIONS", `Number of partitions ${partitions} is invalid.`);
  if (replicationFactor !== 1) return failed(name, "INVALID_REPLICATION_FACTOR", `Replication factor: ${replicationFactor} larger than available brokers: 1.`);
  const configs = validateTopicConfigs(configsToSet(topic.configs));
  if (!configs.ok) return failed(name, "INVALID_CONFIG", configs.message);
  const resolved = resolveTopicConfig(configs.value);
  if (!resolved.ok) return failed(name, "INVALID_CONFIG", resolved.message);
  return { name, errorCode: 0, errorMessage: null, numPartitions: partitions, replicationFactor };
}

/** Answers CreateTopics, creating each topic in request order. */
export async function handleCreateTopics(context: ServerContext, header: RequestHeader, request: CreateTopicsRequest): Promise<Reply> {
  const duplicates = hasDuplicateNames(request.topics);
  const counts = new Map<string, number>();
  for (const topic of request.topics) counts.set(topic.name, (counts.get(topic.name) ?? 0) + 1);
  const results: TopicResult[] = [];
  for (const topic of request.topics) {
    const { name } = topic;
    if (duplicates && (counts.get(name) ?? 0) > 1) {
      results.push(failed(name, "INVALID_REQUEST", `Create topics request from client contains multiple entries for topic ${name}.`));
      continue;
    }
    const partitions = topic.numPartitions === -1 ? context.numPartitions : topic.numPartitions;
    const replicationFactor = topic.replicationFactor === -1 ? 1 : topic.replicationFactor;
    if (hasDuplicateNames(topic.configs)) {
      results.push(failed(name, "INVALID_CONFIG", "A config name appears more than once."));
      continue;
    }
    const unknown = unknownConfigName(topic.configs);
    if (unknown !== undefined) {
      results.push(failed(name, "INVALID_CONFIG", `Unknown topic config name: ${unknown}`));
      continue;
    }
    if (request.validateOnly) {
      results.push(validateOnly(context, name, partitions, replicationFactor, topic));
      continue;
    }
    const created = await context.broker.createTopic(name, { partitions, replicationFactor, configs: configsToSet(topic.configs) });
    results.push(
      created.ok
        ? { name, errorCode: 0, errorMessage: null, numPartitions: created.value.partitions.length, replicationFactor }
        : failed(name, created.error, created.message),
    );
  }
  return encodeResponse(CreateTopicsApi, header.apiVersion, header.correlationId, { throttleTimeMs: 0, topics: results });
}
