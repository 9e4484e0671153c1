// Routes a decoded request to its API's handler. Handlers never see bytes: messages.ts has already checked the
// envelope, the api key, the version and every field against the schema.
import type { DecodedRequest } from "../../core/formats/protocol/messages.ts";
import type { Reply, RequestScope, ServerContext } from "../server-context.ts";
import { handleAlterConfigs } from "./alter-configs.ts";
import { handleApiVersions } from "./api-versions.ts";
import { handleCreatePartitions } from "./create-partitions.ts";
import { handleCreateTopics } from "./create-topics.ts";
import { handleDeleteTopics } from "./delete-topics.ts";
import { handleDescribeConfigs } from "./describe-configs.ts";
import { handleFetch } from "./fetch.ts";
import { handleInitProducerId } from "./init-producer-id.ts";
import { handleListOffsets } from "./list-offsets.ts";
import { handleMetadata } from "./metadata.ts";
import { handleProduce } from "./produce.ts";

/** Runs the handler of `decoded`'s API; synchronous handlers answer synchronously. */
export function dispatch(context: ServerContext, scope: RequestScope, decoded: DecodedRequest): Reply | Promise<Reply> {
  const { header } = decoded;
  switch (decoded.api) {
    case "ApiVersions":
      return handleApiVersions(header);
    case "Metadata":
      return handleMetadata(context, header, decoded.request);
    case "CreateTopics":
      return handleCreateTopics(context, header, decoded.request);
    case "DeleteTopics":
      return handleDeleteTopics(context, header, decoded.request);
    case "CreatePartitions":
      return handleCreatePartitions(context, header, decoded.request);
    case "DescribeConfigs":
      return handleDescribeConfigs(context, header, decoded.request);
    case "AlterConfigs":
      return handleAlterConfigs(context, header, decoded.request);
    case "ListOffsets":
      return handleListOffsets(context, header, decoded.request);
    case "Produce":
      return handleProduce(context, header, decoded.request);
    case "Fetch":
      return handleFetch(context, scope, header, decoded.request);
    case "InitProducerId":
      return handleInitProducerId(context, header, decoded.request);
  }
}
