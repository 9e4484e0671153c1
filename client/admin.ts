// The admin client: topics, partitions, configs and offsets, in the shapes KafkaJS users know, with typed
// results and typed errors. Every method sends one request per broker it needs (the controller for topic
// changes, partition leaders for offsets) through its own Cluster.
//
// Errors: a failure of the whole request is the RivuletError the connection raised. A failure of one resource
// (a topic that exists already, a bad config) is thrown as a RivuletError for that resource's code, its message
// starting with the resource's name; when several resources fail, the first is thrown. Reads are retried on
// retriable errors; writes that are not idempotent (create, delete, add partitions) only on definite ones, so
// a retry never reports TOPIC_ALREADY_EXISTS for a topic its own first attempt created.
import { AlterConfigsApi } from "../core/formats/protocol/alter-configs.ts";
import { CreatePartitionsApi } from "../core/formats/protocol/create-partitions.ts";
import { CreateTopicsApi } from "../core/formats/protocol/create-topics.ts";
import { DeleteTopicsApi } from "../core/formats/protocol/delete-topics.ts";
import { ConfigResourceType, ConfigSource, DescribeConfigsApi } from "../core/formats/protocol/describe-configs.ts";
import { ErrorCode, RivuletError } from "../core/formats/protocol/errors.ts";
import { ListOffsetsApi, ListOffsetsTimestamp } from "../core/formats/protocol/list-offsets.ts";
import type { BrokerMetadata, Cluster, PartitionMetadata } from "./cluster.ts";
import type { Connection } from "./connection.ts";
import { RivuletConfigError, protocolError } from "./errors.ts";
import { type OptionsInput, type ResolvedOptions, defineOptions, integerOption, resolveOptions } from "./options.ts";

/** Most topics, partitions or config resources one admin call accepts (one request each; a bound on its size). */
export const ADMIN_RESOURCES_MAX = 10_000;

/** Options of `rivulet.admin(...)`. */
export const ADMIN_OPTIONS = defineOptions({
  timeout: integerOption({
    kafka: "default.api.timeout.ms",
    aliases: ["timeoutMs"],
    default: 30_000,
    min: 1,
    max: 2_147_483_647,
    description: "How long the broker may take over a topic operation (sent as the request's timeoutMs), in milliseconds.",
  }),
});

/** Resolved admin options. */
export type AdminOptions = ResolvedOptions<typeof ADMIN_OPTIONS>;
/** What `rivulet.admin(...)` accepts. */
export type AdminOptionsInput = OptionsInput<typeof ADMIN_OPTIONS>;

/** Topic configs as name -> value (Kafka's topic config names, e.g. "cleanup.policy"). */
export type TopicConfigs = Readonly<Record<string, string>>;

/** A topic to create. */
export interface NewTopic {
  topic: string;
  /** Default: the broker's num.partitions. */
  numPartitions?: number;
  /** Default: the broker's default.replication.factor. */
  replicationFactor?: number;
  /** Config overrides by Kafka's names. */
  configs?: TopicConfigs;
}

/** What createTopics reports per topic. */
export interface CreatedTopic {
  readonly topic: string;
  /** False when the topic existed and `ifNotExists` was set. */
  readonly created: boolean;
  /** -1 when the topic was not created. */
  readonly numPartitions: number;
  readonly replicationFactor: number;
}

/** A topic as describeTopics reports it. */
export interface TopicDescription {
  readonly name: string;
  readonly isInternal: boolean;
  readonly partitions: readonly PartitionMetadata[];
}

/** Kinds of config resource. */
export type ConfigResourceKind = "topic" | "broker";

/** Where a config value comes from, with Kafka's names. */
export type ConfigSourceName = "DYNAMIC_TOPIC_CONFIG" | "STATIC_BROKER_CONFIG" | "DEFAULT_CONFIG" | "UNKNOWN";

