// The consumer's fetch loop: keeps a position per assigned partition, long-polls the partitions' leaders with
// Fetch, and hands the answers to the consumer through a bounded buffer.
//
// Pipelining. An answer's batch frames are walked on arrival (partition-records.ts), which gives the offset the
// next fetch starts at without decoding a record; so a partition is fetched again as soon as its buffered answer
// has been handed over, and that fetch flies while the user processes the answer (as Kafka's consumer fetches the
// partitions that have no completed fetch buffered). One Fetch per broker is in flight at a time. The bounds: at
// most one buffered answer per partition, and no fetch is sent while fetch.max.bytes of records are buffered, so
// memory stays near the answer in hand + fetch.max.bytes buffered + one answer in flight (plus the messages of
// one batch). With several partitions, the next fetch (of the partitions already handed over) goes out while the
// others' answers are still buffered, instead of after all of them. A reader served from the buffer never waits,
// so it would never let the event loop read the socket: next() gives the loop a turn every FETCH_READ_TURN_MS
// while a fetch is in flight, so the answer keeps arriving instead of stopping at the socket's receive window
// until the buffer runs dry (issue 7: 1-partition consume waited on every fetch).
//
// Positions. Each partition has two: `position`, the offset of the next message the user gets (moved as messages
// are handed out), and `fetchPosition`, where the next fetch starts (ahead of it by what is buffered). Every change
// the user makes (seek, pause, a new assignment) bumps the partition's `epoch`, which invalidates what is buffered
// or in flight for it, and sets fetchPosition back to position. An answer whose epoch or fetch offset no longer
// matches is dropped. A partition without a position (new, or its position left the log) is reset by ListOffsets
// to the earliest or latest offset before it is fetched, or reports RivuletOffsetOutOfRangeError when
// auto.offset.reset is "none".
//
// Failures. A lost connection or a retriable error backs off (retry.backoff.ms doubling to retry.backoff.max.ms)
// and tries again from the same fetchPosition, so a broker restart loses and repeats nothing: whatever was in
// flight is dropped unseen and fetched again. Leadership and topic errors also mark metadata stale, so the next
// try asks the (possibly new) leader. A non-retriable error stops fetching that partition and is handed to the
// user in order, after the messages that came before it.
import type { Cluster } from "../cluster.ts";
import type { Connection } from "../connection.ts";
import { ErrorCode, RivuletError, isRetriable } from "../errors.ts";
import { FetchApi, IsolationLevel } from "../../core/formats/protocol/fetch.ts";
import { ListOffsetsApi, ListOffsetsTimestamp } from "../../core/formats/protocol/list-offsets.ts";
import { assert } from "../../core/assert.ts";
import type { ConsumerOptions } from "./consumer-options.ts";
import { RivuletCorruptRecordError, RivuletOffsetOutOfRangeError } from "./consumer-errors.ts";
import { type Message, PartitionRecords } from "./partition-records.ts";

/** Most partitions one consumer may be assigned (a bound on its maps and on one Fetch request's size). */
export const CONSUMER_PARTITIONS_MAX = 65_536;

/**
 * Longest a reader runs through buffered answers without a turn of the event loop while a fetch is in flight (so
 * the socket keeps being read and the broker keeps sending; see Fetcher.next).
 */
export const FETCH_READ_TURN_MS = 1;

/** What the fetcher needs from the client's cluster view (client/cluster.ts Cluster has it). */
export type ClusterAccess = Pick<Cluster, "connectionFor" | "invalidate">;

/** Where a partition without a position starts. */
export type ResetStrategy = "earliest" | "latest";

/** A partition to consume and, optionally, where to start. */
export interface PartitionAssignment {
  topic: string;
  partition: number;
  /** The first offset to read; absent: a committed offset when there is one (later), else auto.offset.reset. */
  offset?: bigint | number;
}

