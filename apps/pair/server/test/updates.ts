import * as Y from "yjs";
import { SOLUTION_TEXT } from "../src/docs/documents.js";

/**
 * A real attack vector: a valid one-edit update with a few bytes flipped at random, found
 * in a few dozen tries. It decodes (`Y.decodeUpdate` accepts it) but `Y.applyUpdate`
 * throws "Unexpected case" in its delete set, after queueing its struct as pending: it
 * leaves any document it is applied to half-changed.
 */
export const THROWING_UPDATE = new Uint8Array([
  1, 1, 109, 0, 196, 13, 16, 13, 17, 2, 120, 57, 4, 12, 3, 8, 2, 22, 1, 26, 1, 11, 4, 6, 1, 12, 1,
  133, 2, 34, 1, 10, 7, 0, 2, 7, 1, 14, 1, 18, 1, 23, 1, 25, 2, 39, 1, 1, 4, 0, 1, 6, 1, 16, 1, 28,
  1,
]);

/** An edit made the way a browser makes it: on its own Y.Doc, exported as one update. */
export function edit(state: Uint8Array, change: (text: Y.Text) => void): Uint8Array {
  const doc = new Y.Doc();
  Y.applyUpdate(doc, state);
  const before = Y.encodeStateVector(doc);
  change(doc.getText(SOLUTION_TEXT));
  const update = Y.encodeStateAsUpdate(doc, before);
  doc.destroy();
  return update;
}
