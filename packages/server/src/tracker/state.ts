/**
 * The tracker's CRDT: an add-wins observed-remove set of presence entries
 * `(owner, topic, key) -> meta`, replicated with deltas and full-state transfers.
 *
 * Every add is tagged with a dot `(replica, clock)`. A replica's causal context (a clock per
 * replica, plus "clouds" of dots seen beyond it) records which dots it has seen. An entry is
 * removed remotely exactly when the remote has seen its dot but no longer holds it, so a
 * remove needs no tombstone beyond the dot itself. The clock of a replica only moves over
 * whole delta ranges and transfers, never over cloud dots: it promises that every change
 * up to it, removes included, has been applied, which is what anti-entropy relies on.
 *
 * Pure data and algorithms: no timers and no I/O. The tracker process owns the clock of
 * heartbeats, liveness and the network; it calls into this module.
 */
import type { JsonObject } from "@tandem/protocol";
import {
  type Context,
  clockAt,
  dominatesOrEqual,
  filterReplicas,
  lowerbound,
  upperbound,
} from "./clock.js";
import { type ReplicaId, type ReplicaRef, type ReplicaStatus, replicaId } from "./replica.js";

/** A dot: the replica that made an add and that replica's clock at the time. Unique. */
export interface Tag {
  readonly replica: ReplicaId;
  readonly clock: number;
}

/**
 * One tracked presence. Entries are immutable: an update replaces the entry with a new one
 * under a new tag. States and deltas share entry objects, so callers must not mutate them
 * (nor their `meta`).
 */
export interface Entry {
  /** Opaque id of the channel instance (or other owner) that tracked it. */
  readonly owner: string;
  readonly topic: string;
  readonly key: string;
  readonly meta: JsonObject;
  readonly tag: Tag;
}

/** Dots seen beyond the contiguous context, per replica, in ascending order. */
export type Clouds = { readonly [replica: ReplicaId]: readonly number[] };

/** The clocks a delta spans: what the receiver must have (`start`) and will have (`end`). */
export interface DeltaRange {
  readonly start: Context;
  readonly end: Context;
}

/**
 * A batch of recent changes, as plain JSON data.
 *
 * Invariant: every dot in `clouds` either has its entry in `values` or names an entry that
 * has been removed. A dot in `clouds` without a value is therefore a remove.
 */
export interface Delta {
  readonly kind: "delta";
  readonly range: DeltaRange;
  readonly clouds: Clouds;
  readonly values: readonly Entry[];
}

/**
 * A full state as sent to one requester, as plain JSON data: everything the sender has seen
 * (`context` and `clouds`) and holds (`values`) about the replicas the requester knows.
 */
export interface Transfer {
  readonly kind: "transfer";
  readonly context: Context;
  readonly clouds: Clouds;
  readonly values: readonly Entry[];
}

/** What became visible (`joins`) and stopped being visible (`leaves`) to readers. */
export interface Changes {
  readonly joins: Entry[];
  readonly leaves: Entry[];
}

/** An update's two halves: the new entry and the one it replaced. */
export interface Updated {
  readonly joined: Entry;
  readonly left: Entry;
}

type DotSets = Map<ReplicaId, Set<number>>;

/** Out-of-order delta ranges kept per replica before the oldest is given up. */
const MAX_APPLIED_RANGES = 64;

/**
 * The entries sharing a key or an owner. Nearly always exactly one, and an entry per
 * connection is what a server holds most of, so a lone entry is stored bare and a Set
 * only appears for the second.
 */
type Group = Entry | Set<Entry>;

function addToGroup(map: Map<string, Group>, name: string, entry: Entry): void {
  const group = map.get(name);
  if (group === undefined) map.set(name, entry);
  else if (group instanceof Set) group.add(entry);
  else map.set(name, new Set([group, entry]));
}

function removeFromGroup(map: Map<string, Group>, name: string, entry: Entry): void {
  const group = map.get(name);
  if (group === entry) {
    map.delete(name);
  } else if (group instanceof Set) {
    group.delete(entry);
    if (group.size === 1) map.set(name, group.values().next().value as Entry);
  }
}

function groupEntries(group: Group | undefined): Iterable<Entry> {
  if (group === undefined) return [];
  return group instanceof Set ? group : [group];
}

