import type { Kysely } from "kysely";
import type { Schema } from "../db/schema.js";
import { parseStoredTestCases, type TestCase } from "./test-cases.js";

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
  readonly tests: TestCase[];
};

/** The largest page of {@link listChallenges}: descriptions run to 10,000 characters each. */
export const MAX_PAGE_SIZE = 50;

/** One page of the challenge list, and where the next one starts (null after the last). */
export type ChallengePage = {
  readonly challenges: ChallengeSummary[];
  readonly nextCursor: string | null;
};

/**
 * Up to `limit` challenges with ids above `after`, oldest first so the seed set leads the
 * list. Keyset paging: a challenge created meanwhile cannot shift a page, and no page
 * costs more than an index range.
 */
export async function listChallenges(
  db: Kysely<Schema>,
  page: { limit: number; after: number },
): Promise<ChallengePage> {
  const limit = Math.min(Math.max(1, Math.trunc(page.limit)), MAX_PAGE_SIZE);
  const rows = await db
    .selectFrom("challenges")
    .select(["id", "title", "description"])
    .where("id", ">", page.after)
    .orderBy("id")
    // One more than asked tells whether another page follows.
    .limit(limit + 1)
    .execute();
  const challenges = rows.slice(0, limit);
  const last = challenges.at(-1);
  return {
    challenges,
    nextCursor: rows.length > limit && last ? String(last.id) : null,
  };
}

const CHALLENGE_COLUMNS = ["id", "title", "description", "starter_code", "test_cases"] as const;

function toChallenge(row: {
  id: number;
  title: string;
  description: string;
  starter_code: string;
  test_cases: string;
}): Challenge {
  const { test_cases, ...rest } = row;
  return { ...rest, tests: parseStoredTestCases(test_cases) };
}

/** One challenge, or undefined. */
export async function getChallenge(db: Kysely<Schema>, id: number): Promise<Challenge | undefined> {
  const row = await db
    .selectFrom("challenges")
    .select(CHALLENGE_COLUMNS)
    .where("id", "=", id)
    .executeTakeFirst();
  return row && toChallenge(row);
}

/** Stores a new challenge written by `authorId`. */
export async function createChallenge(
  db: Kysely<Schema>,
  fields: {
    title: string;
    description: string;
    starterCode: string;
    tests: readonly TestCase[];
    authorId: number;
  },
): Promise<Challenge> {
  const row = await db
    .insertInto("challenges")
    .values({
      title: fields.title,
      description: fields.description,
      starter_code: fields.starterCode,
      test_cases: JSON.stringify(fields.tests),
      author_id: fields.authorId,
      inserted_at: new Date().toISOString(),
    })
    .returning(CHALLENGE_COLUMNS)
    .executeTakeFirstOrThrow();
  return toChallenge(row);
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
