// One representative request and response per API, shared by the round-trip, zero-copy and fuzz tests.
// Values sit at the edges of their types (int64 beyond 32 bits, negative sentinels, nil, empty lists, non-ASCII
// names) so every encoder path is exercised.
import type { ApiDefinition } from "../../../../core/formats/protocol/api-keys.ts";
import { AlterConfigsApi } from "../../../../core/formats/protocol/alter-configs.ts";
import { ApiVersionsApi, apiVersionsResponse } from "../../../../core/formats/protocol/api-versions.ts";
import { CreatePartitionsApi } from "../../../../core/formats/protocol/create-partitions.ts";
import { CreateTopicsApi } from "../../../../core/formats/protocol/create-topics.ts";
import { DeleteTopicsApi } from "../../../../core/formats/protocol/delete-topics.ts";
import { DescribeConfigsApi } from "../../../../core/formats/protocol/describe-configs.ts";
import { FetchApi } from "../../../../core/formats/protocol/fetch.ts";
import { InitProducerIdApi } from "../../../../core/formats/protocol/init-producer-id.ts";
import { ListOffsetsApi } from "../../../../core/formats/protocol/list-offsets.ts";
import { MetadataApi } from "../../../../core/formats/protocol/metadata.ts";
import { ProduceApi } from "../../../../core/formats/protocol/produce.ts";

/** Deterministic bytes of a given length (a stand-in for record batches: the protocol never looks inside). */
export function patternBytes(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    out[i] = state & 0xff;
  }
  return out;
}

export interface Sample {
  api: ApiDefinition<any, any, any, any>;
  request: unknown;
  response: unknown;
}

const T = 1_763_700_000_000; // a millisecond timestamp beyond 32 bits

export const SAMPLES: Sample[] = [
  {
    api: ProduceApi,
    request: {
      transactionalId: null,
      acks: -1,
      timeoutMs: 30000,
      topics: [
        { name: "orders", partitions: [{ index: 0, records: patternBytes(100, 3) }, { index: 7, records: patternBytes(70000, 4) }] },
        { name: "räder", partitions: [{ index: 2, records: new Uint8Array(0) }] },
      ],
    },
    response: {
      topics: [
        {
          name: "orders",
          partitions: [
            { index: 0, errorCode: 0, baseOffset: 2 ** 40 + 5, logAppendTimeMs: -1, logStartOffset: 0, errorMessage: null },
            { index: 7, errorCode: 10, baseOffset: -1, logAppendTimeMs: T, logStartOffset: 12, errorMessage: "too large" },
          ],
        },
      ],
      throttleTimeMs: 0,
    },
  },
  {
    api: FetchApi,
    request: {
      maxWaitMs: 500,
      minBytes: 1,
      maxBytes: 52428800,
      isolationLevel: 1,
      topics: [{ name: "orders", partitions: [{ index: 0, fetchOffset: 2 ** 33, partitionMaxBytes: 1048576 }] }],
    },
    response: {
      throttleTimeMs: 0,
      errorCode: 0,
      topics: [
        {
          name: "orders",
          partitions: [
            {
              index: 0,
              errorCode: 0,
              highWatermark: 2 ** 33 + 10,
              lastStableOffset: 2 ** 33 + 8,
              logStartOffset: 0,
              abortedTransactions: [{ producerId: 4000, firstOffset: 2 ** 33 + 2 }],
              records: patternBytes(65536, 5),
            },
            {
              index: 1,
              errorCode: 1,
              highWatermark: -1,
              lastStableOffset: -1,
              logStartOffset: -1,
              abortedTransactions: null,
              records: new Uint8Array(0),
            },
          ],
        },
      ],
    },
  },
  {
    api: ListOffsetsApi,
    request: { isolationLevel: 0, topics: [{ name: "orders", partitions: [{ index: 0, timestamp: -2 }, { index: 1, timestamp: T }] }] },
    response: {
      throttleTimeMs: 0,
      topics: [
        {
          name: "orders",
          partitions: [
            { index: 0, errorCode: 0, timestamp: -1, offset: 0, leaderEpoch: 0 },
            { index: 1, errorCode: 0, timestamp: T, offset: Number.MAX_SAFE_INTEGER, leaderEpoch: -1 },
          ],
        },
      ],
    },
  },
  {
    api: MetadataApi,
    request: { topics: null, allowAutoTopicCreation: true },
    response: {
      throttleTimeMs: 0,
      brokers: [{ nodeId: 0, host: "127.0.0.1", port: 9192, rack: null }],
      clusterId: "rivulet-test",
      controllerId: 0,
      topics: [
        {
          errorCode: 0,
          name: "orders",
          isInternal: false,
          partitions: [
            { errorCode: 0, partitionIndex: 0, leaderId: 0, leaderEpoch: 3, replicaNodes: [0], isrNodes: [0], offlineReplicas: [] },
          ],
        },
        { errorCode: 3, name: "missing", isInternal: false, partitions: [] },
      ],
    },
  },
  {
    api: ApiVersionsApi,
    request: { clientSoftwareName: "rivulet-js", clientSoftwareVersion: "0.1.0" },
    response: apiVersionsResponse(0),
  },
  {
    api: CreateTopicsApi,
    request: {
      topics: [
        { name: "orders", numPartitions: 3, replicationFactor: -1, configs: [{ name: "cleanup.policy", value: "compact" }] },
        { name: "x".repeat(249), numPartitions: -1, replicationFactor: 1, configs: [{ name: "retention.ms", value: null }] },
      ],
      timeoutMs: 30000,
      validateOnly: false,
    },
    response: {
      throttleTimeMs: 0,
      topics: [{ name: "orders", errorCode: 36, errorMessage: "Topic 'orders' already exists.", numPartitions: -1, replicationFactor: -1 }],
    },
  },
  {
    api: DeleteTopicsApi,
    request: { topicNames: ["orders", "payments"], timeoutMs: 1000 },
    response: { throttleTimeMs: 0, responses: [{ name: "orders", errorCode: 0, errorMessage: null }] },
  },
  {
    api: InitProducerIdApi,
    request: { transactionalId: null, transactionTimeoutMs: 60000, producerId: -1, producerEpoch: -1 },
    response: { throttleTimeMs: 0, errorCode: 0, producerId: 2 ** 45, producerEpoch: 32767 },
  },
  {
    api: DescribeConfigsApi,
    request: { resources: [{ resourceType: 2, resourceName: "orders", configurationKeys: null }, { resourceType: 4, resourceName: "0", configurationKeys: ["log.dirs"] }] },
    response: {
      throttleTimeMs: 0,
      results: [
        {
          errorCode: 0,
          errorMessage: null,
          resourceType: 2,
          resourceName: "orders",
          configs: [{ name: "retention.ms", value: "604800000", readOnly: false, configSource: 5, isSensitive: false }],
        },
      ],
    },
  },
  {
    api: AlterConfigsApi,
    request: { resources: [{ resourceType: 2, resourceName: "orders", configs: [{ name: "retention.ms", value: "1000" }] }], validateOnly: true },
    response: { throttleTimeMs: 0, responses: [{ errorCode: 40, errorMessage: "bad value", resourceType: 2, resourceName: "orders" }] },
  },
  {
    api: CreatePartitionsApi,
    request: { topics: [{ name: "orders", count: 6 }], timeoutMs: 30000, validateOnly: false },
    response: { throttleTimeMs: 100, results: [{ name: "orders", errorCode: 37, errorMessage: null }] },
  },
];
