// Public exports of the storage engine: what the server, tools and embedding programs use. Internals (segments,
// indexes, swap manifests, the cleaner's batch rewriting) stay behind these.
export {
  Broker,
  BrokerStartError,
  RETENTION_CHECK_INTERVAL_MS_DEFAULT,
  FLUSH_CHECK_INTERVAL_MS_DEFAULT,
  type BrokerOptions,
  type BrokerStartErrorCode,
  type CleanerRunSummary,
  type ConfigSource,
  type PartitionDescription,
  type TopicDescription,
} from "./broker.ts";
export { type Clock, FakeClock, systemClock } from "./clock.ts";
export {
  PartitionLog,
  type AppendResult,
  type ByteRange,
  type LogOpenError,
  type LogOpenFailure,
  type ReadError,
  type ReadResult,
  type TimestampOffset,
} from "./partition-log.ts";
export { type Offset, type RelativeOffset, type FilePosition, asOffset } from "./offsets.ts";
export {
  BROKER_CONFIG_NAMES,
  LONG_MAX_STRING,
  LONG_NEVER,
  TOPIC_CONFIG_DEFAULTS,
  TOPIC_CONFIG_NAMES,
  isCompacted,
  isDeleteRetained,
  parseTopicConfigValue,
  resolveTopicConfig,
  toLogConfig,
  topicConfigToStrings,
  topicDefaultsFromBrokerConfigs,
  validateTopicConfigs,
  type CleanupPolicy,
  type MessageTimestampType,
  type TopicConfig,
  type TopicConfigFailure,
  type TopicConfigInput,
  type TopicConfigOverrides,
  type TopicConfigResult,
} from "./topic-config.ts";
export {
  TOPIC_NAME_CHARS_MAX,
  describeTopicNameError,
  findCollidingTopic,
  topicNamesCollide,
  validateTopicName,
  type TopicNameError,
} from "./topic-name.ts";
export { type CreateTopicRequest, type TopicErrorCode, type TopicFailure, type TopicResult } from "./topic-registry.ts";
export { PARTITIONS_PER_TOPIC_MAX, TOPICS_MAX } from "./topic-metadata.ts";
export { DATA_DIR_LOCK_FILE } from "./data-dir-lock.ts";
export {
  CLEANER_BACKOFF_MS,
  CLEANER_OFFSET_MAP_ENTRIES_MAX,
  CLEANER_OFFSET_MAP_KEY_BYTES_MAX,
  OFFSET_MAP_LIMITS_DEFAULT,
  type OffsetMapLimits,
} from "./log-cleaner.ts";
