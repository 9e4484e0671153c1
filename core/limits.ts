// Every limit in one place, named with its unit and qualifier last (STYLE.md habit 2). Relations between them are
// asserted at load, so a bad edit fails at start-up instead of in production.
import { assert } from "./assert.ts";

/** Upper bound on WebAssembly linear memory the kernels may grow to. */
export const WASM_MEMORY_BYTES_MAX = 512 * 1024 * 1024;

/** Kafka's `message.max.bytes` default: the largest record batch a broker accepts (1 MiB + overhead as Kafka). */
export const MESSAGE_MAX_BYTES_DEFAULT = 1048588;

/** Hard ceiling on one record batch anywhere in Rivulet, whatever the configs say (a decoder's allocation bound). */
export const BATCH_BYTES_MAX = 64 * 1024 * 1024;

/** Hard ceiling on records in one batch (Kafka's count is an int32; we bound it far lower). */
export const BATCH_RECORDS_MAX = 1 << 20;

/** Largest uncompressed output a decompressor may produce for one batch: the decompression-bomb bound. */
export const DECOMPRESSED_BATCH_BYTES_MAX = 256 * 1024 * 1024;

/** LZ4 frame block maximum we write (the frame format's 64 KiB block size id 4). */
export const LZ4_BLOCK_BYTES_MAX = 64 * 1024;

/** Kafka's `index.interval.bytes`: one sparse offset-index entry per this many bytes of log. */
export const INDEX_INTERVAL_BYTES = 4096;

assert(MESSAGE_MAX_BYTES_DEFAULT <= BATCH_BYTES_MAX, "message.max.bytes default must fit the batch ceiling");
assert(BATCH_BYTES_MAX <= DECOMPRESSED_BATCH_BYTES_MAX, "decompression bound must admit a full batch");
assert(DECOMPRESSED_BATCH_BYTES_MAX + BATCH_BYTES_MAX < WASM_MEMORY_BYTES_MAX, "wasm arena must hold a batch and its output");
