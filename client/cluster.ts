// The client's view of the cluster: bootstrap addresses, open connections keyed by broker address, and a
// metadata cache (brokers, topics, partitions, leaders). Producer, consumer and admin each own one Cluster, so a
// consumer's long poll never queues behind a producer's answers on a shared connection (as in Kafka, where every
// client instance has its own connections).
//
// Routing goes by metadata: connectionFor(topic, partition) asks the cache for the partition's leader and
// returns the connection to that broker's advertised address. There is one broker today; routing by leader keeps
// the door open for replication.
//
// Resilience: a lost connection is dropped from the table and reopened on next use, with exponential backoff and
// jitter between attempts (retry.initialRetryTime doubling up to retry.maxRetryTime, `retry.retries` attempts).
// The cache is refreshed when it is older than metadata.max.age.ms, when a connection is lost, and when a caller
// reports an error that means it is stale (noteError: unknown topic, not leader, no leader, fenced epoch).
import { assert } from "../core/assert.ts";
import { ErrorCode, RivuletError } from "../core/formats/protocol/errors.ts";
import { MetadataApi, type MetadataResponse } from "../core/formats/protocol/metadata.ts";
import { Connection, CONNECTION_IN_FLIGHT_REQUESTS_MAX } from "./connection.ts";
import { RivuletClosedError, RivuletConnectionError, protocolError } from "./errors.ts";
import {
  type OptionsInput,
  type ResolvedOptions,
  defineOptions,
  integerOption,
  nestedOption,
  resolveOptions,
  stringListOption,
  stringOption,
} from "./options.ts";

/** Rivulet's default port for its native protocol. */
export const BROKER_PORT_DEFAULT = 9192;
/** Most bootstrap addresses a client accepts. */
export const BOOTSTRAP_BROKERS_MAX = 256;
/** Most topics the metadata cache holds; the least recently fetched are dropped beyond it. */
export const METADATA_CACHE_TOPICS_MAX = 100_000;
/** Most connections one Cluster keeps open (one per broker). */
export const CLUSTER_CONNECTIONS_MAX = 1024;
/** Default requests in flight per connection (Kafka's max.in.flight.requests.per.connection default). */
export const CLUSTER_IN_FLIGHT_REQUESTS_DEFAULT = 5;
/** Fraction of random jitter applied to each backoff (Kafka's CommonClientConfigs use 0.2). */
export const RETRY_JITTER_FRACTION = 0.2;

// Error codes that mean the cached metadata is wrong for a topic or partition.
const STALE_METADATA_CODES: ReadonlySet<number> = new Set([
  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.LEADER_NOT_AVAILABLE,
  ErrorCode.FENCED_LEADER_EPOCH,
  ErrorCode.UNKNOWN_LEADER_EPOCH,
  ErrorCode.REPLICA_NOT_AVAILABLE,
  ErrorCode.NETWORK_EXCEPTION,
]);

/** Parses "host:port" (or "host", meaning port 9192); null when it is not an address. */
export function parseBrokerAddress(address: string): { host: string; port: number } | null {
  const match = /^\[?([^\]\s]+?)\]?(?::(\d{1,5}))?$/.exec(address.trim());
  if (match === null) return null;
  const host = match[1] as string;
  const port = match[2] === undefined ? BROKER_PORT_DEFAULT : Number(match[2]);
  if (host === "" || port < 1 || port > 65535) return null;
  return { host, port };
}

/** Options of the `retry` object of the client options. */
export const RETRY_OPTIONS = defineOptions({
  retries: integerOption({ kafka: "retries", default: 5, min: 0, max: 1000, description: "Attempts after the first before an operation fails (connects, metadata, admin requests)." }),
  initialRetryTime: integerOption({
    kafka: "retry.backoff.ms",
    aliases: ["initialRetryTimeMs", "retryBackoffMs"],
    default: 100,
    min: 1,
    max: 3_600_000,
    description: "Backoff before the first retry, in milliseconds; doubles on every further attempt.",
  }),
  maxRetryTime: integerOption({
    kafka: "retry.backoff.max.ms",
    aliases: ["maxRetryTimeMs", "retryBackoffMaxMs"],
    default: 1000,
    min: 1,
    max: 3_600_000,
    description: "Upper bound of the backoff between retries, in milliseconds.",
  }),
});

