// Time enters the engine only through this interface, so tests drive segment.ms, retention.ms, flush.ms and
// LogAppendTime with a fake clock instead of sleeping.

/** A source of wall-clock milliseconds since the epoch. */
export interface Clock {
  nowMs(): number;
}

/** The real clock (Date.now). */
export const systemClock: Clock = { nowMs: () => Date.now() };

/** A clock that only moves when told to; for tests. */
export class FakeClock implements Clock {
  constructor(private currentMs = 1_700_000_000_000) {}

  /** Current fake time in ms. */
  nowMs(): number {
    return this.currentMs;
  }

  /** Moves the clock forward by `ms`. */
  advance(ms: number): void {
    this.currentMs += ms;
  }

  /** Sets the clock to `ms`. */
  set(ms: number): void {
    this.currentMs = ms;
  }
}
