// `rivulet topics create|list|describe|delete|alter`: Kafka's kafka-topics.sh (and the topic half of
// kafka-configs.sh) on the SDK's Admin. Output is line-oriented text in Kafka's describe format, so scripts that
// grep kafka-topics output read ours.
//
//   rivulet topics create --topic rides --partitions 3 --config retention.ms=86400000
//   rivulet topics describe --topic rides
//   rivulet topics alter --topic rides --partitions 6 --config cleanup.policy=compact --delete-config retention.ms
import { EXIT_OK, type ClientCliIo, UsageError, clientFor, integerFlag, keyValues, parseFlags, runCommand, write } from "./cli-io.ts";

const USAGE = `Usage: rivulet topics <create|list|describe|delete|alter> [options]

  create    --topic T [--partitions N] [--replication-factor N] [--config k=v]... [--if-not-exists]
  list
  describe  [--topic T]...                      (every topic when none is named)
  delete    --topic T... [--if-exists]
  alter     --topic T [--partitions N] [--config k=v]... [--delete-config k]...

Options:
  --bootstrap-server HOST:PORT[,...]   Broker to talk to (default 127.0.0.1:9192)

Docs: docs/cli-clients.md`;

const FLAGS = {
  topic: { type: "string", multiple: true },
  partitions: { type: "string" },
  "replication-factor": { type: "string" },
  config: { type: "string", multiple: true },
  "delete-config": { type: "string", multiple: true },
  "if-not-exists": { type: "boolean" },
  "if-exists": { type: "boolean" },
} as const;

/** Runs `rivulet topics ...` with `argv` after "topics"; resolves with the exit code. */
export async function runTopics(argv: readonly string[], io: ClientCliIo): Promise<number> {
  return runCommand("topics", USAGE, io, async () => {
    const { values, positionals } = parseFlags(argv, FLAGS);
    if (values.help === true) {
      await write(io.stdout, `${USAGE}\n`);
      return EXIT_OK;
    }
    const [action, ...extra] = positionals;
    if (action === undefined) throw new UsageError("name an action: create, list, describe, delete or alter");
    if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
    const topics = values.topic ?? [];
    const partitions = integerFlag("partitions", values.partitions, 1, 0x7fffffff);
    const replicationFactor = integerFlag("replication-factor", values["replication-factor"], 1, 0x7fff);
    const configs = keyValues("config", values.config);
    const deleted = values["delete-config"] ?? [];
    const one = (): string => {
      if (topics.length !== 1) throw new UsageError(`${action} takes exactly one --topic`);
      return topics[0] as string;
    };
    const admin = clientFor(values["bootstrap-server"], "rivulet-topics").admin();
    try {
      switch (action) {
        case "create": {
          const topic = one();
          const created = await admin.createTopics({
            topics: [{ topic, ...(partitions === undefined ? {} : { numPartitions: partitions }), ...(replicationFactor === undefined ? {} : { replicationFactor }), configs }],
            ifNotExists: values["if-not-exists"] === true,
          });
          const result = created[0];
          await write(io.stdout, result?.created === false ? `Topic ${topic} already exists.\n` : `Created topic ${topic}.\n`);
          return EXIT_OK;
        }
        case "list": {
          if (topics.length > 0) throw new UsageError("list takes no --topic");
          const names = (await admin.listTopics()).sort();
          await write(io.stdout, names.map((name) => `${name}\n`).join(""));
          return EXIT_OK;
        }
        case "describe": {
          const descriptions = await admin.describeTopics(topics.length === 0 ? undefined : topics);
          descriptions.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
          const configsByTopic =
            descriptions.length === 0
              ? []
              : await admin.describeConfigs({ resources: descriptions.map((description) => ({ type: "topic" as const, name: description.name })) });
          let out = "";
          for (const description of descriptions) {
            const overrides = configsByTopic.find((resource) => resource.name === description.name)?.configs.filter((entry) => entry.source === "DYNAMIC_TOPIC_CONFIG") ?? [];
            const replication = description.partitions[0]?.replicas.length ?? 0;
            out += `Topic: ${description.name}\tPartitionCount: ${description.partitions.length}\tReplicationFactor: ${replication}\tConfigs: ${overrides.map((entry) => `${entry.name}=${entry.value ?? ""}`).join(",")}\n`;
            for (const partition of description.partitions) {
              out += `\tTopic: ${description.name}\tPartition: ${partition.partition}\tLeader: ${partition.leader}\tReplicas: ${partition.replicas.join(",")}\tIsr: ${partition.isr.join(",")}\n`;
            }
          }
          await write(io.stdout, out);
          return EXIT_OK;
        }
        case "delete": {
          if (topics.length === 0) throw new UsageError("delete takes --topic (repeatable)");
          await admin.deleteTopics({ topics, ifExists: values["if-exists"] === true });
          await write(io.stdout, topics.map((topic) => `Deleted topic ${topic}.\n`).join(""));
          return EXIT_OK;
        }
        case "alter": {
          const topic = one();
          if (partitions === undefined && Object.keys(configs).length === 0 && deleted.length === 0) {
            throw new UsageError("alter needs --partitions, --config or --delete-config");
          }
          if (partitions !== undefined) {
            await admin.createPartitions({ topicPartitions: [{ topic, count: partitions }] });
            await write(io.stdout, `Topic ${topic} now has ${partitions} partitions.\n`);
          }
          if (Object.keys(configs).length > 0 || deleted.length > 0) {
            // AlterConfigs replaces a topic's whole set of overrides (Kafka's semantics): merge with what is set.
            const [current] = await admin.describeConfigs({ resources: [{ type: "topic", name: topic }] });
            const merged: Record<string, string | null> = {};
            for (const entry of current?.configs ?? []) if (entry.source === "DYNAMIC_TOPIC_CONFIG" && entry.value !== null) merged[entry.name] = entry.value;
            for (const [name, value] of Object.entries(configs)) merged[name] = value;
            for (const name of deleted) delete merged[name];
            await admin.alterConfigs({ resources: [{ type: "topic", name: topic, configs: merged }] });
            await write(io.stdout, `Updated configs of topic ${topic}.\n`);
          }
          return EXIT_OK;
        }
        default:
          throw new UsageError(`unknown action ${JSON.stringify(action)}`);
      }
    } finally {
      await admin.disconnect();
    }
  });
}
