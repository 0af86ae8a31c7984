import type { JsonObject, PresenceEntry, PresenceMeta } from "@tandem/protocol";

/**
 * One meta replaced by a server-side `Presence.update`: `next.phx_ref_prev === prev.phx_ref`.
 */
export interface PresenceUpdate<M extends JsonObject = JsonObject> {
  /** The meta as it was before the update. */
  prev: PresenceMeta<M>;
  /** The meta that replaced it. */
  next: PresenceMeta<M>;
}

/**
 * What one sync step did to one key, with updates told apart from leaves and joins.
 *
 * Metas are compared by `phx_ref` only, so a re-sent meta whose ref is already known counts
 * as unchanged even if its other fields differ.
 */
export interface PresenceChange<M extends JsonObject = JsonObject> {
  /** The entry before the step, or `undefined` if the key was absent. */
  before: PresenceEntry<M> | undefined;
  /** The entry after the step, or `undefined` if the key is now gone. */
  after: PresenceEntry<M> | undefined;
  /** Metas that arrived and replace nothing, in the order they now hold in `after.metas`. */
  joined: PresenceMeta<M>[];
  /** Metas that went away and were not replaced, in the order they held in `before.metas`. */
  left: PresenceMeta<M>[];
  /** Metas replaced in place by an update, in the order of their `next` meta in `after.metas`. */
  updated: PresenceUpdate<M>[];
}

/** Receives one {@link PresenceChange} per changed key, see {@link Presence.onChange}. */
export type PresenceChangeCallback<M extends JsonObject = JsonObject> = (
  key: string,
  change: PresenceChange<M>,
) => void;

/**
 * Compares two versions of one key's entry and pairs each arriving meta with the departing
 * meta its `phx_ref_prev` names. Returns `undefined` when the key neither gained nor lost a
 * meta and neither appeared nor disappeared.
 *
 * Pairing needs both halves in the same step. The server always sends an update as one diff,
 * but if several updates of one meta happen while the client is away, the next
 * `presence_state` holds only the last meta, whose `phx_ref_prev` names a ref the client never
 * saw: that is reported as a leave plus a join.
 */
export function describeChange<M extends JsonObject>(
  before: PresenceEntry<M> | undefined,
  after: PresenceEntry<M> | undefined,
): PresenceChange<M> | undefined {
  const beforeMetas = before?.metas ?? [];
  const afterMetas = after?.metas ?? [];
  const beforeRefs = new Set(beforeMetas.map((meta) => meta.phx_ref));
  const afterRefs = new Set(afterMetas.map((meta) => meta.phx_ref));
  const gone = new Map<string, PresenceMeta<M>>();
  for (const meta of beforeMetas) {
    if (!afterRefs.has(meta.phx_ref)) gone.set(meta.phx_ref, meta);
  }

  const joined: PresenceMeta<M>[] = [];
  const updated: PresenceUpdate<M>[] = [];
  for (const next of afterMetas) {
    if (beforeRefs.has(next.phx_ref)) continue;
    const prev = next.phx_ref_prev === undefined ? undefined : gone.get(next.phx_ref_prev);
    if (prev === undefined) {
      joined.push(next);
    } else {
      // Each departed meta can be replaced only once.
      gone.delete(prev.phx_ref);
      updated.push({ prev, next });
    }
  }
  const left = beforeMetas.filter((meta) => gone.get(meta.phx_ref) === meta);

  const changed = joined.length > 0 || left.length > 0 || updated.length > 0;
  if (!changed && (before === undefined) === (after === undefined)) return undefined;
  return { before, after, joined, left, updated };
}
