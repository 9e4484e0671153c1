// Errors only the consumer raises. Both are RivuletErrors with the protocol table's code, so callers branch on
// `code` as for any other error; the subclasses add the partition and offset the error is about.
import { ErrorCode, RivuletError } from "../errors.ts";

/**
 * A partition has no valid position and auto.offset.reset is "none": either it never had one (`offset` null,
 * Kafka's NoOffsetForPartitionException) or the broker said it is outside the log (Kafka's
 * OffsetOutOfRangeException). Fetching that partition stops until the caller seeks it.
 */
export class RivuletOffsetOutOfRangeError extends RivuletError {
  readonly topic: string;
  readonly partition: number;
  /** The position the broker refused, or null when the partition never had one. */
  readonly offset: bigint | null;

  constructor(topic: string, partition: number, offset: bigint | null) {
    super(
      ErrorCode.OFFSET_OUT_OF_RANGE,
      offset === null
        ? `${topic}/${partition}: no position and auto.offset.reset is "none"; seek() it first`
        : `${topic}/${partition}: offset ${offset} is outside the log and auto.offset.reset is "none"; seek() it`,
    );
    this.name = "RivuletOffsetOutOfRangeError";
    this.topic = topic;
    this.partition = partition;
    this.offset = offset;
  }
}

/**
 * A fetched batch failed its checks (CRC-32C, framing, decompression). The messages before it were delivered;
 * fetching the same bytes again gives the same answer, so the caller decides: seek past `offset` or stop.
 */
export class RivuletCorruptRecordError extends RivuletError {
  override readonly retriable = false;
  readonly topic: string;
  readonly partition: number;
  /** The first offset not delivered (inside or at the start of the bad batch). */
  readonly offset: bigint;
  /** The decoder's reason ("crc_mismatch", "bad_record", ...). */
  readonly reason: string;

  constructor(topic: string, partition: number, offset: bigint, reason: string) {
    super(ErrorCode.CORRUPT_MESSAGE, `${topic}/${partition}: fetched batch at offset ${offset} is invalid (${reason})`);
    this.name = "RivuletCorruptRecordError";
    this.topic = topic;
    this.partition = partition;
    this.offset = offset;
    this.reason = reason;
  }
}
