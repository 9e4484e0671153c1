// The consumer's options: Kafka's names and defaults (ConsumerConfig), each also spelled in camelCase, resolved
// once by client/options.ts. request.timeout.ms and metadata.max.age.ms are the client's (new Rivulet({...})),
// shared with the consumer's cluster. Group options (group.id, session.timeout.ms, enable.auto.commit, ...) are absent on
// purpose: consumer groups come with a later issue, and an option that does nothing would be a lie, so today they
// are refused as unknown.
import { BATCH_BYTES_MAX } from "../../core/limits.ts";
import { RivuletConfigError } from "../errors.ts";
import { type OptionsInput, type ResolvedOptions, booleanOption, defineOptions, enumOption, integerOption, resolveOptions } from "../options.ts";

/** Kafka's fetch.min.bytes default: the broker answers a fetch as soon as it holds this many bytes. */
export const FETCH_MIN_BYTES_DEFAULT = 1;
/** Kafka's fetch.max.wait.ms default: how long the broker holds a fetch that has fewer than fetch.min.bytes. */
export const FETCH_MAX_WAIT_MS_DEFAULT = 500;
/** Kafka's max.partition.fetch.bytes default: record bytes one partition contributes to one fetch answer. */
export const MAX_PARTITION_FETCH_BYTES_DEFAULT = 1048576;
/** Kafka's fetch.max.bytes default: record bytes of one whole fetch answer. */
export const FETCH_MAX_BYTES_DEFAULT = 52428800;
/** Largest fetch.max.bytes accepted: the answer must fit the connection's response frame limit with room to spare. */
export const FETCH_MAX_BYTES_MAX = 64 * 1024 * 1024;
/** Kafka's retry.backoff.ms default: the first wait after a failed fetch. */
export const CONSUMER_RETRY_BACKOFF_MS_DEFAULT = 100;
/** Kafka's retry.backoff.max.ms default: the longest wait between failed fetches (exponential backoff cap). */
export const CONSUMER_RETRY_BACKOFF_MAX_MS_DEFAULT = 1000;
/** Kafka's max.poll.records default: the most messages one eachBatch call (one batch) holds. */
export const MAX_POLL_RECORDS_DEFAULT = 500;
/** Most messages one batch may be configured to hold (a bound on one array the consumer builds). */
export const MAX_POLL_RECORDS_MAX = 1 << 20;

/** The consumer's option spec (for docs: describeOptions(CONSUMER_OPTIONS)). */
export const CONSUMER_OPTIONS = defineOptions({
  autoOffsetReset: enumOption(["earliest", "latest", "none"], {
    kafka: "auto.offset.reset",
    default: "latest",
    description:
      "Where a partition without a position starts, and where a consumer whose position left the log goes: earliest, latest, or none (a RivuletOffsetOutOfRangeError).",
  }),
  fetchMinBytes: integerOption({
    kafka: "fetch.min.bytes",
    default: FETCH_MIN_BYTES_DEFAULT,
    min: 0,
    max: FETCH_MAX_BYTES_MAX,
    description: "Record bytes the broker waits for before it answers a fetch (up to fetch.max.wait.ms).",
  }),
  fetchMaxWaitMs: integerOption({
    kafka: "fetch.max.wait.ms",
    default: FETCH_MAX_WAIT_MS_DEFAULT,
    min: 0,
    max: 2147483647,
    description: "How long the broker holds a fetch that has fewer than fetch.min.bytes.",
  }),
  maxPartitionFetchBytes: integerOption({
    kafka: "max.partition.fetch.bytes",
    default: MAX_PARTITION_FETCH_BYTES_DEFAULT,
    min: 1,
    max: BATCH_BYTES_MAX,
    description: "Record bytes one partition contributes to a fetch answer (a larger first batch still comes whole).",
  }),
  fetchMaxBytes: integerOption({
    kafka: "fetch.max.bytes",
    default: FETCH_MAX_BYTES_DEFAULT,
    min: 1,
    max: FETCH_MAX_BYTES_MAX,
    description: "Record bytes of one whole fetch answer (a larger first batch still comes whole).",
  }),
  checkCrcs: booleanOption({
    kafka: "check.crcs",
    default: true,
    description: "Check the CRC-32C of every fetched batch; records are checked for well-formedness either way.",
  }),
  isolationLevel: enumOption(["read_uncommitted", "read_committed"], {
    kafka: "isolation.level",
    default: "read_uncommitted",
    description: "read_committed reads only up to the last stable offset (transactions come later; today both read everything).",
  }),
  maxPollRecords: integerOption({
    kafka: "max.poll.records",
    default: MAX_POLL_RECORDS_DEFAULT,
    min: 1,
    max: MAX_POLL_RECORDS_MAX,
    description: "Most messages in one batch handed to eachBatch or consumer.batches().",
  }),
  retryBackoffMs: integerOption({
    kafka: "retry.backoff.ms",
    default: CONSUMER_RETRY_BACKOFF_MS_DEFAULT,
    min: 0,
    max: 2147483647,
    description: "Wait after a failed fetch before the next; doubles per failure up to retry.backoff.max.ms.",
  }),
  retryBackoffMaxMs: integerOption({
    kafka: "retry.backoff.max.ms",
    default: CONSUMER_RETRY_BACKOFF_MAX_MS_DEFAULT,
    min: 0,
    max: 2147483647,
    description: "Longest wait between failed fetches.",
  }),
  allowAutoCreateTopics: booleanOption({
    kafka: "allow.auto.create.topics",
    default: true,
    description: "Let subscribe() create a missing topic when the broker's auto.create.topics.enable is on.",
  }),
});

/** Consumer options as a caller passes them. */
export type ConsumerOptionsInput = OptionsInput<typeof CONSUMER_OPTIONS>;
/** Consumer options resolved: camelCase, defaults filled in. */
export type ConsumerOptions = ResolvedOptions<typeof CONSUMER_OPTIONS>;

/** Resolves and cross-checks a caller's consumer options; throws RivuletConfigError. */
export function resolveConsumerOptions(input: unknown): ConsumerOptions {
  const options = resolveOptions(CONSUMER_OPTIONS, input, "consumer options");
  // Kafka's rule: the broker could never satisfy a minimum larger than the answer's maximum.
  if (options.fetchMinBytes > options.fetchMaxBytes) {
    throw new RivuletConfigError(`fetch.min.bytes (${options.fetchMinBytes}) must not exceed fetch.max.bytes (${options.fetchMaxBytes})`, "fetch.min.bytes");
  }
  if (options.retryBackoffMs > options.retryBackoffMaxMs && options.retryBackoffMaxMs > 0) {
    throw new RivuletConfigError(`retry.backoff.ms (${options.retryBackoffMs}) must not exceed retry.backoff.max.ms (${options.retryBackoffMaxMs})`, "retry.backoff.ms");
  }
  return options;
}
