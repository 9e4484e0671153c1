// The producer's options: Kafka's names and defaults (ProducerConfig), each also spelled in camelCase, resolved
// once by client/options.ts. Relations between options that Kafka checks at construction are checked here too
// (delivery.timeout.ms >= linger.ms + request.timeout.ms), and a codec this runtime lacks is refused up front with
// a message that says why, never discovered when the first batch closes.
//
// Idempotence follows Kafka 3.x's ProducerConfig rules (postProcessAndValidateIdempotenceConfigs): it needs
// acks=all, retries > 0 and max.in.flight.requests.per.connection <= 5. When the caller set enable.idempotence
// explicitly, a contradiction is a RivuletConfigError; when idempotence is only on by default, a contradicting
// option turns it off silently (the caller asked for acks=1, say, and gets what they asked for).
import { CODEC_NAMES, codecId, isCodecSupported } from "../../core/formats/codecs.ts";
import { BATCH_BYTES_MAX } from "../../core/limits.ts";
import { RivuletConfigError } from "../errors.ts";
import { type OptionsInput, type ResolvedOptions, booleanOption, defineOptions, enumOption, integerOption, resolveOptions } from "../options.ts";

/** Kafka's batch.size default: bytes (uncompressed) at which a partition's batch closes. */
export const BATCH_SIZE_BYTES_DEFAULT = 16384;
/** Kafka's linger.ms default (Kafka 4.0): how long a batch waits for more records before it closes. */
export const LINGER_MS_DEFAULT = 5;
/** Kafka's buffer.memory default: bytes of records the producer holds before send() blocks. */
export const BUFFER_MEMORY_BYTES_DEFAULT = 33554432;
/** Kafka's max.block.ms default: how long send() waits for buffer space (or metadata) before failing. */
export const MAX_BLOCK_MS_DEFAULT = 60000;
/** Kafka's max.in.flight.requests.per.connection default. */
export const MAX_IN_FLIGHT_REQUESTS_DEFAULT = 5;
/** Kafka's retries default: unbounded in count, bounded in time by delivery.timeout.ms. */
export const RETRIES_DEFAULT = 2147483647;
/** Kafka's retry.backoff.ms default: the first wait before a retry. */
export const RETRY_BACKOFF_MS_DEFAULT = 100;
/** Kafka's retry.backoff.max.ms default: the longest wait between retries (exponential backoff cap). */
export const RETRY_BACKOFF_MAX_MS_DEFAULT = 1000;
/** Kafka's delivery.timeout.ms default: the bound on a record's time from send() to success or failure. */
export const DELIVERY_TIMEOUT_MS_DEFAULT = 120000;
/** Kafka's request.timeout.ms default for the producer: how long one Produce request may wait for its answer. */
export const REQUEST_TIMEOUT_MS_DEFAULT = 30000;
/** Kafka's max.request.size default: bytes of record batches in one Produce request (and the largest record). */
export const MAX_REQUEST_SIZE_BYTES_DEFAULT = 1048576;
/** Kafka's MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION_FOR_IDEMPOTENCE: the most in flight an idempotent producer allows. */
export const MAX_IN_FLIGHT_REQUESTS_IDEMPOTENT_MAX = 5;
/** Most requests in flight per connection we accept as a setting (the connection's own bound is the real one). */
export const MAX_IN_FLIGHT_REQUESTS_MAX = 1024;