interface TopicIndex {
  /** Entries grouped by key; a group is never empty. */
  readonly keys: Map<string, Group>;
  /** Entries whose replica is not down, so `topicSize` costs O(1). */
  visible: number;
}

interface PendingDelta {
  readonly start: number;
  end: number;
  /** Only this replica's adds: remote adds travel through generations and transfers. */
  readonly values: Map<number, Entry>;
  readonly clouds: DotSets;
}

function upsert<K, V>(map: Map<K, V>, key: K, create: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = create();
    map.set(key, value);
  }
  return value;
}

function addDot(sets: DotSets, replica: ReplicaId, clock: number): void {
  upsert(sets, replica, () => new Set<number>()).add(clock);
}

function hasDot(sets: DotSets, tag: Tag): boolean {
  return sets.get(tag.replica)?.has(tag.clock) === true;
}

function dotSets(clouds: Clouds, keep: (replica: ReplicaId) => boolean = () => true): DotSets {
  const sets: DotSets = new Map();
  for (const [replica, dots] of Object.entries(clouds)) {
    if (dots.length > 0 && keep(replica)) sets.set(replica, new Set(dots));
  }
  return sets;
}

function tagSets(values: readonly Entry[]): DotSets {
  const sets: DotSets = new Map();
  for (const entry of values) addDot(sets, entry.tag.replica, entry.tag.clock);
  return sets;
}

function toClouds(sets: DotSets, keep: (replica: ReplicaId) => boolean = () => true): Clouds {
  const clouds: Record<ReplicaId, number[]> = {};
  for (const [replica, dots] of sets) {
    if (dots.size > 0 && keep(replica)) clouds[replica] = [...dots].sort((a, b) => a - b);
  }
  return clouds;
}

/**
 * A replica of the tracker CRDT.
 *
 * Mutable for speed, like Phoenix's ETS tables, with indexes by topic and by owner so that
 * reads cost O(entries of that topic or owner). Reads hide the entries of replicas marked
 * down. Nothing here is asynchronous, so every operation is atomic for readers.
 */
export class TrackerState {
  /** This replica's id. */
  readonly replica: ReplicaId;
  private readonly context = new Map<ReplicaId, number>();
  /** Only replicas present in `context`, never this replica, never an empty set. */
  private readonly clouds: DotSets = new Map();
  private readonly statuses = new Map<ReplicaId, ReplicaStatus>();
  private readonly values = new Map<ReplicaId, Map<number, Entry>>();
  private readonly topicIndex = new Map<string, TopicIndex>();
  private readonly ownerIndex = new Map<string, Group>();
  /** Delta ranges merged ahead of the context, per replica, until the context reaches them. */
  private readonly applied = new Map<ReplicaId, [start: number, end: number][]>();
  private delta: PendingDelta;

  /**
   * A replica with no entries. `clock` is where this replica's own clock starts: a
   * tracker that drops a shard's state and later takes the shard up again resumes its
   * clock there, so peers that still hold its old context do not take new dots for seen.
   */
  constructor(ref: ReplicaRef, clock = 0) {
    this.replica = replicaId(ref);
    this.context.set(this.replica, clock);
    this.statuses.set(this.replica, "up");
    this.delta = this.emptyDelta();
  }

  // -- local operations ---------------------------------------------------------------------

  /** This replica's entry for `(owner, topic, key)`, if tracked. */
  get(owner: string, topic: string, key: string): Entry | undefined {
    return this.local(owner, topic, key);
  }

  /**
   * Tracks `(owner, topic, key)` with `meta` under a fresh tag. `meta` is stored as given,
   * not copied.
   * @throws Error when the triple is already tracked here; use {@link update} instead.
   */
  join(owner: string, topic: string, key: string, meta: JsonObject): Entry {
    if (this.local(owner, topic, key)) {
      throw new Error(`already tracked: ${JSON.stringify([owner, topic, key])}`);
    }
    return this.add(owner, topic, key, meta);
  }

  /** Untracks `(owner, topic, key)`; returns the removed entry, or undefined if untracked. */
  leave(owner: string, topic: string, key: string): Entry | undefined {
    const entry = this.local(owner, topic, key);
    if (!entry) return undefined;
    this.removeLocal(entry);
    // The remove gets its own dot so that the clock advances and peers that missed this
    // delta notice the gap and ask for a transfer.
    this.bump();
    return entry;
  }