/** The messages of one partition handed to the user at once (at most max.poll.records). */
export interface MessageBatch {
  readonly topic: string;
  readonly partition: number;
  /** The partition's high watermark when it was fetched (the offset after its last committed record). */
  readonly highWatermark: bigint;
  readonly messages: readonly Message[];
}

/** A partition's state as the consumer may hold it (opaque: only Fetcher reads it). */
export interface PartitionHandle {
  readonly key: string;
}

interface PartitionState {
  readonly topic: string;
  readonly partition: number;
  readonly key: string;
  /** Offset of the next message handed to the user; null until known. */
  position: number | null;
  /** Offset the next fetch starts at; null until known. */
  fetchPosition: number | null;
  /** How to find the position when it is null; null with a null position means "report an error". */
  resetTo: ResetStrategy | null;
  paused: boolean;
  /** Bumped by every user change; buffered and in-flight data of an older epoch is dropped. */
  epoch: number;
  /** A non-retriable error reported to the user; fetching stops until seek() clears it. */
  failed: boolean;
  highWatermark: number;
  /**
   * Set when a fetch made while other answers were buffered (a partial fetch, which does not wait) found nothing
   * for the partition: it is left out of partial fetches until a full one (nothing buffered) asks for it again.
   */
  caughtUp: boolean;
}

type BufferEntry =
  | { readonly kind: "records"; readonly state: PartitionState; readonly epoch: number; readonly records: PartitionRecords }
  | { readonly kind: "error"; readonly state: PartitionState; readonly epoch: number; readonly error: Error };

interface SentPartition {
  readonly state: PartitionState;
  readonly epoch: number;
  readonly fetchOffset: number;
}

const key = (topic: string, partition: number): string => `${partition}:${topic}`;

// Errors that mean "ask the metadata again, the leader or the topic moved".
const METADATA_ERRORS = new Set<number>([
  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  ErrorCode.LEADER_NOT_AVAILABLE,
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.FENCED_LEADER_EPOCH,
  ErrorCode.UNKNOWN_LEADER_EPOCH,
  ErrorCode.REPLICA_NOT_AVAILABLE,
]);

/** The fetch loop and positions of one consumer. */
export class Fetcher {
  readonly #cluster: ClusterAccess;
  readonly #options: ConsumerOptions;
  readonly #states = new Map<string, PartitionState>();
  #buffer: BufferEntry[] = [];
  #current: BufferEntry | null = null;
  #running = false;
  // Each start() runs a new loop; a loop whose generation is not current ends and drops what it receives, so
  // stop() never waits on a long poll in flight.
  #generation = 0;
  #wake: (() => void) | null = null;
  #signalPending = false;
  // A failure that stopped the loop (not retriable): next() throws it.
  #fatal: Error | null = null;
  #dataWaiter: (() => void) | null = null;
  #backoffMs = 0;
  // Rotates the order of partitions in a Fetch, so one busy partition can not starve the ones after it.
  #rotation = 0;
  // Fetch requests sent and not yet answered (or failed).
  #fetchesInFlight = 0;
  // When the reader last let the event loop run (see next()).
  #lastTurnMs = 0;
  /** The last error of the loop that was retried (for diagnostics; cleared on success). */
  lastRetriedError: Error | null = null;

  readonly #requestTimeoutMs: number;

  /** `requestTimeoutMs`: how long a request may wait for its answer, beyond fetch.max.wait.ms for a Fetch. */
  constructor(cluster: ClusterAccess, options: ConsumerOptions, requestTimeoutMs: number) {
    this.#cluster = cluster;
    this.#options = options;
    this.#requestTimeoutMs = requestTimeoutMs;
  }

