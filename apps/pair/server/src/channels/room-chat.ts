import {
  type ChannelContext,
  error,
  type Logger,
  ok,
  type ReplyResult,
  type TokenBucket,
} from "@tandem/server";
import type { Kysely } from "kysely";
import { addMessage, chatSendSchema, recentMessages } from "../chat/messages.js";
import type { Schema } from "../db/schema.js";
import { take } from "./budgets.js";
import type { UserAssigns } from "./challenge-channel.js";

/** Rate limits of a member's chat, per channel. */
export interface ChatLimits {
  /** Messages accepted per window. Default 5 per 5 s: a burst of short lines, not a flood. */
  readonly messages?: { limit: number; intervalMs: number };
}

/**
 * A room's chat on the `challenges:<id>` channel: `chat:send` stores a validated message
 * and broadcasts the stored copy as `chat:message`; a joiner gets the room's latest
 * messages as `chat:history`. Who is writing one is presence (`writing`), not chat.
 */
export class RoomChat {
  readonly #db: Kysely<Schema>;
  readonly #logger: Logger;
  readonly #messageRate: { limit: number; intervalMs: number };
  readonly #messageBudgets = new WeakMap<ChannelContext<UserAssigns>, TokenBucket>();

  constructor(db: Kysely<Schema>, logger: Logger, limits: ChatLimits = {}) {
    this.#db = db;
    this.#logger = logger;
    this.#messageRate = limits.messages ?? { limit: 5, intervalMs: 5000 };
  }

  /**
   * Pushes the latest messages to a member who just joined. Read after the join
   * subscribed the member, so no message falls between the history and the live ones
   * (one may come twice: clients keep messages by id).
   */
  async pushHistory(socket: ChannelContext<UserAssigns>, challengeId: number): Promise<void> {
    try {
      socket.push("chat:history", { messages: await recentMessages(this.#db, challengeId) });
    } catch (err) {
      // The room works without its history; the editor and presence must not go with it.
      this.#logger.error({ err, topic: socket.topic }, "loading the chat history failed");
    }
  }

  /** `chat:send {body}`: replies `ok {message}` with the stored message. */
  async send(
    payload: unknown,
    socket: ChannelContext<UserAssigns>,
    challengeId: number,
  ): Promise<ReplyResult> {
    const parsed = chatSendSchema.safeParse(payload);
    if (!parsed.success)
      return error({ reason: parsed.error.issues[0]?.message ?? "invalid message" });
    if (!take(this.#messageBudgets, this.#messageRate, socket))
      return error({ reason: "rate_limited" });
    const { userId, firstName } = socket.assigns;
    let message: Awaited<ReturnType<typeof addMessage>>;
    try {
      message = await addMessage(this.#db, {
        challengeId,
        userId,
        firstName,
        body: parsed.data.body,
      });
    } catch (err) {
      this.#logger.error({ err, topic: socket.topic }, "saving a chat message failed");
      return error({ reason: "save failed" });
    }
    socket.broadcast("chat:message", message);
    return ok({ message });
  }
}
