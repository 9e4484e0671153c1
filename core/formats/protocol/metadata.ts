// Metadata (api key 3): brokers, and topics with their partitions and leaders. A nil topic list asks for every
// topic; an empty list asks for none (only brokers). With allowAutoTopicCreation, unknown topics are created
// when the broker's auto.create.topics.enable is on, as in Kafka.
//
// Request v0:
//   [topics: [str] | nil, allowAutoTopicCreation: bool]
// Response v0:
//   [throttleTimeMs: int32,
//    brokers: [[nodeId: int32, host: str, port: int32, rack: str | nil]],
//    clusterId: str | nil,
//    controllerId: int32,
//    topics: [[errorCode: int16, name: str, isInternal: bool,
//              partitions: [[errorCode: int16, partitionIndex: int32, leaderId: int32, leaderEpoch: int32,
//                            replicaNodes: [int32], isrNodes: [int32], offlineReplicas: [int32]]]]]]
import { defineApi } from "./api-keys.ts";
import { type Decoded, array, boolean, int16, int32, nullable, string, struct } from "./schema.ts";

const metadataRequestV0 = struct([
  ["topics", nullable(array(string))],
  ["allowAutoTopicCreation", boolean],
]);

const metadataPartitionV0 = struct([
  ["errorCode", int16],
  ["partitionIndex", int32],
  ["leaderId", int32],
  ["leaderEpoch", int32],
  ["replicaNodes", array(int32)],
  ["isrNodes", array(int32)],
  ["offlineReplicas", array(int32)],
]);

const metadataResponseV0 = struct([
  ["throttleTimeMs", int32],
  ["brokers", array(struct([["nodeId", int32], ["host", string], ["port", int32], ["rack", nullable(string)]]))],
  ["clusterId", nullable(string)],
  ["controllerId", int32],
  [
    "topics",
    array(struct([["errorCode", int16], ["name", string], ["isInternal", boolean], ["partitions", array(metadataPartitionV0)]])),
  ],
]);

/** A Metadata request. */
export type MetadataRequest = Decoded<typeof metadataRequestV0>;
/** A Metadata response. */
export type MetadataResponse = Decoded<typeof metadataResponseV0>;

/** The Metadata API. */
export const MetadataApi = defineApi("Metadata", { 0: { request: metadataRequestV0, response: metadataResponseV0 } });
