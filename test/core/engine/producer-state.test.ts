// Unit tests of every idempotence decision (producer-state.ts), against the state manager alone.
import { describe, expect, test } from "bun:test";
import { asOffset } from "../../../core/engine/offsets.ts";
import {
  PRODUCERS_PER_PARTITION_MAX,
  PRODUCER_BATCHES_RETAINED,
  type ProducerBatchFields,
  type ProducerId,
  ProducerStateManager,
  SEQUENCE_MAX,
  type Sequence,
  decide,
  inSequence,
  incrementSequence,
} from "../../../core/engine/producer-state.ts";

function fields(producerId: number, epoch: number, sequence: number, records = 1): ProducerBatchFields {
  return { producerId: producerId as ProducerId, epoch, firstSequence: sequence as Sequence, lastOffsetDelta: records - 1 };
}

// Appends to the state as the log would after a write: offsets follow on from `next`.
function appendTo(state: ProducerStateManager, batch: ProducerBatchFields, at: { next: number }, nowMs = 0): { first: number; last: number } {
  const decision = state.check(batch);
  expect(decision.kind).toBe("append");
  const first = at.next;
  const last = first + batch.lastOffsetDelta;
  state.update(batch, asOffset(first), asOffset(last), 1000 + first, nowMs);
  at.next = last + 1;
  return { first, last };
}

describe("sequence arithmetic", () => {
  test("increment wraps past Int.MAX to 0 as Kafka's incrementSequence", () => {
    expect(incrementSequence(5, 3)).toBe(8 as Sequence);
    expect(incrementSequence(SEQUENCE_MAX, 1)).toBe(0 as Sequence);
    expect(incrementSequence(SEQUENCE_MAX - 1, 3)).toBe(1 as Sequence);
    expect(inSequence(SEQUENCE_MAX, 0)).toBe(true);
    expect(inSequence(4, 5)).toBe(true);
    expect(inSequence(4, 6)).toBe(false);
    expect(inSequence(-1, 0)).toBe(true);
  });
});

describe("decisions", () => {
  test("the next sequence is appended; batches of several records advance by their count", () => {
    const state = new ProducerStateManager();
    const at = { next: 0 };
    appendTo(state, fields(7, 0, 0, 3), at);
    appendTo(state, fields(7, 0, 3, 2), at);
    appendTo(state, fields(7, 0, 5), at);
    expect(state.entry(7)!.batches.map((b) => [b.firstSequence as number, b.lastSequence as number])).toEqual([[0, 2], [3, 4], [5, 5]]);
  });

  test("a duplicate of each of the last 5 batches is answered with its original offsets; the 6th back is out of order", () => {
    const state = new ProducerStateManager();
    const at = { next: 100 };
    const written: { first: number; last: number; sequence: number; records: number }[] = [];
    let sequence = 0;
    for (let i = 0; i < 8; i++) {
      const records = 1 + (i % 3);
      // Another producer's batch in between, so offsets and sequences differ.
      appendTo(state, fields(99, 0, i), at);
      written.push({ ...appendTo(state, fields(7, 0, sequence, records), at), sequence, records });
      sequence += records;
    }
    const retained = written.slice(-PRODUCER_BATCHES_RETAINED);
    for (const batch of retained) {
      const decision = state.check(fields(7, 0, batch.sequence, batch.records));
      expect(decision.kind).toBe("duplicate");
      if (decision.kind !== "duplicate") continue;
      expect([decision.batch.firstOffset as number, decision.batch.lastOffset as number]).toEqual([batch.first, batch.last]);
    }
    const tooOld = written[written.length - PRODUCER_BATCHES_RETAINED - 1]!;
    const decision = state.check(fields(7, 0, tooOld.sequence, tooOld.records));
    expect(decision.kind === "reject" && decision.rejection.error).toBe("OUT_OF_ORDER_SEQUENCE_NUMBER");
  });

  test("same first sequence but a different last sequence is not a duplicate", () => {
    const state = new ProducerStateManager();
    appendTo(state, fields(1, 0, 0, 3), { next: 0 });
    const decision = state.check(fields(1, 0, 0, 2));
    expect(decision.kind === "reject" && decision.rejection.error).toBe("OUT_OF_ORDER_SEQUENCE_NUMBER");
  });

  test("a gap is OUT_OF_ORDER_SEQUENCE_NUMBER", () => {
    const state = new ProducerStateManager();
    appendTo(state, fields(1, 0, 0), { next: 0 });
    const decision = state.check(fields(1, 0, 2));
    expect(decision.kind).toBe("reject");
    if (decision.kind === "reject") {
      expect(decision.rejection.error).toBe("OUT_OF_ORDER_SEQUENCE_NUMBER");
      expect(decision.rejection.message).toContain("2 (incoming), 0 (last appended)");
    }
  });

  test("an older epoch is fenced with INVALID_PRODUCER_EPOCH, whatever its sequence", () => {
    const state = new ProducerStateManager();
    const at = { next: 0 };
    appendTo(state, fields(1, 3, 0), at);
    for (const sequence of [0, 1, 5]) {
      const decision = state.check(fields(1, 2, sequence));
      expect(decision.kind === "reject" && decision.rejection.error).toBe("INVALID_PRODUCER_EPOCH");
    }
  });

  test("a newer epoch must start at sequence 0, and then starts the producer over", () => {
    const state = new ProducerStateManager();
    const at = { next: 0 };
    appendTo(state, fields(1, 0, 0), at);
    appendTo(state, fields(1, 0, 1), at);
    const bad = state.check(fields(1, 1, 2));
    expect(bad.kind === "reject" && bad.rejection.error).toBe("OUT_OF_ORDER_SEQUENCE_NUMBER");
    appendTo(state, fields(1, 1, 0), at);
    expect(state.entry(1)!.epoch).toBe(1);
    expect(state.entry(1)!.batches.length).toBe(1);
    // The old epoch's batches are no duplicates any more: that epoch is fenced.
    const old = state.check(fields(1, 0, 1));
    expect(old.kind === "reject" && old.rejection.error).toBe("INVALID_PRODUCER_EPOCH");
  });

  test("an unknown producer id: sequence 0 is appended, any other is UNKNOWN_PRODUCER_ID", () => {
    const state = new ProducerStateManager();
    expect(state.check(fields(42, 0, 0)).kind).toBe("append");
    expect(state.check(fields(42, 5, 0)).kind).toBe("append");
    const decision = state.check(fields(42, 0, 17));
    expect(decision.kind === "reject" && decision.rejection.error).toBe("UNKNOWN_PRODUCER_ID");
  });

  test("impossible producer fields are INVALID_RECORD", () => {
    expect(decide(undefined, fields(1, -2, 0)).kind).toBe("reject");
    const negative = decide(undefined, fields(1, 0, -1));
    expect(negative.kind === "reject" && negative.rejection.error).toBe("INVALID_RECORD");
    const huge = decide(undefined, fields(2 ** 60, 0, 0));
    expect(huge.kind === "reject" && huge.rejection.error).toBe("UNKNOWN_PRODUCER_ID");
  });

  test("sequences wrap at Int.MAX to 0", () => {
    const state = new ProducerStateManager();
    const at = { next: 0 };
    state.update(fields(1, 0, SEQUENCE_MAX - 1, 2), asOffset(0), asOffset(1), 0, 0);
    at.next = 2;
    expect(state.entry(1)!.batches[0]!.lastSequence).toBe(SEQUENCE_MAX as Sequence);
    appendTo(state, fields(1, 0, 0, 2), at);
    expect(state.check(fields(1, 0, 2)).kind).toBe("append");
  });
});

