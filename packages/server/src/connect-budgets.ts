import { type Rate, TokenBucket } from "./token-bucket.js";

/**
 * Upgrade budgets per client key (an address, by default): what keeps one client from
 * reconnecting as fast as it is cut, each new connection buying a fresh per-connection
 * budget. A bucket exists only while its client is spending; full ones are forgotten.
 */
export class ConnectBudgets {
  readonly #rate: Rate;
  readonly #buckets = new Map<string, TokenBucket>();

  constructor(rate: Rate) {
    this.#rate = rate;
  }

  /** Spends one upgrade of `key`'s; returns 0 when allowed, else the ms to wait. */
  take(key: string, now: number): number {
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      bucket = new TokenBucket(this.#rate, now);
      this.#buckets.set(key, bucket);
    }
    return bucket.take(now) ? 0 : Math.max(1, bucket.waitMs(now));
  }

  /** Forgets the clients whose budget is full again. */
  sweep(now: number): void {
    for (const [key, bucket] of this.#buckets) {
      if (bucket.isFull(now)) this.#buckets.delete(key);
    }
  }
}
