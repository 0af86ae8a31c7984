import type { Other } from "@tandem/client/room";
import { describe, expect, it } from "vitest";
import { type PairPresence, participantsOf } from "../src/room/presence.js";

function presence(userId: number, fields: Partial<PairPresence> = {}): PairPresence {
  return {
    first_name: `User ${userId}`,
    user_id: userId,
    away: false,
    color: "#e4572e",
    color_light: "#e4572e33",
    typing: false,
    writing: false,
    caret: null,
    ...fields,
  };
}

function other(userId: number, member: string, fields: Partial<Other<PairPresence>> = {}) {
  return {
    key: String(userId),
    member,
    presence: presence(userId),
    reconnecting: false,
    ...fields,
  } satisfies Other<PairPresence>;
}

describe("the participants of a room", () => {
  it("lists each user once with all their tabs, the viewer's own among them, by user id", () => {
    const self = { key: "7", presence: presence(7) };
    const list = participantsOf(self, [
      other(12, "b"),
      other(3, "c"),
      other(7, "d"),
      other(12, "e"),
    ]);
    expect(list.map((p) => [p.key, p.tabs.length])).toEqual([
      ["3", 1],
      ["7", 2],
      ["12", 2],
    ]);
    expect(list[1]?.tabs[0]).toEqual({ presence: self.presence, reconnecting: false });
  });

  it("keeps a tab reconnecting after a short drop, not one that had gone quiet first", () => {
    const dropped = other(4, "a", { reconnecting: true });
    const quietThenDropped = other(5, "b", {
      reconnecting: true,
      presence: presence(5, { away: true }),
    });
    const awayButConnected = other(6, "c", { presence: presence(6, { away: true }) });
    const list = participantsOf(null, [dropped, quietThenDropped, awayButConnected]);
    expect(list.map((p) => p.key)).toEqual(["4", "6"]);
    expect(list[0]?.tabs[0]?.reconnecting).toBe(true);
  });
});
