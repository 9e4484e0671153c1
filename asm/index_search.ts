// Sparse-index lookup kernels: Kafka's `largestLowerBoundSlotFor` over big-endian index entries in wasm memory.
// Layouts and the contract are drawn in core/formats/index-search.ts (the TypeScript twin and wrapper):
//
//   offset index entry (8 bytes):  relativeOffset u32 BE | position u32 BE
//   time index entry  (12 bytes):  timestamp i64 BE      | relativeOffset u32 BE
//
// Both return the slot of the LARGEST entry whose key <= target (the last among equal keys), or -1.

const OFFSET_INDEX_ENTRY_BYTES: usize = 8;
const TIME_INDEX_ENTRY_BYTES: usize = 12;

/** Slot of the last offset-index entry at `entriesPtr` whose relativeOffset <= `target`, or -1. */
export function indexSearchOffset(entriesPtr: usize, entryCount: i32, target: u32): i32 {
  // Invariant: key(lo) <= target when lo >= 0; key(hi) > target when hi < entryCount.
  let lo: i32 = -1;
  let hi: i32 = entryCount;
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    const key = bswap<u32>(load<u32>(entriesPtr + <usize>mid * OFFSET_INDEX_ENTRY_BYTES));
    // Branch-free step: the data-dependent branch mispredicts half the time on random targets.
    const below = <i32>(key <= target);
    lo = select<i32>(mid, lo, below);
    hi = select<i32>(hi, mid, below);
  }
  return lo;
}

/**
 * Slot of the last time-index entry at `entriesPtr` whose timestamp <= the i64 target given as its signed high
 * and unsigned low 32-bit words (only integers cross the boundary, and two i32s avoid a BigInt per call), or -1.
 */
export function indexSearchTime(entriesPtr: usize, entryCount: i32, targetHigh: i32, targetLow: u32): i32 {
  const target: i64 = (<i64>targetHigh << 32) | <i64>targetLow;
  let lo: i32 = -1;
  let hi: i32 = entryCount;
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    const key = <i64>bswap<u64>(load<u64>(entriesPtr + <usize>mid * TIME_INDEX_ENTRY_BYTES));
    const below = <i32>(key <= target);
    lo = select<i32>(mid, lo, below);
    hi = select<i32>(hi, mid, below);
  }
  return lo;
}