/** Options of `new Rivulet(...)`: where the brokers are and how to talk to them. */
export const CLIENT_OPTIONS = defineOptions({
  brokers: stringListOption({
    kafka: "bootstrap.servers",
    aliases: ["bootstrapServers"],
    default: Object.freeze([`127.0.0.1:${BROKER_PORT_DEFAULT}`]),
    minItems: 1,
    maxItems: BOOTSTRAP_BROKERS_MAX,
    item: (item) => (parseBrokerAddress(item) === null ? "is not a host:port address" : null),
    description: "Bootstrap broker addresses (host:port); the client learns the rest from metadata.",
  }),
  clientId: stringOption({ kafka: "client.id", default: "rivulet", maxLength: 0x7fff, description: "Sent with every request, for the broker's logs and quotas." }),
  connectionTimeout: integerOption({
    kafka: "socket.connection.setup.timeout.ms",
    aliases: ["connectionTimeoutMs"],
    default: 10_000,
    min: 1,
    max: 3_600_000,
    description: "Deadline for opening a connection (TCP connect and the ApiVersions exchange), in milliseconds.",
  }),
  requestTimeout: integerOption({
    kafka: "request.timeout.ms",
    aliases: ["requestTimeoutMs"],
    default: 30_000,
    min: 1,
    max: 3_600_000,
    description: "Deadline of each request, in milliseconds; a request past it fails and its connection is closed.",
  }),
  metadataMaxAge: integerOption({
    kafka: "metadata.max.age.ms",
    aliases: ["metadataMaxAgeMs"],
    default: 300_000,
    min: 0,
    max: 86_400_000,
    description: "Cached metadata older than this is refreshed before use, in milliseconds.",
  }),
  retry: nestedOption(RETRY_OPTIONS, { description: "Retry policy: { retries, initialRetryTime, maxRetryTime } (Kafka names also accepted inside)." }),
});

/** Resolved client options. */
export type ClientOptions = ResolvedOptions<typeof CLIENT_OPTIONS>;
/** What `new Rivulet(...)` accepts. */
export type ClientOptionsInput = OptionsInput<typeof CLIENT_OPTIONS>;
/** The resolved retry policy. */
export type RetryOptions = ResolvedOptions<typeof RETRY_OPTIONS>;

/** A broker as metadata lists it. */
export interface BrokerMetadata {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
  readonly rack: string | null;
}

/** One partition as metadata lists it. */
export interface PartitionMetadata {
  readonly partition: number;
  /** Error code of the partition (0 when it is fine; e.g. LEADER_NOT_AVAILABLE, KAFKA_STORAGE_ERROR). */
  readonly errorCode: number;
  /** Node id of the leader, -1 when there is none. */
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  readonly offlineReplicas: readonly number[];
}

/** One topic as metadata lists it. */
export interface TopicMetadata {
  readonly name: string;
  /** Error code of the topic (0 when it exists and is fine). */
  readonly errorCode: number;
  readonly isInternal: boolean;
  /** Partitions ordered by index. */
  readonly partitions: readonly PartitionMetadata[];
}

/** What a metadata call returns. */
export interface ClusterMetadata {
  readonly clusterId: string | null;
  readonly controllerId: number;
  readonly brokers: readonly BrokerMetadata[];
  readonly topics: readonly TopicMetadata[];
}

interface CachedTopic {
  readonly metadata: TopicMetadata;
  readonly fetchedAt: number;
}

/** Exponential backoff with jitter for retry `attempt` (0 = before the first retry), in milliseconds. */
export function backoffMs(retry: RetryOptions, attempt: number, random: () => number = Math.random): number {
  const base = Math.min(retry.maxRetryTime, retry.initialRetryTime * 2 ** Math.min(attempt, 30));
  const jitter = base * RETRY_JITTER_FRACTION * (random() * 2 - 1);
  return Math.max(1, Math.round(Math.min(retry.maxRetryTime, base + jitter)));
}

/** Connections, metadata and retries of one client instance (a producer, consumer or admin). */
export class Cluster {
  /** The resolved options this cluster was made with. */
  readonly options: ClientOptions;
  #bootstrap: { host: string; port: number }[];
  #connections = new Map<string, Connection>();
  #connecting = new Map<string, Promise<Connection>>();
  #brokers = new Map<number, BrokerMetadata>();
  #topics = new Map<string, CachedTopic>();
  #stale = new Set<string>();
  #clusterId: string | null = null;
  #controllerId = -1;
  #refreshing = new Map<string, Promise<ClusterMetadata>>();
  #maxInFlightRequests = CLUSTER_IN_FLIGHT_REQUESTS_DEFAULT;
  #closed = false;
  #backoffTimers = new Set<{ timer: ReturnType<typeof setTimeout>; reject: (error: Error) => void }>();

