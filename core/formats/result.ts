// Decoders of untrusted bytes return a Result and never throw (STYLE.md habit 4). A thrown error means a bug.

/** Either a decoded value or a typed error code. */
export type Result<T, E extends string = string> = { ok: true; value: T } | { ok: false; error: E };

/** Wraps a value as a successful Result. */
export function ok<T>(value: T): { ok: true; value: T } {
  return { ok: true, value };
}

/** Wraps an error code as a failed Result. */
export function err<E extends string>(error: E): { ok: false; error: E } {
  return { ok: false, error };
}
