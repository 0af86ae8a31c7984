import {
  type ChannelContext,
  type ChannelDefinition,
  defineChannel,
  error,
  type HandleInResult,
  type Logger,
  ok,
  type Presence,
  TokenBucket,
} from "@tandem/server";
import type { Kysely } from "kysely";
import { getChallenge, parseChallengeId } from "../challenges/challenges.js";
import type { Schema } from "../db/schema.js";
import { decodeAwareness, encodeAwareness } from "../docs/awareness.js";
import { userColor } from "../docs/colors.js";
import { type Room, type Rooms, UpdateRefusedError } from "../docs/documents.js";
import { RoomChat } from "./room-chat.js";
import { TestRuns } from "./test-runs.js";

/** What the user socket knows about its caller, from the token alone. */
export type UserAssigns = {
  userId: number;
  firstName: string;
  /** Unix seconds; joins after this are refused so a stale socket cannot outlive its token. */
  tokenExpiresAt: number;
};

/** What the challenge channel needs. */
export interface ChallengeChannelOptions {
  readonly db: Kysely<Schema>;
  readonly rooms: Rooms;
  readonly presence: Presence;
  readonly logger: Logger;
  /** How long `typing: true` lasts after the last `typing` event (ms). Default 3000. */
  readonly typingQuietMs?: number;
  /** Largest `awareness` payload accepted (bytes). Default 8 KiB: a caret state is ~300 B. */
  readonly maxAwarenessBytes?: number;
  /** `awareness` messages accepted per second per channel. Default 30. */
  readonly awarenessPerSecond?: number;
}

/** Sent to itself right after the join reply, when pushing becomes possible. */
const AFTER_JOIN = "after_join";

/**
 * The `challenges:<id>` channel of CONTRACT.md: presence of who is in the room and who
 * is typing, the room's shared Yjs document, its chat and its members' test runs.
 */
