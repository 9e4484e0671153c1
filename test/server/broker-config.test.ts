import { afterAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  BROKER_CONFIG_KEYS,
  BROKER_DATA_DIR_DEFAULT,
  BROKER_HOST_DEFAULT,
  BROKER_PORT_DEFAULT,
  type BrokerConfig,
  type ConfigEntry,
  FLAG_DATA_DIR,
  FLAG_HOST,
  FLAG_PORT,
  brokerConfigDocs,
  brokerOptionsFromConfig,
  serverLimitsFromConfig,
  parseSetArgument,
  readConfigFile,
  resolveBrokerConfig,
} from "../../server/broker-config.ts";
import { PROPERTIES_FILE_BYTES_MAX } from "../../server/properties.ts";
import { SOCKET_REQUEST_MAX_BYTES_DEFAULT } from "../../core/formats/protocol/frame.ts";
import { SERVER_LIMITS_DEFAULT, resolveServerLimits } from "../../server/server-limits.ts";
import { MESSAGE_MAX_BYTES_DEFAULT } from "../../core/limits.ts";

const root = fs.mkdtempSync(join(tmpdir(), "rivulet-broker-config-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

function set(key: string, value: string): ConfigEntry {
  return { key, value, source: "--set" };
}

function resolved(entries: ConfigEntry[]): BrokerConfig {
  const result = resolveBrokerConfig(entries);
  if (!result.ok) throw new Error(result.message);
  return result.value;
}

function refused(entries: ConfigEntry[]): { error: string; message: string } {
  const result = resolveBrokerConfig(entries);
  if (result.ok) throw new Error("expected the configuration to be refused");
  return result;
}

describe("resolveBrokerConfig", () => {
  test("defaults: 127.0.0.1:9192, ./data, Kafka's defaults", () => {
    const config = resolved([]);
    expect(config.host).toBe(BROKER_HOST_DEFAULT);
    expect(config.host).toBe("127.0.0.1");
    expect(config.port).toBe(BROKER_PORT_DEFAULT);
    expect(config.port).toBe(9192);
    expect(config.dataDir).toBe(BROKER_DATA_DIR_DEFAULT);
    expect(config.numPartitions).toBe(1);
    expect(config.autoCreateTopicsEnable).toBe(true);
    expect(config.socketRequestMaxBytes).toBe(SOCKET_REQUEST_MAX_BYTES_DEFAULT);
    expect(config.messageMaxBytes).toBe(MESSAGE_MAX_BYTES_DEFAULT);
    expect(config.maxConnections).toBe(SERVER_LIMITS_DEFAULT.maxConnections);
    expect(config.maxConnectionsPerIp).toBe(SERVER_LIMITS_DEFAULT.maxConnectionsPerIp);
    expect(config.connectionsMaxIdleMs).toBe(600000);
    expect(serverLimitsFromConfig(config)).toEqual({
      socketRequestMaxBytes: SERVER_LIMITS_DEFAULT.socketRequestMaxBytes,
      messageMaxBytes: SERVER_LIMITS_DEFAULT.messageMaxBytes,
      maxConnections: SERVER_LIMITS_DEFAULT.maxConnections,
      maxConnectionsPerIp: SERVER_LIMITS_DEFAULT.maxConnectionsPerIp,
      connectionsMaxIdleMs: SERVER_LIMITS_DEFAULT.connectionsMaxIdleMs,
    });
    expect(config.sendfileEnable).toBe(true);
    expect(config.topicDefaults).toEqual({});
    expect(config.explicitKeys).toEqual([]);
  });

  test("typed values by Kafka name", () => {
    const config = resolved([
      set("num.partitions", "3"),
      set("auto.create.topics.enable", "FALSE"),
      set("socket.request.max.bytes", "4194304"),
      set("max.connections", "100"),
      set("max.connections.per.ip", "10"),
      set("connections.max.idle.ms", "1000"),
      set("rivulet.sendfile.enable", "false"),
    ]);
    expect(config.numPartitions).toBe(3);
    expect(config.autoCreateTopicsEnable).toBe(false);
    expect(config.socketRequestMaxBytes).toBe(4194304);
    expect(config.maxConnections).toBe(100);
    expect(config.maxConnectionsPerIp).toBe(10);
    expect(config.connectionsMaxIdleMs).toBe(1000);
    expect(resolveServerLimits(serverLimitsFromConfig(config))).toMatchObject({ socketRequestMaxBytes: 4194304, maxConnections: 100 });
    expect(config.sendfileEnable).toBe(false);
  });

  test("later wins: listeners, --host and --port all set the address", () => {
    expect(resolved([set("listeners", "PLAINTEXT://127.0.0.2:9000")])).toMatchObject({ host: "127.0.0.2", port: 9000 });
    expect(resolved([set("listeners", "RIVULET://127.0.0.2:9000"), { key: FLAG_PORT, value: "0", source: "--port" }])).toMatchObject({
      host: "127.0.0.2",
      port: 0,
    });
    expect(resolved([{ key: FLAG_HOST, value: "localhost", source: "--host" }, set("listeners", "RIVULET://:7000")])).toMatchObject({
      host: BROKER_HOST_DEFAULT,
      port: 7000,
    });
    expect(resolved([set("listeners", "RIVULET://[::1]:7000")])).toMatchObject({ host: "::1", port: 7000 });
    expect(resolved([set("num.partitions", "2"), set("num.partitions", "5")]).numPartitions).toBe(5);
  });

  test("log.dirs, log.dir and --data-dir name the one data directory", () => {
    expect(resolved([set("log.dirs", "/a")]).dataDir).toBe("/a");
    expect(resolved([set("log.dirs", "/a"), set("log.dir", "/b")]).dataDir).toBe("/b");
    expect(resolved([set("log.dir", "/b"), { key: FLAG_DATA_DIR, value: "rel/dir", source: "--data-dir" }]).dataDir).toBe("rel/dir");
    expect(refused([set("log.dirs", "/a,/b")]).message).toContain("exactly one directory");
  });

  test("topic defaults pass through to Broker.open by their broker names", () => {
    const config = resolved([
      set("log.retention.hours", "1"),
      set("log.segment.bytes", "1048576"),
      set("log.cleanup.policy", "compact"),
      set("message.max.bytes", "2000000"),
      set("log.retention.check.interval.ms", "1000"),
      set("log.cleaner.backoff.ms", "0"),
      set("producer.id.expiration.ms", "60000"),
    ]);
    expect(config.messageMaxBytes).toBe(2000000);
    expect(config.topicDefaults).toEqual({
      "log.retention.hours": "1",
      "log.segment.bytes": "1048576",
      "log.cleanup.policy": "compact",
      "message.max.bytes": "2000000",
    });
    const options = brokerOptionsFromConfig({ ...config, dataDir: "d" });
    expect(options).toEqual({
      dataDir: "d",
      defaults: config.topicDefaults,
      retentionCheckIntervalMs: 1000,
      cleanerIntervalMs: 0,
      flushCheckIntervalMs: 1000,
      producerIdExpirationMs: 60000,
      producerIdExpirationCheckIntervalMs: 600000,
    });
  });

  test("advertised.listeners is parsed like listeners and defaults to none", () => {
    expect(resolved([]).advertised).toBeNull();
    const config = resolved([set("listeners", "RIVULET://127.0.0.1:9192"), set("advertised.listeners", "RIVULET://localhost:19192")]);
    expect(config.advertised).toEqual({ host: "localhost", port: 19192 });
    expect(config.port).toBe(9192);
    expect(refused([set("advertised.listeners", "localhost:19192")]).error).toBe("invalid_value");
  });

  test("names of Object.prototype members are unknown configs", () => {
    for (const name of ["constructor", "__proto__", "toString"]) expect(refused([set(name, "1")]).error).toBe("unknown_config");
  });

  test("unknown names are refused with the name and the source", () => {
    const failure = refused([{ key: "zookeeper.connect", value: "x", source: "server.properties" }]);
    expect(failure.error).toBe("unknown_config");
    expect(failure.message).toContain("zookeeper.connect");
    expect(failure.message).toContain("server.properties");
    expect(refused([set("log.retention.msec", "1")]).error).toBe("unknown_config");
    // The flags' own keys are not settable as configs, and Kafka names are case-sensitive.
    expect(refused([set("host", "x")]).error).toBe("unknown_config");
    expect(refused([set("NUM.PARTITIONS", "1")]).error).toBe("unknown_config");
  });

  test("bad values are refused with the name, value and reason", () => {
    const cases: [string, string, string][] = [
      ["num.partitions", "0", "at least 1"],
      ["num.partitions", "three", "INT"],
      ["num.partitions", "2147483648", "INT"],
      ["socket.request.max.bytes", "1.5", "INT"],
      ["auto.create.topics.enable", "yes", "true or false"],
      ["connections.max.idle.ms", "0", "at least 1"],
      ["connections.max.idle.ms", "9223372036854775807", "at most"],
      ["max.connections", "0", "at least 1"],
      ["socket.request.max.bytes", "1000", "at least 65536"],
      ["message.max.bytes", "104857600", "at most 67108864"],
      ["listeners", "127.0.0.1:9192", "NAME://host:port"],
      ["listeners", "RIVULET://a:1,RIVULET://b:2", "exactly one"],
      ["listeners", "SSL://127.0.0.1:9192", "listener name"],
      ["listeners", "RIVULET://127.0.0.1:70000", "65535"],
      ["log.retention.ms", "soon", "log.retention.ms"],
      ["log.cleanup.policy", "archive", "log.cleanup.policy"],
      ["log.segment.bytes", "1", "log.segment.bytes"],
    ];
    for (const [key, value, reason] of cases) {
      const failure = refused([set(key, value)]);
      expect(failure.error).toBe("invalid_value");
      expect(failure.message).toContain(reason);
      expect(failure.message).toContain(key);
    }
    expect(refused([{ key: FLAG_PORT, value: "-1", source: "--port" }]).message).toContain("--port");
    expect(refused([{ key: FLAG_HOST, value: "bad host", source: "--host" }]).message).toContain("host");
  });

  test("message.max.bytes must leave room in socket.request.max.bytes", () => {
    const failure = refused([set("socket.request.max.bytes", "1048576"), set("message.max.bytes", "1048576")]);
    expect(failure.message).toContain("below socket.request.max.bytes");
  });

  test("a combination the engine refuses is refused here too", () => {
    const failure = refused([set("log.cleaner.min.compaction.lag.ms", "10"), set("log.cleaner.max.compaction.lag.ms", "5")]);
    expect(failure.error).toBe("invalid_value");
    expect(failure.message).toContain("min.compaction.lag.ms");
  });

  test("every documented setting is a known key, and its documented default is what an empty config resolves to", () => {
    const defaults = resolved([]);
    for (const doc of brokerConfigDocs()) {
      expect(BROKER_CONFIG_KEYS).toContain(doc.name);
      // Setting a documented default explicitly changes nothing.
      const explicit = resolved([set(doc.name, doc.defaultValue)]);
      expect({ ...explicit, explicitKeys: [], topicDefaults: {} }).toEqual({ ...defaults, explicitKeys: [], topicDefaults: {} });
    }
  });

  test("every documented key resolves with a valid value", () => {
    for (const key of BROKER_CONFIG_KEYS) {
      const failure = resolveBrokerConfig([set(key, "not a value of any type ,,")]);
      // Every known key is known: the failure, if any, is about the value.
      if (!failure.ok) expect(failure.error).toBe("invalid_value");
    }
  });
});

describe("config sources", () => {
  test("readConfigFile reads a Kafka server.properties", () => {
    const path = join(root, "server.properties");
    fs.writeFileSync(path, "# comment\nlisteners=PLAINTEXT://127.0.0.1:9300\nlog.dirs=/var/lib/rivulet\nnum.partitions = 4\n");
    const entries = readConfigFile(path);
    if (!entries.ok) throw new Error(entries.message);
    expect(entries.value).toEqual([
      { key: "listeners", value: "PLAINTEXT://127.0.0.1:9300", source: path },
      { key: "log.dirs", value: "/var/lib/rivulet", source: path },
      { key: "num.partitions", value: "4", source: path },
    ]);
    const config = resolved([...entries.value, set("num.partitions", "2")]);
    expect(config).toMatchObject({ host: "127.0.0.1", port: 9300, dataDir: "/var/lib/rivulet", numPartitions: 2 });
    expect(config.explicitKeys).toEqual(["listeners", "log.dirs", "num.partitions"]);
  });

  test("a missing, oversized or malformed file is an unreadable_file error", () => {
    expect(readConfigFile(join(root, "missing.properties"))).toMatchObject({ ok: false, error: "unreadable_file" });
    const big = join(root, "big.properties");
    fs.writeFileSync(big, Buffer.alloc(PROPERTIES_FILE_BYTES_MAX + 1, 0x61));
    expect(readConfigFile(big)).toMatchObject({ ok: false, error: "unreadable_file" });
    const bad = join(root, "bad.properties");
    fs.writeFileSync(bad, "key=\\uZZZZ\n");
    expect(readConfigFile(bad)).toMatchObject({ ok: false, error: "unreadable_file" });
  });

  test("parseSetArgument splits at the first '='", () => {
    expect(parseSetArgument("log.retention.ms=1=2")).toEqual({ ok: true, value: { key: "log.retention.ms", value: "1=2", source: "--set" } });
    expect(parseSetArgument("novalue")).toMatchObject({ ok: false, error: "invalid_value" });
    expect(parseSetArgument("=x")).toMatchObject({ ok: false, error: "invalid_value" });
  });
});