  /** Untracks everything this replica holds for `owner` (a channel that went away). */
  leaveOwner(owner: string): Entry[] {
    const owned = [...groupEntries(this.ownerIndex.get(owner))].filter(
      (entry) => entry.tag.replica === this.replica,
    );
    for (const entry of owned) {
      this.removeLocal(entry);
      this.bump();
    }
    return owned;
  }

  /**
   * Replaces the meta of `(owner, topic, key)`: the old tag is removed and a new one added in
   * one step, so readers never see neither or both. Returns undefined if untracked.
   */
  update(owner: string, topic: string, key: string, meta: JsonObject): Updated | undefined {
    const left = this.local(owner, topic, key);
    if (!left) return undefined;
    this.removeLocal(left);
    return { joined: this.add(owner, topic, key, meta), left };
  }

  // -- reads ----------------------------------------------------------------------------------

  /** Visible entries of `topic`, grouped by key in first-seen order. */
  byTopic(topic: string): Entry[] {
    const index = this.topicIndex.get(topic);
    const out: Entry[] = [];
    if (!index) return out;
    for (const group of index.keys.values()) this.pushVisible(out, groupEntries(group));
    return out;
  }

  /** Visible entries of `key` in `topic` (one per owner, possibly from several replicas). */
  byKey(topic: string, key: string): Entry[] {
    const out: Entry[] = [];
    this.pushVisible(out, groupEntries(this.topicIndex.get(topic)?.keys.get(key)));
    return out;
  }

  /** Visible entries tracked by `owner`. */
  byOwner(owner: string): Entry[] {
    const out: Entry[] = [];
    this.pushVisible(out, groupEntries(this.ownerIndex.get(owner)));
    return out;
  }

  /** Number of visible entries in `topic`, in O(1). */
  topicSize(topic: string): number {
    return this.topicIndex.get(topic)?.visible ?? 0;
  }

  /** Topics that have at least one visible entry. */
  topics(): string[] {
    const out: string[] = [];
    for (const [topic, index] of this.topicIndex) if (index.visible > 0) out.push(topic);
    return out;
  }

  /** Every replica this state knows, with whether its entries are visible. */
  replicas(): Map<ReplicaId, ReplicaStatus> {
    return new Map(this.statuses);
  }

  // -- replication ----------------------------------------------------------------------------

  /**
   * The context to advertise in heartbeats and transfer requests. Down replicas are left
   * out: deltas never carry them, and a peer that never knew them would otherwise keep
   * asking for transfers it cannot satisfy (phoenix_pubsub #135).
   */
  clocks(): Context {
    const out: Record<ReplicaId, number> = {};
    for (const [replica, clock] of this.context) {
      if (!this.isDown(replica)) out[replica] = clock;
    }
    return out;
  }

  /** The clock up to which this state has applied `replica`'s changes; 0 if unknown. */
  clockOf(replica: ReplicaId): number {
    return this.context.get(replica) ?? 0;
  }

  /** True when local changes or relayed removes wait to be sent. */
  hasDelta(): boolean {
    return this.delta.clouds.size > 0;
  }

  /**
   * True when the pending delta holds changes of this replica, not only removes relayed
   * from others: own changes move this replica's clock.
   */
  hasOwnChanges(): boolean {
    return this.delta.end > this.delta.start;
  }

  /** Returns the pending delta and starts a new, empty one. */
  takeDelta(): Delta {
    const { start, end, values, clouds } = this.delta;
    this.delta = this.emptyDelta();
    return {
      kind: "delta",
      range: { start: { [this.replica]: start }, end: { [this.replica]: end } },
      clouds: toClouds(clouds),
      values: [...values.values()],
    };
  }

  /**
   * The full state for a requester whose context is `remoteContext`, pruned to the replicas
   * the requester knows. Sending entries of replicas it has never heard of (or has purged)
   * would resurrect them there as ghosts (phoenix #2306).
   */
  extract(remoteContext: Context): Transfer {
    const known = (replica: ReplicaId) => Object.hasOwn(remoteContext, replica);
    const values: Entry[] = [];
    for (const [replica, stored] of this.values) {
      // One push per entry: spreading a large replica into push() would overflow the stack.
      if (known(replica)) for (const entry of stored.values()) values.push(entry);
    }
    return {
      kind: "transfer",
      context: filterReplicas(Object.fromEntries(this.context), Object.keys(remoteContext)),
      clouds: toClouds(this.clouds, known),
      values,
    };
  }

