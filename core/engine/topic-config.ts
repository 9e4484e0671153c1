// Per-topic configuration with Kafka's names, types, defaults and validators (Kafka's LogConfig / TopicConfig).
//
// Three layers make a topic's effective configuration, as in Kafka: the topic's own overrides (what
// CreateTopics / AlterConfigs sent, kept in topic metadata as canonical strings), then the broker's defaults
// (Kafka's `log.`-prefixed broker configs, see BROKER_CONFIG_NAMES), then Kafka's built-in defaults. Only
// overrides are stored, so changing a broker default later changes every topic that did not override it.
//
// Values arrive as strings (a properties file, AlterConfigs) or as numbers (an embedding program). Longs are
// parsed exactly as 64-bit integers and then held as JS numbers: anything above 2^53-1 (in practice Kafka's
// Long.MAX_VALUE, which means "never") is clamped to LONG_NEVER, 2^53-1 ms being about 285,000 years. The stored
// string keeps the exact value, so describe shows "9223372036854775807" as Kafka does.
import { MESSAGE_MAX_BYTES_DEFAULT, INDEX_INTERVAL_BYTES } from "../limits.ts";
import { TIME_INDEX_ENTRY_BYTES } from "../formats/index-search.ts";
import { SEGMENT_BYTES_MIN, type LogConfig } from "./log-config.ts";

/** Kafka's Long.MAX_VALUE as written in configs: the "never" of flush.messages, flush.ms, max.compaction.lag.ms. */
export const LONG_MAX_STRING = "9223372036854775807";

/** Stand-in for Long.MAX_VALUE once a long is a JS number: any configured value above 2^53-1 becomes this. */
export const LONG_NEVER = Number.MAX_SAFE_INTEGER;

/** How a topic's old data goes away: whole segments by age/size, compaction by key, or both. */
export type CleanupPolicy = "delete" | "compact" | "compact,delete";

/** Whether record timestamps are the producer's or the broker's append time. */
export type MessageTimestampType = "CreateTime" | "LogAppendTime";

/** A topic's effective configuration, one field per Kafka topic config (camelCase of the Kafka name). */
export interface TopicConfig {
  cleanupPolicy: CleanupPolicy;
  retentionMs: number;
  retentionBytes: number;
  segmentBytes: number;
  segmentMs: number;
  segmentIndexBytes: number;
  indexIntervalBytes: number;
  maxMessageBytes: number;
  messageTimestampType: MessageTimestampType;
  flushMessages: number;
  flushMs: number;
  deleteRetentionMs: number;
  minCompactionLagMs: number;
  maxCompactionLagMs: number;
  minCleanableDirtyRatio: number;
  minInsyncReplicas: number;
}

/** Topic config overrides keyed by Kafka name, values in canonical string form (what topic metadata stores). */
export type TopicConfigOverrides = Record<string, string>;

/** What a caller may pass for a config value. */
export type TopicConfigInput = Record<string, string | number | boolean>;

/** Why a config was refused: an unknown name, or a value of the wrong type or out of range. */
export type TopicConfigErrorCode = "unknown_config" | "invalid_value";

/** A refused config: the code to branch on, the config's name, and Kafka's wording for people. */
export interface TopicConfigFailure {
  ok: false;
  error: TopicConfigErrorCode;
  name: string;
  message: string;
}

/** Either a parsed value or why it was refused. */
export type TopicConfigResult<T> = { ok: true; value: T } | TopicConfigFailure;

type ConfigType = "int" | "long" | "double" | "string" | "list";

interface ConfigDefinition {
  key: keyof TopicConfig;
  type: ConfigType;
  /** Kafka's default, as Kafka writes it. */
  defaultValue: string;
  /** Inclusive lower bound for numbers (Kafka's atLeast / between). */
  min?: number;
  /** Inclusive upper bound for numbers (Kafka's between). */
  max?: number;
  /** Legal values for strings and list elements (Kafka's ValidString / ValidList). */
  choices?: readonly string[];
}

