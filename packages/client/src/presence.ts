import type {
  JsonObject,
  PresenceDiff,
  PresenceEntry,
  PresenceMeta,
  PresenceState,
} from "@tandem/protocol";
import { describeChange, type PresenceChangeCallback } from "./presence-updates.js";

/**
 * The two channel methods Presence needs. Tandem's `Channel` fits, and so does a phoenix
 * `Channel` object (whose `@types/phoenix` declaration omits `joinRef`, so it needs a cast).
 */
export interface PresenceChannel {
  /** Subscribes to an event; the return value (phoenix: a binding ref) is not used. */
  on(event: string, callback: (payload: unknown) => void): unknown;
  /** The ref of the channel's current join, which changes on every rejoin; none before joining. */
  joinRef(): string | null | undefined;
}

/** Options for {@link Presence}. */
export interface PresenceOptions {
  /** Channel event names to listen on. Default `{state: "presence_state", diff: "presence_diff"}`. */
  events?: { state: string; diff: string };
}

/**
 * Called for each key in a join.
 *
 * @param key - the presence key.
 * @param current - the entry *before* the join, or `undefined` if the key is new.
 * @param newPres - only the metas that joined (plus the entry's extra fields).
 */
export type PresenceOnJoin<M extends JsonObject = JsonObject> = (
  key: string,
  current: PresenceEntry<M> | undefined,
  newPres: PresenceEntry<M>,
) => void;

/**
 * Called for each key in a leave that is present in the state.
 *
 * @param key - the presence key.
 * @param current - the entry *after* the left metas were removed; its `metas` may be empty, in
 *   which case the key is deleted once the callback returns.
 * @param leftPres - the metas that left, as the server sent them.
 */
export type PresenceOnLeave<M extends JsonObject = JsonObject> = (
  key: string,
  current: PresenceEntry<M>,
  leftPres: PresenceEntry<M>,
) => void;

/** Picks what {@link Presence.list} returns for one key. */
export type PresenceChooser<M extends JsonObject, T> = (
  key: string,
  presence: PresenceEntry<M>,
) => T;

const noop = (): void => {};

interface Callbacks<M extends JsonObject> {
  onJoin: PresenceOnJoin<M>;
  onLeave: PresenceOnLeave<M>;
  onSync: () => void;
  onChange: PresenceChangeCallback<M> | null;
}

/**
 * Keeps a channel's presence list in sync from its `presence_state` and `presence_diff`
 * events, with the same API and behaviour as `Presence` in the `phoenix` npm package (1.8.16).
 *
 * State objects have a null prototype, so keys such as `"__proto__"` or `"constructor"` are
 * ordinary keys, and keys come out in JavaScript property order: integer-like keys first in
 * ascending order, then the others in insertion order.
 *
 * @example
 * ```ts
 * const presence = new Presence<{ status: string }>(channel);
 * presence.onSync(() => render(presence.list((id, { metas }) => ({ id, status: metas[0]?.status }))));
 * ```
 */
