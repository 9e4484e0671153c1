// Loads the one WebAssembly module (asm/index.ts, embedded as base64 at build time) and owns its scratch arena.
//
// Every kernel call follows the same pattern: reserve an arena big enough for input + output, copy the input in
// at `base`, call the kernel with integer pointers, copy the output out. JS is single-threaded and kernels are
// synchronous, so one arena, reused by every call, is enough. Views of wasm memory must be re-taken after the
// memory grows (growth detaches them): always go through `heap()`, never keep a view across a call to `arena()`.
import { WASM_BASE64 } from "./wasm-binary.generated.ts";
import { assert } from "../assert.ts";
import { WASM_MEMORY_BYTES_MAX } from "../limits.ts";

/** Kernel exports: integers in, integers out. Each kernel module adds its functions here. */
export interface WasmExports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  [kernel: string]: unknown;
}

const WASM_PAGE_BYTES = 65536;

function decodeBase64(text: string): Uint8Array {
  // Buffer exists on Bun and Node; atob covers other runtimes.
  if (typeof Buffer !== "undefined") return new Uint8Array(Buffer.from(text, "base64"));
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

const module = new WebAssembly.Module(decodeBase64(WASM_BASE64) as Uint8Array<ArrayBuffer>);
const instance = new WebAssembly.Instance(module, {
  env: {
    abort(_message: number, _file: number, line: number, column: number): void {
      throw new Error(`wasm abort at ${line}:${column}`);
    },
  },
});

/** The kernels of the module, typed loosely; each core/formats wrapper casts the functions it uses. */
export const wasm = instance.exports as unknown as WasmExports;

const arenaBase: number = wasm.heapBase();
let view = new Uint8Array(wasm.memory.buffer);

/** Current byte view of wasm memory (re-taken after growth). */
export function heap(): Uint8Array {
  if (view.buffer !== wasm.memory.buffer) view = new Uint8Array(wasm.memory.buffer);
  return view;
}

/**
 * Makes sure the arena holds at least `bytes` and returns its base address, or -1 when that would exceed
 * WASM_MEMORY_BYTES_MAX (callers turn that into a `too_large` result or use the TS twin).
 */
export function arena(bytes: number): number {
  assert(Number.isInteger(bytes) && bytes >= 0, "arena size must be a non-negative integer");
  const needed = arenaBase + bytes;
  if (needed > WASM_MEMORY_BYTES_MAX) return -1;
  const have = wasm.memory.buffer.byteLength;
  if (needed > have) wasm.memory.grow(Math.ceil((needed - have) / WASM_PAGE_BYTES));
  return arenaBase;
}
