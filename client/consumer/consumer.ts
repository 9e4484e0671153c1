// The consumer: reads partitions assigned by hand (assign) or every partition of some topics (subscribe), and
// hands their messages to the user in offset order per partition, three ways:
//
//   for await (const message of consumer) { ... }                  one message at a time
//   for await (const batch of consumer.batches()) { ... }          one partition's messages at a time
//   await consumer.run({ eachMessage }) / run({ eachBatch })       handlers called in the background
//
// Positions are the user's: a message counts as consumed once it has been handed out (yielded, or its handler
// returned). Leaving a loop early, or a handler that throws, puts the position back to the first message not
// consumed, so the next read starts there (at-least-once). The fetcher (fetcher.ts) does the fetching, with the
// next fetch in flight while the user works on the current answer.
//
// Without consumer groups (a later issue) subscribe() assigns every partition of its topics; the seam for group
// membership and committed offsets is membership.ts.
import type { Cluster } from "../cluster.ts";
import { RivuletClosedError, RivuletConfigError } from "../errors.ts";
import { type ConsumerOptions, resolveConsumerOptions } from "./consumer-options.ts";
import { Fetcher, type MessageBatch, type PartitionAssignment, type PartitionHandle, type ResetStrategy } from "./fetcher.ts";
import { type Membership, StandaloneMembership } from "./membership.ts";
import type { Message } from "./partition-records.ts";

export { Message } from "./partition-records.ts";
export type { MessageBatch, PartitionAssignment } from "./fetcher.ts";
export { RivuletCorruptRecordError, RivuletOffsetOutOfRangeError } from "./consumer-errors.ts";
export { CONSUMER_OPTIONS, type ConsumerOptions, type ConsumerOptionsInput } from "./consumer-options.ts";

/** Most topics one subscription may name. */
export const SUBSCRIPTION_TOPICS_MAX = 10_000;
/** A subscription's topics are re-read at most this often, whatever metadata.max.age.ms says (a bound on the cost). */
export const SUBSCRIPTION_REFRESH_MS_MIN = 100;

/** A topic and partition. */
export interface TopicPartition {
  topic: string;
  partition: number;
}

/** Partitions to pause or resume: one partition, or some (or all, when `partitions` is absent) of a topic. */
export type TopicPartitions = TopicPartition | { topic: string; partitions?: readonly number[] };

/** What subscribe() takes. */
export interface SubscribeOptions {
  /** Topics to read (every partition of each). */
  topics?: readonly string[];
  /** One topic to read (KafkaJS's spelling); may be combined with `topics`. */
  topic?: string;
  /** Start partitions without a position at the earliest offset instead of auto.offset.reset's choice. */
  fromBeginning?: boolean;
}

/** What seek() takes: an offset, or "earliest" / "latest". */
export interface SeekTarget {
  topic: string;
  partition: number;
  offset: bigint | number | string | "earliest" | "latest";
}

/** The argument of an eachMessage handler. */
export interface EachMessagePayload {
  topic: string;
  partition: number;
  message: Message;
  /** Pauses this message's partition (after the handler returns, nothing more of it is delivered until resume). */
  pause(): void;
}

/** The argument of an eachBatch handler. */
export interface EachBatchPayload {
  batch: MessageBatch;
  /** False once stop() or disconnect() was called: a long handler may end early. */
  isRunning(): boolean;
  /** Pauses this batch's partition. */
  pause(): void;
}

/** Handlers of run(): exactly one of eachMessage and eachBatch. */
export interface RunOptions {
  eachMessage?: (payload: EachMessagePayload) => Promise<void> | void;
  eachBatch?: (payload: EachBatchPayload) => Promise<void> | void;
}

type State = "idle" | "reading" | "running";

/** A consumer of one client (made by `rivulet.consumer(options)`). */
export class Consumer implements AsyncIterable<Message> {
  readonly #cluster: Cluster;
  readonly #options: ConsumerOptions;
  readonly #fetcher: Fetcher;
  readonly #membership: Membership;
  #subscription: { topics: string[]; reset: ResetStrategy | null } | null = null;
  #subscriptionCheckedAt = 0;
  #subscriptionRefresh: Promise<void> | null = null;
  #state: State = "idle";
  // Each reader (an iteration or a run) has a session; stop() ends the current one, so a reader that asks for
  // its next batch after stop() gets none instead of starting the fetcher again.
  #session = 0;
  #done: Promise<void> = Promise.resolve();
  #disconnected = false;
  #refreshTimer: ReturnType<typeof setInterval> | null = null;

