import * as Y from "yjs";

/**
 * The Yjs client ids under which `update` adds structs `doc` does not have yet: the ids
 * an update speaks for. Structs the doc has already (a reconnecting client's sync
 * repeats them) and deletions (anyone may delete anyone's text) speak for nobody.
 *
 * @throws for bytes that do not decode as an update.
 */
export function newClientIds(update: Uint8Array, doc: Y.Doc): Set<number> {
  const ids = new Set<number>();
  for (const struct of Y.decodeUpdate(update).structs) {
    if (struct instanceof Y.Skip) continue;
    const { client, clock } = struct.id;
    if (clock + struct.length > Y.getState(doc.store, client)) ids.add(client);
  }
  return ids;
}
