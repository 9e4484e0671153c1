// The one seeded PRNG of the tests and benchmarks (mulberry32): same seed, same sequence, on every machine and
// runtime, so a failing fuzz or crash case is replayed by its seed.

/** A deterministic 32-bit PRNG (mulberry32): returns a function yielding floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
