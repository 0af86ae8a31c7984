/** A budget of `limit` actions per `intervalMs`, refilled continuously. */
export interface Rate {
  limit: number;
  intervalMs: number;
}

/**
 * A token bucket: bursts up to `limit`, then `limit` per `intervalMs` on average. Time
 * is passed in, so the bucket itself is pure.
 */
export class TokenBucket {
  #tokens: number;
  #at: number;
  readonly #rate: Rate;

  constructor(rate: Rate, now: number) {
    this.#rate = rate;
    this.#tokens = rate.limit;
    this.#at = now;
  }

  /** Spends `cost` tokens (one by default); false, spending nothing, when they are not there. */
  take(now: number, cost = 1): boolean {
    this.#refill(now);
    if (this.#tokens < cost) return false;
    this.#tokens -= cost;
    return true;
  }

  /** How long until `cost` tokens are there (0 when they are now). */
  waitMs(now: number, cost = 1): number {
    this.#refill(now);
    const missing = cost - this.#tokens;
    return missing <= 0 ? 0 : Math.ceil((missing * this.#rate.intervalMs) / this.#rate.limit);
  }

  /** Whether the bucket would be full at `now`, i.e. it is safe to forget it. */
  isFull(now: number): boolean {
    this.#refill(now);
    return this.#tokens >= this.#rate.limit;
  }

  #refill(now: number): void {
    const earned = ((now - this.#at) * this.#rate.limit) / this.#rate.intervalMs;
    this.#tokens = Math.min(this.#rate.limit, this.#tokens + earned);
    this.#at = now;
  }
}
