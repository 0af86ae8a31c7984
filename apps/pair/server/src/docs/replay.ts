import * as Y from "yjs";

/** A document rebuilt from stored rows, and the rows that could not be applied. */
export interface Replayed {
  readonly doc: Y.Doc;
  /** Positions in `updates` of the rows that threw when applied, with the error. */
  readonly rejected: readonly { readonly index: number; readonly error: unknown }[];
}

/**
 * Rebuilds a document from its snapshot and updates, in order. An update that throws
 * may have left the doc half-changed, so the doc is rebuilt from what applied before it
 * and the update is reported: one bad row must never make a room unloadable. Rebuilding
 * is the rare path; a clean replay applies each row once.
 *
 * Each update is applied in its own transaction, as it was when it arrived live, so a
 * replay takes the same code paths that accepted the row in the first place.
 *
 * Structs still waiting for a missing dependency at the end (only rows stored before
 * updates were validated can leave them) are dropped: they show nothing, and kept they
 * would make every later update that completes them throw the same way.
 */
export function replay(snapshot: Uint8Array | null, updates: readonly Uint8Array[]): Replayed {
  const rejected: { index: number; error: unknown }[] = [];
  const applied: Uint8Array[] = snapshot ? [snapshot] : [];
  let doc = docOf(applied);
  updates.forEach((update, index) => {
    try {
      Y.applyUpdate(doc, update);
      applied.push(update);
    } catch (error) {
      rejected.push({ index, error });
      doc.destroy();
      doc = docOf(applied);
    }
  });
  dropPending(doc);
  return { doc, rejected };
}

/** A new document holding `updates`, applied one by one. */
export function docOf(updates: readonly Uint8Array[]): Y.Doc {
  const doc = new Y.Doc();
  for (const update of updates) Y.applyUpdate(doc, update);
  return doc;
}

/** Whether the doc holds structs or deletions waiting for changes it does not have. */
export function hasPending(doc: Y.Doc): boolean {
  return doc.store.pendingStructs !== null || doc.store.pendingDs !== null;
}

function dropPending(doc: Y.Doc): void {
  doc.store.pendingStructs = null;
  doc.store.pendingDs = null;
}
