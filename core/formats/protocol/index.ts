// The protocol's public surface, for the broker (server/) and the SDK (client/): framing, envelopes, the error
// table and every message. docs/protocol.md is the spec these implement.
export * from "./frame.ts";
export * from "./errors.ts";
export * from "./api-keys.ts";
export * from "./envelope.ts";
export * from "./messages.ts";
export { type DecodeFailure, type DecodeResult } from "./schema.ts";
export { INLINE_BIN_BYTES_MAX, MsgpackWriter } from "./msgpack.ts";
export * from "./api-versions.ts";
export * from "./metadata.ts";
export * from "./create-topics.ts";
export * from "./delete-topics.ts";
export * from "./create-partitions.ts";
export * from "./describe-configs.ts";
export * from "./alter-configs.ts";
export * from "./produce.ts";
export * from "./fetch.ts";
export * from "./list-offsets.ts";
export * from "./init-producer-id.ts";
