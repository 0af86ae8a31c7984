/** A presence change budget: `limit` changes per `intervalMs`, refilled continuously. */
export interface RateLimit {
  limit: number;
  intervalMs: number;
}

/**
 * Token buckets keyed by connection. A key whose bucket is full again is forgotten, so
 * the map only holds connections that changed presence recently.
 */
export class RateLimiter {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  readonly #limit: RateLimit;
  readonly #now: () => number;

  constructor(limit: RateLimit, now: () => number = Date.now) {
    this.#limit = limit;
    this.#now = now;
  }

  /** Spends one token for `key`; false when the budget is exhausted. */
  take(key: string): boolean {
    const now = this.#now();
    const rate = this.#limit.limit / this.#limit.intervalMs;
    const bucket = this.#buckets.get(key) ?? { tokens: this.#limit.limit, at: now };
    bucket.tokens = Math.min(this.#limit.limit, bucket.tokens + (now - bucket.at) * rate);
    bucket.at = now;
    if (bucket.tokens < 1) {
      this.#buckets.set(key, bucket);
      return false;
    }
    bucket.tokens -= 1;
    this.#buckets.set(key, bucket);
    if (this.#buckets.size > 1024) this.#sweep(now, rate);
    return true;
  }

  #sweep(now: number, rate: number): void {
    for (const [key, bucket] of this.#buckets) {
      if (bucket.tokens + (now - bucket.at) * rate >= this.#limit.limit) this.#buckets.delete(key);
    }
  }
}
