// The SDK's entry point (`import { Rivulet } from "rivulet"`): the Rivulet class that makes producers, consumers
// and admin clients, and every public type and error. The same source runs on Bun; Node loads the build of this
// file (scripts/build-client.mjs -> dist/client/index.js).
//
//   const rivulet = new Rivulet({ brokers: ["127.0.0.1:9192"], clientId: "ride-api" });
//   const producer = rivulet.producer({ acks: "all", "linger.ms": 5, compression: "lz4" });
//   const consumer = rivulet.consumer({ "auto.offset.reset": "earliest" });
//   const admin = rivulet.admin();
import { Admin } from "./admin.ts";
import { Cluster, type ClientOptions, type ClientOptionsInput, resolveClientOptions } from "./cluster.ts";
import { Consumer } from "./consumer/consumer.ts";
import type { ConsumerOptionsInput } from "./consumer/consumer-options.ts";
import { Producer } from "./producer/producer.ts";
import type { ProducerOptionsInput } from "./producer/producer-options.ts";
import type { AdminOptionsInput } from "./admin.ts";

/**
 * A client configuration: where the brokers are and how to reach them. Each producer, consumer and admin it
 * makes has its own connections (so a consumer's long poll never waits behind a producer's answers), all built
 * from these options.
 */
export class Rivulet {
  /** The resolved client options. */
  readonly options: ClientOptions;

  /** Validates `options` up front (throws RivuletConfigError naming a bad or unknown option). */
  constructor(options: ClientOptionsInput = {}) {
    this.options = resolveClientOptions(options);
  }

  /** A new producer (call connect() before sending); `options` take Kafka's producer config names or camelCase. */
  producer(options: ProducerOptionsInput = {}): Producer {
    return new Producer(new Cluster(this.options), options);
  }

  /** A new consumer (call connect(), then assign or subscribe); `options` take Kafka's consumer config names or camelCase. */
  consumer(options: ConsumerOptionsInput = {}): Consumer {
    return new Consumer(new Cluster(this.options), options);
  }

  /** A new admin client. */
  admin(options: AdminOptionsInput = {}): Admin {
    return new Admin(new Cluster(this.options), options);
  }
}

export { Admin, ADMIN_OPTIONS, ADMIN_RESOURCES_MAX } from "./admin.ts";
export type {
  AdminOptions,
  AdminOptionsInput,
  ConfigEntry,
  ConfigResourceDescription,
  ConfigResourceKind,
  ConfigSourceName,
  CreatedTopic,
  NewTopic,
  OffsetSpec,
  PartitionOffset,
  TopicConfigs,
  TopicDescription,
} from "./admin.ts";
export { CLIENT_OPTIONS, Cluster, BROKER_PORT_DEFAULT, parseBrokerAddress } from "./cluster.ts";
export type { BrokerMetadata, ClientOptions, ClientOptionsInput, ClusterMetadata, PartitionMetadata, RetryOptions, TopicMetadata } from "./cluster.ts";
export { Connection } from "./connection.ts";
/** The wire protocol (message definitions, error table, framing) for tools that speak it through a Connection. */
export * as protocol from "../core/formats/protocol/index.ts";
export type { ConnectionOptions, RequestOptions } from "./connection.ts";
export {
  ErrorCode,
  RivuletClosedError,
  RivuletConfigError,
  RivuletConnectionError,
  RivuletError,
  RivuletProtocolError,
  RivuletTimeoutError,
  isRetriable,
} from "./errors.ts";
export type { ErrorCodeInfo, ErrorName } from "./errors.ts";
export { describeOptions } from "./options.ts";
export { headerText, text, toBytes } from "./records.ts";
export type { ConsumedMessage, MessageInput, RecordData, RecordHeader, RecordHeadersInput, RecordMetadata } from "./records.ts";
export { Producer, RivuletDeliveryFailedError } from "./producer/producer.ts";
export type { DisconnectOptions, SendBatchRequest, SendRequest } from "./producer/producer.ts";
export { PRODUCER_OPTIONS } from "./producer/producer-options.ts";
export type { ProducerOptions, ProducerOptionsInput } from "./producer/producer-options.ts";
export { RivuletBufferTimeoutError, RivuletDeliveryTimeoutError, RivuletMaybeWrittenError } from "./producer/errors.ts";
export type { DeliveryCallback } from "./producer/accumulator.ts";
export type { ProducerIdAndEpoch } from "./producer/idempotence.ts";
export { murmur2, partitionForKey } from "./producer/murmur2.ts";
export { CONSUMER_OPTIONS, Consumer, Message, RivuletCorruptRecordError, RivuletOffsetOutOfRangeError } from "./consumer/consumer.ts";
export type {
  ConsumerOptions,
  ConsumerOptionsInput,
  EachBatchPayload,
  EachMessagePayload,
  MessageBatch,
  PartitionAssignment,
  RunOptions,
  SeekTarget,
  SubscribeOptions,
  TopicPartition,
  TopicPartitions,
} from "./consumer/consumer.ts";
