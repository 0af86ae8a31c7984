import {
  type ChannelContext,
  type ChannelDefinition,
  defineChannel,
  error,
  type HandleInResult,
  type Logger,
  ok,
  type Presence,
  type Tracker,
} from "@tandem/server";
import type { Kysely } from "kysely";
import { getChallenge, parseChallengeId } from "../challenges/challenges.js";
import type { Schema } from "../db/schema.js";
import { roomColor } from "../docs/colors.js";
import { type Room, type Rooms, UpdateRefusedError } from "../docs/documents.js";
import { RoomChat } from "./room-chat.js";
import { roomPresence } from "./room-presence.js";
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
  /**
   * How long `typing: true` (the editor) and `writing: true` (a chat message) last after
   * the last update setting them (ms). Default 3000.
   */
  readonly typingQuietMs?: number;
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
 * The `challenges:<id>` channel of CONTRACT.md: presence of who is in the room (their
 * identity, colour and away flag set by the server; typing, chat writing and caret set by
 * the member with `presence_update`, see {@link roomPresence}), the room's shared Yjs
 * document, its chat and its members' test runs.
 */
export function challengeChannel(options: ChallengeChannelOptions): ChannelDefinition<UserAssigns> {
  const { db, rooms, presence, tracker, logger } = options;
  const awayAfterMs = options.awayAfterMs ?? 8000;
  const own = roomPresence(presence, options.typingQuietMs ?? 3000);
  // One room per channel instance; a WeakMap keeps the room out of the assigns,
  // which are meant for plain data.
  const roomOf = new WeakMap<ChannelContext<UserAssigns>, Room>();
  const testCountOf = new WeakMap<ChannelContext<UserAssigns>, number>();
  const chat = new RoomChat(db, logger);
  const testRuns = new TestRuns();
  const tracked = new WeakSet<ChannelContext<UserAssigns>>();
  // Cancels the pending QUIET of each channel; each message heard starts a new one.
  const quietTimers = new WeakMap<ChannelContext<UserAssigns>, () => void>();
  const awayNow = new WeakSet<ChannelContext<UserAssigns>>();

  /** The member was heard from: they are not away, and the quiet period starts again. */
  const heard = (socket: ChannelContext<UserAssigns>): void => {
    if (!tracked.has(socket)) return;
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
    clientPresence: own,
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
      const result = own.track(socket, {
        first_name: firstName,
        user_id: userId,
        away: false,
        color: userColor.color,
        color_light: userColor.colorLight,
        typing: false,
        writing: false,
        caret: null,
      });
      if (result.ok) tracked.add(socket);
      else logger.warn({ reason: result.reason, userId }, "presence not tracked");
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
        case "chat:send": {
          const room = roomOf.get(socket);
          if (!room) return error({ reason: "not joined" });
          return chat.send(payload, socket, room.challengeId);
        }
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
