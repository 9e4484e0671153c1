// The one error-code table shared by the broker and the SDK. Codes are Kafka's (Errors.java) so a Kafka user
// reads them without a dictionary, and so a later Kafka-protocol listener can pass them through unchanged.
// `retriable` is Kafka's own marking (its exception extends RetriableException). `definite` is ours: for a write,
// whether the outcome is known. A definite error means the broker rejected the write before appending anything;
// an indeterminate one (a timeout, a lost connection, a disk error mid-append) means the write may have happened,
// so a producer without idempotence must not assume either way. Classify by code, never by message text.

/** One row of the error table. */
export interface ErrorCodeInfo {
  readonly code: number;
  readonly name: string;
  /** Kafka marks the error retriable: the same request may succeed later. */
  readonly retriable: boolean;
  /** For a write: true when it is known not to have happened (or, for NONE, known to have happened). */
  readonly definite: boolean;
  readonly message: string;
}

/** Kafka's numeric error codes, by Kafka's names. */
export const ErrorCode = {
  UNKNOWN_SERVER_ERROR: -1,
  NONE: 0,
  OFFSET_OUT_OF_RANGE: 1,
  CORRUPT_MESSAGE: 2,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  INVALID_FETCH_SIZE: 4,
  LEADER_NOT_AVAILABLE: 5,
  NOT_LEADER_OR_FOLLOWER: 6,
  REQUEST_TIMED_OUT: 7,
  BROKER_NOT_AVAILABLE: 8,
  REPLICA_NOT_AVAILABLE: 9,
  MESSAGE_TOO_LARGE: 10,
  NETWORK_EXCEPTION: 13,
  INVALID_TOPIC_EXCEPTION: 17,
  RECORD_LIST_TOO_LARGE: 18,
  NOT_ENOUGH_REPLICAS: 19,
  NOT_ENOUGH_REPLICAS_AFTER_APPEND: 20,
  INVALID_REQUIRED_ACKS: 21,
  INVALID_TIMESTAMP: 32,
  UNSUPPORTED_VERSION: 35,
  TOPIC_ALREADY_EXISTS: 36,
  INVALID_PARTITIONS: 37,
  INVALID_REPLICATION_FACTOR: 38,
  INVALID_CONFIG: 40,
  INVALID_REQUEST: 42,
  POLICY_VIOLATION: 44,
  OUT_OF_ORDER_SEQUENCE_NUMBER: 45,
  DUPLICATE_SEQUENCE_NUMBER: 46,
  INVALID_PRODUCER_EPOCH: 47,
  INVALID_TXN_STATE: 48,
  INVALID_PRODUCER_ID_MAPPING: 49,
  INVALID_TRANSACTION_TIMEOUT: 50,
  CONCURRENT_TRANSACTIONS: 51,
  OPERATION_NOT_ATTEMPTED: 55,
  KAFKA_STORAGE_ERROR: 56,
  UNKNOWN_PRODUCER_ID: 59,
  TOPIC_DELETION_DISABLED: 73,
  FENCED_LEADER_EPOCH: 74,
  UNKNOWN_LEADER_EPOCH: 75,
  UNSUPPORTED_COMPRESSION_TYPE: 76,
  INVALID_RECORD: 87,
  THROTTLING_QUOTA_EXCEEDED: 89,
  PRODUCER_FENCED: 90,
} as const;

/** A name of a known error code. */
export type ErrorName = keyof typeof ErrorCode;

