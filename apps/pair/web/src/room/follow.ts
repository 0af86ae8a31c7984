import type { Awareness } from "y-protocols/awareness";
import * as Y from "yjs";

/**
 * Where `userId`'s caret is in `text`, from the awareness states y-codemirror.next
 * publishes (`cursor.head`, a Yjs relative position), or null when they have none here.
 * With several tabs, the first with a caret wins.
 */
export function caretOf(awareness: Awareness, text: Y.Text, userId: number): number | null {
  const doc = text.doc;
  if (!doc) return null;
  for (const [clientId, state] of awareness.getStates()) {
    if (clientId === awareness.clientID) continue;
    const user = state.user as { id?: unknown } | undefined;
    const head = (state.cursor as { head?: unknown } | null | undefined)?.head;
    if (user?.id !== userId || head == null) continue;
    const position = Y.createAbsolutePositionFromRelativePosition(
      Y.createRelativePositionFromJSON(head),
      doc,
    );
    if (position && position.type === text) return position.index;
  }
  return null;
}
