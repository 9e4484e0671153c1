import { describe, expect, test } from "bun:test";
import { LOG_CONFIG_DEFAULTS, resolveLogConfig } from "../../../core/engine/log-config.ts";
import {
  LONG_MAX_STRING,
  LONG_NEVER,
  TOPIC_CONFIG_DEFAULTS,
  TOPIC_CONFIG_NAMES,
  isCompacted,
  toLogConfig,
  isDeleteRetained,
  parseTopicConfigValue,
  resolveTopicConfig,
  topicConfigToStrings,
  topicDefaultsFromBrokerConfigs,
  validateTopicConfigs,
} from "../../../core/engine/topic-config.ts";

function mustResolve(overrides: Record<string, string>) {
  const resolved = resolveTopicConfig(overrides);
  if (!resolved.ok) throw new Error(resolved.message);
  return resolved.value;
}

describe("defaults", () => {
  test("are Kafka's", () => {
    expect(TOPIC_CONFIG_DEFAULTS).toEqual({
      cleanupPolicy: "delete",
      retentionMs: 604800000,
      retentionBytes: -1,
      segmentBytes: 1073741824,
      segmentMs: 604800000,
      segmentIndexBytes: 10485760,
      indexIntervalBytes: 4096,
      maxMessageBytes: 1048588,
      messageTimestampType: "CreateTime",
      flushMessages: LONG_NEVER,
      flushMs: LONG_NEVER,
      deleteRetentionMs: 86400000,
      minCompactionLagMs: 0,
      maxCompactionLagMs: LONG_NEVER,
      minCleanableDirtyRatio: 0.5,
      minInsyncReplicas: 1,
    });
  });

  test("describe as Kafka writes them, Long.MAX included", () => {
    const strings = topicConfigToStrings(TOPIC_CONFIG_DEFAULTS);
    expect(Object.keys(strings).sort()).toEqual([...TOPIC_CONFIG_NAMES].sort());
    expect(strings["flush.messages"]).toBe(LONG_MAX_STRING);
    expect(strings["flush.ms"]).toBe(LONG_MAX_STRING);
    expect(strings["retention.ms"]).toBe("604800000");
    expect(strings["min.cleanable.dirty.ratio"]).toBe("0.5");
    expect(strings["cleanup.policy"]).toBe("delete");
  });
});

