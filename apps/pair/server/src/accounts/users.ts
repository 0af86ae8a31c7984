import type { Kysely } from "kysely";
import type { Schema } from "../db/schema.js";

/** A user as the API shows it: never with the password hash. */
export interface User {
  readonly id: number;
  readonly first_name: string;
  readonly email: string;
}

/** Emails are compared case-insensitively: `Ada@Example.com` is `ada@example.com`. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/**
 * Creates a user; resolves with null when the email is already taken. The unique index
 * decides, not a prior lookup, so two simultaneous sign-ups cannot both succeed.
 */
export async function createUser(
  db: Kysely<Schema>,
  fields: { firstName: string; email: string; passwordHash: string },
): Promise<User | null> {
  try {
    return await db
      .insertInto("users")
      .values({
        first_name: fields.firstName,
        email: normalizeEmail(fields.email),
        password_hash: fields.passwordHash,
        inserted_at: new Date().toISOString(),
      })
      .returning(["id", "first_name", "email"])
      .executeTakeFirstOrThrow();
  } catch (err) {
    if (isUniqueViolation(err)) return null;
    throw err;
  }
}

/** The user with this id, or undefined. */
export function findUserById(db: Kysely<Schema>, id: number): Promise<User | undefined> {
  return db
    .selectFrom("users")
    .select(["id", "first_name", "email"])
    .where("id", "=", id)
    .executeTakeFirst();
}

/** The user with this email and their password hash, for signing in; or undefined. */
export function findUserForSignIn(
  db: Kysely<Schema>,
  email: string,
): Promise<(User & { password_hash: string }) | undefined> {
  return db
    .selectFrom("users")
    .select(["id", "first_name", "email", "password_hash"])
    .where("email", "=", normalizeEmail(email))
    .executeTakeFirst();
}

function isUniqueViolation(err: unknown): boolean {
  if (typeof err !== "object" || err === null || !("code" in err)) return false;
  // PostgreSQL's unique_violation, better-sqlite3's extended result code.
  return err.code === "23505" || err.code === "SQLITE_CONSTRAINT_UNIQUE";
}