// Kafka's LogConfig definitions. Two floors are higher than Kafka's because the partition log needs room for at least
// one entry: segment.bytes >= SEGMENT_BYTES_MIN (64; Kafka 3.x says 14, Kafka 4.0 says 1 MiB, and tests roll
// segments every few hundred bytes), segment.index.bytes >= 4 time-index entries (48; Kafka says 4).
const SEGMENT_INDEX_BYTES_MIN = 4 * TIME_INDEX_ENTRY_BYTES;
const DEFINITIONS: Record<string, ConfigDefinition> = {
  "cleanup.policy": { key: "cleanupPolicy", type: "list", defaultValue: "delete", choices: ["compact", "delete"] },
  "retention.ms": { key: "retentionMs", type: "long", defaultValue: "604800000", min: -1 },
  "retention.bytes": { key: "retentionBytes", type: "long", defaultValue: "-1" },
  "segment.bytes": { key: "segmentBytes", type: "int", defaultValue: "1073741824", min: SEGMENT_BYTES_MIN },
  "segment.ms": { key: "segmentMs", type: "long", defaultValue: "604800000", min: 1 },
  "segment.index.bytes": { key: "segmentIndexBytes", type: "int", defaultValue: "10485760", min: SEGMENT_INDEX_BYTES_MIN },
  "index.interval.bytes": { key: "indexIntervalBytes", type: "int", defaultValue: String(INDEX_INTERVAL_BYTES), min: 0 },
  "max.message.bytes": { key: "maxMessageBytes", type: "int", defaultValue: String(MESSAGE_MAX_BYTES_DEFAULT), min: 0 },
  "message.timestamp.type": {
    key: "messageTimestampType",
    type: "string",
    defaultValue: "CreateTime",
    choices: ["CreateTime", "LogAppendTime"],
  },
  "flush.messages": { key: "flushMessages", type: "long", defaultValue: LONG_MAX_STRING, min: 1 },
  "flush.ms": { key: "flushMs", type: "long", defaultValue: LONG_MAX_STRING, min: 0 },
  "delete.retention.ms": { key: "deleteRetentionMs", type: "long", defaultValue: "86400000", min: 0 },
  "min.compaction.lag.ms": { key: "minCompactionLagMs", type: "long", defaultValue: "0", min: 0 },
  "max.compaction.lag.ms": { key: "maxCompactionLagMs", type: "long", defaultValue: LONG_MAX_STRING, min: 1 },
  "min.cleanable.dirty.ratio": { key: "minCleanableDirtyRatio", type: "double", defaultValue: "0.5", min: 0, max: 1 },
  "min.insync.replicas": { key: "minInsyncReplicas", type: "int", defaultValue: "1", min: 1 },
};

/** Every topic config name Rivulet knows, in Kafka's spelling. */
export const TOPIC_CONFIG_NAMES: readonly string[] = Object.keys(DEFINITIONS);

/**
 * Kafka's broker-level names for the topic defaults: a broker config on the left sets the default of the topic
 * config on the right for every topic that does not override it. The `.hours` / `.minutes` variants are
 * handled by topicDefaultsFromBrokerConfigs (ms wins over minutes, minutes over hours, as in Kafka).
 */
export const BROKER_CONFIG_NAMES: Readonly<Record<string, string>> = {
  "log.cleanup.policy": "cleanup.policy",
  "log.retention.ms": "retention.ms",
  "log.retention.bytes": "retention.bytes",
  "log.segment.bytes": "segment.bytes",
  "log.roll.ms": "segment.ms",
  "log.index.size.max.bytes": "segment.index.bytes",
  "log.index.interval.bytes": "index.interval.bytes",
  "message.max.bytes": "max.message.bytes",
  "log.message.timestamp.type": "message.timestamp.type",
  "log.flush.interval.messages": "flush.messages",
  "log.flush.interval.ms": "flush.ms",
  "log.cleaner.delete.retention.ms": "delete.retention.ms",
  "log.cleaner.min.compaction.lag.ms": "min.compaction.lag.ms",
  "log.cleaner.max.compaction.lag.ms": "max.compaction.lag.ms",
  "log.cleaner.min.cleanable.ratio": "min.cleanable.dirty.ratio",
  "min.insync.replicas": "min.insync.replicas",
};

// Broker configs given in coarser units, with their multiplier to ms and the ms config they feed.
const BROKER_COARSE_TIME_CONFIGS: readonly { name: string; target: string; msPerUnit: number; finer: string[] }[] = [
  { name: "log.retention.minutes", target: "log.retention.ms", msPerUnit: 60_000, finer: ["log.retention.ms"] },
  {
    name: "log.retention.hours",
    target: "log.retention.ms",
    msPerUnit: 3_600_000,
    finer: ["log.retention.ms", "log.retention.minutes"],
  },
  { name: "log.roll.hours", target: "log.roll.ms", msPerUnit: 3_600_000, finer: ["log.roll.ms"] },
];

const INT_MIN = -(2 ** 31);
const INT_MAX = 2 ** 31 - 1;
const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;
const INTEGER_TEXT = /^[+-]?\d+$/;

function failure(error: TopicConfigErrorCode, name: string, message: string): TopicConfigFailure {
  return { ok: false, error, name, message };
}

