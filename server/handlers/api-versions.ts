// ApiVersions: the ranges this build speaks. Unknown versions never get here: messages.ts answers them with a
// version-0 body carrying UNSUPPORTED_VERSION (Kafka's step-down rule).
import { ApiVersionsApi, apiVersionsResponse } from "../../core/formats/protocol/api-versions.ts";
import type { RequestHeader } from "../../core/formats/protocol/envelope.ts";
import { encodeResponse } from "../../core/formats/protocol/envelope.ts";
import { ErrorCode } from "../../core/formats/protocol/errors.ts";
import type { Reply } from "../server-context.ts";

// The answer never changes: encoded once per version and correlation id only.
/** Answers ApiVersions with every supported range. */
export function handleApiVersions(header: RequestHeader): Reply {
  return encodeResponse(ApiVersionsApi, header.apiVersion, header.correlationId, apiVersionsResponse(ErrorCode.NONE));
}
