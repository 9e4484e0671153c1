import { describe, expect, test } from "bun:test";
import {
  TOPIC_NAME_CHARS_MAX,
  describeTopicNameError,
  findCollidingTopic,
  topicNamesCollide,
  unifyCollisionChars,
  validateTopicName,
} from "../../../core/engine/topic-name.ts";

describe("validateTopicName", () => {
  test("accepts Kafka's legal characters up to 249 chars", () => {
    for (const name of ["a", "orders", "Orders.v2", "a_b-c.d", "0", "...", "._-", "x".repeat(TOPIC_NAME_CHARS_MAX)]) {
      expect(validateTopicName(name)).toEqual({ ok: true, value: name });
    }
  });

  test("refuses empty, '.', '..', too long and illegal characters with typed errors", () => {
    expect(validateTopicName("")).toEqual({ ok: false, error: "empty" });
    expect(validateTopicName(".")).toEqual({ ok: false, error: "dot_or_dot_dot" });
    expect(validateTopicName("..")).toEqual({ ok: false, error: "dot_or_dot_dot" });
    expect(validateTopicName("x".repeat(TOPIC_NAME_CHARS_MAX + 1))).toEqual({ ok: false, error: "too_long" });
    for (const name of ["a b", "a/b", "a\\b", "é", "a:b", "a\0", "tab\t", "a*", "../x"]) {
      expect(validateTopicName(name)).toEqual({ ok: false, error: "illegal_character" });
    }
  });

  test("every error has a message naming the rule", () => {
    expect(describeTopicNameError("", "empty")).toContain("can't be empty");
    expect(describeTopicNameError("a b", "illegal_character")).toContain("ASCII alphanumerics, '.', '_' and '-'");
    expect(describeTopicNameError("x", "too_long")).toContain("249");
    expect(describeTopicNameError(".", "dot_or_dot_dot")).toContain("\"..\"");
  });
});

describe("collisions", () => {
  test("names differing only in '.' versus '_' collide; identical names do not", () => {
    expect(unifyCollisionChars("a.b_c")).toBe("a_b_c");
    expect(topicNamesCollide("a.b", "a_b")).toBe(true);
    expect(topicNamesCollide("a_b", "a.b")).toBe(true);
    expect(topicNamesCollide("a.b_c", "a_b.c")).toBe(true);
    expect(topicNamesCollide("a.b", "a.b")).toBe(false);
    expect(topicNamesCollide("a.b", "a-b")).toBe(false);
  });

  test("findCollidingTopic names the existing topic", () => {
    const existing = ["orders", "metrics_cpu", "a-b"];
    expect(findCollidingTopic("metrics.cpu", existing)).toBe("metrics_cpu");
    expect(findCollidingTopic("metrics_cpu", existing)).toBeUndefined();
    expect(findCollidingTopic("a.b", existing)).toBeUndefined();
  });
});
