// Topic metadata: `<dataDir>/topics.json`, the registry's one source of truth for which topics exist.
//
//   {
//     "version": 1,
//     "topics": [
//       { "name": "orders", "id": "<uuid>", "partitions": 3, "configs": { "retention.ms": "1000" },
//         "state": "live" | "deleting" }
//     ]
//   }
//
// `configs` holds only the topic's overrides in canonical string form (topic-config.ts); effective configs are
// resolved against the broker defaults at load. A topic in state "deleting" has been deleted by a client but its
// partition directories may still exist; start-up finishes the deletion (see topic-registry.ts).
//
// The file is replaced atomically (write `topics.json.tmp`, fsync it, rename over `topics.json`, fsync the
// directory), so after a crash it is either the old or the new version, never a mix. It is read as untrusted
// bytes: size-checked before reading, and every field checked before use.
import { stat, readFile, unlink } from "node:fs/promises";
import { TEMPORARY_FILE_SUFFIX, writeFileAtomically } from "./durable-file.ts";
import { join } from "node:path";
import { type Result, err, ok } from "../formats/result.ts";
import { validateTopicConfigs, type TopicConfigOverrides } from "./topic-config.ts";
import { validateTopicName } from "./topic-name.ts";

/** The metadata file's name inside a data directory. */
export const TOPIC_METADATA_FILE = "topics.json";

/** Largest topic metadata file we read: far above 10,000 topics with configs, far below a memory problem. */
export const TOPIC_METADATA_BYTES_MAX = 64 * 1024 * 1024;

/** Most topics one broker holds (a bound on the registry and the metadata file). */
export const TOPICS_MAX = 100_000;

/** Most partitions one topic may have (Kafka has no hard limit; this bounds memory and file handles). */
export const PARTITIONS_PER_TOPIC_MAX = 10_000;

/** The format version this code writes and reads. */
export const TOPIC_METADATA_VERSION = 1;

/** Whether a topic serves traffic or is being deleted. */
export type TopicState = "live" | "deleting";

/** One topic's durable metadata. */
export interface TopicRecord {
  name: string;
  /** Kafka's topic id: a random UUID, also the suffix of the topic's `-delete` directories. */
  id: string;
  partitions: number;
  configs: TopicConfigOverrides;
  state: TopicState;
}

/** Why a metadata file could not be read. */
export type TopicMetadataError = "too_large" | "bad_json" | "bad_shape" | "unsupported_version" | "io_error";

const UUID_TEXT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Decodes metadata bytes into topic records, checking every field; never throws. */
export function decodeTopicMetadata(bytes: Uint8Array): Result<TopicRecord[], TopicMetadataError> {
  if (bytes.length > TOPIC_METADATA_BYTES_MAX) return err("too_large");
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    return err("bad_json");
  }
  if (!isPlainObject(parsed)) return err("bad_shape");
  if (parsed.version !== TOPIC_METADATA_VERSION) return err("unsupported_version");
  const topics = parsed.topics;
  if (!Array.isArray(topics) || topics.length > TOPICS_MAX) return err("bad_shape");
  const out: TopicRecord[] = [];
  const liveNames = new Set<string>();
  const ids = new Set<string>();
  for (const topic of topics) {
    if (!isPlainObject(topic)) return err("bad_shape");
    const { name, id, partitions, configs, state } = topic;
    if (typeof name !== "string" || !validateTopicName(name).ok) return err("bad_shape");
    if (typeof id !== "string" || !UUID_TEXT.test(id) || ids.has(id)) return err("bad_shape");
    if (typeof partitions !== "number" || !Number.isInteger(partitions)) return err("bad_shape");
    if (partitions < 1 || partitions > PARTITIONS_PER_TOPIC_MAX) return err("bad_shape");
    if (state !== "live" && state !== "deleting") return err("bad_shape");
    if (!isPlainObject(configs)) return err("bad_shape");
    const overrides: Record<string, string> = {};
    for (const [key, value] of Object.entries(configs)) {
      if (typeof value !== "string") return err("bad_shape");
      overrides[key] = value;
    }
    const validated = validateTopicConfigs(overrides);
    if (!validated.ok) return err("bad_shape");
    if (state === "live") {
      if (liveNames.has(name)) return err("bad_shape");
      liveNames.add(name);
    }
    ids.add(id);
    out.push({ name, id, partitions, configs: validated.value, state });
  }
  return ok(out);
}

/** Encodes topic records as the metadata file's bytes. */
export function encodeTopicMetadata(topics: readonly TopicRecord[]): Uint8Array {
  const body = {
    version: TOPIC_METADATA_VERSION,
    topics: topics.map(({ name, id, partitions, configs, state }) => ({ name, id, partitions, configs, state })),
  };
  return new TextEncoder().encode(`${JSON.stringify(body, null, 2)}\n`);
}

/** Reads the topic metadata of `dataDir`; a missing file is an empty registry (a new data dir). */
export async function readTopicMetadata(dataDir: string): Promise<Result<TopicRecord[], TopicMetadataError>> {
  const path = join(dataDir, TOPIC_METADATA_FILE);
  try {
    const info = await stat(path);
    if (info.size > TOPIC_METADATA_BYTES_MAX) return err("too_large");
    return decodeTopicMetadata(new Uint8Array(await readFile(path)));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return ok([]);
    return err("io_error");
  }
}

/** Writes the topic metadata of `dataDir` atomically (see the top of this file). */
export async function writeTopicMetadata(dataDir: string, topics: readonly TopicRecord[]): Promise<void> {
  await writeFileAtomically(dataDir, TOPIC_METADATA_FILE, encodeTopicMetadata(topics));
}

/** Removes a leftover `topics.json.tmp` from a write that a crash interrupted (it was never renamed in). */
export async function removeStaleTopicMetadataTmp(dataDir: string): Promise<void> {
  try {
    await unlink(join(dataDir, TOPIC_METADATA_FILE + TEMPORARY_FILE_SUFFIX));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
}