  /** Builds a cluster from resolved options (see CLIENT_OPTIONS; resolve raw input with Cluster.create). */
  constructor(options: ClientOptions) {
    this.options = options;
    this.#bootstrap = options.brokers.map((address) => {
      const parsed = parseBrokerAddress(address);
      assert(parsed !== null, `bad broker address ${address}`);
      return parsed;
    });
  }

  /** Resolves raw client options (throws RivuletConfigError) and builds a cluster. */
  static create(input: unknown): Cluster {
    return new Cluster(resolveClientOptions(input));
  }

  /** True after close(). */
  get isClosed(): boolean {
    return this.#closed;
  }

  /** The client id sent with every request. */
  get clientId(): string {
    return this.options.clientId;
  }

  /** Requests in flight per connection (the producer sets max.in.flight.requests.per.connection here). */
  get maxInFlightRequests(): number {
    return this.#maxInFlightRequests;
  }

  set maxInFlightRequests(value: number) {
    assert(Number.isInteger(value) && value >= 1 && value <= CONNECTION_IN_FLIGHT_REQUESTS_MAX, "maxInFlightRequests out of range");
    this.#maxInFlightRequests = value;
    for (const connection of this.#connections.values()) connection.maxInFlightRequests = value;
  }

  /** Opens a connection to a bootstrap broker and loads the broker list; rejects after the retries run out. */
  async connect(): Promise<void> {
    await this.metadata([]);
  }

  /**
   * Metadata for `topics` (null: every topic; []: brokers only), from the cache when it is fresh, else from a
   * broker (retrying lost connections). With allowAutoTopicCreation the broker creates unknown topics (when its
   * config allows). Topic errors are reported in each topic's errorCode, not thrown.
   */
  async metadata(topics: readonly string[] | null = null, options: { allowAutoTopicCreation?: boolean; refresh?: boolean } = {}): Promise<ClusterMetadata> {
    return this.retry(() => this.#metadataOnce(topics, options));
  }

  /**
   * The partitions of `topic`, waiting out retriable topic errors (a topic being created has no leader yet);
   * throws a RivuletError for the topic's error when it persists or is not retriable.
   */
  async partitionsFor(topic: string, options: { allowAutoTopicCreation?: boolean } = {}): Promise<readonly PartitionMetadata[]> {
    return this.retry(() => this.#partitionsOnce(topic, options));
  }

  /** The connection to the leader of `topic`/`partition`, opening it if needed; retries while there is no leader. */
  async connectionFor(topic: string, partition: number): Promise<Connection> {
    return this.retry(async () => {
      const partitions = await this.#partitionsOnce(topic, {});
      const entry = partitions[partition];
      if (entry === undefined || entry.partition !== partition) {
        this.invalidate(topic);
        throw protocolError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `${topic}/${partition}`);
      }
      if (entry.leader < 0 || entry.errorCode === ErrorCode.LEADER_NOT_AVAILABLE) {
        this.invalidate(topic);
        throw protocolError(ErrorCode.LEADER_NOT_AVAILABLE, `${topic}/${partition}`);
      }
      return this.connectionTo(entry.leader);
    });
  }

  // One metadata attempt: the cache when fresh, else one request (concurrent identical asks share it).
  async #metadataOnce(topics: readonly string[] | null, options: { allowAutoTopicCreation?: boolean; refresh?: boolean }): Promise<ClusterMetadata> {
    this.#checkOpen();
    if (topics !== null && options.refresh !== true) {
      const cached = this.#fromCache(topics);
      if (cached !== null) return cached;
    }
    const allowAutoTopicCreation = options.allowAutoTopicCreation ?? false;
    const key = `${allowAutoTopicCreation ? "+" : "-"}${topics === null ? "*" : [...topics].sort().join("\u0000")}`;
    const running = this.#refreshing.get(key);
    if (running !== undefined) return running;
    const refresh = (async () => {
      const connection = await this.anyConnection();
      const response = await connection.request(MetadataApi, { topics: topics === null ? null : [...topics], allowAutoTopicCreation });
      return this.#store(response);
    })().finally(() => this.#refreshing.delete(key));
    this.#refreshing.set(key, refresh);
    return refresh;
  }

  async #partitionsOnce(topic: string, options: { allowAutoTopicCreation?: boolean }): Promise<readonly PartitionMetadata[]> {
    const metadata = await this.#metadataOnce([topic], options);
    const found = metadata.topics.find((entry) => entry.name === topic);
    if (found === undefined) throw protocolError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, topic);
    if (found.errorCode !== ErrorCode.NONE) {
      this.invalidate(topic);
      throw protocolError(found.errorCode, topic);
    }
    return found.partitions;
  }

  /** The node id of the leader of `topic`/`partition` per the cache (refreshed when stale). */
  async leaderFor(topic: string, partition: number): Promise<number> {
    const partitions = await this.partitionsFor(topic);
    const entry = partitions[partition];
    if (entry === undefined) throw protocolError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `${topic}/${partition}`);
    return entry.leader;
  }

  /** The connection to broker `nodeId` (from metadata), opening it if needed. */
  async connectionTo(nodeId: number): Promise<Connection> {
    this.#checkOpen();
    let broker = this.#brokers.get(nodeId);
    if (broker === undefined) {
      await this.#metadataOnce([], { refresh: true });
      broker = this.#brokers.get(nodeId);
    }
    if (broker === undefined) throw new RivuletError(ErrorCode.BROKER_NOT_AVAILABLE, `broker ${nodeId} is not in the cluster metadata`);
    return this.#connectionToAddress(broker.host, broker.port);
  }

  /** The connection to the controller (any broker today), for admin requests. */
  async controllerConnection(): Promise<Connection> {
    if (this.#controllerId < 0 || !this.#brokers.has(this.#controllerId)) await this.#metadataOnce([], { refresh: true });
    if (this.#controllerId >= 0 && this.#brokers.has(this.#controllerId)) return this.connectionTo(this.#controllerId);
    return this.anyConnection();
  }

  /** Some open connection (the least loaded), or a new one to a known or bootstrap broker. */
  async anyConnection(): Promise<Connection> {
    this.#checkOpen();
    let best: Connection | null = null;
    for (const connection of this.#connections.values()) {
      if (!connection.isClosed && (best === null || connection.inFlightRequests < best.inFlightRequests)) best = connection;
    }
    if (best !== null) return best;
    const pending = this.#connecting.values().next();
    if (!pending.done) return pending.value;
    // Known brokers first (they were alive), then the bootstrap list; one pass, the caller's retry loop backs off.
    const candidates = [...[...this.#brokers.values()].map(({ host, port }) => ({ host, port })), ...this.#bootstrap];
    let lastError: unknown = null;
    for (const candidate of candidates) {
      try {
        return await this.#connectionToAddress(candidate.host, candidate.port);
      } catch (error) {
        if (!(error instanceof RivuletConnectionError)) throw error;
        lastError = error;
      }
    }
    throw lastError instanceof Error ? lastError : new RivuletConnectionError(this.options.brokers.join(","), "no broker reachable", { definite: true });
  }

  /** Marks cached metadata stale: of `topic`, or of every topic. */
  invalidate(topic?: string): void {
    if (topic === undefined) for (const name of this.#topics.keys()) this.#stale.add(name);
    else if (this.#topics.has(topic)) this.#stale.add(topic);
  }

  /**
   * Tells the cluster about an error a request met; marks metadata stale when the error says it is (unknown
   * topic, not leader, no leader, fenced epoch, lost connection). Returns true when it did.
   */
  noteError(error: unknown, topic?: string): boolean {
    if (!(error instanceof RivuletError) || !STALE_METADATA_CODES.has(error.code)) return false;
    this.invalidate(error.code === ErrorCode.NETWORK_EXCEPTION ? undefined : topic);
    return true;
  }

  /**
   * Runs `operation` until it succeeds, retrying retriable RivuletErrors (after noteError) with backoff, at most
   * `retry.retries` times; anything else, or the last error, is thrown. `retryWhen` narrows what is retried (a
   * write that is not idempotent retries definite errors only). Operations must be safe to repeat, and must not
   * call retry() themselves (attempts would multiply).
   */
  async retry<T>(
    operation: (attempt: number) => Promise<T>,
    retry: RetryOptions = this.options.retry,
    retryWhen: (error: RivuletError) => boolean = (error) => error.retriable,
  ): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      this.#checkOpen();
      try {
        return await operation(attempt);
      } catch (error) {
        if (!(error instanceof RivuletError) || !retryWhen(error) || attempt >= retry.retries || this.#closed) throw error;
        this.noteError(error);
        await this.#backoff(backoffMs(retry, attempt));
      }
    }
  }

  /** Closes every connection; later calls reject with RivuletClosedError. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const waiter of this.#backoffTimers) {
      clearTimeout(waiter.timer);
      waiter.reject(new RivuletClosedError("client"));
    }
    this.#backoffTimers.clear();
    const connecting = [...this.#connecting.values()];
    const open = [...this.#connections.values()];
    this.#connections.clear();
    await Promise.all(open.map((connection) => connection.close()));
    await Promise.all(connecting.map((promise) => promise.then((connection) => connection.close(), () => undefined)));
  }

  #checkOpen(): void {
    if (this.#closed) throw new RivuletClosedError("client");
  }

  #backoff(ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const waiter = {
        timer: setTimeout(() => {
          this.#backoffTimers.delete(waiter);
          resolve();
        }, ms),
        reject,
      };
      this.#backoffTimers.add(waiter);
    });
  }

  async #connectionToAddress(host: string, port: number): Promise<Connection> {
    const address = `${host}:${port}`;
    const existing = this.#connections.get(address);
    if (existing !== undefined && !existing.isClosed) return existing;
    const pending = this.#connecting.get(address);
    if (pending !== undefined) return pending;
    if (this.#connections.size >= CLUSTER_CONNECTIONS_MAX) throw new RivuletConnectionError(address, `more than ${CLUSTER_CONNECTIONS_MAX} connections`, { definite: true });
    const opening = Connection.open({
      host,
      port,
      clientId: this.options.clientId,
      connectTimeoutMs: this.options.connectionTimeout,
      requestTimeoutMs: this.options.requestTimeout,
      maxInFlightRequests: this.#maxInFlightRequests,
    })
      .then((connection) => {
        if (this.#closed) {
          void connection.close();
          throw new RivuletClosedError("client");
        }
        this.#connections.set(address, connection);
        connection.onClose((reason) => {
          if (this.#connections.get(address) === connection) this.#connections.delete(address);
          // A lost connection may mean a moved leader: look again before the next use.
          if (reason !== null) this.invalidate();
        });
        return connection;
      })
      .finally(() => this.#connecting.delete(address));
    this.#connecting.set(address, opening);
    return opening;
  }

  #fromCache(topics: readonly string[]): ClusterMetadata | null {
    const now = Date.now();
    const found: TopicMetadata[] = [];
    for (const topic of topics) {
      const cached = this.#topics.get(topic);
      if (cached === undefined || this.#stale.has(topic) || now - cached.fetchedAt > this.options.metadataMaxAge) return null;
      found.push(cached.metadata);
    }
    if (topics.length === 0 && this.#brokers.size === 0) return null;
    return this.#view(found);
  }

  #view(topics: TopicMetadata[]): ClusterMetadata {
    return { clusterId: this.#clusterId, controllerId: this.#controllerId, brokers: [...this.#brokers.values()], topics };
  }

  #store(response: MetadataResponse): ClusterMetadata {
    const now = Date.now();
    this.#brokers.clear();
    for (const broker of response.brokers) this.#brokers.set(broker.nodeId, { nodeId: broker.nodeId, host: broker.host, port: broker.port, rack: broker.rack });
    this.#clusterId = response.clusterId;
    this.#controllerId = response.controllerId;
    const topics: TopicMetadata[] = [];
    for (const topic of response.topics) {
      const partitions: PartitionMetadata[] = topic.partitions
        .map((partition) => ({
          partition: partition.partitionIndex,
          errorCode: partition.errorCode,
          leader: partition.leaderId,
          leaderEpoch: partition.leaderEpoch,
          replicas: partition.replicaNodes,
          isr: partition.isrNodes,
          offlineReplicas: partition.offlineReplicas,
        }))
        .sort((a, b) => a.partition - b.partition);
      const metadata: TopicMetadata = { name: topic.name, errorCode: topic.errorCode, isInternal: topic.isInternal, partitions };
      topics.push(metadata);
      this.#stale.delete(topic.name);
      if (topic.errorCode === ErrorCode.NONE) {
        this.#topics.delete(topic.name);
        this.#topics.set(topic.name, { metadata, fetchedAt: now });
      } else this.#topics.delete(topic.name);
    }
    // Bounded: the oldest-fetched topics go first (a Map iterates in insertion order).
    while (this.#topics.size > METADATA_CACHE_TOPICS_MAX) {
      const oldest = this.#topics.keys().next();
      if (oldest.done) break;
      this.#topics.delete(oldest.value);
      this.#stale.delete(oldest.value);
    }
    return this.#view(topics);
  }
}

/** Resolves raw client options with CLIENT_OPTIONS; throws RivuletConfigError naming the bad option. */
export function resolveClientOptions(input: unknown): ClientOptions {
  return resolveOptions(CLIENT_OPTIONS, input, "client options");
}