/** One config of a resource. */
export interface ConfigEntry {
  readonly name: string;
  readonly value: string | null;
  readonly readOnly: boolean;
  readonly source: ConfigSourceName;
  /** True when the value is the default (not set on the topic). */
  readonly isDefault: boolean;
  readonly isSensitive: boolean;
}

/** The configs of one resource. */
export interface ConfigResourceDescription {
  readonly type: ConfigResourceKind;
  readonly name: string;
  readonly configs: readonly ConfigEntry[];
}

/** Which offset listOffsets looks up: the log start, the log end, or the first offset at or after a time. */
export type OffsetSpec = "earliest" | "latest" | "max-timestamp" | { timestamp: number };

/** An offset listOffsets found. */
export interface PartitionOffset {
  readonly topic: string;
  readonly partition: number;
  /** The offset; -1n when no record has a timestamp at or after the one asked for. */
  readonly offset: bigint;
  /** The record's timestamp for timestamp lookups; -1 for earliest and latest. */
  readonly timestamp: number;
}

const RESOURCE_TYPE: Record<ConfigResourceKind, number> = { topic: ConfigResourceType.TOPIC, broker: ConfigResourceType.BROKER };

function sourceName(source: number): ConfigSourceName {
  switch (source) {
    case ConfigSource.DYNAMIC_TOPIC_CONFIG:
      return "DYNAMIC_TOPIC_CONFIG";
    case ConfigSource.STATIC_BROKER_CONFIG:
      return "STATIC_BROKER_CONFIG";
    case ConfigSource.DEFAULT_CONFIG:
      return "DEFAULT_CONFIG";
    default:
      return "UNKNOWN";
  }
}

function kindOf(resourceType: number): ConfigResourceKind {
  return resourceType === ConfigResourceType.BROKER ? "broker" : "topic";
}

function checkCount(what: string, count: number): void {
  if (count === 0) throw new RivuletConfigError(`${what}: nothing to do (empty list)`);
  if (count > ADMIN_RESOURCES_MAX) throw new RivuletConfigError(`${what}: at most ${ADMIN_RESOURCES_MAX} per call, got ${count}`);
}

function checkTopicName(what: string, topic: unknown): asserts topic is string {
  if (typeof topic !== "string" || topic.length === 0) throw new RivuletConfigError(`${what}: a topic name must be a non-empty string, got ${JSON.stringify(topic)}`);
}

function checkInteger(what: string, name: string, value: unknown, min: number): void {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) throw new RivuletConfigError(`${what}: ${name} must be an integer >= ${min}, got ${JSON.stringify(value)}`);
}

// A non-idempotent write is retried only when the error says it did not happen.
const definiteRetriable = (error: RivuletError): boolean => error.retriable && error.definite;

/** Admin operations on one cluster connection set. */
export class Admin {
  readonly #cluster: Cluster;
  /** The resolved admin options. */
  readonly options: AdminOptions;

  /** Builds an admin client on `cluster`; `options` are raw user options (see ADMIN_OPTIONS). */
  constructor(cluster: Cluster, options: unknown = {}) {
    this.#cluster = cluster;
    this.options = resolveOptions(ADMIN_OPTIONS, options, "admin options");
  }

  /** Connects to a bootstrap broker (optional: every method connects on first use). */
  async connect(): Promise<void> {
    await this.#cluster.connect();
  }

  /** Closes the admin client's connections. */
  async disconnect(): Promise<void> {
    await this.#cluster.close();
  }

