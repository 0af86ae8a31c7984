import type { Kysely } from "kysely";
import { z } from "zod";
import type { Schema } from "../db/schema.js";

/** A chat message as the room shows it: who wrote it, from the users table. */
export type ChatMessage = {
  readonly id: number;
  readonly user_id: number;
  readonly first_name: string;
  readonly body: string;
  readonly inserted_at: string;
};

/** Longest message, in characters. */
export const MAX_MESSAGE_CHARS = 2000;

/** Messages a room shows when it opens. */
export const HISTORY_SIZE = 100;

// Control characters (Unicode Cc) and the bidirectional marks, embeddings, overrides
// and isolates that would reorder the text around them; newlines and tabs are text.
const INVISIBLE_OR_REORDERING = /[\p{Cc}\u200E\u200F\u202A-\u202E\u2066-\u2069]/u;
const isClean = (body: string) => !INVISIBLE_OR_REORDERING.test(body.replace(/[\n\t]/g, ""));

/** The `chat:send` payload; each message is the channel's error reason. */
export const chatSendSchema = z.object({
  body: z
    .string({ error: "invalid message" })
    .trim()
    .min(1, "empty message")
    .max(MAX_MESSAGE_CHARS, "message too long")
    .refine(isClean, "invalid message"),
});

/** Stores a message of `userId` in a room and returns it as the room shows it. */
export async function addMessage(
  db: Kysely<Schema>,
  message: { challengeId: number; userId: number; firstName: string; body: string },
): Promise<ChatMessage> {
  const row = await db
    .insertInto("challenge_messages")
    .values({
      challenge_id: message.challengeId,
      user_id: message.userId,
      body: message.body,
      inserted_at: new Date().toISOString(),
    })
    .returning(["id", "user_id", "body", "inserted_at"])
    .executeTakeFirstOrThrow();
  return { ...row, first_name: message.firstName };
}

/** The latest {@link HISTORY_SIZE} messages of a room, oldest first. */
export async function recentMessages(
  db: Kysely<Schema>,
  challengeId: number,
): Promise<ChatMessage[]> {
  const rows = await db
    .selectFrom("challenge_messages")
    .innerJoin("users", "users.id", "challenge_messages.user_id")
    .select([
      "challenge_messages.id",
      "challenge_messages.user_id",
      "users.first_name",
      "challenge_messages.body",
      "challenge_messages.inserted_at",
    ])
    .where("challenge_messages.challenge_id", "=", challengeId)
    .orderBy("challenge_messages.id", "desc")
    .limit(HISTORY_SIZE)
    .execute();
  return rows.reverse();
}
