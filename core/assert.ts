// A broken invariant is a bug, not bad input: it stops the program instead of being handled (STYLE.md habit 4).

/** Thrown only for programming errors; never caught to carry on. */
export class AssertionError extends Error {
  override name = "AssertionError";
}

/** Stops with an AssertionError when `condition` is false. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}
