import { type Rate, TokenBucket } from "../token-bucket.js";

/** A presence change budget: `limit` changes per `intervalMs`. */
export type RateLimit = Rate;

/**
 * Token buckets keyed by connection. A key whose bucket is full again is forgotten, so
 * the map only holds connections that changed presence recently.
 */
export class RateLimiter {
  readonly #buckets = new Map<string, TokenBucket>();
  readonly #rate: Rate;
  readonly #now: () => number;

  constructor(rate: Rate, now: () => number = Date.now) {
    this.#rate = rate;
    this.#now = now;
  }

  /** Spends one token for `key`; false when the budget is exhausted. */
  take(key: string): boolean {
    const now = this.#now();
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      bucket = new TokenBucket(this.#rate, now);
      this.#buckets.set(key, bucket);
    }
    const allowed = bucket.take(now);
    if (this.#buckets.size > 1024) this.#sweep(now);
    return allowed;
  }

  /** How long until `key` may spend a token again (0 when it may now). */
  waitMs(key: string): number {
    return this.#buckets.get(key)?.waitMs(this.#now()) ?? 0;
  }

  #sweep(now: number): void {
    for (const [key, bucket] of this.#buckets) {
      if (bucket.isFull(now)) this.#buckets.delete(key);
    }
  }
}