/** The producer's option spec (for docs: describeOptions(PRODUCER_OPTIONS)). */
export const PRODUCER_OPTIONS = defineOptions({
  acks: enumOption([-1, 0, 1], {
    kafka: "acks",
    default: -1,
    mapping: { all: -1, "-1": -1, "0": 0, "1": 1 },
    description: "Acknowledgement the broker gives before a write counts: 0 none, 1 written to the leader's log, all (-1) fsynced.",
  }),
  batchSize: integerOption({
    kafka: "batch.size",
    default: BATCH_SIZE_BYTES_DEFAULT,
    min: 0,
    max: BATCH_BYTES_MAX,
    description: "Uncompressed bytes at which a partition's batch closes (0: one record per batch); also the sticky partitioner's switch point.",
  }),
  lingerMs: integerOption({
    kafka: "linger.ms",
    default: LINGER_MS_DEFAULT,
    min: 0,
    max: 2147483647,
    description: "How long a batch that is not full waits for more records before it is sent.",
  }),
  bufferMemory: integerOption({
    kafka: "buffer.memory",
    default: BUFFER_MEMORY_BYTES_DEFAULT,
    min: 1,
    description: "Bytes of records (batch bytes, open and closed, until acknowledged) the producer holds; send() waits when full.",
  }),
  maxBlockMs: integerOption({
    kafka: "max.block.ms",
    default: MAX_BLOCK_MS_DEFAULT,
    min: 0,
    max: 2147483647,
    description: "How long send() waits for buffer space or metadata before failing with a RivuletTimeoutError.",
  }),
  maxInFlightRequestsPerConnection: integerOption({
    kafka: "max.in.flight.requests.per.connection",
    default: MAX_IN_FLIGHT_REQUESTS_DEFAULT,
    min: 1,
    max: MAX_IN_FLIGHT_REQUESTS_MAX,
    description: "Produce requests in flight at once on one broker connection (never more than one per partition).",
  }),
  compressionType: enumOption(["none", "gzip", "snappy", "lz4", "zstd"], {
    kafka: "compression.type",
    aliases: ["compression"],
    default: "none",
    description: "Codec of every batch: none, gzip, lz4 or zstd (zstd where the runtime has it; snappy is not supported).",
  }),
  retries: integerOption({
    kafka: "retries",
    default: RETRIES_DEFAULT,
    min: 0,
    max: 2147483647,
    description: "Times a batch is resent after a retriable failure, within delivery.timeout.ms.",
  }),
  retryBackoffMs: integerOption({
    kafka: "retry.backoff.ms",
    default: RETRY_BACKOFF_MS_DEFAULT,
    min: 0,
    max: 2147483647,
    description: "Wait before the first retry of a batch; doubles per retry up to retry.backoff.max.ms.",
  }),
  retryBackoffMaxMs: integerOption({
    kafka: "retry.backoff.max.ms",
    default: RETRY_BACKOFF_MAX_MS_DEFAULT,
    min: 0,
    max: 2147483647,
    description: "Longest wait between retries of a batch.",
  }),
  deliveryTimeoutMs: integerOption({
    kafka: "delivery.timeout.ms",
    default: DELIVERY_TIMEOUT_MS_DEFAULT,
    min: 1,
    max: 2147483647,
    description: "Upper bound on the time from send() to success or failure of a record, retries included.",
  }),
  requestTimeoutMs: integerOption({
    kafka: "request.timeout.ms",
    default: REQUEST_TIMEOUT_MS_DEFAULT,
    min: 1,
    max: 2147483647,
    description: "How long one Produce request waits for the broker's answer (also sent as the request's timeoutMs).",
  }),
  maxRequestSize: integerOption({
    kafka: "max.request.size",
    default: MAX_REQUEST_SIZE_BYTES_DEFAULT,
    min: 1024,
    max: BATCH_BYTES_MAX,
    description: "Largest Produce request (sum of its batches) and so the largest record the producer accepts.",
  }),
  enableIdempotence: booleanOption({
    kafka: "enable.idempotence",
    default: true,
    description: "Producer id and per-partition sequence numbers, so retries never write a record twice or out of order (needs acks=all, retries > 0, at most 5 in flight).",
  }),
  partitionerIgnoreKeys: booleanOption({
    kafka: "partitioner.ignore.keys",
    default: false,
    description: "Place keyed records with the sticky partitioner too, instead of by murmur2 of the key.",
  }),
});