describe("parseTopicConfigValue", () => {
  test("parses strings and numbers to canonical strings", () => {
    expect(parseTopicConfigValue("retention.ms", " 1000 ")).toEqual({ ok: true, value: "1000" });
    expect(parseTopicConfigValue("retention.ms", 1000)).toEqual({ ok: true, value: "1000" });
    expect(parseTopicConfigValue("retention.ms", "-1")).toEqual({ ok: true, value: "-1" });
    expect(parseTopicConfigValue("retention.ms", "+5")).toEqual({ ok: true, value: "5" });
    expect(parseTopicConfigValue("flush.ms", LONG_MAX_STRING)).toEqual({ ok: true, value: LONG_MAX_STRING });
    expect(parseTopicConfigValue("min.cleanable.dirty.ratio", "0.25")).toEqual({ ok: true, value: "0.25" });
    expect(parseTopicConfigValue("min.cleanable.dirty.ratio", 1)).toEqual({ ok: true, value: "1" });
    expect(parseTopicConfigValue("message.timestamp.type", "LogAppendTime")).toEqual({ ok: true, value: "LogAppendTime" });
    expect(parseTopicConfigValue("segment.bytes", 64)).toEqual({ ok: true, value: "64" });
  });

  test("cleanup.policy accepts both orders and stores one canonical form", () => {
    expect(parseTopicConfigValue("cleanup.policy", "compact")).toEqual({ ok: true, value: "compact" });
    expect(parseTopicConfigValue("cleanup.policy", "delete,compact")).toEqual({ ok: true, value: "compact,delete" });
    expect(parseTopicConfigValue("cleanup.policy", " compact , delete ")).toEqual({ ok: true, value: "compact,delete" });
    const bad = parseTopicConfigValue("cleanup.policy", "compact,shred");
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.message).toBe("Invalid value compact,shred for configuration cleanup.policy: String must be one of: compact, delete");
    expect(parseTopicConfigValue("cleanup.policy", "").ok).toBe(false);
  });

  test("unknown names are typed errors with Kafka's wording", () => {
    expect(parseTopicConfigValue("retention.hours", "1")).toEqual({
      ok: false,
      error: "unknown_config",
      name: "retention.hours",
      message: "Unknown topic config name: retention.hours",
    });
  });

  test("names of Object.prototype members are unknown names, not definitions", () => {
    for (const name of ["constructor", "__proto__", "toString", "hasOwnProperty"]) {
      const result = parseTopicConfigValue(name, "1");
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.error).toBe("unknown_config");
    }
  });

  test("bad values are typed errors with Kafka's wording", () => {
    const cases: [string, string | number | boolean, string][] = [
      ["retention.ms", "abc", "Invalid value abc for configuration retention.ms: Not a number of type LONG"],
      ["retention.ms", "1.5", "Invalid value 1.5 for configuration retention.ms: Not a number of type LONG"],
      ["retention.ms", 1.5, "Invalid value 1.5 for configuration retention.ms: Not a number of type LONG"],
      ["retention.ms", true, "Invalid value true for configuration retention.ms: Not a number of type LONG"],
      ["retention.ms", "-2", "Invalid value -2 for configuration retention.ms: Value must be at least -1"],
      ["retention.ms", "9223372036854775808", "Invalid value 9223372036854775808 for configuration retention.ms: Not a number of type LONG"],
      ["segment.bytes", "63", "Invalid value 63 for configuration segment.bytes: Value must be at least 64"],
      ["segment.index.bytes", "4", "Invalid value 4 for configuration segment.index.bytes: Value must be at least 48"],
      ["segment.bytes", "2147483648", "Invalid value 2147483648 for configuration segment.bytes: Not a number of type INT"],
      ["segment.ms", "0", "Invalid value 0 for configuration segment.ms: Value must be at least 1"],
      ["flush.messages", "0", "Invalid value 0 for configuration flush.messages: Value must be at least 1"],
      ["min.insync.replicas", "0", "Invalid value 0 for configuration min.insync.replicas: Value must be at least 1"],
      ["min.cleanable.dirty.ratio", "1.5", "Invalid value 1.5 for configuration min.cleanable.dirty.ratio: Value must be in the range [0, 1]"],
      ["min.cleanable.dirty.ratio", "x", "Invalid value x for configuration min.cleanable.dirty.ratio: Not a number of type DOUBLE"],
      ["message.timestamp.type", "Now", "Invalid value Now for configuration message.timestamp.type: String must be one of: CreateTime, LogAppendTime"],
      ["delete.retention.ms", "-1", "Invalid value -1 for configuration delete.retention.ms: Value must be at least 0"],
      ["min.compaction.lag.ms", "", "Invalid value  for configuration min.compaction.lag.ms: Not a number of type LONG"],
    ];
    for (const [name, value, message] of cases) {
      expect(parseTopicConfigValue(name, value)).toEqual({ ok: false, error: "invalid_value", name, message });
    }
  });
});

describe("validate and resolve", () => {
  test("validateTopicConfigs stops at the first bad entry and otherwise canonicalises all", () => {
    expect(validateTopicConfigs({ "retention.ms": 5, "cleanup.policy": "delete,compact" })).toEqual({
      ok: true,
      value: { "retention.ms": "5", "cleanup.policy": "compact,delete" },
    });
    const bad = validateTopicConfigs({ "retention.ms": 5, "bogus.config": "1" });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error).toBe("unknown_config");
  });

  test("overrides apply on top of the base; everything else stays", () => {
    const config = mustResolve({ "retention.ms": "1000", "cleanup.policy": "compact", "flush.messages": "1" });
    expect(config.retentionMs).toBe(1000);
    expect(config.cleanupPolicy).toBe("compact");
    expect(config.flushMessages).toBe(1);
    expect(config.segmentBytes).toBe(TOPIC_CONFIG_DEFAULTS.segmentBytes);
    const onBase = resolveTopicConfig({ "segment.bytes": "100" }, config);
    expect(onBase.ok && onBase.value.retentionMs).toBe(1000);
    expect(onBase.ok && onBase.value.segmentBytes).toBe(100);
  });

  test("min.compaction.lag.ms above max.compaction.lag.ms is refused", () => {
    const bad = resolveTopicConfig({ "min.compaction.lag.ms": "10", "max.compaction.lag.ms": "5" });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error).toBe("invalid_value");
  });

  test("longs above 2^53 are clamped to LONG_NEVER and describe back as the exact string", () => {
    const config = mustResolve({ "flush.ms": "9007199254740993" });
    expect(config.flushMs).toBe(LONG_NEVER);
    expect(topicConfigToStrings(config)["flush.ms"]).toBe(LONG_MAX_STRING);
  });

  test("policy helpers", () => {
    expect([isCompacted(mustResolve({})), isDeleteRetained(mustResolve({}))]).toEqual([false, true]);
    const compact = mustResolve({ "cleanup.policy": "compact" });
    expect([isCompacted(compact), isDeleteRetained(compact)]).toEqual([true, false]);
    const both = mustResolve({ "cleanup.policy": "compact,delete" });
    expect([isCompacted(both), isDeleteRetained(both)]).toEqual([true, true]);
  });
});

