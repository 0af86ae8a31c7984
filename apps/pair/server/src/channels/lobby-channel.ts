import { type ChannelDefinition, defineChannel, error, ok } from "@tandem/server";
import type { Occupancy } from "../lobby/occupancy.js";
import type { UserAssigns } from "./challenge-channel.js";

/** The topic of the lobby: who is in which room. */
export const LOBBY_TOPIC = "lobby";

/**
 * The `lobby` channel of CONTRACT.md: its join replies with the occupancy of every room,
 * and `occupancy` broadcasts (from {@link Occupancy}) bring the rooms that changed since.
 * Members only listen; nothing they send is accepted.
 */
export function lobbyChannel(occupancy: Occupancy): ChannelDefinition<UserAssigns> {
  return defineChannel<UserAssigns>({
    join(_topic, _payload, socket) {
      if (socket.assigns.tokenExpiresAt <= Date.now() / 1000) {
        return error({ reason: "unauthorized" });
      }
      return ok({ rooms: occupancy.snapshot() });
    },
    handleIn() {
      return error({ reason: "unknown event" });
    },
  });
}
