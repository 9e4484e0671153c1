// The topic registry: which topics exist, their ids, partition counts and config overrides, kept durable in the
// topic metadata file (topic-metadata.ts), plus the naming of partition directories.
//
// Every change is written to disk first and applied in memory only once the atomic write succeeded, so the
// in-memory registry never claims more than the disk holds. The Broker runs every change through one queue, so
// two changes never interleave across the write's awaits.
//
// Directory names, as Kafka names them:
//   <dataDir>/<topic>-<partition>/                         a live partition
//   <dataDir>/<topic>-<partition>.<32 hex>-delete/        a partition of a deleted topic, being removed
// The topic part of a `-delete` name is shortened so the whole name fits 255 bytes, as Kafka does.
import { randomUUID } from "node:crypto";
import { type Result, ok } from "../formats/result.ts";
import type { ErrorName } from "../formats/protocol/errors.ts";
import { findCollidingTopic, validateTopicName, describeTopicNameError } from "./topic-name.ts";
import { validateTopicConfigs, type TopicConfigInput, type TopicConfigOverrides } from "./topic-config.ts";
import {
  PARTITIONS_PER_TOPIC_MAX,
  TOPICS_MAX,
  readTopicMetadata,
  removeStaleTopicMetadataTmp,
  writeTopicMetadata,
  type TopicMetadataError,
  type TopicRecord,
} from "./topic-metadata.ts";

/** The error codes topic operations answer with (Kafka's names, from the shared error table). */
export type TopicErrorCode = Extract<
  ErrorName,
  | "TOPIC_ALREADY_EXISTS"
  | "UNKNOWN_TOPIC_OR_PARTITION"
  | "INVALID_TOPIC_EXCEPTION"
  | "INVALID_PARTITIONS"
  | "INVALID_REPLICATION_FACTOR"
  | "INVALID_CONFIG"
  | "INVALID_REQUEST"
  | "KAFKA_STORAGE_ERROR"
  | "BROKER_NOT_AVAILABLE"
>;

/** A refused topic operation: the code to branch on and a message for people. */
export interface TopicFailure {
  ok: false;
  error: TopicErrorCode;
  message: string;
}

/** Either the operation's value or why it was refused. */
export type TopicResult<T> = { ok: true; value: T } | TopicFailure;

/** Builds a refused-operation result. */
export function topicFailure(error: TopicErrorCode, message: string): TopicFailure {
  return { ok: false, error, message };
}

// Linux's NAME_MAX: the longest file name in a directory.
const FILE_NAME_BYTES_MAX = 255;
const DELETE_DIR_SUFFIX = "-delete";

/** Directory name of a live partition: `<topic>-<partition>`. */
export function partitionDirName(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}

/** Directory name a deleted partition is renamed to before removal: `<topic>-<partition>.<hex id>-delete`. */
export function deleteDirName(topic: string, partition: number, topicId: string): string {
  const suffix = `-${partition}.${topicId.replaceAll("-", "")}${DELETE_DIR_SUFFIX}`;
  return topic.slice(0, FILE_NAME_BYTES_MAX - suffix.length) + suffix;
}

/** True for a directory name made by deleteDirName. */
export function isDeleteDirName(name: string): boolean {
  return /-\d+\.[0-9a-f]{32}-delete$/.test(name);
}

/** What a createTopic request asks for, before checks. */
export interface CreateTopicRequest {
  partitions?: number;
  /** Only 1 is possible on one broker; -1 means "the broker default" as in Kafka. */
  replicationFactor?: number;
  configs?: TopicConfigInput;
}

function checkPartitionCount(count: number): TopicFailure | undefined {
  if (!Number.isInteger(count) || count < 1) return topicFailure("INVALID_PARTITIONS", "Number of partitions must be larger than 0.");
  if (count > PARTITIONS_PER_TOPIC_MAX) {
    return topicFailure("INVALID_PARTITIONS", `Number of partitions ${count} exceeds the maximum of ${PARTITIONS_PER_TOPIC_MAX}.`);
  }
  return undefined;
}

/** The registry of topics of one data directory. */
export class TopicRegistry {
  private records: TopicRecord[];

  private constructor(
    readonly dataDir: string,
    records: TopicRecord[],
  ) {
    this.records = records;
  }

  /** Loads the registry of `dataDir` (an empty one for a new data dir). */
  static async load(dataDir: string): Promise<Result<TopicRegistry, TopicMetadataError>> {
    await removeStaleTopicMetadataTmp(dataDir);
    const read = await readTopicMetadata(dataDir);
    if (!read.ok) return read;
    return ok(new TopicRegistry(dataDir, read.value));
  }

  /** The live topic called `name`. */
  get(name: string): TopicRecord | undefined {
    return this.records.find((record) => record.state === "live" && record.name === name);
  }