describe("plan: the batches of one request", () => {
  test("consecutive batches of one request are checked as if each were written", () => {
    const state = new ProducerStateManager();
    const plan = state.plan([fields(1, 0, 0, 2), fields(1, 0, 2), null, fields(1, 0, 3)], [2, 1, 4, 1], asOffset(10));
    expect(Array.isArray(plan)).toBe(true);
    if (Array.isArray(plan)) expect(plan.map((p) => p.kind)).toEqual(["append", "append", "append", "append"]);
    // Nothing changed: the plan is a simulation.
    expect(state.size).toBe(0);
  });

  test("a gap anywhere refuses the whole request", () => {
    const state = new ProducerStateManager();
    const plan = state.plan([fields(1, 0, 0), fields(1, 0, 2)], [1, 1], asOffset(0));
    expect(!Array.isArray(plan) && plan.error).toBe("OUT_OF_ORDER_SEQUENCE_NUMBER");
  });

  test("a batch repeated inside one request is a duplicate of its provisional offsets", () => {
    const state = new ProducerStateManager();
    appendTo(state, fields(1, 0, 0), { next: 0 });
    const plan = state.plan([fields(1, 0, 0), fields(1, 0, 1, 3), fields(1, 0, 1, 3)], [1, 3, 3], asOffset(1));
    expect(Array.isArray(plan)).toBe(true);
    if (!Array.isArray(plan)) return;
    expect(plan.map((p) => p.kind)).toEqual(["duplicate", "append", "duplicate"]);
    const third = plan[2]!;
    if (third.kind === "duplicate") expect([third.batch.firstOffset as number, third.batch.lastOffset as number]).toEqual([1, 3]);
  });
});

describe("expiration", () => {
  test("producers idle for producer.id.expiration.ms are dropped; a later append refreshes", () => {
    const state = new ProducerStateManager(1000);
    const at = { next: 0 };
    appendTo(state, fields(1, 0, 0), at, 0);
    appendTo(state, fields(2, 0, 0), at, 0);
    appendTo(state, fields(2, 0, 1), at, 600);
    expect(state.removeExpired(999)).toBe(0);
    expect(state.removeExpired(1000)).toBe(1);
    expect(state.entry(1)).toBeUndefined();
    expect(state.entry(2)).toBeDefined();
    // After expiry the producer is unknown: only sequence 0 is accepted.
    const decision = state.check(fields(1, 0, 1));
    expect(decision.kind === "reject" && decision.rejection.error).toBe("UNKNOWN_PRODUCER_ID");
    expect(state.removeExpired(1600)).toBe(1);
    expect(state.size).toBe(0);
  });
});

describe("bounds", () => {
  test("a full producer table drops the producer idle the longest to admit a new one", () => {
    const state = new ProducerStateManager();
    for (let id = 0; id < PRODUCERS_PER_PARTITION_MAX; id++) state.update(fields(id, 0, 0), asOffset(id), asOffset(id), 0, 1000 + id);
    // Producer 0 writes again: producer 1 is now the longest idle.
    state.update(fields(0, 0, 1), asOffset(PRODUCERS_PER_PARTITION_MAX), asOffset(PRODUCERS_PER_PARTITION_MAX), 0, 10_000_000);
    state.update(fields(PRODUCERS_PER_PARTITION_MAX, 0, 0), asOffset(PRODUCERS_PER_PARTITION_MAX + 1), asOffset(PRODUCERS_PER_PARTITION_MAX + 1), 0, 10_000_001);
    expect(state.size).toBe(PRODUCERS_PER_PARTITION_MAX);
    expect(state.entry(1)).toBeUndefined();
    expect(state.entry(0)!.batches.length).toBe(2);
    expect(state.entry(PRODUCERS_PER_PARTITION_MAX)).toBeDefined();
  });
});