export function challengeChannel(options: ChallengeChannelOptions): ChannelDefinition<UserAssigns> {
  const { db, rooms, presence, logger } = options;
  const typingQuietMs = options.typingQuietMs ?? 3000;
  const maxAwarenessBytes = options.maxAwarenessBytes ?? 8 * 1024;
  const awarenessPerSecond = options.awarenessPerSecond ?? 30;
  const awarenessRate = { limit: awarenessPerSecond, intervalMs: 1000 };
  const awarenessBudgets = new WeakMap<ChannelContext<UserAssigns>, TokenBucket>();
  // One room per channel instance; a WeakMap keeps the room out of the assigns,
  // which are meant for plain data.
  const roomOf = new WeakMap<ChannelContext<UserAssigns>, Room>();
  const testCountOf = new WeakMap<ChannelContext<UserAssigns>, number>();
  const chat = new RoomChat(db, logger);
  const testRuns = new TestRuns();

  return defineChannel<UserAssigns>({
    async join(topic, _payload, socket) {
      // Registered before the first await: if the connection drops while the challenge or
      // its room loads, the exit still gives the room back (exit callbacks run once).
      let exited = false;
      let opening: Promise<Room> | undefined;
      socket.onExit(() => {
        exited = true;
        opening?.then(
          (room) => rooms.release(room),
          () => {},
        );
      });
      if (socket.assigns.tokenExpiresAt <= Date.now() / 1000) {
        return error({ reason: "unauthorized" });
      }
      const id = parseChallengeId(topic.slice("challenges:".length));
      const challenge = id === null ? undefined : await getChallenge(db, id);
      if (!challenge) return error({ reason: "not found" });
      if (exited) return error({ reason: "closed" });
      opening = rooms.acquire(challenge.id, challenge.starter_code);
      roomOf.set(socket, await opening);
      testCountOf.set(socket, challenge.tests.length);
      socket.send(AFTER_JOIN);
      return ok({ challenge });
    },

    async handleInfo(message, socket) {
      if (message !== AFTER_JOIN) return undefined;
      const { userId, firstName } = socket.assigns;
      const { color, colorLight } = userColor(userId);
      const tracked = presence.track(socket, String(userId), {
        first_name: firstName,
        user_id: userId,
        typing: false,
        color,
        color_light: colorLight,
      });
      if (!tracked.ok) logger.warn({ reason: tracked.reason, userId }, "presence not tracked");
      await presence.pushState(socket);
      // Sync step 1: the server's state vector. The client answers with what the server
      // lacks (`doc:update`) and asks for what it lacks itself (`doc:sync`).
      const room = roomOf.get(socket);
      if (room) {
        socket.push("doc:sync", room.stateVector());
        await chat.pushHistory(socket, room.challengeId);
      }
      return undefined;
    },

    async handleIn(event, payload, socket): Promise<HandleInResult> {
      switch (event) {
        case "doc:update": {
          const room = roomOf.get(socket);
          if (!(payload instanceof Uint8Array)) return error({ reason: "binary payload expected" });
          if (!room) return error({ reason: "not joined" });
          let added: Uint8Array | null;
          try {
            added = await room.apply(payload, socket.assigns.userId);
          } catch (err) {
            if (err instanceof UpdateRefusedError) return error({ reason: err.reason });
            logger.error({ err, topic: socket.topic }, "saving a document update failed");
            return error({ reason: "save failed" });
          }
          // What the document integrated, not the client's bytes: only validated data travels.
          if (added) socket.broadcastFrom("doc:update", added);
          return ok();
        }
        case "doc:sync": {
          const room = roomOf.get(socket);
          if (!(payload instanceof Uint8Array)) return error({ reason: "binary payload expected" });
          if (!room) return error({ reason: "not joined" });
          try {
            return ok(room.missingFrom(payload));
          } catch (err) {
            if (err instanceof UpdateRefusedError) return error({ reason: err.reason });
            throw err;
          }
        }
        case "awareness": {
          const room = roomOf.get(socket);
          if (!(payload instanceof Uint8Array)) return error({ reason: "binary payload expected" });
          if (!room) return error({ reason: "not joined" });
          if (payload.byteLength > maxAwarenessBytes)
            return error({ reason: "awareness too large" });
          const now = performance.now();
          let budget = awarenessBudgets.get(socket);
          if (!budget) {
            budget = new TokenBucket(awarenessRate, now);
            awarenessBudgets.set(socket, budget);
          }
          if (!budget.take(now)) return error({ reason: "rate_limited" });
          const relayed = await checkAwareness(payload, room, socket.assigns);
          if (typeof relayed === "string") return error({ reason: relayed });
          socket.broadcastFrom("awareness", relayed);
          return ok();
        }
        case "typing": {
          const result = presence.setTransient(
            socket,
            String(socket.assigns.userId),
            { typing: true },
            { afterMs: typingQuietMs, revert: { typing: false } },
          );
          return result.ok ? ok() : error({ reason: result.reason });
        }
        case "chat:send": {
          const room = roomOf.get(socket);
          if (!room) return error({ reason: "not joined" });
          return chat.send(payload, socket, room.challengeId);
        }
        case "chat:typing":
          return chat.typing(socket);
        case "tests:report": {
          const testCount = testCountOf.get(socket);
          if (testCount === undefined) return error({ reason: "not joined" });
          return testRuns.report(payload, socket, testCount);
        }
        default:
          return error({ reason: "unknown event" });
      }
    },
  });
}

/**
 * What to relay for an awareness update, or the reason to refuse it: it must decode,
 * and speak only for client ids bound to the sender. Each state's `user` is replaced
 * with the sender's identity from the token and a colour from the server's palette, so
 * nobody can pose as someone else or put their own string into others' style attributes.
 */
async function checkAwareness(
  payload: Uint8Array,
  room: Room,
  { userId, firstName }: UserAssigns,
): Promise<Uint8Array | string> {
  let entries: ReturnType<typeof decodeAwareness>;
  try {
    entries = decodeAwareness(payload);
  } catch {
    return "invalid awareness";
  }
  if (entries.length === 0) return "invalid awareness";
  if (!(await room.claim(new Set(entries.map((e) => e.clientId)), userId))) {
    return "client id belongs to another user";
  }
  const user = { id: userId, name: firstName, ...userColor(userId) };
  return encodeAwareness(
    entries.map((entry) => ({ ...entry, state: entry.state && { ...entry.state, user } })),
  );
}