// The table as data: [name, retriable, definite, default message]. Messages follow Kafka's wording.
// Indeterminate rows, and why:
//   UNKNOWN_SERVER_ERROR: the broker failed somewhere unknown, possibly after appending.
//   REQUEST_TIMED_OUT: the append may complete after the deadline (acks=all waiting for fsync).
//   NETWORK_EXCEPTION: the request was sent; the connection died before the answer.
//   NOT_ENOUGH_REPLICAS_AFTER_APPEND: written to the leader's log, under-replicated.
//   KAFKA_STORAGE_ERROR: the disk failed during the append; part of it may be on disk.
const ROWS: ReadonlyArray<readonly [ErrorName, boolean, boolean, string]> = [
  ["UNKNOWN_SERVER_ERROR", false, false, "The server experienced an unexpected error when processing the request."],
  ["NONE", false, true, "Success."],
  ["OFFSET_OUT_OF_RANGE", false, true, "The requested offset is not within the range of offsets maintained by the server."],
  ["CORRUPT_MESSAGE", true, true, "This message has failed its CRC checksum, exceeds the valid size, or is otherwise corrupt."],
  ["UNKNOWN_TOPIC_OR_PARTITION", true, true, "This server does not host this topic-partition."],
  ["INVALID_FETCH_SIZE", false, true, "The requested fetch size is invalid."],
  ["LEADER_NOT_AVAILABLE", true, true, "There is no leader for this topic-partition."],
  ["NOT_LEADER_OR_FOLLOWER", true, true, "This broker is not the leader or a follower of this topic-partition."],
  ["REQUEST_TIMED_OUT", true, false, "The request timed out."],
  ["BROKER_NOT_AVAILABLE", false, true, "The broker is not available."],
  ["REPLICA_NOT_AVAILABLE", true, true, "The replica is not available for the requested topic-partition."],
  ["MESSAGE_TOO_LARGE", false, true, "The request included a message larger than the max message size the server will accept."],
  ["NETWORK_EXCEPTION", true, false, "The server disconnected before a response was received."],
  ["INVALID_TOPIC_EXCEPTION", false, true, "The request attempted to perform an operation on an invalid topic."],
  ["RECORD_LIST_TOO_LARGE", false, true, "The request included a message batch larger than the configured segment size on the server."],
  ["NOT_ENOUGH_REPLICAS", true, true, "Messages are rejected since there are fewer in-sync replicas than required."],
  ["NOT_ENOUGH_REPLICAS_AFTER_APPEND", true, false, "Messages are written to the log, but to fewer in-sync replicas than required."],
  ["INVALID_REQUIRED_ACKS", false, true, "Produce request specified an invalid value for required acks."],
  ["INVALID_TIMESTAMP", false, true, "The timestamp of the message is out of acceptable range."],
  ["UNSUPPORTED_VERSION", false, true, "The version of API is not supported."],
  ["TOPIC_ALREADY_EXISTS", false, true, "Topic with this name already exists."],
  ["INVALID_PARTITIONS", false, true, "Number of partitions is invalid."],
  ["INVALID_REPLICATION_FACTOR", false, true, "Replication factor is invalid."],
  ["INVALID_CONFIG", false, true, "Configuration is invalid."],
  ["INVALID_REQUEST", false, true, "The request is malformed or not valid for this broker."],
  ["POLICY_VIOLATION", false, true, "Request parameters do not satisfy the configured policy."],
  ["OUT_OF_ORDER_SEQUENCE_NUMBER", false, true, "The broker received an out of order sequence number."],
  ["DUPLICATE_SEQUENCE_NUMBER", false, true, "The broker received a duplicate sequence number."],
  ["INVALID_PRODUCER_EPOCH", false, true, "Producer attempted to produce with an old epoch."],
  ["INVALID_TXN_STATE", false, true, "The producer attempted a transactional operation in an invalid state."],
  ["INVALID_PRODUCER_ID_MAPPING", false, true, "The producer attempted to use a producer id which is not currently assigned to its transactional id."],
  ["INVALID_TRANSACTION_TIMEOUT", false, true, "The transaction timeout is larger than the maximum value allowed by the broker."],
  ["CONCURRENT_TRANSACTIONS", true, true, "The producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing."],
  ["OPERATION_NOT_ATTEMPTED", false, true, "The broker did not attempt to execute this operation."],
  ["KAFKA_STORAGE_ERROR", true, false, "Disk error when trying to access log file on the disk."],
  ["UNKNOWN_PRODUCER_ID", false, true, "The broker could not locate the producer metadata associated with the producer id."],
  ["TOPIC_DELETION_DISABLED", false, true, "Topic deletion is disabled."],
  ["FENCED_LEADER_EPOCH", true, true, "The leader epoch in the request is older than the epoch on the broker."],
  ["UNKNOWN_LEADER_EPOCH", true, true, "The leader epoch in the request is newer than the epoch on the broker."],
  ["UNSUPPORTED_COMPRESSION_TYPE", false, true, "The requesting client does not support the compression type of given partition."],
  ["INVALID_RECORD", false, true, "This record has failed the validation on broker and hence will be rejected."],
  ["THROTTLING_QUOTA_EXCEEDED", true, true, "The throttling quota has been exceeded."],
  ["PRODUCER_FENCED", false, true, "There is a newer producer with the same transactionalId which fences the current one."],
];

const BY_CODE = new Map<number, ErrorCodeInfo>(
  ROWS.map(([name, retriable, definite, message]) => {
    const code = ErrorCode[name];
    return [code, Object.freeze({ code, name, retriable, definite, message })];
  }),
);

/** Every known error, ordered by code (for docs and tests). */
export const ERROR_TABLE: readonly ErrorCodeInfo[] = [...BY_CODE.values()].sort((a, b) => a.code - b.code);

/**
 * The table row for `code`. A code this build does not know (a newer broker) is treated as Kafka's clients
 * treat it, like UNKNOWN_SERVER_ERROR: not retriable, and indeterminate because nothing is known about it.
 */
export function errorInfo(code: number): ErrorCodeInfo {
  const known = BY_CODE.get(code);
  if (known !== undefined) return known;
  return { code, name: `UNKNOWN_ERROR_CODE_${code}`, retriable: false, definite: false, message: `Unknown error code ${code}.` };
}

/** True when `code` is a row of this table. */
export function isKnownErrorCode(code: number): boolean {
  return BY_CODE.has(code);
}

/**
 * A protocol error raised to SDK users: carries the wire code and its classification from the table. `name` is
 * the table's name (e.g. "UNKNOWN_TOPIC_OR_PARTITION") so stack traces say what happened; test the class with
 * `instanceof RivuletError` and the kind with `code`.
 */
export class RivuletError extends Error {
  override name: string;
  readonly code: number;
  readonly retriable: boolean;
  readonly definite: boolean;

  constructor(code: number, message?: string | null, options?: { cause?: unknown }) {
    const info = errorInfo(code);
    super(message ?? info.message, options);
    this.code = code;
    this.name = info.name;
    this.retriable = info.retriable;
    this.definite = info.definite;
  }
}