  /** Builds a consumer on `cluster` from raw options (Kafka or camelCase names); throws RivuletConfigError. */
  constructor(cluster: Cluster, options: unknown) {
    this.#cluster = cluster;
    this.#options = resolveConsumerOptions(options);
    this.#fetcher = new Fetcher(cluster, this.#options, cluster.options.requestTimeout);
    this.#membership = new StandaloneMembership(cluster);
  }

  /** The resolved options. */
  get options(): ConsumerOptions {
    return this.#options;
  }

  /** Connects to a bootstrap broker (rejects when none answers after the client's retries). */
  async connect(): Promise<void> {
    this.#checkOpen();
    await this.#cluster.connect();
  }

  /**
   * Reads every partition of the given topics (no consumer group yet). Partitions without a position start at
   * the earliest offset with `fromBeginning`, else where auto.offset.reset says. Replaces any earlier assignment.
   * New partitions of the topics are picked up every metadata.max.age.ms.
   */
  async subscribe(options: SubscribeOptions): Promise<void> {
    this.#checkOpen();
    const topics = [...(options.topics ?? []), ...(options.topic === undefined ? [] : [options.topic])];
    if (topics.length === 0) throw new RivuletConfigError("subscribe() needs topics (or topic)", "topics");
    if (topics.length > SUBSCRIPTION_TOPICS_MAX) throw new RivuletConfigError(`subscribe() takes at most ${SUBSCRIPTION_TOPICS_MAX} topics`, "topics");
    for (const topic of topics) if (typeof topic !== "string" || topic === "") throw new RivuletConfigError(`topic names must be non-empty strings, got ${JSON.stringify(topic)}`, "topics");
    const unique = [...new Set(topics)];
    const reset = options.fromBeginning === true ? "earliest" : this.#resetStrategy();
    const assignments = await this.#membership.assignmentFor(unique, { allowAutoTopicCreation: this.#options.allowAutoCreateTopics });
    this.#subscription = { topics: unique, reset };
    this.#subscriptionCheckedAt = Date.now();
    this.#fetcher.assign(assignments, reset);
  }

  /**
   * Reads exactly these partitions (replacing any subscription or earlier assignment). A partition given an
   * `offset` starts there; one without starts where auto.offset.reset says. Partitions kept from the previous
   * assignment keep their positions unless given an offset.
   */
  assign(partitions: readonly PartitionAssignment[]): void {
    this.#checkOpen();
    for (const entry of partitions) checkTopicPartition(entry, "assign()");
    const normalized = partitions.map((entry) => (entry.offset === undefined ? { topic: entry.topic, partition: entry.partition } : { ...entry, offset: offsetOf(entry.offset, "assign()") }));
    this.#subscription = null;
    this.#fetcher.assign(normalized, this.#resetStrategy());
  }

  /** The partitions this consumer reads now. */
  assignment(): TopicPartition[] {
    return this.#fetcher.assignment();
  }

  /** Moves a partition's position: its next message is at `offset` (or the earliest or latest one). */
  seek(target: SeekTarget): void {
    this.#checkOpen();
    this.#checkAssigned(target, "seek()");
    const offset = target.offset === "earliest" || target.offset === "latest" ? target.offset : offsetOf(target.offset, "seek()");
    this.#fetcher.seek(target.topic, target.partition, typeof offset === "bigint" ? Number(offset) : offset);
  }

  /** The offset of the partition's next message, or null while it has no position yet. */
  position(topic: string, partition: number): bigint | null {
    const position = this.#fetcher.position(topic, partition);
    return position === null ? null : BigInt(position);
  }

