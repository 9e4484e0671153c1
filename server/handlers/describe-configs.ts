// DescribeConfigs: a topic's effective configs with where each comes from (Kafka's config sources), or this
// broker's server settings (resource name "0", its node id, or "" as Kafka's default-broker resource). A nil key
// list asks for every config; keys the resource does not have are left out, as in Kafka.
import type { ConfigSource as EngineConfigSource } from "../../core/engine/broker.ts";
import {
  ConfigResourceType,
  ConfigSource,
  DescribeConfigsApi,
  type DescribeConfigsRequest,
  type DescribeConfigsResponse,
} from "../../core/formats/protocol/describe-configs.ts";
import { encodeResponse, type RequestHeader } from "../../core/formats/protocol/envelope.ts";
import { NODE_ID, type Reply, type ServerContext, errorCode } from "../server-context.ts";

type Result = DescribeConfigsResponse["results"][number];
type Entry = Result["configs"][number];

const SOURCE: Record<EngineConfigSource, number> = {
  DYNAMIC_TOPIC_CONFIG: ConfigSource.DYNAMIC_TOPIC_CONFIG,
  STATIC_BROKER_CONFIG: ConfigSource.STATIC_BROKER_CONFIG,
  DEFAULT_CONFIG: ConfigSource.DEFAULT_CONFIG,
};

/** The server's own settings by Kafka broker config name (what a broker resource describes). */
export function brokerConfigs(context: ServerContext): Record<string, string> {
  const { limits } = context;
  return {
    "auto.create.topics.enable": String(context.autoCreateTopicsEnable),
    "num.partitions": String(context.numPartitions),
    "socket.request.max.bytes": String(limits.socketRequestMaxBytes),
    "message.max.bytes": String(limits.messageMaxBytes),
    "max.connections": String(limits.maxConnections),
    "max.connections.per.ip": String(limits.maxConnectionsPerIp),
    "connections.max.idle.ms": String(limits.connectionsMaxIdleMs),
    "fetch.max.bytes": String(limits.fetchMaxBytes),
  };
}

function selected(keys: readonly string[] | null, name: string): boolean {
  return keys === null || keys.includes(name);
}

function describeResource(context: ServerContext, resource: DescribeConfigsRequest["resources"][number]): Result {
  const { resourceType, resourceName, configurationKeys } = resource;
  const base = { resourceType, resourceName };
  if (resourceType === ConfigResourceType.TOPIC) {
    const described = context.broker.describeTopic(resourceName);
    if (!described.ok) return { ...base, errorCode: errorCode(described.error), errorMessage: described.message, configs: [] };
    const configs: Entry[] = [];
    for (const [name, value] of Object.entries(described.value.configs)) {
      if (!selected(configurationKeys, name)) continue;
      const source = described.value.configSources[name];
      configs.push({ name, value, readOnly: false, configSource: source === undefined ? ConfigSource.UNKNOWN : SOURCE[source], isSensitive: false });
    }
    return { ...base, errorCode: 0, errorMessage: null, configs };
  }
  if (resourceType === ConfigResourceType.BROKER) {
    if (resourceName !== String(NODE_ID) && resourceName !== "") {
      return { ...base, errorCode: errorCode("INVALID_REQUEST"), errorMessage: `Unknown broker '${resourceName}'.`, configs: [] };
    }
    const configs: Entry[] = [];
    for (const [name, value] of Object.entries(brokerConfigs(context))) {
      if (selected(configurationKeys, name)) configs.push({ name, value, readOnly: true, configSource: ConfigSource.STATIC_BROKER_CONFIG, isSensitive: false });
    }
    return { ...base, errorCode: 0, errorMessage: null, configs };
  }
  return { ...base, errorCode: errorCode("INVALID_REQUEST"), errorMessage: `Unsupported resource type ${resourceType}.`, configs: [] };
}

/** Answers DescribeConfigs. */
export function handleDescribeConfigs(context: ServerContext, header: RequestHeader, request: DescribeConfigsRequest): Reply {
  const results = request.resources.map((resource) => describeResource(context, resource));
  return encodeResponse(DescribeConfigsApi, header.apiVersion, header.correlationId, { throttleTimeMs: 0, results });
}