/** Producer options as a caller passes them. */
export type ProducerOptionsInput = OptionsInput<typeof PRODUCER_OPTIONS>;
/** Producer options resolved: camelCase, defaults filled in, acks as -1 | 0 | 1. */
export type ProducerOptions = Omit<ResolvedOptions<typeof PRODUCER_OPTIONS>, "acks"> & { readonly acks: -1 | 0 | 1; readonly codec: number };

/** Resolves and cross-checks a caller's producer options; throws RivuletConfigError. */
export function resolveProducerOptions(input: unknown): ProducerOptions {
  const options = resolveOptions(PRODUCER_OPTIONS, input, "producer options");
  const codec = codecId(options.compressionType);
  if (!isCodecSupported(codec)) {
    const why =
      options.compressionType === "zstd"
        ? "this runtime has no zstd in node:zlib (Bun has it; Node needs 22.15 or later)"
        : `${options.compressionType} is not supported by Rivulet yet (use ${CODEC_NAMES.filter((name, id) => name !== "snappy" && isCodecSupported(id)).join(", ")})`;
    throw new RivuletConfigError(`option "compression.type" in producer options is "${options.compressionType}", but ${why}`, "compression.type");
  }
  if (options.deliveryTimeoutMs < options.lingerMs + options.requestTimeoutMs) {
    throw new RivuletConfigError(
      `option "delivery.timeout.ms" (${options.deliveryTimeoutMs}) in producer options must be at least linger.ms + request.timeout.ms (${options.lingerMs + options.requestTimeoutMs})`,
      "delivery.timeout.ms",
    );
  }
  if (options.retryBackoffMaxMs < options.retryBackoffMs) {
    throw new RivuletConfigError(
      `option "retry.backoff.max.ms" (${options.retryBackoffMaxMs}) in producer options must be at least retry.backoff.ms (${options.retryBackoffMs})`,
      "retry.backoff.max.ms",
    );
  }
  const enableIdempotence = resolveIdempotence(options, idempotenceSetExplicitly(input));
  return Object.freeze({ ...options, acks: options.acks as -1 | 0 | 1, codec, enableIdempotence });
}

// True when the caller spelled enable.idempotence in any accepted way (Kafka: originals().containsKey(...)).
function idempotenceSetExplicitly(input: unknown): boolean {
  if (input === null || typeof input !== "object") return false;
  const spellings = ["enableIdempotence", "enable.idempotence"];
  return spellings.some((spelling) => Object.prototype.hasOwnProperty.call(input, spelling) && (input as Record<string, unknown>)[spelling] !== undefined);
}

// Kafka 3.x: a contradiction with an explicit enable.idempotence=true is an error; with the default it turns
// idempotence off. Each rule names the option to change.
function resolveIdempotence(options: ResolvedOptions<typeof PRODUCER_OPTIONS>, explicit: boolean): boolean {
  if (!options.enableIdempotence) return false;
  const contradictions: [string, string][] = [];
  if (options.acks !== -1) contradictions.push(["acks", `must be all (-1) to use the idempotent producer, got ${options.acks}: otherwise idempotence cannot be guaranteed`]);
  if (options.retries === 0) contradictions.push(["retries", "must be non-zero to use the idempotent producer"]);
  if (options.maxInFlightRequestsPerConnection > MAX_IN_FLIGHT_REQUESTS_IDEMPOTENT_MAX) {
    contradictions.push([
      "max.in.flight.requests.per.connection",
      `must be at most ${MAX_IN_FLIGHT_REQUESTS_IDEMPOTENT_MAX} to use the idempotent producer, got ${options.maxInFlightRequestsPerConnection}`,
    ]);
  }
  const first = contradictions[0];
  if (first === undefined) return true;
  if (!explicit) return false;
  throw new RivuletConfigError(`option "${first[0]}" in producer options ${first[1]} (enable.idempotence is set to true; set it to false to allow this)`, first[0]);
}
