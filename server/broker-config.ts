// The broker's configuration, by Kafka's broker config names, from a `.properties` file (--config), repeatable
// `--set key=value` and the --host / --port / --data-dir flags.
//
// Precedence: every --config file is read first, in the order given; then --set and the flags apply in the order
// given on the command line. A later value for the same setting wins (listeners, --host and --port all set the
// listen address; log.dirs, log.dir and --data-dir all set the data directory). Unknown names and bad values are
// refused with a message that names the setting and where it came from: a typo in a config file must not start a
// broker on defaults the operator did not choose.
//
// Three groups of names are known: the network shell's (listeners, num.partitions, auto.create.topics.enable,
// socket.request.max.bytes, max.connections, ...), the engine's topic defaults (log.retention.ms, log.segment.bytes,
// message.max.bytes, ... = BROKER_CONFIG_NAMES of core/engine/topic-config.ts plus their .hours/.minutes forms),
// and the engine's task intervals (log.retention.check.interval.ms, log.cleaner.backoff.ms,
// log.flush.scheduler.interval.ms).
import { readFileSync, statSync } from "node:fs";
import { type BrokerOptions, FLUSH_CHECK_INTERVAL_MS_DEFAULT, RETENTION_CHECK_INTERVAL_MS_DEFAULT } from "../core/engine/broker.ts";
import { CLEANER_BACKOFF_MS } from "../core/engine/log-cleaner.ts";
import { PRODUCER_ID_EXPIRATION_CHECK_INTERVAL_MS_DEFAULT, PRODUCER_ID_EXPIRATION_MS_DEFAULT } from "../core/engine/producer-state.ts";
import { BROKER_CONFIG_NAMES, LONG_NEVER, topicDefaultsFromBrokerConfigs } from "../core/engine/topic-config.ts";
import { FRAME_BYTES_MAX, HANDSHAKE_FRAME_BYTES_MAX } from "../core/formats/protocol/frame.ts";
import { BATCH_BYTES_MAX } from "../core/limits.ts";
import { PROPERTIES_FILE_BYTES_MAX, parseProperties } from "./properties.ts";
import { NUM_PARTITIONS_DEFAULT } from "./broker-server.ts";
import { SERVER_LIMITS_DEFAULT, type ServerLimits } from "./server-limits.ts";

/** Default listen host: loopback only, so a broker started without thought is not reachable from the network. */
export const BROKER_HOST_DEFAULT = "127.0.0.1";
/** Default port of the native protocol (9092 is left for a Kafka-protocol listener). */
export const BROKER_PORT_DEFAULT = 9192;
/** Default data directory, relative to the working directory. */
export const BROKER_DATA_DIR_DEFAULT = "./data";
/** Most partitions num.partitions may ask for (one log, three files and a descriptor per partition). */
export const NUM_PARTITIONS_MAX = 10_000;
/** Longest connections.max.idle.ms accepted: a timer's limit (about 24.8 days). */
export const CONNECTIONS_MAX_IDLE_MS_MAX = 0x7fffffff;
/**
 * Whether fetches send file ranges with sendfile(2) (rivulet.sendfile.enable). On: through the real server on this
 * machine it fetched 1.3-2.4x faster (median MB/s) for 0.33-0.40x the broker CPU per GB than read+write
 * (docs/benchmarks/server.md, bench/perf-raw.ts).
 */
export const SENDFILE_ENABLE_DEFAULT = true;

/** The listener name a `listeners` entry may carry (Kafka's PLAINTEXT is accepted as a synonym). */
export const LISTENER_NAMES: readonly string[] = ["RIVULET", "PLAINTEXT"];

/** Where a config value came from, for error messages ("server.properties", "--set", "--port"). */
export interface ConfigEntry {
  key: string;
  value: string;
  source: string;
}

/** Keys the command-line flags set (not settable with --set; they are the flags' own names). */
export const FLAG_HOST = "--host";
export const FLAG_PORT = "--port";
export const FLAG_DATA_DIR = "--data-dir";

/** Why a configuration was refused: an unknown name, a bad value, or a config file that could not be read. */
export type BrokerConfigErrorCode = "unknown_config" | "invalid_value" | "unreadable_file";

/** A refused configuration: the code to branch on and a message for the operator. */
export interface BrokerConfigFailure {
  ok: false;
  error: BrokerConfigErrorCode;
  message: string;
}

/** Either a value or why the configuration was refused. */
export type BrokerConfigResult<T> = { ok: true; value: T } | BrokerConfigFailure;

