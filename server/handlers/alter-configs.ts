// AlterConfigs with Kafka's (non-incremental) semantics: the entries given replace the topic's whole set of
// dynamic configs, so every current override left out of the request returns to its default. Broker configs are
// static here (set at start-up): altering them is refused with INVALID_REQUEST.
import { resolveTopicConfig, validateTopicConfigs } from "../../core/engine/topic-config.ts";
import { AlterConfigsApi, type AlterConfigsRequest, type AlterConfigsResponse } from "../../core/formats/protocol/alter-configs.ts";
import { ConfigResourceType } from "../../core/formats/protocol/describe-configs.ts";
import { encodeResponse, type RequestHeader } from "../../core/formats/protocol/envelope.ts";
import { type Reply, type ServerContext, errorCode } from "../server-context.ts";
import { configsToSet, hasDuplicateNames, unknownConfigName } from "./config-entries.ts";

type Response = AlterConfigsResponse["responses"][number];
type Resource = AlterConfigsRequest["resources"][number];

async function alterResource(context: ServerContext, resource: Resource, validateOnly: boolean): Promise<Response> {
  const { resourceType, resourceName } = resource;
  const base = { resourceType, resourceName };
  if (resourceType !== ConfigResourceType.TOPIC) {
    const what = resourceType === ConfigResourceType.BROKER ? "Broker configs are static (set at start-up)." : `Unsupported resource type ${resourceType}.`;
    return { ...base, errorCode: errorCode("INVALID_REQUEST"), errorMessage: what };
  }
  if (hasDuplicateNames(resource.configs)) return { ...base, errorCode: errorCode("INVALID_REQUEST"), errorMessage: "A config name appears more than once." };
  const described = context.broker.describeTopic(resourceName);
  if (!described.ok) return { ...base, errorCode: errorCode(described.error), errorMessage: described.message };
  const unknown = unknownConfigName(resource.configs);
  if (unknown !== undefined) return { ...base, errorCode: errorCode("INVALID_CONFIG"), errorMessage: `Unknown topic config name: ${unknown}` };
  const wanted = configsToSet(resource.configs);
  if (validateOnly) {
    const valid = validateTopicConfigs(wanted);
    const resolved = valid.ok ? resolveTopicConfig(valid.value) : valid;
    return resolved.ok ? { ...base, errorCode: 0, errorMessage: null } : { ...base, errorCode: errorCode("INVALID_CONFIG"), errorMessage: resolved.message };
  }
  const changes = Object.create(null) as Record<string, string | null>;
  // Current overrides not named again go back to their defaults (Kafka's replace-all semantics).
  for (const [name, source] of Object.entries(described.value.configSources)) if (source === "DYNAMIC_TOPIC_CONFIG") changes[name] = null;
  for (const [name, value] of Object.entries(wanted)) changes[name] = String(value);
  const altered = await context.broker.alterConfigs(resourceName, changes);
  return altered.ok ? { ...base, errorCode: 0, errorMessage: null } : { ...base, errorCode: errorCode(altered.error), errorMessage: altered.message };
}

/** Answers AlterConfigs. */
export async function handleAlterConfigs(context: ServerContext, header: RequestHeader, request: AlterConfigsRequest): Promise<Reply> {
  const responses: Response[] = [];
  for (const resource of request.resources) responses.push(await alterResource(context, resource, request.validateOnly));
  return encodeResponse(AlterConfigsApi, header.apiVersion, header.correlationId, { throttleTimeMs: 0, responses });
}