  /**
   * This replica's own entries and clock: the full state restricted to itself. Only this
   * replica changes its entries, so the slice is complete and current whatever the
   * receiver holds of others; a node taking a shard up gets one from each peer instead
   * of asking peers for copies of everyone's entries.
   */
  ownState(): Transfer {
    return this.extract({ [this.replica]: 0 });
  }

  /**
   * Merges a delta or a transfer; returns the visible changes.
   *
   * - An entry is added only if its replica is known here and its tag is unseen; entries of
   *   unknown replicas wait for that replica to come up and be transferred.
   * - An entry is removed only if the remote has seen its tag and does not hold it. Entries
   *   of this replica are never removed from outside: it is their only authority.
   * - Removes learned here are relayed through the pending delta, so they reach replicas
   *   that missed the original delta (phoenix_pubsub #111).
   * - An update made elsewhere shows as a join of the new tag and a leave of the old one.
   * - Merging the same data twice changes nothing.
   */
  merge(remote: Delta | Transfer): Changes {
    const self = this.replica;
    const remoteDots = dotSets(remote.clouds, (r) => r !== self && this.context.has(r));
    const remoteValues = tagSets(remote.values);
    const joins: Entry[] = [];
    const leaves: Entry[] = [];

    for (const entry of remote.values) {
      const { replica, clock } = entry.tag;
      if (!this.context.has(replica) || this.seen(entry.tag)) continue;
      this.insert(entry);
      addDot(this.clouds, replica, clock);
      if (!this.isDown(replica)) joins.push(entry);
    }

    const observeRemove = (entry: Entry): void => {
      if (hasDot(remoteValues, entry.tag)) return;
      if (!this.isDown(entry.tag.replica)) leaves.push(entry);
      this.remove(entry);
      addDot(this.delta.clouds, entry.tag.replica, entry.tag.clock);
    };
    if (remote.kind === "delta") {
      // A delta has no context: only its cloud dots can be removes, so walk those alone.
      for (const [replica, dots] of remoteDots) {
        const stored = this.values.get(replica);
        if (!stored) continue;
        for (const clock of dots) {
          const entry = stored.get(clock);
          if (entry) observeRemove(entry);
        }
      }
      this.advanceContext(remote.range);
    } else {
      for (const [replica, stored] of this.values) {
        if (replica === self) continue;
        const upTo = clockAt(remote.context, replica);
        const dots = remoteDots.get(replica);
        for (const [clock, entry] of stored) {
          if (clock <= upTo || dots?.has(clock)) observeRemove(entry);
        }
      }
      for (const [replica, clock] of Object.entries(remote.context)) {
        const local = this.context.get(replica);
        if (replica !== self && local !== undefined && clock > local) {
          this.context.set(replica, clock);
          this.foldApplied(replica);
        }
      }
    }

    // Removed dots stay in the clouds: they are seen, which is what keeps a stale peer's
    // transfer from adding the entry back.
    for (const [replica, dots] of remoteDots) {
      for (const clock of dots) addDot(this.clouds, replica, clock);
    }
    this.pruneClouds();
    return { joins, leaves };
  }

  /**
   * Marks a replica up (heartbeat from a new replica, or a healed netsplit). A new replica
   * enters the context at clock 0 so its entries can be merged; a replica that was down
   * has its retained entries reported as joins.
   */
  replicaUp(ref: ReplicaRef): Changes {
    const id = replicaId(ref);
    if (!this.context.has(id)) this.context.set(id, 0);
    const wasDown = this.isDown(id);
    this.statuses.set(id, "up");
    if (!wasDown) return { joins: [], leaves: [] };
    const joins = this.entriesOf(id);
    for (const entry of joins) this.topicIndex.get(entry.topic)!.visible++;
    return { joins, leaves: [] };
  }

