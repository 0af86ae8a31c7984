import type { JsonObject } from "@tandem/protocol";
import { newReplicaRef, type ReplicaRef } from "./replica.js";
import { type Changes, type Entry, TrackerState, type Updated } from "./state.js";

/** What changed on one topic: entries that became visible and entries that went away. */
export interface TopicChanges {
  readonly joins: Entry[];
  readonly leaves: Entry[];
}

/** Called with every change, grouped by topic, in the order the changes happened. */
export type DiffListener = (diffs: ReadonlyMap<string, TopicChanges>) => void;

/** Options of a tracker replica. */
export interface TrackerOptions {
  /** This node's name in the cluster. Default: `node-<pid>`. */
  name?: string;
}

/**
 * The replica process around the CRDT state: applies local operations, refuses double
 * tracking, and reports every change to its listeners. Replication between nodes plugs
 * in here; everything above (Presence) sees only diffs.
 */
export class Tracker {
  readonly replica: ReplicaRef;
  readonly state: TrackerState;
  readonly #listeners = new Set<DiffListener>();

  constructor(options: TrackerOptions = {}) {
    this.replica = newReplicaRef(options.name ?? `node-${process.pid}`);
    this.state = new TrackerState(this.replica);
  }

  /** Adds a listener; returns the function that removes it. */
  onDiff(listener: DiffListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Tracks `key` on `topic` for `owner`; null if that triple is already tracked. */
  track(owner: string, topic: string, key: string, meta: JsonObject): Entry | null {
    if (this.state.get(owner, topic, key)) return null;
    const entry = this.state.join(owner, topic, key, meta);
    this.#report({ joins: [entry], leaves: [] });
    return entry;
  }

  /** Replaces the meta of a tracked triple; undefined if it is not tracked. */
  update(owner: string, topic: string, key: string, meta: JsonObject): Updated | undefined {
    const updated = this.state.update(owner, topic, key, meta);
    if (updated) this.#report({ joins: [updated.joined], leaves: [updated.left] });
    return updated;
  }

  /** Stops tracking one triple. */
  untrack(owner: string, topic: string, key: string): Entry | undefined {
    const entry = this.state.leave(owner, topic, key);
    if (entry) this.#report({ joins: [], leaves: [entry] });
    return entry;
  }

  /** Stops tracking everything `owner` tracked: what happens when a channel exits. */
  untrackOwner(owner: string): Entry[] {
    const entries = this.state.leaveOwner(owner);
    if (entries.length > 0) this.#report({ joins: [], leaves: entries });
    return entries;
  }

  /** The triple's entry, if tracked here. */
  get(owner: string, topic: string, key: string): Entry | undefined {
    return this.state.get(owner, topic, key);
  }

  /** Every visible entry of a topic. */
  list(topic: string): Entry[] {
    return this.state.byTopic(topic);
  }

  /** Every visible entry of one key on a topic. */
  listKey(topic: string, key: string): Entry[] {
    return this.state.byKey(topic, key);
  }

  #report(changes: Changes): void {
    if (changes.joins.length === 0 && changes.leaves.length === 0) return;
    const byTopic = new Map<string, { joins: Entry[]; leaves: Entry[] }>();
    const slot = (topic: string) => {
      let changesOfTopic = byTopic.get(topic);
      if (!changesOfTopic) {
        changesOfTopic = { joins: [], leaves: [] };
        byTopic.set(topic, changesOfTopic);
      }
      return changesOfTopic;
    };
    for (const entry of changes.joins) slot(entry.topic).joins.push(entry);
    for (const entry of changes.leaves) slot(entry.topic).leaves.push(entry);
    for (const listener of this.#listeners) listener(byTopic);
  }
}
