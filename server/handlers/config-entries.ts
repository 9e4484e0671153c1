// Config entries as they arrive in CreateTopics and AlterConfigs ([name, value | nil] pairs), turned into the
// engine's change maps. Built on null-prototype objects: names come from the network, and "__proto__" must be
// just another unknown config name.
import { TOPIC_CONFIG_NAMES, type TopicConfigInput } from "../../core/engine/topic-config.ts";

const KNOWN_NAMES = new Set(TOPIC_CONFIG_NAMES);

/** One config entry from the wire. */
export interface ConfigEntry {
  name: string;
  value: string | null;
}

/** The entries with a value, as a createTopic config map (a nil value means "the default": left out). */
export function configsToSet(entries: readonly ConfigEntry[]): TopicConfigInput {
  const out = Object.create(null) as TopicConfigInput;
  for (const entry of entries) if (entry.value !== null) out[entry.name] = entry.value;
  return out;
}

/** True when a name appears twice (Kafka refuses such a request as INVALID_REQUEST). */
export function hasDuplicateNames(entries: readonly { name: string }[]): boolean {
  return new Set(entries.map((entry) => entry.name)).size !== entries.length;
}

/**
 * The first entry naming no topic config, if any. Checked here, before the engine sees the names: the engine's
 * lookup table is a plain object, so "constructor" or "toString" would find Object.prototype's members there.
 */
export function unknownConfigName(entries: readonly { name: string }[]): string | undefined {
  return entries.find((entry) => !KNOWN_NAMES.has(entry.name))?.name;
}
