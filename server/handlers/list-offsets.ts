// ListOffsets: per partition, the offset for a timestamp. -1 latest (the high watermark; also under
// read_committed, since there are no transactions yet the last stable offset is the high watermark), -2
// earliest (log start), -3 the batch holding the largest timestamp, a real timestamp the first batch whose
// maxTimestamp is at least it (offset -1 and timestamp -1 when there is none). Other negative values are not
// Kafka timestamps this broker knows and are refused per partition.
import { encodeResponse, type RequestHeader } from "../../core/formats/protocol/envelope.ts";
import {
  ListOffsetsApi,
  type ListOffsetsRequest,
  type ListOffsetsResponse,
  ListOffsetsTimestamp,
} from "../../core/formats/protocol/list-offsets.ts";
import type { PartitionLog } from "../../core/engine/partition-log.ts";
import { type Reply, type ServerContext, errorCode } from "../server-context.ts";

type PartitionResult = ListOffsetsResponse["topics"][number]["partitions"][number];

function notFound(index: number, code: number): PartitionResult {
  return { index, errorCode: code, timestamp: -1, offset: -1, leaderEpoch: -1 };
}

function byTimestamp(log: PartitionLog, index: number, timestamp: number): PartitionResult {
  const found = log.offsetForTimestamp(timestamp);
  if (!found.ok) return notFound(index, errorCode("KAFKA_STORAGE_ERROR"));
  if (found.value === null) return { index, errorCode: 0, timestamp: -1, offset: -1, leaderEpoch: 0 };
  return { index, errorCode: 0, timestamp: found.value.timestamp, offset: found.value.offset, leaderEpoch: 0 };
}

function listOffset(log: PartitionLog, index: number, timestamp: number): PartitionResult {
  switch (timestamp) {
    case ListOffsetsTimestamp.LATEST:
      return { index, errorCode: 0, timestamp: -1, offset: log.latestOffset(), leaderEpoch: 0 };
    case ListOffsetsTimestamp.EARLIEST:
      return { index, errorCode: 0, timestamp: -1, offset: log.earliestOffset(), leaderEpoch: 0 };
    case ListOffsetsTimestamp.MAX_TIMESTAMP: {
      let largest = -1;
      for (const segment of log.segmentTimestamps()) largest = Math.max(largest, segment.largestTimestamp);
      if (largest < 0 || log.highWatermark === log.logStartOffset) return { index, errorCode: 0, timestamp: -1, offset: -1, leaderEpoch: 0 };
      return byTimestamp(log, index, largest);
    }
    default:
      if (timestamp < 0) return notFound(index, errorCode("INVALID_REQUEST"));
      return byTimestamp(log, index, timestamp);
  }
}

/** Answers ListOffsets. */
export function handleListOffsets(context: ServerContext, header: RequestHeader, request: ListOffsetsRequest): Reply {
  const topics: ListOffsetsResponse["topics"] = request.topics.map((topic) => ({
    name: topic.name,
    partitions: topic.partitions.map(({ index, timestamp }) => {
      const log = context.broker.partition(topic.name, index);
      return log.ok ? listOffset(log.value, index, timestamp) : notFound(index, errorCode(log.error));
    }),
  }));
  return encodeResponse(ListOffsetsApi, header.apiVersion, header.correlationId, { throttleTimeMs: 0, topics });
}
