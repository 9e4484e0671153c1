import { expect, test } from "bun:test";
import * as protocol from "../../../../core/formats/protocol/index.ts";

test("the public surface exposes framing, envelopes, errors and every API", () => {
  for (const name of ["FrameReader", "encodeRequest", "encodeRequestParts", "encodeResponseParts", "decodeRequest",
    "decodeResponseEnvelope", "decodeResponseBody", "RivuletError", "ErrorCode", "ApiKey", "ProduceApi", "FetchApi",
    "ListOffsetsApi", "MetadataApi", "ApiVersionsApi", "CreateTopicsApi", "DeleteTopicsApi", "CreatePartitionsApi",
    "DescribeConfigsApi", "AlterConfigsApi", "InitProducerIdApi", "SOCKET_REQUEST_MAX_BYTES_DEFAULT"]) {
    expect(protocol).toHaveProperty(name);
  }
});