  /**
   * Marks a replica down (silent too long). Its entries are hidden from reads and reported
   * as leaves, but kept, so a healed netsplit can bring them back with {@link replicaUp}.
   */
  replicaDown(ref: ReplicaRef): Changes {
    const id = this.otherReplica(ref);
    const wasDown = this.isDown(id);
    this.statuses.set(id, "down");
    if (wasDown) return { joins: [], leaves: [] };
    const leaves = this.entriesOf(id);
    for (const entry of leaves) this.topicIndex.get(entry.topic)!.visible--;
    return { joins: [], leaves };
  }

  /**
   * Forgets a replica for good (permdown): its entries, context, clouds and pending relays.
   * Returns the entries that were still visible as leaves (none if it was marked down).
   */
  removeDownReplica(ref: ReplicaRef): Changes {
    const id = this.otherReplica(ref);
    const entries = this.entriesOf(id);
    const leaves = this.isDown(id) ? [] : entries;
    for (const entry of entries) this.remove(entry);
    this.context.delete(id);
    this.clouds.delete(id);
    this.applied.delete(id);
    this.statuses.delete(id);
    this.delta.clouds.delete(id);
    return { joins: [], leaves };
  }

  // -- internals ------------------------------------------------------------------------------

  private emptyDelta(): PendingDelta {
    const clock = this.context.get(this.replica)!;
    return { start: clock, end: clock, values: new Map(), clouds: new Map() };
  }

  private otherReplica(ref: ReplicaRef): ReplicaId {
    const id = replicaId(ref);
    if (id === this.replica) throw new Error(`a replica cannot mark itself down: ${id}`);
    return id;
  }

  private isDown(replica: ReplicaId): boolean {
    return this.statuses.get(replica) === "down";
  }

  /** This replica's entry for a triple: found through the owner, who holds very few. */
  private local(owner: string, topic: string, key: string): Entry | undefined {
    for (const entry of groupEntries(this.ownerIndex.get(owner))) {
      if (entry.tag.replica === this.replica && entry.topic === topic && entry.key === key) {
        return entry;
      }
    }
    return undefined;
  }

  private seen(tag: Tag): boolean {
    return tag.clock <= (this.context.get(tag.replica) ?? 0) || hasDot(this.clouds, tag);
  }

  private pushVisible(out: Entry[], entries: Iterable<Entry>): void {
    for (const entry of entries) if (!this.isDown(entry.tag.replica)) out.push(entry);
  }

  private entriesOf(replica: ReplicaId): Entry[] {
    return [...(this.values.get(replica)?.values() ?? [])];
  }

  /** Advances this replica's clock. The context covers its own dots, so no cloud needed. */
  private bump(): number {
    const clock = this.context.get(this.replica)! + 1;
    this.context.set(this.replica, clock);
    addDot(this.delta.clouds, this.replica, clock);
    this.delta.end = clock;
    return clock;
  }

  private add(owner: string, topic: string, key: string, meta: JsonObject): Entry {
    const entry: Entry = {
      owner,
      topic,
      key,
      meta,
      tag: { replica: this.replica, clock: this.bump() },
    };
    this.insert(entry);
    this.delta.values.set(entry.tag.clock, entry);
    return entry;
  }

  /** Removes an own entry and records the remove in the pending delta. */
  private removeLocal(entry: Entry): void {
    this.remove(entry);
    this.delta.values.delete(entry.tag.clock);
    addDot(this.delta.clouds, this.replica, entry.tag.clock);
  }

  private insert(entry: Entry): void {
    const { replica, clock } = entry.tag;
    upsert(this.values, replica, () => new Map<number, Entry>()).set(clock, entry);
    const index = upsert(this.topicIndex, entry.topic, () => ({ keys: new Map(), visible: 0 }));
    addToGroup(index.keys, entry.key, entry);
    if (!this.isDown(replica)) index.visible++;
    addToGroup(this.ownerIndex, entry.owner, entry);
  }

  private remove(entry: Entry): void {
    const { replica, clock } = entry.tag;
    const stored = this.values.get(replica)!;
    stored.delete(clock);
    if (stored.size === 0) this.values.delete(replica);

    const index = this.topicIndex.get(entry.topic)!;
    removeFromGroup(index.keys, entry.key, entry);
    if (!this.isDown(replica)) index.visible--;
    if (index.keys.size === 0) this.topicIndex.delete(entry.topic);
    removeFromGroup(this.ownerIndex, entry.owner, entry);
  }

