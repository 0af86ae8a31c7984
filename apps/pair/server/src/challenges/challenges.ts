import type { Kysely } from "kysely";
import type { Schema } from "../db/schema.js";

// Type aliases rather than interfaces: they fit the JSON payload types of channel replies.

/** A challenge in the list: enough to choose one. */
export type ChallengeSummary = {
  readonly id: number;
  readonly title: string;
  readonly description: string;
};

/** A whole challenge, as a room shows it. */
export type Challenge = ChallengeSummary & {
  readonly starter_code: string;
};

/** Every challenge, oldest first, so the seed set leads the list. */
export function listChallenges(db: Kysely<Schema>): Promise<ChallengeSummary[]> {
  return db.selectFrom("challenges").select(["id", "title", "description"]).orderBy("id").execute();
}

/** One challenge, or undefined. */
export function getChallenge(db: Kysely<Schema>, id: number): Promise<Challenge | undefined> {
  return db
    .selectFrom("challenges")
    .select(["id", "title", "description", "starter_code"])
    .where("id", "=", id)
    .executeTakeFirst();
}

/** Stores a new challenge written by `authorId`. */
export function createChallenge(
  db: Kysely<Schema>,
  fields: { title: string; description: string; starterCode: string; authorId: number },
): Promise<Challenge> {
  return db
    .insertInto("challenges")
    .values({
      title: fields.title,
      description: fields.description,
      starter_code: fields.starterCode,
      author_id: fields.authorId,
      inserted_at: new Date().toISOString(),
    })
    .returning(["id", "title", "description", "starter_code"])
    .executeTakeFirstOrThrow();
}

/**
 * A challenge id from a URL path or a topic, or null: digits only, so `1e3`, `01` or
 * `-1` never reach the database, and within PostgreSQL's integer range.
 */
export function parseChallengeId(text: string | undefined): number | null {
  if (text === undefined || !/^[1-9]\d{0,9}$/.test(text)) return null;
  const id = Number(text);
  return id <= 2_147_483_647 ? id : null;
}
