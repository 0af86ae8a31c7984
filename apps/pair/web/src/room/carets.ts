import type { RoomPresence } from "@tandem/client/room";
import type { Awareness } from "y-protocols/awareness";
import * as Y from "yjs";
import type { Caret, PairPresence } from "./presence";

type AwarenessChange = { added: number[]; updated: number[]; removed: number[] };

/** The caret y-codemirror.next keeps in the local awareness state, as presence JSON. */
function caretOfState(state: Record<string, unknown> | null): Caret | null {
  const cursor = state?.cursor as { anchor?: Y.RelativePosition; head?: Y.RelativePosition } | null;
  if (!cursor?.anchor || !cursor.head) return null;
  return {
    anchor: Y.relativePositionToJSON(cursor.anchor),
    head: Y.relativePositionToJSON(cursor.head),
  };
}

/**
 * Carries carets between y-codemirror.next, which writes the user's caret into a
 * y-protocols Awareness and draws the other states it holds, and the room's presence,
 * where carets travel: the user's caret goes out as their `caret` field, and each other
 * member's caret comes in as an awareness state of its own, named and coloured from the
 * fields the server set. The Awareness itself never goes over the wire. A member who
 * leaves, or puts their caret away, takes theirs with them at once.
 *
 * @returns The unbinding.
 */
export function bindCarets(room: RoomPresence<PairPresence>, awareness: Awareness): () => void {
  const onLocal = ({ added, updated, removed }: AwarenessChange, origin: unknown) => {
    const mine = awareness.clientID;
    if (origin !== "local" || ![added, updated, removed].some((ids) => ids.includes(mine))) return;
    room.update({ caret: caretOfState(awareness.getLocalState()) });
  };
  awareness.on("change", onLocal);

  // The carets drawn, by member: the awareness client id each is drawn under, and what
  // it was drawn from, so that only the members that changed are drawn again.
  const shown = new Map<string, { clientId: number; drawn: string }>();
  let nextId = 1;
  const draw = () => {
    const change: AwarenessChange = { added: [], updated: [], removed: [] };
    const present = new Set<string>();
    for (const { member, presence } of room.snapshot.others) {
      const { caret, first_name: name, color, color_light: colorLight } = presence;
      if (!caret) continue;
      present.add(member);
      const drawn = JSON.stringify([caret, name, color, colorLight]);
      let entry = shown.get(member);
      if (entry?.drawn === drawn) continue;
      if (entry) {
        entry.drawn = drawn;
        change.updated.push(entry.clientId);
      } else {
        if (nextId === awareness.clientID) nextId += 1;
        entry = { clientId: nextId++, drawn };
        shown.set(member, entry);
        change.added.push(entry.clientId);
      }
      awareness.states.set(entry.clientId, {
        user: { name, color, colorLight },
        cursor: {
          anchor: Y.createRelativePositionFromJSON(caret.anchor),
          head: Y.createRelativePositionFromJSON(caret.head),
        },
      });
    }
    for (const [member, { clientId }] of shown) {
      if (present.has(member)) continue;
      shown.delete(member);
      awareness.states.delete(clientId);
      change.removed.push(clientId);
    }
    const { added, updated, removed } = change;
    if (added.length + updated.length + removed.length > 0) {
      awareness.emit("change", [change, "presence"]);
    }
  };
  draw();
  const unsubscribe = room.subscribe(draw);
  return () => {
    awareness.off("change", onLocal);
    unsubscribe();
  };
}