function invalid(name: string, value: unknown, reason: string): TopicConfigFailure {
  return failure("invalid_value", name, `Invalid value ${String(value)} for configuration ${name}: ${reason}`);
}

function checkRange(name: string, value: unknown, number: number, def: ConfigDefinition): TopicConfigFailure | undefined {
  if (def.min !== undefined && def.max !== undefined && (number < def.min || number > def.max)) {
    return invalid(name, value, `Value must be in the range [${def.min}, ${def.max}]`);
  }
  if (def.min !== undefined && number < def.min) return invalid(name, value, `Value must be at least ${def.min}`);
  return undefined;
}

/**
 * Parses one config value the way Kafka's ConfigDef does (strings are trimmed; numbers must be integers for
 * int/long) and returns its canonical string form, or why it is refused.
 */
export function parseTopicConfigValue(name: string, value: string | number | boolean): TopicConfigResult<string> {
  // Own properties only: "constructor" or "__proto__" must be unknown names, not Object.prototype's members.
  const def = Object.hasOwn(DEFINITIONS, name) ? DEFINITIONS[name] : undefined;
  if (def === undefined) return failure("unknown_config", name, `Unknown topic config name: ${name}`);
  const text = typeof value === "string" ? value.trim() : String(value);
  switch (def.type) {
    case "int":
    case "long": {
      if (typeof value === "boolean" || !INTEGER_TEXT.test(text)) {
        return invalid(name, value, `Not a number of type ${def.type === "int" ? "INT" : "LONG"}`);
      }
      const big = BigInt(text);
      const [low, high] = def.type === "int" ? [BigInt(INT_MIN), BigInt(INT_MAX)] : [LONG_MIN, LONG_MAX];
      if (big < low || big > high) return invalid(name, value, `Not a number of type ${def.type === "int" ? "INT" : "LONG"}`);
      const bad = checkRange(name, value, Number(big), def);
      return bad ?? { ok: true, value: big.toString() };
    }
    case "double": {
      const number = typeof value === "boolean" || text === "" ? Number.NaN : Number(text);
      if (!Number.isFinite(number)) return invalid(name, value, "Not a number of type DOUBLE");
      const bad = checkRange(name, value, number, def);
      return bad ?? { ok: true, value: String(number) };
    }
    case "string": {
      const choices = def.choices ?? [];
      if (!choices.includes(text)) return invalid(name, value, `String must be one of: ${choices.join(", ")}`);
      return { ok: true, value: text };
    }
    case "list": {
      const choices = def.choices ?? [];
      const items = text.split(",").map((item) => item.trim()).filter((item) => item !== "");
      if (items.length === 0) return invalid(name, value, `List must contain at least one of: ${choices.join(", ")}`);
      for (const item of items) {
        if (!choices.includes(item)) return invalid(name, value, `String must be one of: ${choices.join(", ")}`);
      }
      // Canonical order, so "delete,compact" and "compact,delete" are stored and compared as one value.
      return { ok: true, value: choices.filter((choice) => items.includes(choice)).join(",") };
    }
  }
}

/** Validates a set of overrides (unknown names and bad values refused), returning them in canonical form. */
export function validateTopicConfigs(input: TopicConfigInput): TopicConfigResult<TopicConfigOverrides> {
  const out: TopicConfigOverrides = {};
  for (const [name, value] of Object.entries(input)) {
    const parsed = parseTopicConfigValue(name, value);
    if (!parsed.ok) return parsed;
    out[name] = parsed.value;
  }
  return { ok: true, value: out };
}

function typedValue(def: ConfigDefinition, canonical: string): number | string {
  if (def.type === "int" || def.type === "double") return Number(canonical);
  if (def.type === "long") {
    const big = BigInt(canonical);
    return big > BigInt(LONG_NEVER) ? LONG_NEVER : Number(big);
  }
  return canonical;
}

function canonicalOf(config: TopicConfig, name: string, def: ConfigDefinition): string {
  const value = config[def.key];
  if (def.type === "long" && value === LONG_NEVER) return LONG_MAX_STRING;
  return String(value);
}

function build(values: (name: string, def: ConfigDefinition) => string): TopicConfig {
  const config: Record<string, number | string> = {};
  for (const [name, def] of Object.entries(DEFINITIONS)) config[def.key] = typedValue(def, values(name, def));
  return config as unknown as TopicConfig;
}

/** Kafka's built-in topic defaults. */
export const TOPIC_CONFIG_DEFAULTS: Readonly<TopicConfig> = Object.freeze(build((_name, def) => def.defaultValue));