describe("broker defaults", () => {
  test("Kafka's log.* names set topic defaults; unrelated broker configs are ignored", () => {
    const result = topicDefaultsFromBrokerConfigs({
      "log.retention.ms": "1000",
      "log.segment.bytes": 4096,
      "message.max.bytes": "2000000",
      "log.cleanup.policy": "compact",
      "log.cleaner.min.cleanable.ratio": "0.1",
      "num.network.threads": "3",
      "log.dirs": "/somewhere",
    });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.retentionMs).toBe(1000);
    expect(result.value.segmentBytes).toBe(4096);
    expect(result.value.maxMessageBytes).toBe(2000000);
    expect(result.value.cleanupPolicy).toBe("compact");
    expect(result.value.minCleanableDirtyRatio).toBe(0.1);
    expect(result.value.segmentMs).toBe(TOPIC_CONFIG_DEFAULTS.segmentMs);
  });

  test("ms wins over minutes, minutes over hours", () => {
    const hours = topicDefaultsFromBrokerConfigs({ "log.retention.hours": "2" });
    expect(hours.ok && hours.value.retentionMs).toBe(7_200_000);
    const minutes = topicDefaultsFromBrokerConfigs({ "log.retention.hours": "2", "log.retention.minutes": "3" });
    expect(minutes.ok && minutes.value.retentionMs).toBe(180_000);
    const ms = topicDefaultsFromBrokerConfigs({ "log.retention.hours": "2", "log.retention.minutes": "3", "log.retention.ms": 7 });
    expect(ms.ok && ms.value.retentionMs).toBe(7);
    const unlimited = topicDefaultsFromBrokerConfigs({ "log.retention.hours": "-1" });
    expect(unlimited.ok && unlimited.value.retentionMs).toBe(-1);
    const roll = topicDefaultsFromBrokerConfigs({ "log.roll.hours": "1" });
    expect(roll.ok && roll.value.segmentMs).toBe(3_600_000);
  });

  test("a bad broker value is refused under the broker's name", () => {
    const bad = topicDefaultsFromBrokerConfigs({ "log.retention.ms": "soon" });
    expect(bad).toEqual({
      ok: false,
      error: "invalid_value",
      name: "log.retention.ms",
      message: "Invalid value soon for configuration log.retention.ms: Not a number of type LONG",
    });
  });
});

describe("toLogConfig", () => {
  test("Kafka's topic defaults are the log's defaults", () => {
    expect(toLogConfig(TOPIC_CONFIG_DEFAULTS)).toEqual({ ...LOG_CONFIG_DEFAULTS });
  });

  test("retention applies only with the delete policy, and negative retention.bytes means none", () => {
    const compact = mustResolve({ "cleanup.policy": "compact", "retention.ms": "5", "retention.bytes": "10" });
    expect([toLogConfig(compact).retentionMs, toLogConfig(compact).retentionBytes]).toEqual([-1, -1]);
    const both = mustResolve({ "cleanup.policy": "compact,delete", "retention.ms": "5", "retention.bytes": "-7" });
    expect([toLogConfig(both).retentionMs, toLogConfig(both).retentionBytes]).toEqual([5, -1]);
  });

  test("every value the validator accepts is accepted by the log", () => {
    const smallest = mustResolve({
      "segment.bytes": "64",
      "segment.index.bytes": "48",
      "segment.ms": "1",
      "index.interval.bytes": "0",
      "flush.messages": "1",
      "flush.ms": "0",
      "max.message.bytes": "0",
      "retention.ms": "-1",
      "retention.bytes": "-100",
      "message.timestamp.type": "LogAppendTime",
    });
    expect(resolveLogConfig(toLogConfig(smallest))).toEqual(toLogConfig(smallest));
    const largest = mustResolve({ "segment.bytes": "2147483647", "flush.ms": "9223372036854775807" });
    expect(resolveLogConfig(toLogConfig(largest))).toEqual(toLogConfig(largest));
  });
});
