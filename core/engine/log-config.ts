// The per-partition log settings, named as Kafka's topic configs (camelCase here; the topic registry maps the
// dotted Kafka names onto these) with Kafka's defaults. Only what the log itself acts on lives here; topic-level
// configs the log does not read (cleanup.policy, delete.retention.ms, ...) belong to the topic registry.
import { assert } from "../assert.ts";
import { INDEX_INTERVAL_BYTES, MESSAGE_MAX_BYTES_DEFAULT } from "../limits.ts";
import { FILE_POSITION_MAX } from "./offsets.ts";

/** Kafka's `segment.bytes` default: roll the active segment at 1 GiB. */
export const SEGMENT_BYTES_DEFAULT = 1024 * 1024 * 1024;
/** Smallest `segment.bytes` accepted (Kafka's lower bound is 14 bytes; we keep room for one batch header). */
export const SEGMENT_BYTES_MIN = 64;
/** Kafka's `segment.ms` default: roll after 7 days. */
export const SEGMENT_MS_DEFAULT = 7 * 24 * 60 * 60 * 1000;
/** Kafka's `segment.index.bytes` default: each index file is bounded by 10 MiB (then the segment rolls). */
export const SEGMENT_INDEX_BYTES_DEFAULT = 10 * 1024 * 1024;
/** Kafka's `retention.ms` default: 7 days (-1 means keep forever). */
export const RETENTION_MS_DEFAULT = 7 * 24 * 60 * 60 * 1000;
/** Kafka's `retention.bytes` default: -1, no size limit. */
export const RETENTION_BYTES_DEFAULT = -1;
/** Kafka's `flush.messages` / `flush.ms` default (Long.MAX_VALUE): never force a sync for acks=1 traffic. */
export const FLUSH_NEVER = Number.MAX_SAFE_INTEGER;

/** How the broker sets batch timestamps: as the producer wrote them, or the broker's clock at append. */
export type TimestampType = "CreateTime" | "LogAppendTime";

/** Settings one partition log acts on. */
export interface LogConfig {
  /** segment.bytes: roll when the active segment would exceed this. */
  segmentBytes: number;
  /** segment.ms: roll when the active segment is older than this and non-empty. */
  segmentMs: number;
  /** segment.index.bytes: bound on each index file; a full index rolls the segment. */
  segmentIndexBytes: number;
  /** index.interval.bytes: one offset-index entry per this many log bytes. */
  indexIntervalBytes: number;
  /** retention.ms: delete segments whose largest timestamp is older than this; -1 = never. */
  retentionMs: number;
  /** retention.bytes: delete oldest segments while the log exceeds this; -1 = never. */
  retentionBytes: number;
  /** flush.messages: force a sync after this many records since the last one. */
  flushMessages: number;
  /** flush.ms: force a sync when the last one is older than this. */
  flushMs: number;
  /** message.timestamp.type. */
  messageTimestampType: TimestampType;
  /** max.message.bytes: the largest batch the log accepts (checked by the caller's validator as well). */
  maxMessageBytes: number;
}

/** Kafka's defaults for every LogConfig field. */
export const LOG_CONFIG_DEFAULTS: Readonly<LogConfig> = Object.freeze({
  segmentBytes: SEGMENT_BYTES_DEFAULT,
  segmentMs: SEGMENT_MS_DEFAULT,
  segmentIndexBytes: SEGMENT_INDEX_BYTES_DEFAULT,
  indexIntervalBytes: INDEX_INTERVAL_BYTES,
  retentionMs: RETENTION_MS_DEFAULT,
  retentionBytes: RETENTION_BYTES_DEFAULT,
  flushMessages: FLUSH_NEVER,
  flushMs: FLUSH_NEVER,
  messageTimestampType: "CreateTime",
  maxMessageBytes: MESSAGE_MAX_BYTES_DEFAULT,
});

/** Fills unset fields with Kafka's defaults and asserts every value is in range (bad configs are a caller bug). */
export function resolveLogConfig(overrides: Partial<LogConfig> = {}): LogConfig {
  const config: LogConfig = { ...LOG_CONFIG_DEFAULTS };
  for (const [key, value] of Object.entries(overrides)) if (value !== undefined) (config as unknown as Record<string, unknown>)[key] = value;
  assert(Number.isInteger(config.segmentBytes) && config.segmentBytes >= SEGMENT_BYTES_MIN && config.segmentBytes <= FILE_POSITION_MAX, "segment.bytes out of range");
  assert(Number.isInteger(config.segmentMs) && config.segmentMs >= 1, "segment.ms must be >= 1");
  assert(Number.isInteger(config.segmentIndexBytes) && config.segmentIndexBytes >= 12 * 4, "segment.index.bytes too small");
  assert(Number.isInteger(config.indexIntervalBytes) && config.indexIntervalBytes >= 0, "index.interval.bytes must be >= 0");
  assert(Number.isInteger(config.retentionMs) && config.retentionMs >= -1, "retention.ms must be >= -1");
  assert(Number.isInteger(config.retentionBytes) && config.retentionBytes >= -1, "retention.bytes must be >= -1");
  assert(Number.isInteger(config.flushMessages) && config.flushMessages >= 1, "flush.messages must be >= 1");
  assert(Number.isInteger(config.flushMs) && config.flushMs >= 0, "flush.ms must be >= 0");
  assert(config.messageTimestampType === "CreateTime" || config.messageTimestampType === "LogAppendTime", "message.timestamp.type");
  assert(Number.isInteger(config.maxMessageBytes) && config.maxMessageBytes >= 0, "max.message.bytes must be >= 0");
  return config;
}