/**
 * A cross-field check Kafka's LogConfig.validateValues makes: a record cannot be both too young and overdue for
 * compaction. Returns a failure when the combined config is inconsistent.
 */
function validateCombination(config: TopicConfig): TopicConfigFailure | undefined {
  if (config.minCompactionLagMs > config.maxCompactionLagMs) {
    return invalid(
      "min.compaction.lag.ms",
      config.minCompactionLagMs,
      `conflict: min.compaction.lag.ms ${config.minCompactionLagMs} must be at most max.compaction.lag.ms ${config.maxCompactionLagMs}`,
    );
  }
  return undefined;
}

/**
 * The effective configuration: canonical `overrides` on top of `base` (the broker's defaults, Kafka's when
 * omitted). The overrides must already be validated (validateTopicConfigs); the combination is checked here.
 */
export function resolveTopicConfig(
  overrides: TopicConfigOverrides,
  base: Readonly<TopicConfig> = TOPIC_CONFIG_DEFAULTS,
): TopicConfigResult<TopicConfig> {
  for (const [name, value] of Object.entries(overrides)) {
    const parsed = parseTopicConfigValue(name, value);
    if (!parsed.ok) return parsed;
  }
  const config = build((name, def) => overrides[name] ?? canonicalOf(base, name, def));
  const bad = validateCombination(config);
  return bad ?? { ok: true, value: config };
}

/** Every config of `config` as Kafka names and strings, the shape DescribeConfigs returns. */
export function topicConfigToStrings(config: Readonly<TopicConfig>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, def] of Object.entries(DEFINITIONS)) out[name] = canonicalOf(config, name, def);
  return out;
}

/**
 * Turns broker configs (Kafka's broker names: log.retention.ms, log.retention.hours, message.max.bytes, ...)
 * into the topic defaults they imply. Broker configs that are not topic defaults are ignored (the broker has
 * many others); a bad value for one that is, is refused with the broker config's name.
 */
export function topicDefaultsFromBrokerConfigs(brokerConfigs: TopicConfigInput): TopicConfigResult<TopicConfig> {
  const overrides: TopicConfigOverrides = {};
  const expanded: TopicConfigInput = { ...brokerConfigs };
  for (const coarse of BROKER_COARSE_TIME_CONFIGS) {
    const raw = brokerConfigs[coarse.name];
    if (raw === undefined || coarse.finer.some((finer) => brokerConfigs[finer] !== undefined)) continue;
    const text = String(raw).trim();
    if (!INTEGER_TEXT.test(text)) return invalid(coarse.name, raw, "Not a number of type INT");
    const units = BigInt(text);
    // Kafka treats a negative retention in any unit as "unlimited"; keep -1 rather than multiplying it.
    expanded[coarse.target] = units < 0n ? "-1" : (units * BigInt(coarse.msPerUnit)).toString();
  }
  for (const [brokerName, topicName] of Object.entries(BROKER_CONFIG_NAMES)) {
    const raw = expanded[brokerName];
    if (raw === undefined) continue;
    const parsed = parseTopicConfigValue(topicName, raw);
    if (!parsed.ok) return failure(parsed.error, brokerName, parsed.message.replace(`configuration ${topicName}`, `configuration ${brokerName}`));
    overrides[topicName] = parsed.value;
  }
  return resolveTopicConfig(overrides);
}

/** True when the topic's old data is removed by key (compact or compact,delete). */
export function isCompacted(config: Readonly<TopicConfig>): boolean {
  return config.cleanupPolicy !== "delete";
}

/** True when whole segments are removed by retention.ms / retention.bytes (delete or compact,delete). */
export function isDeleteRetained(config: Readonly<TopicConfig>): boolean {
  return config.cleanupPolicy !== "compact";
}

/** The settings the partition log acts on, taken from a topic's effective configuration. */
export function toLogConfig(config: Readonly<TopicConfig>): LogConfig {
  return {
    segmentBytes: config.segmentBytes,
    segmentMs: config.segmentMs,
    segmentIndexBytes: config.segmentIndexBytes,
    indexIntervalBytes: config.indexIntervalBytes,
    // Retention by time or size applies only under cleanup.policy=delete (or compact,delete), as in Kafka.
    retentionMs: isDeleteRetained(config) ? config.retentionMs : -1,
    // Kafka treats any negative retention.bytes as unlimited; the log knows only -1 for that.
    retentionBytes: isDeleteRetained(config) && config.retentionBytes >= 0 ? config.retentionBytes : -1,
    flushMessages: config.flushMessages,
    flushMs: config.flushMs,
    messageTimestampType: config.messageTimestampType,
    maxMessageBytes: config.maxMessageBytes,
  };
}