/** The broker's resolved configuration. */
export interface BrokerConfig {
  host: string;
  port: number;
  /** advertised.listeners: the address Metadata tells clients to use, or null for the listening address. */
  advertised: { host: string; port: number } | null;
  dataDir: string;
  /** num.partitions: partitions of topics created without a count (auto-created or numPartitions -1). */
  numPartitions: number;
  /** auto.create.topics.enable. */
  autoCreateTopicsEnable: boolean;
  /** socket.request.max.bytes: the largest request frame body accepted. */
  socketRequestMaxBytes: number;
  /** message.max.bytes: the largest record batch accepted (also every topic's max.message.bytes default). */
  messageMaxBytes: number;
  /** max.connections. */
  maxConnections: number;
  /** max.connections.per.ip. */
  maxConnectionsPerIp: number;
  /** connections.max.idle.ms. */
  connectionsMaxIdleMs: number;
  /** log.retention.check.interval.ms. */
  retentionCheckIntervalMs: number;
  /** log.cleaner.backoff.ms. */
  cleanerBackoffMs: number;
  /** log.flush.scheduler.interval.ms. */
  flushSchedulerIntervalMs: number;
  /** producer.id.expiration.ms: how long an idle idempotent producer's state is kept. */
  producerIdExpirationMs: number;
  /** producer.id.expiration.check.interval.ms: how often expired producer state is removed. */
  producerIdExpirationCheckIntervalMs: number;
  /** rivulet.sendfile.enable: fetches send file ranges with sendfile(2) instead of read+write. */
  sendfileEnable: boolean;
  /** The topic defaults by Kafka's broker names (log.retention.ms, ...), as given, for Broker.open. */
  topicDefaults: Record<string, string>;
  /** Names that were set explicitly (by any source), for start-up reporting. */
  explicitKeys: string[];
}

type Kind = "int" | "long" | "boolean";

interface Definition {
  kind: Kind;
  field: keyof BrokerConfig;
  defaultValue: number | boolean;
  min?: number;
  max?: number;
  doc: string;
}

// The network shell's and the engine's typed settings (the address and data dir are handled apart).
const DEFINITIONS: Record<string, Definition> = {
  "num.partitions": {
    kind: "int",
    field: "numPartitions",
    defaultValue: NUM_PARTITIONS_DEFAULT,
    min: 1,
    max: NUM_PARTITIONS_MAX,
    doc: "Partitions of a topic created without a partition count (auto-created topics).",
  },
  "auto.create.topics.enable": {
    kind: "boolean",
    field: "autoCreateTopicsEnable",
    defaultValue: true,
    doc: "Create a topic on first Metadata request that allows it (as Kafka).",
  },
  "socket.request.max.bytes": {
    kind: "int",
    field: "socketRequestMaxBytes",
    defaultValue: SERVER_LIMITS_DEFAULT.socketRequestMaxBytes,
    // Below the handshake frame limit not even a first ApiVersions could be guaranteed to fit.
    min: HANDSHAKE_FRAME_BYTES_MAX,
    max: FRAME_BYTES_MAX,
    doc: "Largest request body accepted; a longer length prefix closes the connection before anything is allocated.",
  },
  "message.max.bytes": {
    kind: "int",
    field: "messageMaxBytes",
    defaultValue: SERVER_LIMITS_DEFAULT.messageMaxBytes,
    min: 1,
    max: BATCH_BYTES_MAX,
    doc: "Largest record batch accepted; also every topic's max.message.bytes default.",
  },
  "max.connections": {
    kind: "int",
    field: "maxConnections",
    defaultValue: SERVER_LIMITS_DEFAULT.maxConnections,
    min: 1,
    doc: "Connections the broker accepts at once; more are closed on accept (Kafka's default is unbounded, ours is not).",
  },
  "max.connections.per.ip": {
    kind: "int",
    field: "maxConnectionsPerIp",
    defaultValue: SERVER_LIMITS_DEFAULT.maxConnectionsPerIp,
    min: 1,
    doc: "Connections accepted at once from one address.",
  },
  "connections.max.idle.ms": {
    kind: "long",
    field: "connectionsMaxIdleMs",
    defaultValue: SERVER_LIMITS_DEFAULT.connectionsMaxIdleMs,
    min: 1,
    max: CONNECTIONS_MAX_IDLE_MS_MAX,
    doc: "A connection with no request and nothing in flight for this long is closed.",
  },
  "log.retention.check.interval.ms": {
    kind: "long",
    field: "retentionCheckIntervalMs",
    defaultValue: RETENTION_CHECK_INTERVAL_MS_DEFAULT,
    min: 1,
    doc: "How often retention (retention.ms / retention.bytes) runs.",
  },
  "log.cleaner.backoff.ms": {
    kind: "long",
    field: "cleanerBackoffMs",
    defaultValue: CLEANER_BACKOFF_MS,
    min: 0,
    doc: "How often the compaction cleaner looks for dirty partitions (0: never).",
  },
  "log.flush.scheduler.interval.ms": {
    kind: "long",
    field: "flushSchedulerIntervalMs",
    defaultValue: FLUSH_CHECK_INTERVAL_MS_DEFAULT,
    min: 0,
    doc: "How often logs are checked for flush.ms / flush.messages (0: never; Kafka's default is never).",
  },
  "producer.id.expiration.ms": {
    kind: "long",
    field: "producerIdExpirationMs",
    defaultValue: PRODUCER_ID_EXPIRATION_MS_DEFAULT,
    min: 1,
    doc: "How long the state of an idempotent producer that sends nothing is kept (duplicates of its batches are recognised until then).",
  },
  "producer.id.expiration.check.interval.ms": {
    kind: "long",
    field: "producerIdExpirationCheckIntervalMs",
    defaultValue: PRODUCER_ID_EXPIRATION_CHECK_INTERVAL_MS_DEFAULT,
    min: 0,
    doc: "How often expired producer state is removed (0: never).",
  },
  "rivulet.sendfile.enable": {
    kind: "boolean",
    field: "sendfileEnable",
    defaultValue: SENDFILE_ENABLE_DEFAULT,
    doc: "Send fetched file ranges with sendfile(2) instead of read+write (Rivulet's own setting; falls back to read+write where sendfile is unavailable).",
  },
};

