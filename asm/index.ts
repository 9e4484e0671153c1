// The one WebAssembly module: every kernel re-exported from here (built by scripts/build-wasm.mjs).
export * from "./memory";
export * from "./crc32c";
export * from "./lz4";
export * from "./record_batch";
export * from "./index_search";
