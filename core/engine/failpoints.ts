// Crash-test hooks. A failpoint is a named place in a multi-step disk protocol (append, the compaction swap,
// retention). When the environment variable RIVULET_FAILPOINT names it, reaching it kills the process with
// SIGKILL: no exit handlers, no flushing, exactly like a crash. `name:N` fires on the N-th hit instead of the first.
// Outside crash tests the variable is unset and each call is one string comparison against null.

const FAILPOINT_ENV = "RIVULET_FAILPOINT";

const spec = typeof process !== "undefined" ? process.env[FAILPOINT_ENV] : undefined;
const armedName: string | null = spec === undefined || spec === "" ? null : (spec.split(":")[0] ?? null);
let remainingHits = spec !== undefined && spec.includes(":") ? Math.max(1, Number(spec.split(":")[1]) || 1) : 1;

/** Every failpoint name the engine defines, so crash tests can iterate over them. */
export const FAILPOINTS = [
  "append.before_write",
  "append.after_write",
  "sync.after_fdatasync",
  "roll.after_create",
  "retention.after_rename",
  "retention.after_dir_sync",
  "swap.before_manifest",
  "swap.after_manifest",
  "swap.after_rename_swap",
  "swap.after_rename_deleted",
  "swap.after_rename_final",
  "swap.after_delete",
] as const;

/** A failpoint name. */
export type FailpointName = (typeof FAILPOINTS)[number];

/** Kills this process with SIGKILL if RIVULET_FAILPOINT arms `name` (and its hit count is reached). */
export function failpoint(name: FailpointName): void {
  if (armedName !== name) return;
  remainingHits--;
  if (remainingHits > 0) return;
  process.kill(process.pid, "SIGKILL");
}
