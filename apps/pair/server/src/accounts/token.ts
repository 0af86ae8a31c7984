import { createHmac, timingSafeEqual } from "node:crypto";
import { z } from "zod";

/** Pair's tokens name this audience, so a token signed for another purpose is refused. */
export const TOKEN_AUDIENCE = "pair";

/** How long a token is good for by default: 14 days, in seconds. */
export const DEFAULT_TOKEN_TTL_SECONDS = 14 * 24 * 60 * 60;

/** Options of {@link TokenSigner}. */
export interface TokenSignerOptions {
  /** Lifetime of new tokens in seconds. Default 14 days. */
  ttlSeconds?: number;
  /** The audience tokens are signed for and required to name. Default {@link TOKEN_AUDIENCE}. */
  audience?: string;
}

/** What a verified token says. Times are Unix seconds. */
export interface TokenClaims {
  readonly userId: number;
  readonly issuedAt: number;
  readonly expiresAt: number;
}

const payloadSchema = z.object({
  sub: z.number().int().positive(),
  iat: z.number().int(),
  exp: z.number().int(),
  aud: z.string(),
});

/** Tokens may claim to be issued this far in the future (clock skew between nodes). */
const SKEW_SECONDS = 60;

/**
 * Signs and verifies user tokens: `base64url(JSON claims) . base64url(HMAC-SHA256)`.
 * Stateless, so any node holding the same secret can check a token without a lookup.
 */
export class TokenSigner {
  readonly #key: Buffer;
  readonly #ttlSeconds: number;
  readonly #audience: string;

  /**
   * @param secretKeyBase the server secret; a purpose-specific key is derived from it so
   *   the same secret can sign other things later without tokens being interchangeable.
   */
  constructor(secretKeyBase: string, options: TokenSignerOptions = {}) {
    this.#key = createHmac("sha256", secretKeyBase).update("user token").digest();
    this.#ttlSeconds = options.ttlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS;
    this.#audience = options.audience ?? TOKEN_AUDIENCE;
  }

  /** A token for `userId`, valid from `now` (ms) for the configured lifetime. */
  sign(userId: number, now = Date.now()): string {
    const iat = Math.floor(now / 1000);
    const payload = { sub: userId, iat, exp: iat + this.#ttlSeconds, aud: this.#audience };
    const body = Buffer.from(JSON.stringify(payload)).toString("base64url");
    return `${body}.${this.#mac(body).toString("base64url")}`;
  }

  /** The claims of a genuine, current token for our audience; null for anything else. */
  verify(token: string, now = Date.now()): TokenClaims | null {
    const parts = token.split(".");
    if (parts.length !== 2) return null;
    const [body, signature] = parts as [string, string];
    const given = Buffer.from(signature, "base64url");
    const expected = this.#mac(body);
    // Check the signature before looking inside: nothing unauthenticated gets parsed.
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    let json: unknown;
    try {
      json = JSON.parse(Buffer.from(body, "base64url").toString("utf8"));
    } catch {
      return null;
    }
    const parsed = payloadSchema.safeParse(json);
    if (!parsed.success) return null;
    const { sub, iat, exp, aud } = parsed.data;
    const seconds = Math.floor(now / 1000);
    if (aud !== this.#audience || exp <= seconds || iat > seconds + SKEW_SECONDS) return null;
    return { userId: sub, issuedAt: iat, expiresAt: exp };
  }

  #mac(body: string): Buffer {
    return createHmac("sha256", this.#key).update(body).digest();
  }
}
