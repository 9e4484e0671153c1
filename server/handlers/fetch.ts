// Fetch: stored batches as they are, as file ranges of segment files (never decoded or re-encoded), under
// Kafka's size rules: each partition gets at most partitionMaxBytes and the response at most maxBytes (itself
// clamped to the broker's fetch.max.bytes), except that the first batch of the first partition with data is
// sent whole even when larger, so a consumer always makes progress.
//
// Long poll (Kafka's DelayedFetch): when the response would hold fewer than minBytes and maxWaitMs > 0, the
// fetch parks in FetchWaiters on every partition it asked for; an append to any of them re-reads the whole
// request, and it answers as soon as it holds minBytes, or with what it has once maxWaitMs (clamped to
// fetchMaxWaitMsMax) passes. A request with a partition error answers at once, as in Kafka. When the server
// holds its maximum of parked fetches, a new one answers at once with what it has.
import type { ByteRange } from "../../core/engine/partition-log.ts";
import { encodeResponseParts, type RequestHeader } from "../../core/formats/protocol/envelope.ts";
import { FetchApi, type FetchRequest, type FetchResponseInput, IsolationLevel } from "../../core/formats/protocol/fetch.ts";
import type { FramePart } from "../../core/formats/protocol/frame.ts";
import { partitionKey } from "../fetch-waiters.ts";
import { pinRanges } from "../file-range.ts";
import { CLOSE_CONNECTION, NO_REPLY, type Reply, type RequestScope, type ServerContext, errorCode } from "../server-context.ts";

type PartitionInput = FetchResponseInput["topics"][number]["partitions"][number];

const NO_RECORDS = new Uint8Array(0);

interface FetchRead {
  response: FetchResponseInput;
  recordBytes: number;
  anyError: boolean;
}

function failedPartition(index: number, code: number): PartitionInput {
  return { index, errorCode: code, highWatermark: -1, lastStableOffset: -1, logStartOffset: -1, abortedTransactions: null, records: NO_RECORDS };
}

/** Reads every requested partition once, under the request's size limits. */
export function readFetch(context: ServerContext, request: FetchRequest): FetchRead {
  const maxBytes = Math.min(Math.max(request.maxBytes, 0), context.limits.fetchMaxBytes);
  const aborted = request.isolationLevel === IsolationLevel.READ_COMMITTED ? [] : null;
  let recordBytes = 0;
  let anyError = false;
  const topics = request.topics.map((topic) => ({
    name: topic.name,
    partitions: topic.partitions.map(({ index, fetchOffset, partitionMaxBytes }): PartitionInput => {
      const log = context.broker.partition(topic.name, index);
      if (!log.ok) {
        anyError = true;
        return failedPartition(index, errorCode(log.error));
      }
      const limit = Math.min(Math.max(partitionMaxBytes, 0), maxBytes - recordBytes);
      // Kafka's minOneMessage: only while the response holds no records yet.
      const read = log.value.read(fetchOffset, Math.max(limit, 0), recordBytes === 0);
      if (!read.ok) {
        anyError = true;
        return failedPartition(index, errorCode(read.error === "offset_out_of_range" ? "OFFSET_OUT_OF_RANGE" : "KAFKA_STORAGE_ERROR"));
      }
      const ranges: ByteRange[] = read.value.ranges;
      for (const range of ranges) recordBytes += range.length;
      return {
        index,
        errorCode: 0,
        highWatermark: read.value.highWatermark,
        lastStableOffset: read.value.highWatermark,
        logStartOffset: read.value.logStartOffset,
        abortedTransactions: aborted,
        records: ranges.length === 0 ? NO_RECORDS : ranges,
      };
    }),
  }));
  return { response: { throttleTimeMs: 0, errorCode: 0, topics }, recordBytes, anyError };
}

/** Answers Fetch now, or parks it until minBytes arrive or maxWaitMs passes. */
export function handleFetch(context: ServerContext, scope: RequestScope, header: RequestHeader, request: FetchRequest): Reply | Promise<Reply> {
  const encode = (read: FetchRead): Reply => encodeResponseParts(FetchApi, header.apiVersion, header.correlationId, read.response);
  // A parked fetch answers from a timer or a microtask and the connection writes the answer later: its ranges are
  // pinned in the block that read them (file-range.ts, "Validity").
  const encodeNow = (read: FetchRead): Reply => pinRanges(encode(read) as FramePart[]) ?? CLOSE_CONNECTION;
  const first = readFetch(context, request);
  const waitMs = Math.min(request.maxWaitMs, context.limits.fetchMaxWaitMsMax);
  if (first.anyError || first.recordBytes >= request.minBytes || waitMs <= 0) return encode(first);
  const keys: string[] = [];
  for (const topic of request.topics) for (const partition of topic.partitions) keys.push(partitionKey(topic.name, partition.index));
  return new Promise<Reply>((resolve, reject) => {
    let unregister = (): void => {};
    // Every way out leaves the connection's close list, so a long-lived connection's long polls do not pile up there.
    const answer = (reply: Reply): void => {
      unregister();
      resolve(reply);
    };
    const fail = (error: unknown): void => {
      unregister();
      reject(error);
    };
    // These run from a microtask or a timer: a throw there would escape every handler, so it fails this request.
    const waiter = context.fetchWaiters.park(keys, waitMs, {
      recheck() {
        try {
          if (scope.closed) {
            answer(NO_REPLY);
            return true;
          }
          const read = readFetch(context, request);
          if (!read.anyError && read.recordBytes < request.minBytes) return false;
          answer(encodeNow(read));
        } catch (error) {
          fail(error);
        }
        return true;
      },
      expire() {
        try {
          answer(scope.closed ? NO_REPLY : encodeNow(readFetch(context, request)));
        } catch (error) {
          fail(error);
        }
      },
    });
    if (waiter === null) {
      resolve(encodeNow(readFetch(context, request)));
      return;
    }
    unregister = scope.onClose(() => {
      context.fetchWaiters.cancel(waiter);
      resolve(NO_REPLY);
    });
  });
}
