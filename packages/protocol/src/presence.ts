import type { JsonObject } from "./json.js";

/** What the server adds to every meta: a unique opaque ref, and the replaced ref on update. */
export interface PresenceRefs {
  /** Unique per tracked meta; an update gives the meta a new one. */
  phx_ref: string;
  /** On a meta replaced by an update: the `phx_ref` of the meta it replaced. */
  phx_ref_prev?: string;
}

/** One tracked entry's metadata as it travels on the wire. */
export type PresenceMeta<M extends JsonObject = JsonObject> = M & PresenceRefs;

/** Everything known about one key: one meta per tracking channel, plus fetched extras. */
export interface PresenceEntry<M extends JsonObject = JsonObject> {
  /** One meta per channel that tracked the key, e.g. one per browser tab. */
  metas: PresenceMeta<M>[];
  [extra: string]: unknown;
}

/** The `presence_state` payload: every key present on the topic. */
export type PresenceState<M extends JsonObject = JsonObject> = Record<string, PresenceEntry<M>>;

/** The `presence_diff` payload: only the metas that joined and left. */
export interface PresenceDiff<M extends JsonObject = JsonObject> {
  /** The metas that joined (or replaced others), by key. */
  joins: PresenceState<M>;
  /** The metas that left (or were replaced), by key. */
  leaves: PresenceState<M>;
}

/**
 * The `presence_summary` payload a large room sends instead of diffs: how many are
 * present, and in full only the entries worth showing (for example who is typing).
 */
export interface PresenceSummary<M extends JsonObject = JsonObject> {
  /** Distinct keys present. */
  keys: number;
  /** Entries (metas) present: one per tracking channel. */
  entries: number;
  /** The highlighted entries, grouped by key as in `presence_state`. */
  highlighted: PresenceState<M>;
}