// Broker configs that only feed topic defaults (message.max.bytes also has a typed field above).
const COARSE_TIME_NAMES = ["log.retention.minutes", "log.retention.hours", "log.roll.hours"];
const TOPIC_DEFAULT_NAMES: ReadonlySet<string> = new Set([...Object.keys(BROKER_CONFIG_NAMES), ...COARSE_TIME_NAMES]);

/** Every config name `--set` and config files accept, sorted. */
export const BROKER_CONFIG_KEYS: readonly string[] = [
  ...new Set(["listeners", "advertised.listeners", "log.dirs", "log.dir", ...Object.keys(DEFINITIONS), ...TOPIC_DEFAULT_NAMES]),
].sort();

/** One documented setting: name, default as written, and what it does (docs/cli.md and `rivulet broker --help`). */
export interface BrokerConfigDoc {
  name: string;
  defaultValue: string;
  doc: string;
}

/** The network and engine settings with their defaults (topic defaults are documented by topic-config.ts). */
export function brokerConfigDocs(): BrokerConfigDoc[] {
  const docs: BrokerConfigDoc[] = [
    { name: "listeners", defaultValue: `RIVULET://${BROKER_HOST_DEFAULT}:${BROKER_PORT_DEFAULT}`, doc: "The one address to listen on." },
    {
      name: "advertised.listeners",
      defaultValue: "",
      doc: "The address clients are told to connect to in Metadata (e.g. a proxy or NAT in front of the broker); empty: the listening address.",
    },
    { name: "log.dirs", defaultValue: BROKER_DATA_DIR_DEFAULT, doc: "The data directory (one; log.dir is a synonym)." },
  ];
  for (const [name, def] of Object.entries(DEFINITIONS)) docs.push({ name, defaultValue: String(def.defaultValue), doc: def.doc });
  return docs;
}

function fail(error: BrokerConfigErrorCode, message: string): BrokerConfigFailure {
  return { ok: false, error, message };
}

function invalid(entry: ConfigEntry, reason: string): BrokerConfigFailure {
  return fail("invalid_value", `invalid value '${entry.value}' for ${entry.key} (from ${entry.source}): ${reason}`);
}

const INTEGER_TEXT = /^[+-]?\d+$/;
const INT_MIN = -(2 ** 31);
const INT_MAX = 2 ** 31 - 1;
const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;
// A host is an IPv4 address, a bracketed or bare IPv6 address, or a DNS name; no spaces, slashes or ports.
const HOST_TEXT = /^(\[[0-9A-Fa-f:.]+\]|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)$/;

