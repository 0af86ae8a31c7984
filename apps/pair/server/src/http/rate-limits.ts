import { normalizeIP } from "@fastify/rate-limit";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { HttpError } from "./errors.js";

/** At most `max` requests per key in each window of `windowMs`. */
export interface RateLimit {
  readonly max: number;
  readonly windowMs: number;
}

/** The API's rate limits; see the server README for why these keys. */
export interface RateLimits {
  /** Sign-in attempts per client address. */
  readonly signInPerAddress: RateLimit;
  /** Sign-in attempts per account (email), from any address: guessing one password. */
  readonly signInPerAccount: RateLimit;
  /** Accounts created per client address. */
  readonly signUpPerAddress: RateLimit;
  /** Challenges created per user. */
  readonly challengesPerUser: RateLimit;
}

const MINUTE = 60_000;

/**
 * Generous for a person, tight for a script: 10 guesses per account every 15 minutes is
 * about 1,000 a day where there were 10.9 a second.
 */
export const DEFAULT_RATE_LIMITS: RateLimits = {
  signInPerAddress: { max: 20, windowMs: 5 * MINUTE },
  signInPerAccount: { max: 10, windowMs: 15 * MINUTE },
  signUpPerAddress: { max: 10, windowMs: 60 * MINUTE },
  challengesPerUser: { max: 20, windowMs: 60 * MINUTE },
};

/**
 * The client's address as a rate-limit key. `request.ip` is the peer address unless the
 * server was told to trust a proxy; IPv6 addresses count per /64, which is what one
 * subscriber usually gets.
 */
export function addressKey(request: FastifyRequest): string {
  return normalizeIP(request.ip, 64);
}

/**
 * A fixed-window counter per key (kept by @fastify/rate-limit, in this process): every
 * {@link take} counts, and past the limit it throws a 429 with `Retry-After`.
 */
export class KeyedRateLimit {
  readonly #message: string;
  readonly #keys = new WeakMap<FastifyRequest, string>();
  readonly #check: ReturnType<FastifyInstance["createRateLimit"]>;

  /** `app` must have @fastify/rate-limit registered; `message` is what the client reads. */
  constructor(app: FastifyInstance, limit: RateLimit, message: string) {
    this.#message = message;
    this.#check = app.createRateLimit({
      max: limit.max,
      timeWindow: limit.windowMs,
      // The plugin derives keys from requests; this limiter's key is chosen by its caller.
      keyGenerator: (request) => this.#keys.get(request) ?? "",
    });
  }

  /** Counts one request for `key`; throws {@link HttpError} 429 once over the limit. */
  async take(request: FastifyRequest, key: string): Promise<void> {
    this.#keys.set(request, key);
    const result = await this.#check(request);
    if (!result.isAllowed && result.isExceeded) {
      throw new HttpError(429, this.#message, {
        retryAfterSeconds: Math.max(1, result.ttlInSeconds),
      });
    }
  }
}
