import type { Kysely } from "kysely";
import type { Schema } from "../db/schema.js";
import type { TokenClaims, TokenSigner } from "./token.js";
import { findUserById, type User } from "./users.js";

/** Who a valid token belongs to. */
export interface Authenticated {
  readonly user: User;
  readonly claims: TokenClaims;
}

/**
 * The user a token names, if the token is genuine and current and the user still
 * exists. The only way HTTP requests and sockets learn who is calling.
 */
export async function authenticate(
  db: Kysely<Schema>,
  tokens: TokenSigner,
  token: string | null | undefined,
): Promise<Authenticated | null> {
  if (!token) return null;
  const claims = tokens.verify(token);
  if (!claims) return null;
  const user = await findUserById(db, claims.userId);
  return user ? { user, claims } : null;
}
