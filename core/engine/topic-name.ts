// Topic names, validated exactly as Kafka validates them (org.apache.kafka.common.internals.Topic):
// non-empty, at most 249 characters, only ASCII letters, digits, '.', '_' and '-', and neither "." nor "..".
//
// Why 249: a partition directory is `<topic>-<partition>` and a deleted one is renamed to
// `<topic>-<partition>.<32 hex uuid>-delete`; Kafka picked 249 so that stays under the usual 255-byte file-name
// limit. Why the collision rule: metric names replace '.' with '_', so Kafka refuses to create "a.b" when "a_b"
// exists (and the reverse); we keep the rule so topics move between the two systems unchanged.
import { type Result, err, ok } from "../formats/result.ts";

/** Kafka's longest legal topic name, in characters (all ASCII, so also bytes). */
export const TOPIC_NAME_CHARS_MAX = 249;

/** Why a topic name is not legal. */
export type TopicNameError = "empty" | "too_long" | "dot_or_dot_dot" | "illegal_character";

const LEGAL_CHARS = /^[a-zA-Z0-9._-]+$/;

/** Checks `name` against Kafka's topic-name rules, returning the name or why it is illegal. */
export function validateTopicName(name: string): Result<string, TopicNameError> {
  if (name.length === 0) return err("empty");
  if (name === "." || name === "..") return err("dot_or_dot_dot");
  if (name.length > TOPIC_NAME_CHARS_MAX) return err("too_long");
  if (!LEGAL_CHARS.test(name)) return err("illegal_character");
  return ok(name);
}

/** Kafka's message for each topic-name error (InvalidTopicException wording). */
export function describeTopicNameError(name: string, error: TopicNameError): string {
  switch (error) {
    case "empty":
      return "Topic name is illegal, it can't be empty";
    case "dot_or_dot_dot":
      return "Topic name cannot be \".\" or \"..\"";
    case "too_long":
      return `Topic name is illegal, it can't be longer than ${TOPIC_NAME_CHARS_MAX} characters, topic name: ${name}`;
    case "illegal_character":
      return `Topic name "${name}" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'`;
  }
}

/** The form two names share when they collide: '.' replaced by '_' (Kafka's Topic.unifyCollisionChars). */
export function unifyCollisionChars(name: string): string {
  return name.replaceAll(".", "_");
}

/** True when two different names would collide in metric names (they differ only in '.' versus '_'). */
export function topicNamesCollide(a: string, b: string): boolean {
  return a !== b && unifyCollisionChars(a) === unifyCollisionChars(b);
}

/** The existing topic that `name` collides with, if any (exact duplicates are not collisions). */
export function findCollidingTopic(name: string, existing: Iterable<string>): string | undefined {
  const unified = unifyCollisionChars(name);
  for (const other of existing) {
    if (other !== name && unifyCollisionChars(other) === unified) return other;
  }
  return undefined;
}
