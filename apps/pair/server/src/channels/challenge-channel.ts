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
  type Tracker,
} from "@tandem/server";
import type { Kysely } from "kysely";
import { getChallenge, parseChallengeId } from "../challenges/challenges.js";
import type { Schema } from "../db/schema.js";
import { decodeAwareness, encodeAwareness } from "../docs/awareness.js";
import { roomColor, type UserColor } from "../docs/colors.js";
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
  /** The tracker under `presence`: read synchronously so that two joins never pick one colour. */
  readonly tracker: Tracker;
  readonly logger: Logger;
  /** How long `typing: true` lasts after the last `typing` event (ms). Default 3000. */
  readonly typingQuietMs?: number;
  /** Largest `awareness` payload accepted (bytes). Default 8 KiB: a caret state is ~300 B. */
  readonly maxAwarenessBytes?: number;
  /** `awareness` messages accepted per second per channel. Default 30. */
  readonly awarenessPerSecond?: number;
  /**
   * A member who sends nothing on the channel for this long is marked `away: true` until
   * they are heard again (ms). Default 8000: clients send `here` every 3 s.
   */
  readonly awayAfterMs?: number;
}

/** Sent to itself right after the join reply, when pushing becomes possible. */
const AFTER_JOIN = "after_join";
/** Sent to itself when a member has been quiet for `awayAfterMs`. */
const QUIET = "quiet";

/**
 * The `challenges:<id>` channel of CONTRACT.md: presence of who is in the room and who
 * is typing, the room's shared Yjs document, its chat and its members' test runs.
 */
export function challengeChannel(options: ChallengeChannelOptions): ChannelDefinition<UserAssigns> {
  const { db, rooms, presence, tracker, logger } = options;
  const typingQuietMs = options.typingQuietMs ?? 3000;
  const maxAwarenessBytes = options.maxAwarenessBytes ?? 8 * 1024;
  const awarenessPerSecond = options.awarenessPerSecond ?? 30;
  const awayAfterMs = options.awayAfterMs ?? 8000;
  const awarenessRate = { limit: awarenessPerSecond, intervalMs: 1000 };
  const awarenessBudgets = new WeakMap<ChannelContext<UserAssigns>, TokenBucket>();
  // One room per channel instance; a WeakMap keeps the room out of the assigns,
  // which are meant for plain data.
  const roomOf = new WeakMap<ChannelContext<UserAssigns>, Room>();
  const testCountOf = new WeakMap<ChannelContext<UserAssigns>, number>();
  const chat = new RoomChat(db, logger);
  const testRuns = new TestRuns();
  const colorOf = new WeakMap<ChannelContext<UserAssigns>, UserColor>();
  // Cancels the pending QUIET of each channel; each message heard starts a new one.
  const quietTimers = new WeakMap<ChannelContext<UserAssigns>, () => void>();
  const awayNow = new WeakSet<ChannelContext<UserAssigns>>();

  /** The member was heard from: they are not away, and the quiet period starts again. */
  const heard = (socket: ChannelContext<UserAssigns>): void => {
    if (!colorOf.has(socket)) return;
    quietTimers.get(socket)?.();
    quietTimers.set(socket, socket.sendAfter(awayAfterMs, QUIET));
    if (!awayNow.delete(socket)) return;
    const back = presence.update(socket, String(socket.assigns.userId), (meta) => ({
      ...meta,
      away: false,
    }));
    if (!back.ok) logger.warn({ reason: back.reason }, "presence not updated");
  };

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
      if (message === QUIET) {
        quietTimers.delete(socket);
        awayNow.add(socket);
        const away = presence.update(socket, String(socket.assigns.userId), (meta) => ({
          ...meta,
          away: true,
        }));
        if (!away.ok) logger.warn({ reason: away.reason }, "presence not updated");
        return undefined;
      }
      if (message !== AFTER_JOIN) return undefined;
      const { userId, firstName } = socket.assigns;
      // Listing and tracking with no await between them: joins on this node take turns.
      const members = tracker.list(socket.topic).map(({ meta }) => ({
        userId: Number(meta.user_id),
        color: String(meta.color),
      }));
      const userColor = roomColor(members, userId);
      colorOf.set(socket, userColor);
      const tracked = presence.track(socket, String(userId), {
        first_name: firstName,
        user_id: userId,
        typing: false,
        away: false,
        color: userColor.color,
        color_light: userColor.colorLight,
      });
      if (!tracked.ok) logger.warn({ reason: tracked.reason, userId }, "presence not tracked");
      heard(socket);
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
      heard(socket);
      switch (event) {
        case "here":
          return ok();
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
          const relayed = await checkAwareness(
            payload,
            room,
            socket.assigns,
            colorOf.get(socket) ?? roomColor([], socket.assigns.userId),
          );
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
 * with the sender's identity from the token and the colour the room gave them, so nobody
 * can pose as someone else or put their own string into others' style attributes.
 */
async function checkAwareness(
  payload: Uint8Array,
  room: Room,
  { userId, firstName }: UserAssigns,
  color: UserColor,
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
  const user = { id: userId, name: firstName, ...color };
  return encodeAwareness(
    entries.map((entry) => ({ ...entry, state: entry.state && { ...entry.state, user } })),
  );
}