  /**
   * Creates topics. Throws the first topic's RivuletError (TOPIC_ALREADY_EXISTS, INVALID_PARTITIONS,
   * INVALID_CONFIG, ...) unless `ifNotExists` turns "already exists" into `created: false`.
   */
  async createTopics(request: { topics: readonly NewTopic[]; validateOnly?: boolean; timeout?: number; ifNotExists?: boolean }): Promise<CreatedTopic[]> {
    const what = "createTopics";
    checkCount(what, request.topics.length);
    const topics = request.topics.map((topic) => {
      checkTopicName(what, topic.topic);
      if (topic.numPartitions !== undefined) checkInteger(what, "numPartitions", topic.numPartitions, 1);
      if (topic.replicationFactor !== undefined) checkInteger(what, "replicationFactor", topic.replicationFactor, 1);
      return {
        name: topic.topic,
        numPartitions: topic.numPartitions ?? -1,
        replicationFactor: topic.replicationFactor ?? -1,
        configs: Object.entries(topic.configs ?? {}).map(([name, value]) => ({ name, value: String(value) })),
      };
    });
    const response = await this.#cluster.retry(
      async () => (await this.#cluster.controllerConnection()).request(CreateTopicsApi, { topics, timeoutMs: request.timeout ?? this.options.timeout, validateOnly: request.validateOnly ?? false }),
      undefined,
      definiteRetriable,
    );
    const results: CreatedTopic[] = [];
    for (const result of response.topics) {
      if (result.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS && request.ifNotExists === true) {
        results.push({ topic: result.name, created: false, numPartitions: -1, replicationFactor: -1 });
        continue;
      }
      if (result.errorCode !== ErrorCode.NONE) throw protocolError(result.errorCode, result.name, result.errorMessage);
      this.#cluster.invalidate(result.name);
      results.push({ topic: result.name, created: request.validateOnly !== true, numPartitions: result.numPartitions, replicationFactor: result.replicationFactor });
    }
    return results;
  }

  /** Deletes topics; throws the first topic's RivuletError (UNKNOWN_TOPIC_OR_PARTITION unless `ifExists`). */
  async deleteTopics(request: { topics: readonly string[]; timeout?: number; ifExists?: boolean }): Promise<void> {
    const what = "deleteTopics";
    checkCount(what, request.topics.length);
    for (const topic of request.topics) checkTopicName(what, topic);
    const response = await this.#cluster.retry(
      async () => (await this.#cluster.controllerConnection()).request(DeleteTopicsApi, { topicNames: [...request.topics], timeoutMs: request.timeout ?? this.options.timeout }),
      undefined,
      definiteRetriable,
    );
    for (const result of response.responses) {
      this.#cluster.invalidate(result.name);
      if (result.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION && request.ifExists === true) continue;
      if (result.errorCode !== ErrorCode.NONE) throw protocolError(result.errorCode, result.name, result.errorMessage);
    }
  }

