import { createHash, timingSafeEqual } from "node:crypto";

/** Shortest token accepted: a guessable token would make the dashboard public. */
export const MIN_TOKEN_LENGTH = 16;

/**
 * Compares candidates with the operator's token in constant time: both sides are hashed
 * first, so neither the content nor the length of the token shows in the timing.
 */
export class TokenCheck {
  readonly #digest: Buffer;

  constructor(token: string) {
    if (typeof token !== "string" || token.length < MIN_TOKEN_LENGTH) {
      throw new RangeError(`the dashboard token must be at least ${MIN_TOKEN_LENGTH} characters`);
    }
    this.#digest = digest(token);
  }

  /** Whether `candidate` is the token; anything but a string is not. */
  matches(candidate: unknown): boolean {
    return typeof candidate === "string" && timingSafeEqual(digest(candidate), this.#digest);
  }
}

function digest(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}
