// Produce: every batch of a partition is validated in full (frame, magic, CRC, records, the topic's
// max.message.bytes) before any of that partition is appended; then the batches are appended in order (offsets
// assigned by patching baseOffset, outside the CRC) and waiting fetches are told. acks=1 answers once the bytes
// reached the OS, acks=all (-1) once the engine's group-commit fsync covers them, acks=0 never (and closes the
// connection when something failed, as Kafka does, since there is no other way to tell the producer).
//
// Appends happen synchronously while the request is dispatched, so pipelined Produce requests on one connection
// (and across connections, in arrival order) are appended in the order they were read. The connection relies on
// it too: once dispatch returns it gives the request's frame buffer back to its reader for the next request, so
// nothing here may keep a view of the records past that (the log writes them, and keeps none).
//
// Idempotent batches (producer id set) go through the engine's producer state, all or nothing per partition: a
// retried batch (a duplicate of one of the producer's last five) is answered with its original offsets and not
// written again; a sequence gap, an old epoch or an unknown producer is refused before anything is written.
//
// Error codes per partition: a topic or partition that does not exist UNKNOWN_TOPIC_OR_PARTITION; an OFFLINE one,
// or an append or fsync that failed, KAFKA_STORAGE_ERROR (indeterminate); a batch over max.message.bytes
// MESSAGE_TOO_LARGE; bad bytes CORRUPT_MESSAGE; bad records or a client-sent control batch INVALID_RECORD; an
// unknown codec UNSUPPORTED_COMPRESSION_TYPE; OUT_OF_ORDER_SEQUENCE_NUMBER, INVALID_PRODUCER_EPOCH,
// UNKNOWN_PRODUCER_ID from the producer state.
import type { Offset } from "../../core/engine/offsets.ts";
import type { AppendBatchesResult, PartitionLog } from "../../core/engine/partition-log.ts";
import { encodeResponse, type RequestHeader } from "../../core/formats/protocol/envelope.ts";
import type { ErrorName } from "../../core/formats/protocol/errors.ts";
import { Acks, ProduceApi, type ProduceRequest, type ProduceResponse } from "../../core/formats/protocol/produce.ts";
import { type RecordBatchError, validateRecordBatch } from "../../core/formats/record-batch.ts";
import { ATTRIBUTE_CONTROL_BIT, LENGTH_OFFSET, LOG_OVERHEAD_BYTES } from "../../core/formats/record-batch-header.ts";
import { BATCH_BYTES_MAX } from "../../core/limits.ts";
import { partitionKey } from "../fetch-waiters.ts";
import { CLOSE_CONNECTION, NO_REPLY, type Reply, type ServerContext, errorCode } from "../server-context.ts";

type PartitionResponse = ProduceResponse["topics"][number]["partitions"][number];

const BATCH_ERRORS: Record<RecordBatchError, ErrorName> = {
  incomplete: "CORRUPT_MESSAGE",
  bad_length: "CORRUPT_MESSAGE",
  bad_magic: "CORRUPT_MESSAGE",
  crc_mismatch: "CORRUPT_MESSAGE",
  decompression_failed: "CORRUPT_MESSAGE",
  too_large: "MESSAGE_TOO_LARGE",
  decompressed_too_large: "MESSAGE_TOO_LARGE",
  unsupported_codec: "UNSUPPORTED_COMPRESSION_TYPE",
  bad_record: "INVALID_RECORD",
  record_count_mismatch: "INVALID_RECORD",
  offset_delta_mismatch: "INVALID_RECORD",
  varint_overflow: "INVALID_RECORD",
  out_of_range: "INVALID_RECORD",
};

/** Why a partition's records were refused before anything was written. */
export interface BatchRejection {
  error: ErrorName;
  message: string;
}

/**
 * Splits a partition's records into whole batches, validating each completely; the batches (views into the
 * request frame) or the first reason to refuse them all.
 */
export function validateBatches(records: Uint8Array, maxMessageBytes: number): Uint8Array[] | BatchRejection {
  if (records.byteLength === 0) return { error: "INVALID_RECORD", message: "The produce request holds no record batch." };
  const batches: Uint8Array[] = [];
  const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
  let position = 0;
  while (position < records.byteLength) {
    if (records.byteLength - position < LOG_OVERHEAD_BYTES) return { error: "CORRUPT_MESSAGE", message: `Truncated batch at byte ${position}.` };
    const length = view.getInt32(position + LENGTH_OFFSET);
    const sizeBytes = LOG_OVERHEAD_BYTES + length;
    if (length <= 0) return { error: "CORRUPT_MESSAGE", message: `Bad batch length ${length} at byte ${position}.` };
    // Checked before validation reads a byte of it: the topic's own limit, like Kafka's RecordTooLargeException.
    if (sizeBytes > maxMessageBytes) {
      return { error: "MESSAGE_TOO_LARGE", message: `The batch at byte ${position} is ${sizeBytes} bytes, over max.message.bytes ${maxMessageBytes}.` };
    }
    const batch = records.subarray(position, Math.min(position + sizeBytes, records.byteLength));
    const valid = validateRecordBatch(batch, { maxBatchBytes: Math.min(BATCH_BYTES_MAX, Math.max(maxMessageBytes, LOG_OVERHEAD_BYTES)) });
    if (!valid.ok) return { error: BATCH_ERRORS[valid.error], message: `The batch at byte ${position} is invalid: ${valid.error}.` };
    if ((valid.value.attributes & ATTRIBUTE_CONTROL_BIT) !== 0) return { error: "INVALID_RECORD", message: "Clients may not write control batches." };
    batches.push(batch);
    position += sizeBytes;
  }
  return batches;
}

