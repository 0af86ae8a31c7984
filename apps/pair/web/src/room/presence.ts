import type { Other } from "@tandem/client/room";

/** A Yjs relative position as `Y.relativePositionToJSON` writes it. */
export type RelativePositionJson = {
  type?: { client: number; clock: number };
  tname?: string;
  item?: { client: number; clock: number };
  assoc: number;
};

/** A member's caret and selection in the shared text. */
export type Caret = { anchor: RelativePositionJson; head: RelativePositionJson };

/**
 * A member's presence in a room (CONTRACT.md). The server sets who they are, their
 * colours and `away`; the member sets `typing`, `writing` and `caret`.
 */
export type PairPresence = {
  first_name: string;
  user_id: number;
  /** Set by the server when this tab has sent nothing for a while (its network is gone). */
  away: boolean;
  /** The user's colour in this room and its translucent variant, chosen by the server. */
  color: string;
  color_light: string;
  /** Typing in the editor; the server sets it back to false 3 s after the last update. */
  typing: boolean;
  /** Writing a chat message; reverts as `typing` does. */
  writing: boolean;
  /** Their caret and selection, or null while their editor is not focused. */
  caret: Caret | null;
};

/** A tab of someone in the room: the viewer's own, or another's (maybe reconnecting). */
export interface Tab {
  readonly presence: PairPresence;
  readonly reconnecting: boolean;
}

/** One person in the room, however many tabs they have open. */
export interface Participant {
  /** The presence key: the user id as a string. */
  readonly key: string;
  /** Their tabs, the first one's presence naming them. */
  readonly tabs: readonly Tab[];
}

/**
 * The people in the room from the viewer's own presence and the others', one per user in
 * user id order. A tab whose connection dropped after it had gone quiet (`away`) is no
 * short drop: it is left out rather than shown as reconnecting.
 */
export function participantsOf(
  self: { key: string; presence: PairPresence } | null,
  others: readonly Other<PairPresence>[],
): Participant[] {
  const byKey = new Map<string, Tab[]>();
  const add = (key: string, tab: Tab) => byKey.set(key, [...(byKey.get(key) ?? []), tab]);
  if (self) add(self.key, { presence: self.presence, reconnecting: false });
  for (const other of others) {
    if (other.reconnecting && other.presence.away) continue;
    add(other.key, other);
  }
  return [...byKey]
    .map(([key, tabs]) => ({ key, tabs }))
    .sort((a, b) => a.tabs[0]!.presence.user_id - b.tabs[0]!.presence.user_id);
}
