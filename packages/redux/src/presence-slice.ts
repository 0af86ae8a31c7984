import { createSlice, type PayloadAction } from "@reduxjs/toolkit";
import { Presence } from "@tandem/client";
import type {
  JsonObject,
  PresenceDiff,
  PresenceEntry,
  PresenceMeta,
  PresenceState,
} from "@tandem/protocol";

/**
 * One key of a topic's presence list: the key and its metas (one per tracking channel,
 * e.g. one per browser tab), plus any extra fields the server fetched for the key.
 */
export interface PresenceListEntry<M extends JsonObject = JsonObject> {
  /** The key it was tracked under, e.g. a user id. */
  key: string;
  /** One meta per tracking channel. */
  metas: PresenceMeta<M>[];
  [extra: string]: unknown;
}

/** What the store knows about one topic's presence. Plain, serialisable data. */
export interface TopicPresence {
  /** The synced presences, in the order `Presence.list` gives them. */
  list: PresenceListEntry[];
  /** The channel join ref under which the last `presence_state` arrived; null before one did. */
  joinRef: string | null;
  /** Diffs that arrived before the state of their join, applied once that state comes. */
  pendingDiffs: PresenceDiff[];
}

/** The presence slice's state: one {@link TopicPresence} per topic being followed. */
export interface PresenceSliceState {
  /** Presence by topic. */
  topics: Record<string, TopicPresence>;
}

/** Payload of `stateReceived` in {@link presenceActions}: a `presence_state` event. */
export interface PresenceStatePayload {
  /** The topic to file it under, normally the channel's. */
  topic: string;
  /** The channel's join ref when the event arrived (`channel.joinRef()`). */
  joinRef: string | null;
  /** The event's payload. */
  state: PresenceState;
}

/** Payload of `diffReceived` in {@link presenceActions}: a `presence_diff` event. */
export interface PresenceDiffPayload {
  /** The topic to file it under, normally the channel's. */
  topic: string;
  /** The channel's join ref when the event arrived (`channel.joinRef()`). */
  joinRef: string | null;
  /** The event's payload. */
  diff: PresenceDiff;
}

const emptyTopic = (): TopicPresence => ({ list: [], joinRef: null, pendingDiffs: [] });

/**
 * Rebuilds the null-prototype object `Presence` works on. The list is kept in property
 * order, so inserting its keys in list order gives back the same order.
 */
function toState(list: readonly PresenceListEntry[]): PresenceState {
  const state: PresenceState = Object.create(null);
  for (const { key, ...entry } of list) {
    // JSON copy: Presence.syncDiff updates entries in place, and store state is frozen.
    state[key] = JSON.parse(JSON.stringify(entry)) as PresenceEntry;
  }
  return state;
}

function toList(state: PresenceState): PresenceListEntry[] {
  return Presence.list(state, (key, entry) => ({ ...entry, key }));
}

/**
 * The presence slice. Its reducer applies `presence_state` and `presence_diff` events with
 * exactly the semantics of the client's {@link Presence} (which are phoenix's): a diff that
 * arrives before the state of the channel's current join is held back and applied after
 * that state, and the list is ordered as `Presence.list` orders it.
 *
 * Mount it under `presence` (`reducer: { presence: presenceSlice.reducer }`) for the
 * selectors to find it.
 */
export const presenceSlice = createSlice({
  name: "presence",
  initialState: { topics: {} } as PresenceSliceState,
  reducers: {
    /** A `presence_state` arrived on `topic`. */
    stateReceived(draft: PresenceSliceState, action: PayloadAction<PresenceStatePayload>) {
      const { topic, joinRef, state } = action.payload;
      const current = draft.topics[topic] ?? emptyTopic();
      let next = Presence.syncState(toState(current.list), JSON.parse(JSON.stringify(state)));
      for (const diff of current.pendingDiffs) next = Presence.syncDiff(next, diff);
      draft.topics[topic] = { list: toList(next), joinRef, pendingDiffs: [] };
    },
    /** A `presence_diff` arrived on `topic`. */
    diffReceived(draft: PresenceSliceState, action: PayloadAction<PresenceDiffPayload>) {
      const { topic, joinRef, diff } = action.payload;
      const current = draft.topics[topic] ?? emptyTopic();
      // Same test as Presence.inPendingSyncState: no state yet for the current join.
      if (!current.joinRef || current.joinRef !== joinRef) {
        draft.topics[topic] = { ...current, pendingDiffs: [...current.pendingDiffs, diff] };
        return;
      }
      draft.topics[topic] = {
        ...current,
        list: toList(Presence.syncDiff(toState(current.list), diff)),
      };
    },
    /** Forgets `topic`, e.g. after leaving its channel. */
    topicCleared(draft: PresenceSliceState, action: PayloadAction<{ topic: string }>) {
      delete draft.topics[action.payload.topic];
    },
  },
});

/** Action creators of {@link presenceSlice}. */
export const presenceActions = presenceSlice.actions;

/** Any state with the presence slice mounted under `presence`. */
export interface WithPresence {
  /** The presence slice, mounted under `presence`. */
  presence: PresenceSliceState;
}

const noPresences: PresenceListEntry[] = [];

/**
 * The presences of `topic`, ordered as `Presence.list` orders them, or an empty list if the
 * topic is not followed. The result is the stored array, so it keeps its identity until the
 * topic's presence changes.
 *
 * @typeParam M - The meta type the server tracks (not checked at runtime).
 */
export function selectPresences<M extends JsonObject = JsonObject>(
  state: WithPresence,
  topic: string,
): PresenceListEntry<M>[] {
  return (state.presence.topics[topic]?.list ?? noPresences) as PresenceListEntry<M>[];
}

/** Whether a `presence_state` has arrived for `topic` (so an empty list means "nobody"). */
export function selectPresenceSynced(state: WithPresence, topic: string): boolean {
  return state.presence.topics[topic]?.joinRef != null;
}
