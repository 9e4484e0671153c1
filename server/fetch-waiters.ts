// Parked long-poll fetches: a Fetch that does not yet hold fetch.min.bytes waits here until an append to one of
// its partitions may have changed that, or its maxWaitMs passes (Kafka's DelayedFetch in its purgatory).
//
// Wake-ups are coalesced: an append marks the waiters of its partition and one microtask re-checks each marked
// waiter once, so a Produce of many batches (or many Produce requests in one data callback) costs one re-check per
// parked fetch, not one per batch. The number of parked fetches is bounded (fetchWaitersMax); when full, park()
// refuses and the caller answers with what it has, as if maxWaitMs had passed.
import { assert } from "../core/assert.ts";

/** One parked fetch's callbacks. */
export interface FetchWaiterCallbacks {
  /** Re-checks the fetch after an append to one of its partitions; true when it answered (and leaves). */
  recheck(): boolean;
  /** Answers the fetch with what it has: maxWaitMs passed, or the server is closing. */
  expire(): void;
}

/** A parked fetch, for cancel(). */
export interface FetchWaiter {
  readonly keys: readonly string[];
}

interface Waiter extends FetchWaiter {
  callbacks: FetchWaiterCallbacks;
  timer: ReturnType<typeof setTimeout> | null;
  marked: boolean;
  done: boolean;
}

/** The key of a topic-partition in the waiter index. */
export function partitionKey(topic: string, partition: number): string {
  return `${partition}:${topic}`;
}

/** The bounded set of parked fetches, indexed by the partitions they wait on. */
export class FetchWaiters {
  private readonly byPartition = new Map<string, Set<Waiter>>();
  private readonly marked: Waiter[] = [];
  private recheckScheduled = false;
  private count = 0;

  constructor(private readonly max: number) {
    assert(Number.isSafeInteger(max) && max > 0, "fetchWaitersMax must be positive");
  }

  /** Fetches parked now. */
  get size(): number {
    return this.count;
  }

  /** Parks a fetch on `keys` for `waitMs`; null when the server already holds its maximum of parked fetches. */
  park(keys: readonly string[], waitMs: number, callbacks: FetchWaiterCallbacks): FetchWaiter | null {
    if (this.count >= this.max) return null;
    const waiter: Waiter = { keys: [...new Set(keys)], callbacks, timer: null, marked: false, done: false };
    for (const key of waiter.keys) {
      let set = this.byPartition.get(key);
      if (set === undefined) this.byPartition.set(key, (set = new Set()));
      set.add(waiter);
    }
    this.count++;
    waiter.timer = setTimeout(() => {
      waiter.timer = null;
      if (this.remove(waiter)) waiter.callbacks.expire();
    }, waitMs);
    return waiter;
  }

  /** Tells the fetches parked on a partition that it grew (they re-check in a microtask). */
  notify(key: string): void {
    const set = this.byPartition.get(key);
    if (set === undefined) return;
    for (const waiter of set) {
      if (waiter.marked) continue;
      waiter.marked = true;
      this.marked.push(waiter);
    }
    if (!this.recheckScheduled && this.marked.length > 0) {
      this.recheckScheduled = true;
      queueMicrotask(() => this.recheckMarked());
    }
  }

  /** Removes a parked fetch without answering it (its connection closed). */
  cancel(waiter: FetchWaiter): void {
    this.remove(waiter as Waiter);
  }

  /** Answers every parked fetch now with what it has (the server is closing). */
  expireAll(): void {
    const all = new Set<Waiter>();
    for (const set of this.byPartition.values()) for (const waiter of set) all.add(waiter);
    for (const waiter of all) if (this.remove(waiter)) waiter.callbacks.expire();
  }

  private recheckMarked(): void {
    this.recheckScheduled = false;
    const marked = this.marked.splice(0);
    for (const waiter of marked) {
      waiter.marked = false;
      if (waiter.done) continue;
      if (waiter.callbacks.recheck()) this.remove(waiter);
    }
  }

  // Takes a waiter out of every index; false when it had already left.
  private remove(waiter: Waiter): boolean {
    if (waiter.done) return false;
    waiter.done = true;
    if (waiter.timer !== null) clearTimeout(waiter.timer);
    waiter.timer = null;
    for (const key of waiter.keys) {
      const set = this.byPartition.get(key);
      if (set === undefined) continue;
      set.delete(waiter);
      if (set.size === 0) this.byPartition.delete(key);
    }
    this.count--;
    assert(this.count >= 0, "parked fetch count below zero");
    return true;
  }
}
