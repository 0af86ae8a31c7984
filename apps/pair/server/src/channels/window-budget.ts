/**
 * At most `limit` events per `windowMs`, counted in fixed windows: cheap enough to keep
 * one per channel for a high-rate event. Time is passed in, so it is pure.
 */
export class WindowBudget {
  readonly #limit: number;
  readonly #windowMs: number;
  #windowStart = Number.NEGATIVE_INFINITY;
  #used = 0;

  constructor(limit: number, windowMs: number) {
    this.#limit = limit;
    this.#windowMs = windowMs;
  }

  /** Spends one event; false when this window's budget is spent. */
  take(now: number): boolean {
    if (now - this.#windowStart >= this.#windowMs) {
      this.#windowStart = now;
      this.#used = 0;
    }
    if (this.#used >= this.#limit) return false;
    this.#used += 1;
    return true;
  }
}
