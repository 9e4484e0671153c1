// What `rivulet perf produce` itself costs per record, without a broker: its send loop against a stand-in producer
// that takes each record and, every BATCH_RECORDS records, calls their delivery callbacks in one synchronous loop
// (as ProducerBatch.deliver does when a batch is acknowledged). Three loops in the same run:
//   no tool    the stand-in alone: produce() without a callback, no clock (the floor);
//   baseline   the loop as it was at commit cde60c6: a clock read per record on send and per callback, a closure
//              per record, its latency recorded;
//   current    client/cli/perf.ts's sendLoop: synchronous bursts, one clock read and one callback per 8 records
//              on send, one clock read per delivered batch, equal latencies counted at once.
// Reported as ns per record over RECORDS records, and the ratios current / baseline of the tool's own share.
//
//   npx bun bench/perf-tool.bench.ts
import { bench, do_not_optimize, run, summary } from "mitata";
import type { DeliveryCallback } from "../client/producer/accumulator.ts";
import type { Producer } from "../client/producer/producer.ts";
import type { RecordMetadata } from "../client/records.ts";
import { Deliveries, sendLoop } from "../client/cli/perf.ts";
import { LatencyStats } from "../client/cli/perf-stats.ts";

const RECORDS = 200_000;
// Records per acknowledged batch: 64 KiB batches of 100-byte records.
const BATCH_RECORDS = 600;
const RECORD_BYTES = 100;
const YIELD_EVERY_RECORDS = 1024;

// Takes records; acknowledges them a batch at a time, synchronously, in order.
class StandInProducer {
  #callbacks: (DeliveryCallback | undefined)[] = [];
  readonly #metadata: RecordMetadata = { topic: "t", partition: 0, offset: 0n, timestamp: 0 };
  taken = 0;

  produce(_topic: string, _message: unknown, callback?: DeliveryCallback): undefined {
    this.taken++;
    this.#callbacks.push(callback);
    if (this.#callbacks.length === BATCH_RECORDS) this.#deliver();
    return undefined;
  }

  async flush(): Promise<void> {
    this.#deliver();
  }

  #deliver(): void {
    const callbacks = this.#callbacks;
    this.#callbacks = [];
    for (const callback of callbacks) callback?.(null, this.#metadata);
  }
}

// The loop of commit cde60c6 (client/cli/perf.ts sendLoop and produceRun's onAcked), unlimited throughput, kept
// here as the baseline.
async function baselineLoop(producer: StandInProducer, stats: LatencyStats): Promise<void> {
  const message = { value: new Uint8Array(RECORD_BYTES) };
  const deadlineMs = performance.now() + 60_000;
  const warmupRecords = 0;
  const sync = false;
  const onAcked = (sentUs: number, counted: boolean): void => {
    if (counted) stats.record(performance.now() * 1000 - sentUs, 1, RECORD_BYTES);
  };
  let errors = 0;
  let sinceYield = 0;
  for (let sent = 0; sent < RECORDS; sent++) {
    let nowMs = performance.now();
    if (nowMs >= deadlineMs) break;
    if (++sinceYield >= YIELD_EVERY_RECORDS) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      nowMs = performance.now();
      sinceYield = 0;
    }
    const sentUs = nowMs * 1000;
    const counted = sent >= warmupRecords;
    let settled: (() => void) | null = null;
    const acked = sync ? new Promise<void>((resolve) => (settled = resolve)) : null;
    producer.produce("t", message, (error: Error | null, _metadata: RecordMetadata | null) => {
      if (error !== null) errors++;
      else onAcked(sentUs, counted);
      if (settled !== null) (settled as () => void)();
    });
    if (acked !== null) await acked;
  }
  await producer.flush();
  do_not_optimize(errors);
}

async function noToolLoop(producer: StandInProducer): Promise<void> {
  const message = { value: new Uint8Array(RECORD_BYTES) };
  let sinceYield = 0;
  for (let sent = 0; sent < RECORDS; sent++) {
    if (++sinceYield >= YIELD_EVERY_RECORDS) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      sinceYield = 0;
    }
    producer.produce("t", message);
  }
  await producer.flush();
}

async function currentLoop(producer: StandInProducer): Promise<void> {
  const deliveries = new Deliveries(new LatencyStats(performance.now()), RECORD_BYTES);
  await sendLoop(producer as unknown as Producer, "t", RECORDS, new Uint8Array(RECORD_BYTES), -1, performance.now() + 60_000, deliveries, null);
  if (deliveries.stats.count !== RECORDS) throw new Error(`counted ${deliveries.stats.count} of ${RECORDS}`);
}

summary(() => {
  bench(`no tool: ${RECORDS} records`, async () => noToolLoop(new StandInProducer()));
  bench(`baseline (cde60c6): ${RECORDS} records`, async () => baselineLoop(new StandInProducer(), new LatencyStats(performance.now())));
  bench(`current: ${RECORDS} records`, async () => currentLoop(new StandInProducer()));
});

await run();