function failed(index: number, error: ErrorName, message: string | null = null): PartitionResponse {
  return { index, errorCode: errorCode(error), baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1, errorMessage: message };
}

interface Appended {
  response: PartitionResponse;
  /** The log and last offset acks=all waits for, when the append happened. */
  log?: PartitionLog;
  lastOffset?: Offset;
}

function appendPartition(context: ServerContext, topic: string, index: number, records: Uint8Array): Appended {
  const log = context.broker.partition(topic, index);
  if (!log.ok) return { response: failed(index, log.error, log.message) };
  const config = context.broker.topicConfig(topic);
  if (!config.ok) return { response: failed(index, config.error, config.message) };
  const batches = validateBatches(records, config.value.maxMessageBytes);
  if (!Array.isArray(batches)) return { response: failed(index, batches.error, batches.message) };
  let appended: AppendBatchesResult;
  try {
    appended = log.value.appendBatches(batches);
  } catch (error) {
    // A write that failed, or a log that failed an fsync earlier and refuses appends: some batches may be in,
    // and earlier writes may not be durable, so the outcome is KAFKA_STORAGE_ERROR (indeterminate).
    return { response: failed(index, "KAFKA_STORAGE_ERROR", `Append failed: ${(error as Error).message}`) };
  }
  // An idempotent producer's gap, fence or unknown id: nothing of the partition was written (definite).
  if (!appended.ok) return { response: failed(index, appended.error, appended.message) };
  const results = appended.value;
  const first = results[0]!;
  const lastOffset = results[results.length - 1]!.lastOffset;
  const baseOffset = first.baseOffset;
  const logAppendTimeMs = first.logAppendTime;
  // Duplicates (a retried idempotent batch) are answered with their original offsets and wrote nothing.
  if (results.some((result) => !result.duplicate)) context.fetchWaiters.notify(partitionKey(topic, index));
  return {
    response: { index, errorCode: 0, baseOffset, logAppendTimeMs, logStartOffset: log.value.logStartOffset, errorMessage: null },
    log: log.value,
    lastOffset,
  };
}

/** Answers Produce (or not, for acks=0): validates, appends, and waits for fsync under acks=all. */
export function handleProduce(context: ServerContext, header: RequestHeader, request: ProduceRequest): Reply | Promise<Reply> {
  const { acks } = request;
  const validAcks = acks === Acks.NONE || acks === Acks.LEADER || acks === Acks.ALL;
  const appended: { name: string; partitions: Appended[] }[] = request.topics.map((topic) => ({
    name: topic.name,
    partitions: topic.partitions.map(({ index, records }) =>
      validAcks ? appendPartition(context, topic.name, index, records) : { response: failed(index, "INVALID_REQUIRED_ACKS") },
    ),
  }));
  const respond = (): Reply =>
    encodeResponse(ProduceApi, header.apiVersion, header.correlationId, {
      topics: appended.map((topic) => ({ name: topic.name, partitions: topic.partitions.map((partition) => partition.response) })),
      throttleTimeMs: 0,
    });
  if (acks === Acks.NONE) {
    const anyError = appended.some((topic) => topic.partitions.some((partition) => partition.response.errorCode !== 0));
    return anyError ? CLOSE_CONNECTION : NO_REPLY;
  }
  if (acks !== Acks.ALL) return respond();
  const syncs: Promise<void>[] = [];
  for (const topic of appended) {
    for (const partition of topic.partitions) {
      const { log, lastOffset } = partition;
      if (log === undefined || lastOffset === undefined) continue;
      syncs.push(
        log.flushed(lastOffset).catch((error: unknown) => {
          // The bytes were written but not made durable: the outcome is unknown (KAFKA_STORAGE_ERROR is indeterminate).
          partition.response = failed(partition.response.index, "KAFKA_STORAGE_ERROR", `fsync failed: ${(error as Error).message}`);
        }),
      );
    }
  }
  if (syncs.length === 0) return respond();
  return Promise.all(syncs).then(respond);
}