  /** Stops fetching and delivering the given partitions until resume(). */
  pause(partitions: readonly TopicPartitions[]): void {
    for (const { topic, partition } of this.#expand(partitions, "pause()")) this.#fetcher.pause(topic, partition);
  }

  /** Fetches and delivers the given partitions again. */
  resume(partitions: readonly TopicPartitions[]): void {
    for (const { topic, partition } of this.#expand(partitions, "resume()")) this.#fetcher.resume(topic, partition);
  }

  /** The paused partitions. */
  paused(): TopicPartition[] {
    return this.assignment().filter(({ topic, partition }) => this.#fetcher.isPaused(topic, partition));
  }

  /** Messages one at a time, in offset order per partition; ends after stop() or disconnect(). */
  [Symbol.asyncIterator](): AsyncIterableIterator<Message> {
    return this.messages();
  }

  /**
   * Messages one at a time (what `for await (const message of consumer)` uses). Reading starts at the first
   * next(); return() (a `break` out of for-await) puts the position back to the first message not handed out.
   */
  messages(): AsyncIterableIterator<Message> {
    // A hand-written iterator rather than an async generator: a generator step costs an extra await per message
    // (issue 7). Within a batch, next() answers with a resolved promise; only between batches does it wait.
    let session = -1;
    let batch: MessageBatch | null = null;
    // Index of the last message handed out of `batch`; `end` and `handle` as #mayContinue and #stillAt take them.
    let last = 0;
    let end: number | null = null;
    let handle: PartitionHandle | null = null;
    let finished = false;
    let waiting: Promise<IteratorResult<Message, undefined>> | null = null;
    const done: IteratorReturnResult<undefined> = { done: true, value: undefined };
    const finish = (): void => {
      if (finished) return;
      finished = true;
      // Left early: the rest of the batch in hand was not consumed.
      if (batch !== null && last + 1 < batch.messages.length) this.#rewind(batch, last + 1);
      batch = null;
      if (session >= 0) this.#end();
    };
    const nextBatch = async (): Promise<IteratorResult<Message, undefined>> => {
      try {
        if (session < 0) session = this.#begin("reading");
        for (;;) {
          batch = await this.#nextBatch(session);
          if (batch === null) {
            finish();
            return done;
          }
          if (batch.messages.length === 0) continue;
          end = this.#fetcher.position(batch.topic, batch.partition);
          handle = this.#fetcher.handle(batch.topic, batch.partition);
          last = 0;
          return { done: false, value: batch.messages[0] as Message };
        }
      } catch (error) {
        batch = null;
        finish();
        throw error;
      }
    };
    // The pending wait for a batch; cleared when it settles (before the caller sees the result: registered first).
    const wait = (): Promise<IteratorResult<Message, undefined>> => {
      const pending = nextBatch();
      waiting = pending;
      const clear = (): void => {
        if (waiting === pending) waiting = null;
      };
      pending.then(clear, clear);
      return pending;
    };
    const iterator: AsyncIterableIterator<Message> = {
      next: (): Promise<IteratorResult<Message, undefined>> => {
        if (finished) return Promise.resolve(done);
        if (waiting !== null) return waiting.then(iterator.next, iterator.next);
        if (batch !== null) {
          // After the user handled batch.messages[last]: the next one, unless the partition moved or was paused.
          if (last + 1 < batch.messages.length && (this.#stillAt(handle, end) || this.#mayContinue(batch, last, end))) {
            last += 1;
            return Promise.resolve({ done: false, value: batch.messages[last] as Message });
          }
          batch = null;
        }
        return wait();
      },
      return: (): Promise<IteratorResult<Message, undefined>> => {
        // As an async generator would: a return() behind a pending next() waits for it, so its message counts.
        if (waiting !== null) return waiting.then(() => iterator.return!(), () => iterator.return!());
        finish();
        return Promise.resolve(done);
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  /** Messages a partition's batch at a time (at most max.poll.records each); ends after stop() or disconnect(). */
  async *batches(): AsyncGenerator<MessageBatch, void, undefined> {
    const session = this.#begin("reading");
    try {
      for (;;) {
        const batch = await this.#nextBatch(session);
        if (batch === null) return;
        yield batch;
      }
    } finally {
      this.#end();
    }
  }

  /**
   * Calls `eachMessage` for every message, or `eachBatch` for every batch, in the background; resolves once
   * running (as KafkaJS's run does). A handler that throws stops the run at that message (or batch), which is
   * delivered again by the next run; done() reports how the run ended.
   */
  async run(handlers: RunOptions): Promise<void> {
    this.#checkOpen();
    const { eachMessage, eachBatch } = handlers;
    if ((eachMessage === undefined) === (eachBatch === undefined)) throw new RivuletConfigError("run() takes exactly one of eachMessage and eachBatch", null);
    const session = this.#begin("running");
    this.#done = this.#runLoop(handlers, session).finally(() => this.#end());
    // The outcome is read through done(); an unobserved failure must not crash the process as unhandled.
    this.#done.catch(() => undefined);
  }

  /** Resolves when the current run() ends by stop() or disconnect(); rejects with the error that ended it. */
  done(): Promise<void> {
    return this.#done;
  }

  /** Ends run() and iteration (they finish the message or batch in hand); positions and assignment are kept. */
  async stop(): Promise<void> {
    this.#session += 1;
    this.#fetcher.stop();
    await this.#done.catch(() => undefined);
  }

  /** Stops, and closes this consumer's connections; the consumer can not be used again. */
  async disconnect(): Promise<void> {
    if (this.#disconnected) return;
    this.#disconnected = true;
    await this.stop();
    await this.#cluster.close();
  }

  async #runLoop(handlers: RunOptions, session: number): Promise<void> {
    for (;;) {
      const batch = await this.#nextBatch(session);
      if (batch === null) return;
      const { topic, partition } = batch;
      const end = this.#fetcher.position(topic, partition);
      const handle = this.#fetcher.handle(topic, partition);
      const pause = (): void => {
        if (this.#fetcher.isAssigned(topic, partition)) this.#fetcher.pause(topic, partition);
      };
      if (handlers.eachBatch !== undefined) {
        try {
          await handlers.eachBatch({ batch, isRunning: () => this.#fetcher.isRunning && session === this.#session, pause });
        } catch (error) {
          this.#rewind(batch, 0);
          throw error;
        }
        continue;
      }
      const eachMessage = handlers.eachMessage!;
      for (let index = 0; index < batch.messages.length; index++) {
        try {
          // A handler that returns nothing (synchronous) is not awaited: an await per message costs a microtask turn.
          const returned = eachMessage({ topic, partition, message: batch.messages[index] as Message, pause });
          if (returned !== undefined) await returned;
        } catch (error) {
          this.#rewind(batch, index);
          throw error;
        }
        if (!this.#stillAt(handle, end) && !this.#mayContinue(batch, index, end)) break;
      }
    }
  }

  // The common case of #mayContinue, answered from the partition's handle: nothing moved or paused it.
  #stillAt(handle: PartitionHandle | null, end: number | null): boolean {
    return handle !== null && this.#fetcher.isStillAt(handle, end);
  }

  // After the user handled batch.messages[index]: may the rest of the batch still be handed out? Not when the user
  // moved the partition meanwhile (seek, a new assignment: the position is no longer `end`), nor when it was
  // paused, in which case the position goes back to the next message so that resume() delivers it.
  #mayContinue(batch: MessageBatch, index: number, end: number | null): boolean {
    const { topic, partition } = batch;
    if (!this.#fetcher.isAssigned(topic, partition) || this.#fetcher.position(topic, partition) !== end) return false;
    if (!this.#fetcher.isPaused(topic, partition)) return true;
    this.#rewind(batch, index + 1);
    return false;
  }

  // The next batch from the fetcher, starting it when needed, and looking for new partitions of a subscription.
  async #nextBatch(session: number): Promise<MessageBatch | null> {
    if (this.#disconnected || session !== this.#session) return null;
    this.#fetcher.start();
    return this.#fetcher.next(this.#options.maxPollRecords);
  }

  // Puts a partition's position back to batch.messages[index] when the user did not consume the rest, unless the
  // user has moved the partition since (the position is no longer just after what was handed out).
  #rewind(batch: MessageBatch, index: number): void {
    const message = batch.messages[index];
    if (message === undefined || !this.#fetcher.isAssigned(batch.topic, batch.partition)) return;
    const last = batch.messages[batch.messages.length - 1] as Message;
    const position = this.#fetcher.position(batch.topic, batch.partition);
    if (position === null || position < Number(last.offset) + 1) return;
    this.#fetcher.seek(batch.topic, batch.partition, Number(message.offset));
  }

  #maybeRefreshSubscription(): void {
    const subscription = this.#subscription;
    if (subscription === null || this.#subscriptionRefresh !== null || this.#disconnected) return;
    if (Date.now() - this.#subscriptionCheckedAt < this.#cluster.options.metadataMaxAge) return;
    this.#subscriptionCheckedAt = Date.now();
    this.#subscriptionRefresh = this.#membership
      .assignmentFor(subscription.topics, { allowAutoTopicCreation: this.#options.allowAutoCreateTopics })
      .then(
        (assignments) => {
          // A newer subscribe() or assign() wins over this late answer.
          if (this.#subscription === subscription) this.#fetcher.add(assignments, subscription.reset);
        },
        () => undefined, // tried again after the next metadata.max.age.ms
      )
      .finally(() => (this.#subscriptionRefresh = null));
  }

  #resetStrategy(): ResetStrategy | null {
    const reset = this.#options.autoOffsetReset;
    return reset === "none" ? null : reset;
  }

  #begin(state: Exclude<State, "idle">): number {
    this.#checkOpen();
    if (this.#state !== "idle") {
      throw new RivuletConfigError(`the consumer is already ${this.#state === "running" ? "running run()" : "being iterated"}; one reader at a time`, null);
    }
    this.#state = state;
    this.#session += 1;
    // While someone reads, a subscription looks for new partitions of its topics every metadata.max.age.ms.
    const everyMs = Math.max(this.#cluster.options.metadataMaxAge, SUBSCRIPTION_REFRESH_MS_MIN);
    this.#refreshTimer = setInterval(() => this.#maybeRefreshSubscription(), everyMs);
    (this.#refreshTimer as { unref?: () => void }).unref?.();
    return this.#session;
  }

  #end(): void {
    this.#state = "idle";
    if (this.#refreshTimer !== null) clearInterval(this.#refreshTimer);
    this.#refreshTimer = null;
  }

  #checkOpen(): void {
    if (this.#disconnected) throw new RivuletClosedError("consumer");
  }

  #checkAssigned(entry: TopicPartition, what: string): void {
    checkTopicPartition(entry, what);
    if (!this.#fetcher.isAssigned(entry.topic, entry.partition)) {
      throw new RivuletConfigError(`${what}: ${entry.topic}/${entry.partition} is not assigned to this consumer`, null);
    }
  }

  #expand(partitions: readonly TopicPartitions[], what: string): TopicPartition[] {
    const out: TopicPartition[] = [];
    for (const entry of partitions) {
      if ("partition" in entry && typeof entry.partition === "number") {
        this.#checkAssigned(entry, what);
        out.push({ topic: entry.topic, partition: entry.partition });
        continue;
      }
      const list = (entry as { partitions?: readonly number[] }).partitions;
      const assigned = this.assignment().filter((tp) => tp.topic === entry.topic);
      if (list === undefined) out.push(...assigned);
      else
        for (const partition of list) {
          this.#checkAssigned({ topic: entry.topic, partition }, what);
          out.push({ topic: entry.topic, partition });
        }
    }
    return out;
  }
}

function checkTopicPartition(entry: { topic: unknown; partition: unknown }, what: string): void {
  if (typeof entry.topic !== "string" || entry.topic === "") throw new RivuletConfigError(`${what}: topic must be a non-empty string`, "topic");
  if (typeof entry.partition !== "number" || !Number.isInteger(entry.partition) || entry.partition < 0 || entry.partition > 0x7fffffff) {
    throw new RivuletConfigError(`${what}: partition must be an integer >= 0, got ${String(entry.partition)}`, "partition");
  }
}

// An offset as the user gave it (bigint, number or decimal string), checked: a non-negative integer within 2^53.
function offsetOf(offset: bigint | number | string, what: string): number {
  const value = typeof offset === "string" && /^\d+$/.test(offset) ? Number(offset) : typeof offset === "bigint" ? Number(offset) : offset;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0 || (typeof offset === "bigint" && BigInt(value) !== offset)) {
    throw new RivuletConfigError(`${what}: offset must be an integer from 0 to 2^53 - 1, got ${String(offset)}`, "offset");
  }
  return value;
}
