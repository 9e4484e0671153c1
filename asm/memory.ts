// Linear-memory layout shared by every kernel.
//
//   0 .. __data_end        static data: lookup tables (CRC-32C slices, ...) placed by memory.data()
//   heapBase() .. end      the scratch arena, owned by the JS side (core/formats/wasm.ts), which copies inputs
//                          in and reads outputs out; kernels never allocate.
//
// Only integers cross the boundary: pointers, lengths and status codes. Extra results come back through
// exported globals.

/** First 64-byte aligned address after static data: where the JS side's arena starts. */
export function heapBase(): usize {
  return (__heap_base + 63) & ~(<usize>63);
}
