// The embeddable broker: owns a data directory, its topic registry, one PartitionLog per partition, and the
// background tasks (retention, compaction, periodic flush). The server wraps this; tests use it in-process.
//
//   const broker = await Broker.open({ dataDir, clock?, defaults? });
//   await broker.createTopic("orders", { partitions: 3, configs: { "cleanup.policy": "compact" } });
//   const log = broker.partition("orders", 0);        // append / read / listOffsets / durable
//   await broker.close();
//
// Start-up: take the data dir lock (`.lock`, refusing a second broker), read topic metadata, finish deletions a
// crash interrupted, then open every partition log. A log that fails to open (a bad batch in the middle, a disk
// error) leaves its partition OFFLINE with the reason, reported by describeTopic and answered with
// KAFKA_STORAGE_ERROR; every other partition serves.
//
// Admin operations run one at a time through a queue (no await between a check and its action can interleave
// with another change). Background tasks run one at a time through a second queue, so retention and the cleaner
// never work on a partition together; a deletion or close stops the cleaner between chunks and waits for it.
// Timers are unref'd (they never keep a process alive) and cleared on close; tests call runRetention(),
// runCleaner() and runFlush() directly with a fake clock instead.
import { mkdir, readdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { type Clock, systemClock } from "./clock.ts";
import { acquireDataDirLock, type DataDirLock } from "./data-dir-lock.ts";
import { readCleanerCheckpoint, writeCleanerCheckpoint, type CleanerPartitionState } from "./cleaner-checkpoint.ts";
import { cleanPartition, CLEANER_BACKOFF_MS, type OffsetMapLimits } from "./log-cleaner.ts";
import { PartitionLog } from "./partition-log.ts";
import { ProducerIdManager } from "./producer-ids.ts";
import { PRODUCER_ID_EXPIRATION_CHECK_INTERVAL_MS_DEFAULT, PRODUCER_ID_EXPIRATION_MS_DEFAULT, type ProducerId } from "./producer-state.ts";
import {
  TOPIC_CONFIG_DEFAULTS,
  isCompacted,
  resolveTopicConfig,
  toLogConfig,
  topicConfigToStrings,
  topicDefaultsFromBrokerConfigs,
  type TopicConfig,
  type TopicConfigInput,
} from "./topic-config.ts";
import { syncDirectory } from "./durable-file.ts";
import { type TopicRecord } from "./topic-metadata.ts";
import {
  TopicRegistry,
  deleteDirName,
  isDeleteDirName,
  partitionDirName,
  topicFailure,
  type CreateTopicRequest,
  type TopicResult,
} from "./topic-registry.ts";

/** Kafka's log.retention.check.interval.ms default: how often retention runs. */
export const RETENTION_CHECK_INTERVAL_MS_DEFAULT = 300_000;
/** How often the flush scheduler asks each log whether flush.ms / flush.messages is due (Kafka's log.flush.scheduler.interval.ms, which defaults to never; flush.ms needs a tick). */
export const FLUSH_CHECK_INTERVAL_MS_DEFAULT = 1_000;

/** Options of a Broker. */
export interface BrokerOptions {
  /** The data directory (Kafka's log.dirs, one directory); created when missing. */
  dataDir: string;
  /** Time source for retention, compaction, segment.ms and LogAppendTime (a FakeClock in tests). */
  clock?: Clock;
  /**
   * Broker configs by Kafka's broker names (log.retention.ms, log.retention.hours, log.segment.bytes,
   * log.cleanup.policy, message.max.bytes, ...): the defaults of every topic that does not override them. Other
   * broker configs are ignored here (the server holds them).
   */
  defaults?: TopicConfigInput;
  /** log.retention.check.interval.ms (default 300000); 0 disables the timer. */
  retentionCheckIntervalMs?: number;
  /** How often the cleaner looks for dirty partitions (Kafka's log.cleaner.backoff.ms, 15000); 0 disables. */
  cleanerIntervalMs?: number;
  /** How often logs are asked whether flush.ms / flush.messages is due (1000); 0 disables. */
  flushCheckIntervalMs?: number;
  /** Bounds of the cleaner's offset map (defaults in log-cleaner.ts). */
  cleanerLimits?: OffsetMapLimits;
  /** producer.id.expiration.ms: idle producers' state is dropped after this (default 86400000, 1 day). */
  producerIdExpirationMs?: number;
  /** producer.id.expiration.check.interval.ms: how often expired producers are dropped (600000); 0 disables. */
  producerIdExpirationCheckIntervalMs?: number;
}

/** What InitProducerId hands out: a producer id and its epoch. */
export interface ProducerIdAndEpoch {
  producerId: ProducerId;
  producerEpoch: number;
}

/** Why start-up refused: the data dir is in use, or its metadata cannot be read or the defaults are bad. */
export type BrokerStartErrorCode = "DATA_DIR_LOCKED" | "METADATA_UNREADABLE" | "INVALID_CONFIG" | "IO_ERROR";

/** Thrown by Broker.open when the broker cannot start at all. */
export class BrokerStartError extends Error {
  override name = "BrokerStartError";
  constructor(
    readonly code: BrokerStartErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** One partition's state as describeTopic reports it. */
export type PartitionDescription =
  | {
      partition: number;
      state: "online";
      logStartOffset: number;
      highWatermark: number;
      logEndOffset: number;
      sizeBytes: number;
      /** Set when the cleaner gave up on this partition (bad data); it keeps serving. */
      cleanerError?: string;
    }
  | { partition: number; state: "offline"; error: string; detail: string };

/** Where a config value comes from (Kafka's DescribeConfigs sources). */
export type ConfigSource = "DYNAMIC_TOPIC_CONFIG" | "STATIC_BROKER_CONFIG" | "DEFAULT_CONFIG";

/** A topic as describeTopic reports it. */
export interface TopicDescription {
  name: string;
  id: string;
  partitions: PartitionDescription[];
  /** Every effective config, by Kafka name. */
  configs: Record<string, string>;
  /** Where each config's value comes from. */
  configSources: Record<string, ConfigSource>;
}

/** What one runCleaner() did. */
export interface CleanerRunSummary {
  partitionsCleaned: number;
  recordsRemoved: number;
  bytesBefore: number;
  bytesAfter: number;
  failures: { topic: string; partition: number; error: string }[];
}

type PartitionSlot =
  | { state: "online"; log: PartitionLog }
  | { state: "offline"; error: string; detail: string };

interface TopicState {
  record: TopicRecord;
  config: TopicConfig;
  partitions: PartitionSlot[];
}

function cleanerKey(topicId: string, partition: number): string {
  return `${topicId}:${partition}`;
}

/** The embeddable broker over one data directory. */
export class Broker {
  private readonly topics = new Map<string, TopicState>();
  private readonly clock: Clock;
  private adminQueue: Promise<unknown> = Promise.resolve();
  private maintenanceQueue: Promise<unknown> = Promise.resolve();
  private readonly timers: ReturnType<typeof setInterval>[] = [];
  private readonly cleanerStates = new Map<string, CleanerPartitionState>();
  private readonly cleanerErrors = new Map<string, string>();
  // Topic ids being deleted: the cleaner stops working on them between chunks.
  private readonly stopping = new Set<string>();
  private closing = false;
  private closed: Promise<void> | null = null;
  private producerIds!: ProducerIdManager;

  private constructor(
    readonly dataDir: string,
    private readonly registry: TopicRegistry,
    private readonly lock: DataDirLock,
    private readonly brokerDefaults: TopicConfig,
    private readonly options: BrokerOptions,
  ) {
    this.clock = options.clock ?? systemClock;
  }

  /** Opens the data directory and every partition, then starts the background timers. */
  static async open(options: BrokerOptions): Promise<Broker> {
    const defaults = topicDefaultsFromBrokerConfigs(options.defaults ?? {});
    if (!defaults.ok) throw new BrokerStartError("INVALID_CONFIG", defaults.message);
    try {
      await mkdir(options.dataDir, { recursive: true });
    } catch (error) {
      throw new BrokerStartError("IO_ERROR", `cannot create data directory ${options.dataDir}: ${(error as Error).message}`);
    }
    const lock = acquireDataDirLock(options.dataDir);
    if (!lock.ok) throw new BrokerStartError(lock.error === "locked" ? "DATA_DIR_LOCKED" : "IO_ERROR", lock.message);
    try {
      const registry = await TopicRegistry.load(options.dataDir);
      if (!registry.ok) {
        throw new BrokerStartError("METADATA_UNREADABLE", `topic metadata in ${options.dataDir} cannot be read (${registry.error}); refusing to start rather than lose topics`);
      }
      const broker = new Broker(options.dataDir, registry.value, lock.value, defaults.value, options);
      await broker.start();
      return broker;
    } catch (error) {
      lock.value.release();
      throw error;
    }
  }

  private async start(): Promise<void> {
    const producerIds = ProducerIdManager.open(this.dataDir);
    if (!producerIds.ok) {
      // Guessing would risk handing a live producer's id to another producer; refuse instead.
      throw new BrokerStartError("METADATA_UNREADABLE", `producer id state in ${this.dataDir} cannot be read (${producerIds.error}); refusing to start rather than reuse producer ids`);
    }
    this.producerIds = producerIds.value;
    await this.finishDeletions();
    const checkpoint = await readCleanerCheckpoint(this.dataDir);
    // An unreadable cleaner checkpoint only costs a full pass and a longer tombstone wait (see cleaner-checkpoint.ts).
    if (checkpoint.ok) for (const state of checkpoint.value) this.cleanerStates.set(cleanerKey(state.topicId, state.partition), state);
    for (const record of this.registry.live()) {
      const topic = this.addTopicState(record);
      for (let partition = 0; partition < record.partitions; partition++) topic.partitions.push(await this.openPartition(record, topic.config, partition));
    }
    this.startTimers();
  }

  private addTopicState(record: TopicRecord): TopicState {
    const resolved = resolveTopicConfig(record.configs, this.brokerDefaults);
    // Overrides were valid when stored; only a change of broker defaults can make the combination invalid.
    // The topic then runs on its overrides over Kafka's defaults rather than going offline.
    const config = resolved.ok ? resolved.value : (resolveTopicConfig(record.configs, TOPIC_CONFIG_DEFAULTS) as { ok: true; value: TopicConfig }).value;
    const topic: TopicState = { record, config, partitions: [] };
    this.topics.set(record.name, topic);
    return topic;
  }

  private async openPartition(record: TopicRecord, config: TopicConfig, partition: number): Promise<PartitionSlot> {
    const dir = join(this.dataDir, partitionDirName(record.name, partition));
    try {
      const opened = await PartitionLog.open(dir, toLogConfig(config), {
        clock: this.clock,
        producerIdExpirationMs: this.options.producerIdExpirationMs ?? PRODUCER_ID_EXPIRATION_MS_DEFAULT,
      });
      if (opened instanceof PartitionLog) return { state: "online", log: opened };
      return { state: "offline", error: opened.error, detail: opened.detail };
    } catch (error) {
      return { state: "offline", error: "io_error", detail: `${dir}: ${(error as Error).message}` };
    }
  }

  // Finishes deletions a crash interrupted, and removes any `-delete` directory left behind.
  private async finishDeletions(): Promise<void> {
    for (const record of this.registry.deleting()) {
      if (this.registry.get(record.name) === undefined) await this.renamePartitionDirs(record);
    }
    await this.removeDeleteDirs();
    for (const record of this.registry.deleting()) await this.registry.remove(record.id);
  }

  private async renamePartitionDirs(record: TopicRecord): Promise<void> {
    let renamed = false;
    for (let partition = 0; partition < record.partitions; partition++) {
      const from = join(this.dataDir, partitionDirName(record.name, partition));
      try {
        await rename(from, join(this.dataDir, deleteDirName(record.name, partition, record.id)));
        renamed = true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      }
    }
    if (renamed) await syncDirectory(this.dataDir);
  }

  private async removeDeleteDirs(): Promise<void> {
    const names = (await readdir(this.dataDir)).filter(isDeleteDirName);
    for (const name of names) await rm(join(this.dataDir, name), { recursive: true, force: true });
    if (names.length > 0) await syncDirectory(this.dataDir);
  }

  private startTimers(): void {
    const every = (ms: number | undefined, fallback: number, task: () => Promise<unknown> | void): void => {
      const interval = ms ?? fallback;
      if (interval <= 0) return;
      const timer = setInterval(() => {
        if (this.closing) return;
        // Background failures must not crash the process; they surface through describeTopic and the next run.
        Promise.resolve(task()).catch(() => undefined);
      }, interval);
      timer.unref();
      this.timers.push(timer);
    };
    every(this.options.retentionCheckIntervalMs, RETENTION_CHECK_INTERVAL_MS_DEFAULT, () => this.runRetention());
    every(this.options.cleanerIntervalMs, CLEANER_BACKOFF_MS, () => this.runCleaner());
    every(this.options.flushCheckIntervalMs, FLUSH_CHECK_INTERVAL_MS_DEFAULT, () => this.runFlush());
    every(this.options.producerIdExpirationCheckIntervalMs, PRODUCER_ID_EXPIRATION_CHECK_INTERVAL_MS_DEFAULT, () => {
      this.runProducerExpiration();
    });
  }

  private admin<T>(step: () => Promise<T>): Promise<T> {
    const run = this.adminQueue.then(step, step);
    this.adminQueue = run.catch(() => undefined);
    return run;
  }

  private maintenance<T>(step: () => Promise<T>): Promise<T> {
    const run = this.maintenanceQueue.then(step, step);
    this.maintenanceQueue = run.catch(() => undefined);
    return run;
  }

  private notClosing(): TopicResult<void> {
    return this.closing ? topicFailure("BROKER_NOT_AVAILABLE", "The broker is shutting down.") : { ok: true, value: undefined };
  }

  /** Creates a topic with `partitions` (default 1) and config overrides, durably, and opens its logs. */
  createTopic(name: string, request: CreateTopicRequest = {}): Promise<TopicResult<TopicDescription>> {
    return this.admin(async () => {
      const open = this.notClosing();
      if (!open.ok) return open;
      const prepared = this.registry.prepareCreate(name, request);
      if (!prepared.ok) return prepared;
      const record = prepared.value;
      const resolved = resolveTopicConfig(record.configs, this.brokerDefaults);
      if (!resolved.ok) return topicFailure("INVALID_CONFIG", resolved.message);
      // Metadata first: a crash after this leaves a topic whose directories are created on the next start.
      await this.registry.add(record);
      const topic: TopicState = { record, config: resolved.value, partitions: [] };
      for (let partition = 0; partition < record.partitions; partition++) topic.partitions.push(await this.openPartition(record, topic.config, partition));
      this.topics.set(name, topic);
      return { ok: true, value: this.describe(topic) };
    });
  }

  /**
   * Deletes a topic crash-safely: marked deleted in metadata (from then on it is gone, even after a crash), logs
   * closed, directories renamed to `-delete` names, removed, and the metadata entry dropped.
   */
  deleteTopic(name: string): Promise<TopicResult<void>> {
    return this.admin(async () => {
      const open = this.notClosing();
      if (!open.ok) return open;
      const topic = this.topics.get(name);
      if (topic === undefined) return topicFailure("UNKNOWN_TOPIC_OR_PARTITION", `Topic '${name}' does not exist.`);
      const record = topic.record;
      // One synchronous block: clients stop seeing the topic and the cleaner is told to leave it.
      this.topics.delete(name);
      this.stopping.add(record.id);
      try {
        await this.registry.markDeleting(record.id);
        // Wait for a running background task to notice and step away before the logs close under it.
        await this.maintenance(async () => undefined);
        for (const slot of topic.partitions) if (slot.state === "online") slot.log.abandon();
        await this.renamePartitionDirs(record);
        for (let partition = 0; partition < record.partitions; partition++) {
          await rm(join(this.dataDir, deleteDirName(record.name, partition, record.id)), { recursive: true, force: true });
        }
        await syncDirectory(this.dataDir);
        await this.registry.remove(record.id);
        for (let partition = 0; partition < record.partitions; partition++) {
          this.cleanerStates.delete(cleanerKey(record.id, partition));
          this.cleanerErrors.delete(cleanerKey(record.id, partition));
        }
      } finally {
        this.stopping.delete(record.id);
      }
      return { ok: true, value: undefined };
    });
  }

  /** Raises a topic's partition count to `total` (partitions are only ever added, as in Kafka). */
  createPartitions(name: string, total: number): Promise<TopicResult<TopicDescription>> {
    return this.admin(async () => {
      const open = this.notClosing();
      if (!open.ok) return open;
      const topic = this.topics.get(name);
      const prepared = this.registry.prepareCreatePartitions(name, total);
      if (!prepared.ok || topic === undefined) return prepared.ok ? topicFailure("UNKNOWN_TOPIC_OR_PARTITION", `Topic '${name}' does not exist.`) : prepared;
      await this.registry.update(prepared.value);
      topic.record = prepared.value;
      for (let partition = topic.partitions.length; partition < total; partition++) {
        topic.partitions.push(await this.openPartition(topic.record, topic.config, partition));
      }
      return { ok: true, value: this.describe(topic) };
    });
  }

  /**
   * Changes config overrides: a value sets one, null removes it (back to the broker default). Applied durably,
   * then to the open logs (segment limits from their next roll check, retention at its next run).
   */
  alterConfigs(name: string, changes: Record<string, string | number | boolean | null>): Promise<TopicResult<TopicDescription>> {
    return this.admin(async () => {
      const open = this.notClosing();
      if (!open.ok) return open;
      const topic = this.topics.get(name);
      const prepared = this.registry.prepareAlterConfigs(name, changes);
      if (!prepared.ok || topic === undefined) return prepared.ok ? topicFailure("UNKNOWN_TOPIC_OR_PARTITION", `Topic '${name}' does not exist.`) : prepared;
      const resolved = resolveTopicConfig(prepared.value.configs, this.brokerDefaults);
      if (!resolved.ok) return topicFailure("INVALID_CONFIG", resolved.message);
      await this.registry.update(prepared.value);
      topic.record = prepared.value;
      topic.config = resolved.value;
      const logConfig = toLogConfig(resolved.value);
      for (const slot of topic.partitions) if (slot.state === "online") slot.log.updateConfig(logConfig);
      return { ok: true, value: this.describe(topic) };
    });
  }

  /** Names of every topic, sorted. */
  listTopics(): string[] {
    return [...this.topics.keys()].sort();
  }

  /** A topic's partitions (with OFFLINE ones and why), offsets and effective configs. */
  describeTopic(name: string): TopicResult<TopicDescription> {
    const topic = this.topics.get(name);
    if (topic === undefined) return topicFailure("UNKNOWN_TOPIC_OR_PARTITION", `Topic '${name}' does not exist.`);
    return { ok: true, value: this.describe(topic) };
  }

  /** A topic's effective configuration. */
  topicConfig(name: string): TopicResult<TopicConfig> {
    const topic = this.topics.get(name);
    if (topic === undefined) return topicFailure("UNKNOWN_TOPIC_OR_PARTITION", `Topic '${name}' does not exist.`);
    return { ok: true, value: topic.config };
  }

  private describe(topic: TopicState): TopicDescription {
    const configs = topicConfigToStrings(topic.config);
    const kafkaDefaults = topicConfigToStrings(TOPIC_CONFIG_DEFAULTS);
    const brokerDefaults = topicConfigToStrings(this.brokerDefaults);
    const configSources: Record<string, ConfigSource> = {};
    for (const name of Object.keys(configs)) {
      configSources[name] =
        topic.record.configs[name] !== undefined ? "DYNAMIC_TOPIC_CONFIG" : brokerDefaults[name] !== kafkaDefaults[name] ? "STATIC_BROKER_CONFIG" : "DEFAULT_CONFIG";
    }
    const partitions = topic.partitions.map((slot, partition): PartitionDescription => {
      if (slot.state === "offline") return { partition, state: "offline", error: slot.error, detail: slot.detail };
      const description: PartitionDescription = {
        partition,
        state: "online",
        logStartOffset: slot.log.logStartOffset,
        highWatermark: slot.log.highWatermark,
        logEndOffset: slot.log.logEndOffset,
        sizeBytes: slot.log.sizeBytes,
      };
      const cleanerError = this.cleanerErrors.get(cleanerKey(topic.record.id, partition));
      if (cleanerError !== undefined) description.cleanerError = cleanerError;
      return description;
    });
    return { name: topic.record.name, id: topic.record.id, partitions, configs, configSources };
  }

  /**
   * The log of one partition (append, read, earliestOffset/latestOffset/offsetForTimestamp, flushed/durable).
   * UNKNOWN_TOPIC_OR_PARTITION when it does not exist, KAFKA_STORAGE_ERROR when it is offline,
   * BROKER_NOT_AVAILABLE once close() has begun.
   */
  partition(topicName: string, partition: number): TopicResult<PartitionLog> {
    // Logs close during shutdown: hand none out (an append to a closed log is a bug, not an error answer).
    if (this.closing) return topicFailure("BROKER_NOT_AVAILABLE", "The broker is shutting down.");
    const topic = this.topics.get(topicName);
    const slot = topic?.partitions[partition];
    if (topic === undefined || slot === undefined) {
      return topicFailure("UNKNOWN_TOPIC_OR_PARTITION", `This server does not host this topic-partition: ${topicName}-${partition}.`);
    }
    if (slot.state === "offline") {
      return topicFailure("KAFKA_STORAGE_ERROR", `Partition ${topicName}-${partition} is offline: ${slot.error}: ${slot.detail}`);
    }
    return { ok: true, value: slot.log };
  }

  private onlineLogs(): { topic: TopicState; partition: number; log: PartitionLog }[] {
    const out: { topic: TopicState; partition: number; log: PartitionLog }[] = [];
    for (const topic of this.topics.values()) {
      topic.partitions.forEach((slot, partition) => {
        if (slot.state === "online") out.push({ topic, partition, log: slot.log });
      });
    }
    return out;
  }

  private stillServing(topic: TopicState): boolean {
    return !this.closing && !this.stopping.has(topic.record.id) && this.topics.get(topic.record.name) === topic;
  }

  /** Applies retention.ms / retention.bytes to every partition now (the timer's task); returns segments deleted. */
  runRetention(): Promise<number> {
    return this.maintenance(async () => {
      let deleted = 0;
      const nowMs = this.clock.nowMs();
      for (const { topic, log } of this.onlineLogs()) {
        if (!this.stillServing(topic)) continue;
        deleted += await log.deleteRetainedSegments(nowMs);
      }
      return deleted;
    });
  }

  /**
   * InitProducerId for an idempotent producer (no transactional id): a fresh producer id, unique across restarts
   * of this data directory, with epoch 0, as Kafka answers. Epoch bumps of idempotent producers happen in the
   * client (KIP-360); transactional ids come with the transaction coordinator.
   */
  async initProducerId(): Promise<TopicResult<ProducerIdAndEpoch>> {
    const open = this.notClosing();
    if (!open.ok) return open;
    const producerId = await this.producerIds.allocate();
    return { ok: true, value: { producerId, producerEpoch: 0 } };
  }

  /** Drops the state of producers idle for producer.id.expiration.ms in every partition (the timer's task). */
  runProducerExpiration(): number {
    const nowMs = this.clock.nowMs();
    let removed = 0;
    for (const { log } of this.onlineLogs()) removed += log.removeExpiredProducers(nowMs);
    return removed;
  }

  /** Asks every log whether flush.messages / flush.ms calls for a sync (the flush timer's task). */
  runFlush(): void {
    for (const { log } of this.onlineLogs()) log.maybeFlush();
  }

  /**
   * Runs one compaction pass over every partition of compacted topics that needs one (the cleaner timer's
   * task). `ignoreDirtyRatio` cleans whatever is dirty (admin tools and tests).
   */
  runCleaner(options: { ignoreDirtyRatio?: boolean } = {}): Promise<CleanerRunSummary> {
    return this.maintenance(async () => {
      const summary: CleanerRunSummary = { partitionsCleaned: 0, recordsRemoved: 0, bytesBefore: 0, bytesAfter: 0, failures: [] };
      for (const { topic, partition, log } of this.onlineLogs()) {
        if (!isCompacted(topic.config) || !this.stillServing(topic)) continue;
        const key = cleanerKey(topic.record.id, partition);
        if (this.cleanerErrors.has(key)) continue;
        const state = this.cleanerStates.get(key) ?? { topicId: topic.record.id, partition, firstDirtyOffset: 0, passes: [] };
        const result = await cleanPartition(log, topic.config, state, {
          nowMs: this.clock.nowMs(),
          ...(this.options.cleanerLimits === undefined ? {} : { limits: this.options.cleanerLimits }),
          ...(options.ignoreDirtyRatio === undefined ? {} : { ignoreDirtyRatio: options.ignoreDirtyRatio }),
          shouldStop: () => !this.stillServing(topic),
        });
        if (result.kind === "failed") {
          // Kafka marks such a partition uncleanable and carries on; it keeps serving reads and appends.
          this.cleanerErrors.set(key, result.error);
          summary.failures.push({ topic: topic.record.name, partition, error: result.error });
        } else if (result.kind === "cleaned") {
          this.cleanerStates.set(key, result.state);
          await writeCleanerCheckpoint(this.dataDir, this.liveCleanerStates());
          summary.partitionsCleaned++;
          summary.recordsRemoved += result.recordsRemoved;
          summary.bytesBefore += result.bytesBefore;
          summary.bytesAfter += result.bytesAfter;
        }
      }
      return summary;
    });
  }

  // Cleaner states of partitions that still exist (deleted topics' states are dropped when written).
  private liveCleanerStates(): CleanerPartitionState[] {
    const ids = new Set([...this.topics.values()].map((topic) => topic.record.id));
    return [...this.cleanerStates.values()].filter((state) => ids.has(state.topicId));
  }

  /**
   * Stops the timers and background tasks, closes every log cleanly (sync, checkpoint, clean-shutdown state) and
   * releases the data dir lock. Idempotent.
   */
  close(): Promise<void> {
    if (this.closed !== null) return this.closed;
    this.closing = true;
    for (const timer of this.timers.splice(0)) clearInterval(timer);
    this.closed = (async () => {
      await this.adminQueue;
      await this.maintenanceQueue;
      // A block reservation in progress finishes before the lock goes (it writes into the data dir).
      await this.producerIds.settled();
      try {
        for (const { log } of this.onlineLogs()) await log.close();
      } finally {
        this.lock.release();
      }
    })();
    return this.closed;
  }
}