  /**
   * Moves the context over a merged delta's range, replica by replica. Only a whole range
   * proves that every change of a replica up to its end, removes included, has been
   * applied here; a dot seen alone (through a later delta or a relay) says nothing of the
   * removes its own delta carried, and a context that skipped them would never ask again.
   * A range that starts beyond the context waits until the context reaches it.
   */
  private advanceContext(range: DeltaRange): void {
    for (const [replica, end] of Object.entries(range.end)) {
      const local = this.context.get(replica);
      if (replica === this.replica || local === undefined || end <= local) continue;
      const ranges = upsert(this.applied, replica, () => []);
      ranges.push([clockAt(range.start, replica), end]);
      // Anti-entropy repairs what a dropped range leaves behind; an old range only waits.
      if (ranges.length > MAX_APPLIED_RANGES) ranges.shift();
      this.foldApplied(replica);
    }
  }

  /** Extends a replica's context over the applied ranges that now touch it. */
  private foldApplied(replica: ReplicaId): void {
    const ranges = this.applied.get(replica);
    if (!ranges) return;
    let clock = this.context.get(replica)!;
    let folded = true;
    while (folded) {
      folded = false;
      for (const [start, end] of ranges) {
        if (start <= clock && end > clock) {
          clock = end;
          folded = true;
        }
      }
    }
    this.context.set(replica, clock);
    const waiting = ranges.filter(([, end]) => end > clock);
    if (waiting.length === 0) this.applied.delete(replica);
    else this.applied.set(replica, waiting);
  }

  /** Drops cloud dots the context has caught up with. */
  private pruneClouds(): void {
    for (const [replica, dots] of this.clouds) {
      const clock = this.context.get(replica)!;
      for (const dot of dots) if (dot <= clock) dots.delete(dot);
      if (dots.size === 0) this.clouds.delete(replica);
    }
  }
}

/** Size of a delta for generation caps: its values plus its cloud dots. */
export function deltaSize(delta: Delta): number {
  let size = delta.values.length;
  for (const dots of Object.values(delta.clouds)) size += dots.length;
  return size;
}

/**
 * Combines two deltas into one covering both ranges, for delta generations. Ranges that
 * neither touch nor overlap cannot be combined: the result would claim changes it lacks.
 */
export function mergeDeltas(a: Delta, b: Delta): Delta | "not_contiguous" {
  if (!dominatesOrEqual(a.range.end, b.range.start)) return "not_contiguous";
  if (!dominatesOrEqual(b.range.end, a.range.start)) return "not_contiguous";
  const aDots = dotSets(a.clouds);
  const bDots = dotSets(b.clouds);
  const bValues = tagSets(b.values);
  // A value one side has seen but does not hold was removed there; removes win over
  // the older add, a value neither removed is kept once.
  const values = a.values.filter(
    (entry) => hasDot(bValues, entry.tag) || !hasDot(bDots, entry.tag),
  );
  for (const entry of b.values) if (!hasDot(aDots, entry.tag)) values.push(entry);
  for (const [replica, dots] of bDots) for (const clock of dots) addDot(aDots, replica, clock);
  return {
    kind: "delta",
    range: {
      start: lowerbound(a.range.start, b.range.start),
      end: upperbound(a.range.end, b.range.end),
    },
    clouds: toClouds(aDots),
    values,
  };
}

/** The part of a delta about the replicas a requester knows (see {@link TrackerState.extract}). */
export function extractDelta(delta: Delta, remoteContext: Context): Delta {
  const known = Object.keys(remoteContext);
  return {
    kind: "delta",
    range: {
      start: filterReplicas(delta.range.start, known),
      end: filterReplicas(delta.range.end, known),
    },
    clouds: toClouds(dotSets(delta.clouds, (r) => Object.hasOwn(remoteContext, r))),
    values: delta.values.filter((entry) => Object.hasOwn(remoteContext, entry.tag.replica)),
  };
}

/** A delta without anything about `replica`, for permdown. */
export function removeReplicaFromDelta(delta: Delta, replica: ReplicaId): Delta {
  const { [replica]: _start, ...start } = delta.range.start;
  const { [replica]: _end, ...end } = delta.range.end;
  const { [replica]: _dots, ...clouds } = delta.clouds;
  return {
    kind: "delta",
    range: { start, end },
    clouds,
    values: delta.values.filter((entry) => entry.tag.replica !== replica),
  };
}