export class Presence<M extends JsonObject = JsonObject> {
  /** The synced presences, keyed by presence key. Replaced or mutated by every sync. */
  #state: PresenceState<M> = Object.create(null);
  /** Diffs received while {@link inPendingSyncState}, applied after the next state arrives. */
  #pendingDiffs: PresenceDiff<M>[] = [];
  /** The channel join ref under which the last `presence_state` arrived. */
  #joinRef: string | null = null;
  /** The channel whose presence events this instance follows. */
  readonly channel: PresenceChannel;
  #callbacks: Callbacks<M> = {
    onJoin: noop,
    onLeave: noop,
    onSync: noop,
    onChange: null,
  };

  constructor(channel: PresenceChannel, opts: PresenceOptions = {}) {
    const events = opts.events ?? { state: "presence_state", diff: "presence_diff" };
    this.channel = channel;

    channel.on(events.state, (payload) => {
      // Callbacks replaced while this message is processed take effect from the next one.
      const callbacks = { ...this.#callbacks };
      this.#joinRef = channel.joinRef() ?? null;
      // syncState never mutates the state it is given, so the old state serves as "before".
      const before = this.#state;
      this.#step(callbacks, before, (onJoin, onLeave) =>
        Presence.syncState(before, payload as PresenceState<M>, onJoin, onLeave),
      );
      for (const diff of this.#pendingDiffs) this.#applyDiff(callbacks, diff);
      this.#pendingDiffs = [];
      callbacks.onSync();
    });

    channel.on(events.diff, (payload) => {
      const diff = payload as PresenceDiff<M>;
      // A diff for a join whose state has not arrived yet cannot be applied to the old
      // state: keep it until the state comes (phoenix#2255).
      if (this.inPendingSyncState()) {
        this.#pendingDiffs.push(diff);
      } else {
        const callbacks = { ...this.#callbacks };
        this.#applyDiff(callbacks, diff);
        callbacks.onSync();
      }
    });
  }

  /**
   * The synced presences, keyed by presence key: what {@link Presence.list} lists. Read
   * it, do not change it; a sync replaces it or changes it in place.
   */
  get state(): Readonly<PresenceState<M>> {
    return this.#state;
  }

  /** Sets the join callback, replacing the previous one. Fires only after a state arrived. */
  onJoin(callback: PresenceOnJoin<M>): void {
    this.#callbacks.onJoin = callback;
  }

  /** Sets the leave callback, replacing the previous one. Fires only after a state arrived. */
  onLeave(callback: PresenceOnLeave<M>): void {
    this.#callbacks.onLeave = callback;
  }

  /** Sets the callback run after each applied state or diff, replacing the previous one. */
  onSync(callback: () => void): void {
    this.#callbacks.onSync = callback;
  }

  /**
   * Tandem extension, not in phoenix: sets a callback, replacing the previous one, that gets
   * one {@link PresenceChange} per changed key for every applied state or diff. A meta that
   * joins with a `phx_ref_prev` naming a meta that leaves in the same step is reported as an
   * update rather than as a leave and a join.
   *
   * `onJoin` and `onLeave` still fire exactly as in phoenix. For each step `onChange` runs
   * after them, before `onSync`, with keys in the order `onJoin`/`onLeave` first saw them.
   * Pass `null` to stop, which also stops the bookkeeping it costs.
   */
  onChange(callback: PresenceChangeCallback<M> | null): void {
    this.#callbacks.onChange = callback;
  }

  /** Lists the presences in key order, or what `chooser` picks from each. */
  list(): PresenceEntry<M>[];
  list<T>(chooser: PresenceChooser<M, T>): T[];
  list<T>(chooser?: PresenceChooser<M, T>): (T | PresenceEntry<M>)[] {
    return chooser ? Presence.list(this.#state, chooser) : Presence.list(this.#state);
  }

  /**
   * True until the first `presence_state` arrives, and again after every rejoin until the
   * state for the new join arrives. Diffs received meanwhile wait for that state.
   */
  inPendingSyncState(): boolean {
    return !this.#joinRef || this.#joinRef !== this.channel.joinRef();
  }

  /**
   * Reconciles `currentState` with a full `presence_state` from the server and returns the new
   * state, reporting the difference through `onJoin` and `onLeave` as {@link syncDiff} does.
   *
   * `currentState` is not mutated. As in phoenix, the entries of `newState` are reused, and
   * for a key known before, its entry's `metas` is overwritten with only the joined metas.
   */
  static syncState<M extends JsonObject>(
    currentState: PresenceState<M>,
    newState: PresenceState<M>,
    onJoin?: PresenceOnJoin<M>,
    onLeave?: PresenceOnLeave<M>,
  ): PresenceState<M> {
    const state = withNullPrototype(jsonClone(currentState));
    const incoming = withNullPrototype(newState);
    const joins: PresenceState<M> = Object.create(null);
    const leaves: PresenceState<M> = Object.create(null);

    for (const key of Object.getOwnPropertyNames(state)) {
      if (!incoming[key]) leaves[key] = state[key]!;
    }
    for (const key of Object.getOwnPropertyNames(incoming)) {
      const next = incoming[key]!;
      const current = state[key];
      if (!current) {
        joins[key] = next;
        continue;
      }
      const joinedMetas = metasNotIn(next.metas, current.metas);
      const leftMetas = metasNotIn(current.metas, next.metas);
      if (joinedMetas.length > 0) {
        next.metas = joinedMetas;
        joins[key] = next;
      }
      if (leftMetas.length > 0) leaves[key] = { ...current, metas: leftMetas };
    }
    return Presence.syncDiff(state, { joins, leaves }, onJoin, onLeave);
  }

  /**
   * Applies a `presence_diff` to `state` and returns the new state. Joins are applied first,
   * then leaves, each in key order, so an update (the same key in both) ends with the new
   * meta last in the list.
   *
   * A joined meta is appended after the existing metas of its key, replacing any with the
   * same `phx_ref` (phoenix#2451), and the joined entry's extra fields replace the old ones.
   * A key whose last meta leaves is deleted. The diff is cloned, so callbacks never see it
   * change (phoenix#3475). As in phoenix, `state` itself is updated and returned when it
   * has a null prototype; otherwise a null-prototype copy is; either way the entries of
   * `state` that lose metas are updated in place.
   */
  static syncDiff<M extends JsonObject>(
    state: PresenceState<M>,
    diff: PresenceDiff<M>,
    onJoin?: PresenceOnJoin<M>,
    onLeave?: PresenceOnLeave<M>,
  ): PresenceState<M> {
    const result = withNullPrototype(state);
    const { joins, leaves } = jsonClone(diff);
    const join = onJoin ?? noop;
    const leave = onLeave ?? noop;

    for (const key of Object.getOwnPropertyNames(joins)) {
      const joined = joins[key]!;
      const current = result[key];
      const entry = jsonClone(joined);
      if (current) entry.metas = [...metasNotIn(current.metas, entry.metas), ...entry.metas];
      result[key] = entry;
      join(key, current, joined);
    }
    for (const key of Object.getOwnPropertyNames(leaves)) {
      const left = leaves[key]!;
      const current = result[key];
      if (!current) continue;
      current.metas = metasNotIn(current.metas, left.metas);
      leave(key, current, left);
      if (current.metas.length === 0) delete result[key];
    }
    return result;
  }

  /** Lists the entries of `presences` in key order, or what `chooser` picks from each. */
  static list<M extends JsonObject>(presences: PresenceState<M>): PresenceEntry<M>[];
  static list<M extends JsonObject, T>(
    presences: PresenceState<M>,
    chooser: PresenceChooser<M, T>,
  ): T[];
  static list<M extends JsonObject, T>(
    presences: PresenceState<M>,
    chooser?: PresenceChooser<M, T>,
  ): (T | PresenceEntry<M>)[] {
    return Object.getOwnPropertyNames(presences).map((key) =>
      chooser ? chooser(key, presences[key]!) : presences[key]!,
    );
  }

  #applyDiff(callbacks: Callbacks<M>, diff: PresenceDiff<M>): void {
    const before = callbacks.onChange ? snapshotKeys(this.#state, diff) : this.#state;
    this.#step(callbacks, before, (onJoin, onLeave) =>
      Presence.syncDiff(this.#state, diff, onJoin, onLeave),
    );
  }

  /**
   * Runs one sync, then reports each key it touched to `onChange` if one is set, comparing
   * `before` (which must hold the touched keys as they were) with the new state.
   */
  #step(
    callbacks: Callbacks<M>,
    before: PresenceState<M>,
    sync: (onJoin: PresenceOnJoin<M>, onLeave: PresenceOnLeave<M>) => PresenceState<M>,
  ): void {
    const { onJoin, onLeave, onChange } = callbacks;
    if (!onChange) {
      this.#state = sync(onJoin, onLeave);
      return;
    }
    const touched = new Set<string>();
    this.#state = sync(
      (key, current, newPres) => {
        touched.add(key);
        onJoin(key, current, newPres);
      },
      (key, current, leftPres) => {
        touched.add(key);
        onLeave(key, current, leftPres);
      },
    );
    for (const key of touched) {
      const change = describeChange(before[key], this.#state[key]);
      if (change) onChange(key, change);
    }
  }
}

/** The metas of `metas` whose `phx_ref` is not among those of `others`, in order. */
function metasNotIn<M extends JsonObject>(
  metas: PresenceMeta<M>[],
  others: PresenceMeta<M>[],
): PresenceMeta<M>[] {
  const refs = new Set(others.map((meta) => meta.phx_ref));
  return metas.filter((meta) => !refs.has(meta.phx_ref));
}

/**
 * Copies, before syncDiff updates `state` in place, the entries of the keys `diff` names:
 * their `metas` arrays are reassigned by leaves, and onLeave callbacks may touch them too.
 */
function snapshotKeys<M extends JsonObject>(
  state: PresenceState<M>,
  diff: PresenceDiff<M>,
): PresenceState<M> {
  const snapshot: PresenceState<M> = Object.create(null);
  for (const side of [diff.joins, diff.leaves]) {
    for (const key of Object.getOwnPropertyNames(side)) {
      const entry = state[key];
      if (entry) snapshot[key] = { ...entry, metas: entry.metas.slice() };
    }
  }
  return snapshot;
}

/**
 * Presence keys are chosen by the server and may collide with Object.prototype members
 * (`"__proto__"`, `"constructor"`), so every object indexed by key must lack a prototype.
 * An object that already has none is returned as is, as phoenix does.
 */
function withNullPrototype<V>(obj: Record<string, V>): Record<string, V> {
  if (Object.getPrototypeOf(obj) === null) return obj;
  const copy: Record<string, V> = Object.create(null);
  for (const key of Object.getOwnPropertyNames(obj)) copy[key] = obj[key]!;
  return copy;
}

/** Deep copy through JSON, as phoenix does; payloads are JSON, so nothing is lost. */
function jsonClone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