function parseNumber(entry: ConfigEntry, def: Definition): BrokerConfigResult<number> {
  const text = entry.value.trim();
  if (!INTEGER_TEXT.test(text)) return invalid(entry, `not a number of type ${def.kind.toUpperCase()}`);
  const big = BigInt(text);
  const [low, high] = def.kind === "int" ? [BigInt(INT_MIN), BigInt(INT_MAX)] : [LONG_MIN, LONG_MAX];
  if (big < low || big > high) return invalid(entry, `not a number of type ${def.kind.toUpperCase()}`);
  // Longs past 2^53 mean "never" in practice (Long.MAX_VALUE); they are held as the largest exact number.
  const value = big > BigInt(LONG_NEVER) ? LONG_NEVER : Number(big);
  if (def.min !== undefined && value < def.min) return invalid(entry, `value must be at least ${def.min}`);
  if (def.max !== undefined && value > def.max) return invalid(entry, `value must be at most ${def.max}`);
  return { ok: true, value };
}

function parseBoolean(entry: ConfigEntry): BrokerConfigResult<boolean> {
  const text = entry.value.trim().toLowerCase();
  if (text === "true") return { ok: true, value: true };
  if (text === "false") return { ok: true, value: false };
  return invalid(entry, "expected true or false");
}

function parseHost(entry: ConfigEntry, text: string): BrokerConfigResult<string> {
  if (text === "" || !HOST_TEXT.test(text)) return invalid(entry, "not a host name or IP address");
  return { ok: true, value: text.startsWith("[") ? text.slice(1, -1) : text };
}

function parsePort(entry: ConfigEntry, text: string): BrokerConfigResult<number> {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) return invalid(entry, "a port is a number from 0 to 65535 (0: any free port)");
  return { ok: true, value: Number(text) };
}

// Kafka's listeners format, one entry: NAME://host:port (host may be empty: the default host; IPv6 in brackets).
function parseListeners(entry: ConfigEntry): BrokerConfigResult<{ host: string; port: number }> {
  const items = entry.value.split(",").map((item) => item.trim()).filter((item) => item !== "");
  if (items.length !== 1) return invalid(entry, "Rivulet listens on exactly one address: NAME://host:port");
  const match = /^([A-Za-z_][A-Za-z0-9_]*):\/\/(\[[^\]]*\]|[^:]*):(\d+)$/.exec(items[0]!);
  if (match === null) return invalid(entry, "expected NAME://host:port, e.g. RIVULET://127.0.0.1:9192");
  if (!LISTENER_NAMES.includes(match[1]!.toUpperCase())) return invalid(entry, `listener name must be one of ${LISTENER_NAMES.join(", ")}`);
  const host = match[2] === "" ? { ok: true as const, value: BROKER_HOST_DEFAULT } : parseHost(entry, match[2]!);
  if (!host.ok) return host;
  const port = parsePort(entry, match[3]!);
  if (!port.ok) return port;
  return { ok: true, value: { host: host.value, port: port.value } };
}

/** Reads a Kafka-style properties file into config entries (bounded in size; a missing file is an error). */
export function readConfigFile(path: string): BrokerConfigResult<ConfigEntry[]> {
  let text: string;
  try {
    // Checked before reading: a wrong path (a log, a device) must not be loaded whole.
    const size = statSync(path).size;
    if (size > PROPERTIES_FILE_BYTES_MAX) return fail("unreadable_file", `config file ${path} is ${size} bytes; the limit is ${PROPERTIES_FILE_BYTES_MAX}`);
    text = readFileSync(path, "utf8");
  } catch (error) {
    return fail("unreadable_file", `cannot read config file ${path}: ${(error as Error).message}`);
  }
  const parsed = parseProperties(text);
  if (!parsed.ok) return fail("unreadable_file", `config file ${path} is not a valid properties file (${parsed.error})`);
  return { ok: true, value: [...parsed.value].map(([key, value]) => ({ key, value, source: path })) };
}

/** Parses one `--set key=value` argument into an entry. */
export function parseSetArgument(argument: string): BrokerConfigResult<ConfigEntry> {
  const equals = argument.indexOf("=");
  if (equals <= 0) return fail("invalid_value", `--set expects key=value, got '${argument}'`);
  return { ok: true, value: { key: argument.slice(0, equals).trim(), value: argument.slice(equals + 1), source: "--set" } };
}