  /** Every live topic, by name. */
  live(): TopicRecord[] {
    return this.records.filter((record) => record.state === "live").sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Topics deleted but not yet removed from disk (a crash interrupted their deletion). */
  deleting(): TopicRecord[] {
    return this.records.filter((record) => record.state === "deleting");
  }

  /**
   * Checks a create request against Kafka's rules and the existing topics, returning the record to add
   * (with a fresh topic id) or why it is refused. Writes nothing.
   */
  prepareCreate(name: string, request: CreateTopicRequest): TopicResult<TopicRecord> {
    const valid = validateTopicName(name);
    if (!valid.ok) return topicFailure("INVALID_TOPIC_EXCEPTION", describeTopicNameError(name, valid.error));
    if (this.get(name) !== undefined) return topicFailure("TOPIC_ALREADY_EXISTS", `Topic '${name}' already exists.`);
    const colliding = findCollidingTopic(name, this.live().map((record) => record.name));
    if (colliding !== undefined) {
      return topicFailure("INVALID_TOPIC_EXCEPTION", `Topic '${name}' collides with existing topic: ${colliding}`);
    }
    if (this.records.length >= TOPICS_MAX) return topicFailure("INVALID_REQUEST", `This broker already holds the maximum of ${TOPICS_MAX} topics.`);
    const partitions = request.partitions ?? 1;
    const badCount = checkPartitionCount(partitions);
    if (badCount !== undefined) return badCount;
    const replicationFactor = request.replicationFactor ?? -1;
    if (replicationFactor !== -1 && replicationFactor !== 1) {
      return topicFailure("INVALID_REPLICATION_FACTOR", `Replication factor: ${replicationFactor} larger than available brokers: 1.`);
    }
    const configs = validateTopicConfigs(request.configs ?? {});
    if (!configs.ok) return topicFailure("INVALID_CONFIG", configs.message);
    return ok({ name, id: randomUUID(), partitions, configs: configs.value, state: "live" });
  }

  /** Adds a prepared topic durably. */
  async add(record: TopicRecord): Promise<void> {
    await this.replace([...this.records, record]);
  }

  /** Checks a partition increase; returns the new total or why it is refused. Writes nothing. */
  prepareCreatePartitions(name: string, total: number): TopicResult<TopicRecord> {
    const record = this.get(name);
    if (record === undefined) return topicFailure("UNKNOWN_TOPIC_OR_PARTITION", `Topic '${name}' does not exist.`);
    const badCount = checkPartitionCount(total);
    if (badCount !== undefined) return badCount;
    if (total === record.partitions) return topicFailure("INVALID_PARTITIONS", `Topic already has ${record.partitions} partitions.`);
    if (total < record.partitions) {
      return topicFailure(
        "INVALID_PARTITIONS",
        `Topic currently has ${record.partitions} partitions, which is higher than the requested ${total}.`,
      );
    }
    return ok({ ...record, partitions: total });
  }

  /**
   * Checks config changes (a value sets an override, null removes it and falls back to the broker default, as
   * IncrementalAlterConfigs SET / DELETE do); returns the updated record. Writes nothing.
   */
  prepareAlterConfigs(name: string, changes: Record<string, string | number | boolean | null>): TopicResult<TopicRecord> {
    const record = this.get(name);
    if (record === undefined) return topicFailure("UNKNOWN_TOPIC_OR_PARTITION", `Topic '${name}' does not exist.`);
    const sets: TopicConfigInput = {};
    const overrides: TopicConfigOverrides = { ...record.configs };
    for (const [key, value] of Object.entries(changes)) {
      if (value === null) {
        const known = validateTopicConfigs({ [key]: "0" });
        if (!known.ok && known.error === "unknown_config") return topicFailure("INVALID_CONFIG", known.message);
        delete overrides[key];
      } else {
        sets[key] = value;
      }
    }
    const validated = validateTopicConfigs(sets);
    if (!validated.ok) return topicFailure("INVALID_CONFIG", validated.message);
    return ok({ ...record, configs: { ...overrides, ...validated.value } });
  }

  /** Replaces a live topic's record (same id) durably. */
  async update(record: TopicRecord): Promise<void> {
    await this.replace(this.records.map((existing) => (existing.id === record.id ? record : existing)));
  }

  /** Marks a live topic as being deleted, durably: from now on it is gone for clients, even after a crash. */
  async markDeleting(id: string): Promise<void> {
    await this.replace(this.records.map((record) => (record.id === id ? { ...record, state: "deleting" as const } : record)));
  }

  /** Forgets a deleted topic once its directories are gone. */
  async remove(id: string): Promise<void> {
    await this.replace(this.records.filter((record) => record.id !== id));
  }

  private async replace(records: TopicRecord[]): Promise<void> {
    await writeTopicMetadata(this.dataDir, records);
    this.records = records;
  }
}