  /** Raises topics' partition counts to `count` (the new total); throws the first topic's RivuletError. */
  async createPartitions(request: { topicPartitions: readonly { topic: string; count: number }[]; validateOnly?: boolean; timeout?: number }): Promise<void> {
    const what = "createPartitions";
    checkCount(what, request.topicPartitions.length);
    for (const { topic, count } of request.topicPartitions) {
      checkTopicName(what, topic);
      checkInteger(what, "count", count, 1);
    }
    const response = await this.#cluster.retry(
      async () =>
        (await this.#cluster.controllerConnection()).request(CreatePartitionsApi, {
          topics: request.topicPartitions.map(({ topic, count }) => ({ name: topic, count })),
          timeoutMs: request.timeout ?? this.options.timeout,
          validateOnly: request.validateOnly ?? false,
        }),
      undefined,
      definiteRetriable,
    );
    for (const result of response.results) {
      this.#cluster.invalidate(result.name);
      if (result.errorCode !== ErrorCode.NONE) throw protocolError(result.errorCode, result.name, result.errorMessage);
    }
  }

  /** The brokers, the controller's node id and the cluster id, fresh from a broker (KafkaJS's describeCluster). */
  async describeCluster(): Promise<{ brokers: readonly BrokerMetadata[]; controller: number; clusterId: string | null }> {
    const metadata = await this.#cluster.metadata([], { refresh: true });
    return { brokers: metadata.brokers, controller: metadata.controllerId, clusterId: metadata.clusterId };
  }

  /** Names of every topic (internal ones excluded), sorted. */
  async listTopics(): Promise<string[]> {
    const metadata = await this.#cluster.metadata(null, { refresh: true });
    return metadata.topics
      .filter((topic) => !topic.isInternal && topic.errorCode === ErrorCode.NONE)
      .map((topic) => topic.name)
      .sort();
  }

  /** Partitions, leaders and replicas of `topics` (default: every topic); throws the first topic's RivuletError. */
  async describeTopics(topics?: readonly string[]): Promise<TopicDescription[]> {
    if (topics !== undefined) {
      checkCount("describeTopics", topics.length);
      for (const topic of topics) checkTopicName("describeTopics", topic);
    }
    const metadata = await this.#cluster.metadata(topics ?? null, { refresh: true });
    return metadata.topics.map((topic) => {
      if (topic.errorCode !== ErrorCode.NONE) throw protocolError(topic.errorCode, topic.name);
      return { name: topic.name, isInternal: topic.isInternal, partitions: topic.partitions };
    });
  }

  /** Configs of topics or brokers (all of them, or `configNames`); throws the first resource's RivuletError. */
  async describeConfigs(request: { resources: readonly { type: ConfigResourceKind; name: string; configNames?: readonly string[] }[] }): Promise<ConfigResourceDescription[]> {
    checkCount("describeConfigs", request.resources.length);
    const resources = request.resources.map((resource) => {
      if (!(resource.type in RESOURCE_TYPE)) throw new RivuletConfigError(`describeConfigs: resource type must be "topic" or "broker", got ${JSON.stringify(resource.type)}`);
      return { resourceType: RESOURCE_TYPE[resource.type], resourceName: resource.name, configurationKeys: resource.configNames === undefined ? null : [...resource.configNames] };
    });
    const response = await this.#cluster.retry(async () => (await this.#cluster.controllerConnection()).request(DescribeConfigsApi, { resources }));
    return response.results.map((result) => {
      if (result.errorCode !== ErrorCode.NONE) throw protocolError(result.errorCode, result.resourceName, result.errorMessage);
      return {
        type: kindOf(result.resourceType),
        name: result.resourceName,
        configs: result.configs.map((config) => ({
          name: config.name,
          value: config.value,
          readOnly: config.readOnly,
          source: sourceName(config.configSource),
          isDefault: config.configSource === ConfigSource.DEFAULT_CONFIG,
          isSensitive: config.isSensitive,
        })),
      };
    });
  }

  /**
   * Sets resources' configs with Kafka's AlterConfigs semantics: the given set replaces every override the
   * resource had (a config left out returns to its default; null also means default). Throws the first
   * resource's RivuletError (INVALID_CONFIG, UNKNOWN_TOPIC_OR_PARTITION).
   */
  async alterConfigs(request: { resources: readonly { type: ConfigResourceKind; name: string; configs: Readonly<Record<string, string | null>> }[]; validateOnly?: boolean }): Promise<void> {
    checkCount("alterConfigs", request.resources.length);
    const resources = request.resources.map((resource) => {
      if (!(resource.type in RESOURCE_TYPE)) throw new RivuletConfigError(`alterConfigs: resource type must be "topic" or "broker", got ${JSON.stringify(resource.type)}`);
      return {
        resourceType: RESOURCE_TYPE[resource.type],
        resourceName: resource.name,
        configs: Object.entries(resource.configs).map(([name, value]) => ({ name, value: value === null ? null : String(value) })),
      };
    });
    // Idempotent (the whole set is replaced), so any retriable error may be retried.
    const response = await this.#cluster.retry(async () =>
      (await this.#cluster.controllerConnection()).request(AlterConfigsApi, { resources, validateOnly: request.validateOnly ?? false }),
    );
    for (const result of response.responses) {
      if (result.errorCode !== ErrorCode.NONE) throw protocolError(result.errorCode, result.resourceName, result.errorMessage);
    }
  }

  /**
   * Offsets of a topic's partitions (default: all): "earliest" (log start), "latest" (log end: the next offset
   * to be written), "max-timestamp" (the record with the largest timestamp) or `{ timestamp }` (the first
   * offset whose record timestamp is at least it; -1n when there is none). Asks each partition's leader.
   */
  async listOffsets(request: { topic: string; partitions?: readonly number[]; at?: OffsetSpec }): Promise<PartitionOffset[]> {
    const what = "listOffsets";
    checkTopicName(what, request.topic);
    const timestamp = specTimestamp(request.at ?? "latest");
    const { topic } = request;
    // partitionsFor and connectionFor retry on their own; a partition error is reported (after noting it, so the
    // next call sees fresh metadata) rather than retried here, which would multiply their attempts.
    const all = await this.#cluster.partitionsFor(topic);
    const partitions = request.partitions ?? all.map((entry) => entry.partition);
    checkCount(what, partitions.length);
    // Group by leader connection: one request per broker.
    const byConnection = new Map<Connection, number[]>();
    for (const partition of partitions) {
      if (!Number.isInteger(partition) || partition < 0) throw new RivuletConfigError(`${what}: partition must be an integer >= 0, got ${JSON.stringify(partition)}`);
      const connection = await this.#cluster.connectionFor(topic, partition);
      const list = byConnection.get(connection) ?? [];
      list.push(partition);
      byConnection.set(connection, list);
    }
    const answers = await Promise.all(
      [...byConnection].map(([connection, list]) =>
        connection.request(ListOffsetsApi, { isolationLevel: 0, topics: [{ name: topic, partitions: list.map((index) => ({ index, timestamp })) }] }),
      ),
    );
    const found = new Map<number, PartitionOffset>();
    for (const answer of answers) {
      for (const entry of answer.topics) {
        for (const partition of entry.partitions) {
          if (partition.errorCode !== ErrorCode.NONE) {
            this.#cluster.noteError(new RivuletError(partition.errorCode), topic);
            throw protocolError(partition.errorCode, `${topic}/${partition.index}`);
          }
          found.set(partition.index, { topic, partition: partition.index, offset: BigInt(partition.offset), timestamp: partition.timestamp });
        }
      }
    }
    return partitions.map((partition) => {
      const offset = found.get(partition);
      if (offset === undefined) throw protocolError(ErrorCode.UNKNOWN_SERVER_ERROR, `${topic}/${partition}`, "the broker did not answer for this partition");
      return offset;
    });
  }

  /** Earliest and latest offsets of every partition of `topic` (KafkaJS's fetchTopicOffsets). */
  async fetchTopicOffsets(topic: string): Promise<{ partition: number; low: bigint; high: bigint }[]> {
    const [low, high] = await Promise.all([this.listOffsets({ topic, at: "earliest" }), this.listOffsets({ topic, at: "latest" })]);
    return low.map((entry, i) => ({ partition: entry.partition, low: entry.offset, high: (high[i] as PartitionOffset).offset }));
  }
}

function specTimestamp(spec: OffsetSpec): number {
  if (spec === "earliest") return ListOffsetsTimestamp.EARLIEST;
  if (spec === "latest") return ListOffsetsTimestamp.LATEST;
  if (spec === "max-timestamp") return ListOffsetsTimestamp.MAX_TIMESTAMP;
  if (typeof spec === "object" && spec !== null && Number.isSafeInteger(spec.timestamp) && spec.timestamp >= 0) return spec.timestamp;
  throw new RivuletConfigError(`listOffsets: "at" must be "earliest", "latest", "max-timestamp" or { timestamp: ms >= 0 }, got ${JSON.stringify(spec)}`);
}