/** Resolves entries, applied in order (later wins), into a configuration; unknown names and bad values refused. */
export function resolveBrokerConfig(entries: readonly ConfigEntry[]): BrokerConfigResult<BrokerConfig> {
  let host = BROKER_HOST_DEFAULT;
  let port = BROKER_PORT_DEFAULT;
  let dataDir = BROKER_DATA_DIR_DEFAULT;
  let advertised: { host: string; port: number } | null = null;
  const typed: Record<string, number | boolean> = {};
  for (const [name, def] of Object.entries(DEFINITIONS)) typed[def.field] = def.defaultValue;
  const topicDefaults: Record<string, string> = {};
  const explicit = new Set<string>();

  for (const entry of entries) {
    const key = entry.key;
    if (key === FLAG_HOST) {
      const parsed = parseHost(entry, entry.value.trim());
      if (!parsed.ok) return parsed;
      host = parsed.value;
    } else if (key === FLAG_PORT) {
      const parsed = parsePort(entry, entry.value.trim());
      if (!parsed.ok) return parsed;
      port = parsed.value;
    } else if (key === "listeners") {
      const parsed = parseListeners(entry);
      if (!parsed.ok) return parsed;
      host = parsed.value.host;
      port = parsed.value.port;
    } else if (key === FLAG_DATA_DIR || key === "log.dir" || key === "log.dirs") {
      const dirs = key === "log.dirs" ? entry.value.split(",").map((dir) => dir.trim()).filter((dir) => dir !== "") : [entry.value.trim()];
      if (dirs.length !== 1 || dirs[0] === "") return invalid(entry, "Rivulet keeps its data in exactly one directory");
      dataDir = dirs[0]!;
    } else if (key === "advertised.listeners") {
      // Empty, as in Kafka, means "advertise what you listen on".
      if (entry.value.trim() === "") {
        advertised = null;
      } else {
        const parsed = parseListeners(entry);
        if (!parsed.ok) return parsed;
        advertised = parsed.value;
      }
    } else if (Object.hasOwn(DEFINITIONS, key)) {
      // Own properties only: "constructor" must be an unknown name, not Object.prototype's member.
      const def = DEFINITIONS[key]!;
      const parsed = def.kind === "boolean" ? parseBoolean(entry) : parseNumber(entry, def);
      if (!parsed.ok) return parsed;
      typed[def.field] = parsed.value;
      // message.max.bytes is also the topics' max.message.bytes default.
      if (TOPIC_DEFAULT_NAMES.has(key)) topicDefaults[key] = entry.value.trim();
    } else if (TOPIC_DEFAULT_NAMES.has(key)) {
      // Checked one at a time so the message names the source; the engine checks the combination at open.
      const single = topicDefaultsFromBrokerConfigs({ [key]: entry.value });
      if (!single.ok) return fail("invalid_value", `${single.message} (from ${entry.source})`);
      topicDefaults[key] = entry.value.trim();
    } else {
      return fail("unknown_config", `unknown broker config '${key}' (from ${entry.source}); see docs/cli.md for the names Rivulet knows`);
    }
    explicit.add(key.startsWith("--") ? key.slice(2) : key);
  }
  const combined = topicDefaultsFromBrokerConfigs(topicDefaults);
  if (!combined.ok) return fail("invalid_value", combined.message);
  // One batch of message.max.bytes must fit in one request (the server asserts it; refuse it here with words).
  if ((typed.messageMaxBytes as number) >= (typed.socketRequestMaxBytes as number)) {
    return fail(
      "invalid_value",
      `message.max.bytes (${typed.messageMaxBytes}) must be below socket.request.max.bytes (${typed.socketRequestMaxBytes}): one batch must fit in one request`,
    );
  }
  return {
    ok: true,
    value: { ...(typed as unknown as BrokerConfig), host, port, advertised, dataDir, topicDefaults, explicitKeys: [...explicit].sort() },
  };
}

/** The server limits a configuration sets (the rest keep SERVER_LIMITS_DEFAULT). */
export function serverLimitsFromConfig(config: BrokerConfig): Partial<ServerLimits> {
  return {
    socketRequestMaxBytes: config.socketRequestMaxBytes,
    messageMaxBytes: config.messageMaxBytes,
    maxConnections: config.maxConnections,
    maxConnectionsPerIp: config.maxConnectionsPerIp,
    connectionsMaxIdleMs: config.connectionsMaxIdleMs,
  };
}

/** The Broker.open options a configuration implies. */
export function brokerOptionsFromConfig(config: BrokerConfig): BrokerOptions {
  return {
    dataDir: config.dataDir,
    defaults: config.topicDefaults,
    retentionCheckIntervalMs: config.retentionCheckIntervalMs,
    cleanerIntervalMs: config.cleanerBackoffMs,
    flushCheckIntervalMs: config.flushSchedulerIntervalMs,
    producerIdExpirationMs: config.producerIdExpirationMs,
    producerIdExpirationCheckIntervalMs: config.producerIdExpirationCheckIntervalMs,
  };
}
