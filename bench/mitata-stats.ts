// What every microbenchmark reads back from mitata's run(): each row's median and fastest time by name, so the
// bench can print ratios against a baseline measured in the same run.
import type { run } from "mitata";

/** Median (p50) and fastest (min) time of each benchmark row, in nanoseconds, keyed by row name. */
export interface RowStats {
  medians: Map<string, number>;
  minimums: Map<string, number>;
}

/** Collects the per-row statistics of a finished mitata run. */
export function rowStats(result: Awaited<ReturnType<typeof run>>): RowStats {
  const medians = new Map<string, number>();
  const minimums = new Map<string, number>();
  for (const trial of result.benchmarks) {
    for (const r of trial.runs) {
      if (!r.stats) continue;
      medians.set(r.name, r.stats.p50);
      minimums.set(r.name, r.stats.min);
    }
  }
  return { medians, minimums };
}