  /** Starts the fetch loop (idempotent). */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#fatal = null;
    this.#generation += 1;
    void this.#run(this.#generation);
  }

  /** Stops the loop at once: next() returns null, what is in flight is dropped when it arrives. */
  stop(): void {
    if (!this.#running) return;
    this.#running = false;
    this.#generation += 1;
    this.#signal();
    const waiter = this.#dataWaiter;
    this.#dataWaiter = null;
    waiter?.();
  }

  /** Fetched answers waiting to be handed out (not counting the one in hand): at most one per partition. */
  get bufferedEntries(): number {
    return this.#buffer.length;
  }

  /** True while the loop runs. */
  get isRunning(): boolean {
    return this.#running;
  }

  /** The assigned partitions, in assignment order. */
  assignment(): { topic: string; partition: number }[] {
    return [...this.#states.values()].map(({ topic, partition }) => ({ topic, partition }));
  }

  /** True when `topic`/`partition` is assigned. */
  /** The partition's state as an opaque handle, for per-message checks without a lookup by name; null when unassigned. */
  handle(topic: string, partition: number): PartitionHandle | null {
    return this.#states.get(key(topic, partition)) ?? null;
  }

  /**
   * True while `handle`'s partition is still assigned (not replaced since), not paused, and at `position`: the
   * consumer's check after each message it hands out, kept free of the string key each other lookup builds.
   */
  isStillAt(handle: PartitionHandle, position: number | null): boolean {
    const state = handle as PartitionState;
    return !state.paused && state.position === position && this.#states.get(state.key) === state;
  }

  isAssigned(topic: string, partition: number): boolean {
    return this.#states.has(key(topic, partition));
  }

  /**
   * Replaces the assignment: partitions that stay keep their positions unless a new offset is given; new ones
   * start at their offset, or are reset with `reset` (or reported, when `reset` is null: auto.offset.reset none).
   */
  assign(assignments: readonly PartitionAssignment[], reset: ResetStrategy | null): void {
    if (assignments.length > CONSUMER_PARTITIONS_MAX) throw new RivuletError(ErrorCode.INVALID_REQUEST, `at most ${CONSUMER_PARTITIONS_MAX} partitions per consumer`);
    const next = new Map<string, PartitionState>();
    for (const assignment of assignments) {
      const k = key(assignment.topic, assignment.partition);
      const existing = this.#states.get(k) ?? next.get(k);
      const state: PartitionState = existing ?? {
        topic: assignment.topic,
        partition: assignment.partition,
        key: k,
        position: null,
        fetchPosition: null,
        resetTo: reset,
        paused: false,
        epoch: 0,
        failed: false,
        highWatermark: -1,
        caughtUp: false,
      };
      if (assignment.offset !== undefined) this.#setPosition(state, Number(assignment.offset));
      next.set(k, state);
    }
    for (const [k, state] of this.#states) if (!next.has(k)) state.epoch += 1;
    this.#states.clear();
    for (const [k, state] of next) this.#states.set(k, state);
    this.#dropStale();
    this.#signal();
  }

  /** Adds partitions to the assignment (a subscription found new ones); existing ones are left as they are. */
  add(assignments: readonly PartitionAssignment[], reset: ResetStrategy | null): void {
    const fresh = assignments.filter((a) => !this.#states.has(key(a.topic, a.partition)));
    if (fresh.length === 0) return;
    this.assign([...this.assignment(), ...fresh], reset);
  }

  /** Moves a partition's position: the next message handed out is at `offset` (or the earliest/latest one). */
  seek(topic: string, partition: number, offset: number | ResetStrategy): void {
    const state = this.#states.get(key(topic, partition));
    assert(state !== undefined, "seek of an unassigned partition");
    if (typeof offset === "number") this.#setPosition(state, offset);
    else {
      state.position = null;
      state.fetchPosition = null;
      state.resetTo = offset;
      state.failed = false;
      state.epoch += 1;
    }
    this.#dropStale();
    this.#signal();
  }

  /** Stops fetching and delivering `topic`/`partition` until resume(); what is buffered for it is fetched again later. */
  pause(topic: string, partition: number): void {
    const state = this.#states.get(key(topic, partition));
    assert(state !== undefined, "pause of an unassigned partition");
    if (state.paused) return;
    state.paused = true;
    this.#rewind(state);
    this.#dropStale();
  }

  /** Fetches and delivers `topic`/`partition` again. */
  resume(topic: string, partition: number): void {
    const state = this.#states.get(key(topic, partition));
    assert(state !== undefined, "resume of an unassigned partition");
    if (!state.paused) return;
    state.paused = false;
    this.#signal();
  }

  /** True when the partition is paused. */
  isPaused(topic: string, partition: number): boolean {
    return this.#states.get(key(topic, partition))?.paused ?? false;
  }

  /** The offset of the next message the user gets from the partition, or null while it has none yet. */
  position(topic: string, partition: number): number | null {
    return this.#states.get(key(topic, partition))?.position ?? null;
  }

  /**
   * The next messages of one partition (at most `max`), waiting for a fetch when nothing is buffered; null when
   * the fetcher stops. Throws a partition's error (offset out of range with reset "none", a corrupt batch, a
   * non-retriable broker error) in its place in the stream.
   */
  async next(max: number): Promise<MessageBatch | null> {
    // While a fetch is in flight, a reader that never waits (its answers are buffered) would keep the event loop
    // from reading the socket: the broker's answer then stops at the socket's receive window until this answer is
    // used up, and the next one arrives late. A turn of the event loop every FETCH_READ_TURN_MS lets it in.
    if (this.#fetchesInFlight > 0 && performance.now() - this.#lastTurnMs >= FETCH_READ_TURN_MS) await this.#turn();
    for (;;) {
      if (this.#fatal !== null) throw this.#fatal;
      if (!this.#running) return null;
      const batch = this.#takeBuffered(max);
      if (batch !== null) return batch;
      await new Promise<void>((resolve) => (this.#dataWaiter = resolve));
      this.#dataWaiter = null;
      this.#lastTurnMs = performance.now();
    }
  }

  // One turn of the event loop (I/O included: a microtask would not let the socket be read).
  async #turn(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.#lastTurnMs = performance.now();
  }

  // Takes from the current entry, or the next valid buffered one; null when nothing is buffered. One synchronous
  // block, so no seek or pause can slip between the validity check and the position update.
  #takeBuffered(max: number): MessageBatch | null {
    for (;;) {
      let entry = this.#current;
      if (entry === null || !this.#isLive(entry) || (entry.kind === "records" && entry.records.isEmpty && entry.records.corrupt === null)) {
        entry = this.#buffer.shift() ?? null;
        this.#current = entry;
        if (entry === null) return null;
        // The entry's partition has nothing buffered now: the loop may fetch it while the user works on this entry.
        this.#signal();
        continue;
      }
      const state = entry.state;
      if (entry.kind === "error") {
        this.#current = null;
        throw entry.error;
      }
      const records = entry.records;
      const messages = records.take(max);
      if (messages.length > 0) {
        state.position = records.position;
        return { topic: state.topic, partition: state.partition, highWatermark: BigInt(records.highWatermark), messages };
      }
      state.position = records.position;
      const corrupt = records.corrupt;
      if (corrupt !== null) {
        // Nothing after the bad batch may be delivered: stop the partition where the user stands.
        this.#current = null;
        state.failed = true;
        this.#rewind(state);
        this.#dropStale();
        throw new RivuletCorruptRecordError(state.topic, state.partition, BigInt(corrupt.offset), corrupt.error);
      }
      // Only batches before the fetch offset, or control batches: nothing to hand out, take the next entry.
      this.#current = null;
    }
  }

  #isLive(entry: BufferEntry): boolean {
    const state = entry.state;
    return this.#states.get(state.key) === state && state.epoch === entry.epoch && !state.paused;
  }

  #setPosition(state: PartitionState, offset: number): void {
    assert(Number.isSafeInteger(offset) && offset >= 0, "offset must be a non-negative safe integer");
    state.position = offset;
    state.fetchPosition = offset;
    state.failed = false;
    state.caughtUp = false;
    state.epoch += 1;
  }

  // Forgets what was fetched ahead of the user's position: it will be fetched again.
  #rewind(state: PartitionState): void {
    state.epoch += 1;
    state.fetchPosition = state.position;
    state.caughtUp = false;
  }

  #dropStale(): void {
    if (this.#current !== null && !this.#isLive(this.#current)) this.#current = null;
    this.#buffer = this.#buffer.filter((entry) => this.#isLive(entry));
    if (this.#buffer.length === 0) this.#signal();
  }

  // Wakes the loop; a signal while it is not asleep is kept, so its next sleep returns at once (none is lost).
  #signal(): void {
    const wake = this.#wake;
    this.#wake = null;
    if (wake === null) this.#signalPending = true;
    else wake();
  }

  #deliver(entry: BufferEntry): void {
    this.#buffer.push(entry);
    const waiter = this.#dataWaiter;
    this.#dataWaiter = null;
    waiter?.();
  }

  // Waits for a signal (assignment change, buffer emptied, stop) or `ms`, whichever comes first.
  #sleep(ms: number | null): Promise<void> {
    if (this.#signalPending) {
      this.#signalPending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | null = null;
      const done = (): void => {
        if (timer !== null) clearTimeout(timer);
        if (this.#wake === done) this.#wake = null;
        resolve();
      };
      this.#wake = done;
      if (ms !== null) timer = setTimeout(done, ms);
    });
  }

  async #run(generation: number): Promise<void> {
    const current = (): boolean => this.#generation === generation;
    this.#backoffMs = 0;
    while (current()) {
      if (this.#backoffMs > 0) {
        await this.#sleep(this.#backoffMs);
        if (!current()) break;
      }
      let progressed = false;
      try {
        if (await this.#resetPositions(current)) progressed = true;
        if (current() && (await this.#fetchOnce(current))) progressed = true;
        this.#backoffMs = 0;
        this.lastRetriedError = null;
      } catch (error) {
        if (!current()) break;
        this.#retryLater(error);
        continue;
      }
      if (!progressed && current()) await this.#sleep(null);
    }
  }

  // A retriable failure (a lost connection, a timeout, a moved leader) backs off and tries again; anything else
  // (the client was closed, a bug) stops the loop and is thrown to the user by next().
  #retryLater(error: unknown): void {
    if (!isRetriable(error)) {
      this.#fatal = error instanceof Error ? error : new Error(String(error));
      this.#running = false;
      this.#generation += 1;
      const waiter = this.#dataWaiter;
      this.#dataWaiter = null;
      waiter?.();
      return;
    }
    this.lastRetriedError = error as Error;
    const { retryBackoffMs, retryBackoffMaxMs } = this.#options;
    this.#backoffMs = this.#backoffMs === 0 ? Math.max(retryBackoffMs, 1) : Math.min(this.#backoffMs * 2, Math.max(retryBackoffMaxMs, 1));
  }

  // Finds positions for partitions that have none, by ListOffsets to their leaders; true when it did anything.
  async #resetPositions(current: () => boolean): Promise<boolean> {
    const needing: PartitionState[] = [];
    for (const state of this.#states.values()) {
      if (state.position !== null || state.failed || state.paused) continue;
      if (state.resetTo === null) {
        state.failed = true;
        this.#deliver({ kind: "error", state, epoch: state.epoch, error: new RivuletOffsetOutOfRangeError(state.topic, state.partition, null) });
        continue;
      }
      needing.push(state);
    }
    if (needing.length === 0) return false;
    // Captured before any await: a seek meanwhile bumps the epoch, and the answer is then dropped.
    const items = needing.map((state) => ({ state, epoch: state.epoch, resetTo: state.resetTo }));
    const groups = await this.#groupByLeader(items);
    const isolationLevel = this.#isolationLevel();
    let retry: RivuletError | null = null;
    await Promise.all(
      [...groups].map(async ([connection, sent]) => {
        const response = await connection.request(ListOffsetsApi, {
          isolationLevel,
          topics: groupTopics(sent, ({ state, resetTo }) => ({
            index: state.partition,
            timestamp: resetTo === "earliest" ? ListOffsetsTimestamp.EARLIEST : ListOffsetsTimestamp.LATEST,
          })),
        });
        if (!current()) return;
        const byKey = new Map(sent.map((item) => [item.state.key, item]));
        for (const topic of response.topics) {
          for (const answer of topic.partitions) {
            const item = byKey.get(key(topic.name, answer.index));
            if (item === undefined || item.state.epoch !== item.epoch || this.#states.get(item.state.key) !== item.state) continue;
            if (answer.errorCode !== ErrorCode.NONE) {
              const error = new RivuletError(answer.errorCode, `${topic.name}/${answer.index}: ListOffsets failed`);
              if (METADATA_ERRORS.has(answer.errorCode)) this.#cluster.invalidate(topic.name);
              if (error.retriable) retry = error;
              else this.#fail(item.state, error);
              continue;
            }
            item.state.position = answer.offset;
            item.state.fetchPosition = answer.offset;
          }
        }
      }),
    );
    if (retry !== null) throw retry;
    return true;
  }

  // Sends one Fetch per leader for every fetchable partition and buffers the answers; true when it sent any.
  async #fetchOnce(current: () => boolean): Promise<boolean> {
    // Partitions with an answer buffered wait until it is taken (at most one buffered answer per partition), and
    // nothing is fetched while fetch.max.bytes of records are buffered (the prefetch bound).
    const buffered = new Set<PartitionState>();
    let bufferedBytes = 0;
    for (const entry of this.#buffer) {
      buffered.add(entry.state);
      if (entry.kind === "records") bufferedBytes += entry.records.bytes;
    }
    if (bufferedBytes >= this.#options.fetchMaxBytes) return false;
    // A partial fetch (answers still buffered) asks the broker not to wait: a long poll for a caught-up partition
    // would hold back the fetches of the partitions that have data, as only one Fetch per broker is in flight.
    const partial = buffered.size > 0;
    const fetchable: PartitionState[] = [];
    for (const state of this.#states.values()) {
      if (state.fetchPosition === null || state.paused || state.failed || buffered.has(state)) continue;
      if (partial && state.caughtUp) continue;
      fetchable.push(state);
    }
    if (fetchable.length === 0) return false;
    const start = this.#rotation++ % fetchable.length;
    const ordered = start === 0 ? fetchable : [...fetchable.slice(start), ...fetchable.slice(0, start)];
    // Captured before any await: a seek meanwhile bumps the epoch, and the answer is then dropped.
    const items: SentPartition[] = ordered.map((state) => ({ state, epoch: state.epoch, fetchOffset: state.fetchPosition as number }));
    const groups = await this.#groupByLeader(items);
    const { fetchMaxWaitMs, fetchMinBytes, fetchMaxBytes, maxPartitionFetchBytes } = this.#options;
    const requestTimeoutMs = this.#requestTimeoutMs;
    const isolationLevel = this.#isolationLevel();
    let retry: unknown = null;
    await Promise.all(
      [...groups].map(async ([connection, sent]) => {
        let response;
        this.#fetchesInFlight++;
        try {
          response = await connection.request(
            FetchApi,
            {
              maxWaitMs: partial ? 0 : fetchMaxWaitMs,
              minBytes: fetchMinBytes,
              maxBytes: fetchMaxBytes,
              isolationLevel,
              topics: groupTopics(sent, ({ state, fetchOffset }) => ({ index: state.partition, fetchOffset, partitionMaxBytes: maxPartitionFetchBytes })),
            },
            { timeoutMs: requestTimeoutMs + fetchMaxWaitMs },
          );
        } catch (error) {
          retry = error;
          return;
        } finally {
          this.#fetchesInFlight--;
        }
        if (!current()) return;
        const byKey = new Map(sent.map((item) => [item.state.key, item]));
        for (const topic of response.topics) {
          for (const answer of topic.partitions) {
            const item = byKey.get(key(topic.name, answer.index));
            if (item === undefined) continue;
            const state = item.state;
            // Dropped unseen when the user moved the partition meanwhile (seek, pause, new assignment).
            if (this.#states.get(state.key) !== state || state.epoch !== item.epoch || state.fetchPosition !== item.fetchOffset) continue;
            if (answer.errorCode !== ErrorCode.NONE) {
              const error = this.#partitionError(state, answer.errorCode, item.fetchOffset);
              if (error !== null) retry = error;
              continue;
            }
            state.highWatermark = answer.highWatermark;
            const records = new PartitionRecords(state.topic, state.partition, item.fetchOffset, answer.highWatermark, answer.records, this.#options.checkCrcs);
            state.fetchPosition = records.nextFetchOffset;
            state.caughtUp = partial && records.bytes === 0;
            if (records.bytes > 0 || !records.isEmpty) this.#deliver({ kind: "records", state, epoch: state.epoch, records });
          }
        }
      }),
    );
    if (retry !== null) throw retry;
    return true;
  }

  // Applies a partition's error code; returns the error when the fetch should be retried after a backoff.
  #partitionError(state: PartitionState, code: number, fetchOffset: number): RivuletError | null {
    if (code === ErrorCode.OFFSET_OUT_OF_RANGE) {
      const reset = this.#options.autoOffsetReset;
      if (reset === "none") {
        this.#fail(state, new RivuletOffsetOutOfRangeError(state.topic, state.partition, BigInt(fetchOffset)));
        return null;
      }
      // Only when nothing ahead of the user is pending: the position itself left the log.
      state.position = null;
      state.fetchPosition = null;
      state.resetTo = reset;
      state.epoch += 1;
      return null;
    }
    const error = new RivuletError(code, `${state.topic}/${state.partition}: Fetch failed`);
    if (METADATA_ERRORS.has(code)) this.#cluster.invalidate(state.topic);
    if (error.retriable) return error;
    this.#fail(state, error);
    return null;
  }

  // Stops a partition and queues its error for the user, after what is already buffered for it.
  #fail(state: PartitionState, error: Error): void {
    state.failed = true;
    this.#deliver({ kind: "error", state, epoch: state.epoch, error });
  }

  async #groupByLeader<T extends { state: PartitionState }>(items: readonly T[]): Promise<Map<Connection, T[]>> {
    const groups = new Map<Connection, T[]>();
    for (const item of items) {
      const connection = await this.#cluster.connectionFor(item.state.topic, item.state.partition);
      const group = groups.get(connection);
      if (group === undefined) groups.set(connection, [item]);
      else group.push(item);
    }
    return groups;
  }

  #isolationLevel(): number {
    return this.#options.isolationLevel === "read_committed" ? IsolationLevel.READ_COMMITTED : IsolationLevel.READ_UNCOMMITTED;
  }
}

// Groups per-partition request entries by topic, in first-seen order, as the Fetch and ListOffsets schemas nest them.
function groupTopics<T extends { state: PartitionState }, P>(items: readonly T[], partition: (item: T) => P): { name: string; partitions: P[] }[] {
  const topics = new Map<string, P[]>();
  for (const item of items) {
    const list = topics.get(item.state.topic);
    if (list === undefined) topics.set(item.state.topic, [partition(item)]);
    else list.push(partition(item));
  }
  return [...topics].map(([name, partitions]) => ({ name, partitions }));
}

