/**
 * Rooms with client-set presence, a Tandem extension kept out of the phoenix-compatible
 * entry point (and its bundle): {@link RoomPresence} follows who is in a room, lists those
 * whose connection dropped as reconnecting for a grace period, and sets the user's own
 * presence optimistically with throttled, coalesced `presence_update` pushes. The server
 * side is `Presence.clientPresence` in `@tandem/server`. `@tandem/react` and
 * `@tandem/redux` build their room APIs on it.
 *
 * @example
 * ```ts
 * import { Socket } from "@tandem/client";
 * import { RoomPresence } from "@tandem/client/room";
 *
 * const socket = new Socket("/socket", { params: { token } });
 * socket.connect();
 * const channel = socket.channel("room:lobby");
 * const room = new RoomPresence<{ cursor: { x: number; y: number } | null }>(channel);
 * channel.join();
 * room.subscribe(() => console.log(room.snapshot.others.map((o) => o.presence.cursor)));
 * room.update({ cursor: { x: 10, y: 20 } });
 * ```
 *
 * @packageDocumentation
 * @module @tandem/client/room
 */
export {
  type LostConnectionEvent,
  type Other,
  type PresenceRefusalEvent,
  RoomPresence,
  type RoomPresenceOptions,
  type RoomSnapshot,
  type RoomStatus,
  type Self,
} from "./room-presence.js";
