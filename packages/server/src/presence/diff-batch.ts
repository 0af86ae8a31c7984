import type { JsonObject, PresenceDiff, PresenceMeta } from "@tandem/protocol";

/**
 * The changes to one topic waiting to go out as a single `presence_diff`. A meta that
 * joins and leaves inside one batch is kept on both sides: a client that joined in the
 * meantime may already hold it from its `presence_state`, and only the leave removes it.
 * Clients apply joins before leaves, so the pair nets out for everyone else.
 */
export class DiffBatch {
  readonly #joins = new Map<string, PresenceMeta[]>();
  readonly #leaves = new Map<string, PresenceMeta[]>();

  get isEmpty(): boolean {
    return this.#joins.size === 0 && this.#leaves.size === 0;
  }

  join(key: string, meta: PresenceMeta): void {
    append(this.#joins, key, meta);
  }

  leave(key: string, meta: PresenceMeta): void {
    append(this.#leaves, key, meta);
  }

  /** The batch as a wire diff, keys in the order they first changed. */
  toDiff(): PresenceDiff<JsonObject> {
    return { joins: group(this.#joins), leaves: group(this.#leaves) };
  }
}

function append(map: Map<string, PresenceMeta[]>, key: string, meta: PresenceMeta): void {
  const metas = map.get(key);
  if (metas) metas.push(meta);
  else map.set(key, [meta]);
}

function group(map: Map<string, PresenceMeta[]>): PresenceDiff["joins"] {
  // Keys are user data: "__proto__" must be a key like any other.
  const out: PresenceDiff["joins"] = Object.create(null);
  for (const [key, metas] of map) out[key] = { metas };
  return out;
}
