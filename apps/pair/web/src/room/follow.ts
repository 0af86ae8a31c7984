import * as Y from "yjs";
import type { RelativePositionJson } from "./presence";

/**
 * Where a caret's head (a Yjs relative position, as a member's presence carries it) is in
 * `text`, or null when it does not point into `text` (yet: an edit it follows may still
 * be on its way).
 */
export function caretIndex(text: Y.Text, head: RelativePositionJson): number | null {
  const doc = text.doc;
  if (!doc) return null;
  const position = Y.createAbsolutePositionFromRelativePosition(
    Y.createRelativePositionFromJSON(head),
    doc,
  );
  return position && position.type === text ? position.index : null;
}
