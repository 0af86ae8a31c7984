import { isJsonObject, type JsonObject } from "@tandem/protocol";
import { defaultLogger, type Logger } from "../logger.js";
import type { Metrics } from "../metrics.js";
import { PubSub, type Subscriber } from "../pubsub.js";
import {
  appendClock,
  type ClockSet,
  clockAt,
  clockSetReplicas,
  coversKnown,
  filterReplicas,
} from "./clock.js";
import { DEFAULT_MAX_DELTA_SIZES, FULL_STATE } from "./delta-generation.js";
import { type Group, newGroup, type OutgoingTransfer } from "./group.js";
import { type HeartbeatOutcome, Liveness } from "./liveness.js";
import {
  type Alive,
  type Heartbeat,
  heartbeatPayload,
  type Leave,
  type Permdown,
  parseAlive,
  parseHeartbeat,
  parseLeave,
  parsePermdown,
  parseTransferAck,
  parseTransferPart,
  parseTransferPartAck,
  parseTransferRequest,
  TrackerEvent,
  type TransferAck,
  type TransferPartAck,
  type TransferPartMessage,
  type TransferRequest,
} from "./messages.js";
import { newReplicaRef, parseReplicaId, type ReplicaRef, replicaId } from "./replica.js";
import type { Changes, Delta, Entry, TrackerState, Transfer, Updated } from "./state.js";
import { jsonBytes, splitTransfer, TransferAssembly } from "./transfer-parts.js";

/** What changed on one topic: entries that became visible and entries that went away. */
export interface TopicChanges {
  readonly joins: Entry[];
  readonly leaves: Entry[];
}

/** A peer as {@link Tracker.peerSilences} lists it. */
export interface PeerSilence {
  /** The peer's node name. */
  readonly name: string;
  /** Whether it is up (heard from within the down period). */
  readonly up: boolean;
  /** How long ago its last heartbeat arrived, in ms. */
  readonly silentMs: number;
}

/** Called with every change, grouped by topic, in the order the changes happened. */
export type DiffListener = (diffs: ReadonlyMap<string, TopicChanges>) => void;

/** How often nodes talk, how long they wait for each other, and how big a transfer gets. */
export type ReplicationTimings = Pick<
  TrackerOptions,
  | "broadcastPeriodMs"
  | "maxSilentPeriods"
  | "downPeriodMs"
  | "permdownPeriodMs"
  | "clockSamplePeriods"
  | "maxTransferBytes"
>;

/**
 * Tracker options. Timings default to Phoenix.Tracker's; replication only runs when the
 * pubsub has a cluster adapter. Shards are the pubsub's ({@link PubSub.shards}).
 */
export interface TrackerOptions {
  /** The bus to replicate over; the replica is named after `pubsub.nodeName`. */
  pubsub?: PubSub;
  logger?: Logger;
  /** Where to report peers and bus lag. */
  metrics?: Metrics;
  /**
   * Heartbeat every this many ms: each shard's (with its pending delta, if `eager` has
   * not sent it already) and the node-wide one. Default 1500.
   */
  broadcastPeriodMs?: number;
  /**
   * Send a shard's local changes as soon as the current turn of the event loop ends (a
   * burst becomes one message) instead of with the next periodic heartbeat, so that a
   * change reaches other nodes within milliseconds. Default true. With `timers: false`
   * the changes wait for {@link Tracker.flush} or {@link Tracker.tick}.
   */
  eager?: boolean;
  /**
   * An idle node still heartbeats after this many silent periods. Default 10, lowered
   * when needed so that idle heartbeats come at least twice per down period.
   */
  maxSilentPeriods?: number;
  /** A peer silent this long is down: its entries leave. Default 2 × period × silent periods. */
  downPeriodMs?: number;
  /** A peer silent this long is forgotten. Default 20 minutes. */
  permdownPeriodMs?: number;
  /** Compare clocks and ask for transfers every this many ticks. Default 2. */
  clockSamplePeriods?: number;
  /**
   * Largest transfer message, in bytes of JSON (the bus adds its own small framing). A
   * full state bigger than this goes in parts, at most four (`TRANSFER_WINDOW`) of them in
   * flight to one requester, so that neither the bus client nor Redis's output buffer of
   * the requester's subscription (8 MB for 60 s by default) has to hold the whole state.
   * A catch-up delta bigger than this is replaced by the full state in parts. Default
   * 1 MiB, at least 1024.
   */
  maxTransferBytes?: number;
  /** Size caps of the cached delta generations. Default [100, 1000, 10000]. */
  maxDeltaSizes?: readonly number[];
  /** The bus topic of this tracker. Default "tandem:tracker". */
  topic?: string;
  /** `false` leaves ticking to the caller ({@link Tracker.tick}), as simulations do. */
  timers?: boolean;
  /** The clock, for simulations. Default `Date.now`. */
  now?: () => number;
}

/** Parts of one transfer sent and not yet acknowledged, at most. */
export const TRANSFER_WINDOW = 4;

/**
 * The CRDT of a topic's shard on a tracker, for this package's tests of what the
 * tracker keeps; undefined while the node is not interested in the shard. Not exported
 * from the package: outside the tracker, only the tracker may change it.
 */
export let trackerStateOf: (tracker: Tracker, topic: string) => TrackerState | undefined;

/**
 * One node's replicas of the presence CRDT and the process around them, as
 * Phoenix.Tracker runs it, but routed by interest: topics hash to shards
 * ({@link PubSub.shardOf}), and the node replicates a shard (its own CRDT, clocks, delta
 * generations and transfers) only with the other nodes interested in it, while it has
 * subscribers of a topic of the shard or entries in it. Local changes are applied at
 * once, reported, and sent to the shard's peers right away. A node that finds a gap in
 * what it has seen asks for a transfer; a node that takes a shard up announces itself
 * there and is sent the shard's state; a node that drops a shard says so, and its peers
 * drop what they hold of it there. One node-wide heartbeat goes to every node: silent
 * nodes go down (their entries leave in every shard) and are forgotten later; a node
 * that shuts down on purpose makes its entries leave at once.
 */
export class Tracker {
  static {
    trackerStateOf = (tracker, topic) => tracker.#groups.get(tracker.#pubsub.shardOf(topic))?.state;
  }

  /** This node's replica: its node name and the version chosen at start. */
  readonly replica: ReplicaRef;
  /** The groups of the shards this node is interested in; only this process mutates them. */
  readonly #groups = new Map<number, Group>();
  /** Where this replica's clock stood in shards it dropped, to resume there. */
  readonly #resumeClocks = new Map<number, number>();
  /** Per owner, how many entries it tracks in each shard. */
  readonly #owners = new Map<string, Map<number, number>>();
  /** Groups with local changes (or a new interest) not yet sent. */
  readonly #dirty = new Set<Group>();
  readonly #listeners = new Set<DiffListener>();
  readonly #pubsub: PubSub;
  readonly #logger: Logger;
  readonly #metrics: Metrics | undefined;
  readonly #topic: string;
  readonly #now: () => number;
  readonly #periodMs: number;
  readonly #maxSilentPeriods: number;
  readonly #downPeriodMs: number;
  readonly #permdownPeriodMs: number;
  readonly #clockSamplePeriods: number;
  readonly #maxTransferBytes: number;
  readonly #maxDeltaSizes: readonly number[];
  readonly #eager: boolean;
  readonly #timers: boolean;
  readonly #liveness = new Liveness();
  readonly #subscriber: Subscriber;
  readonly #unsubscribe: () => void;
  readonly #unlisten: () => void;
  #lastTransferId = 0;
  #aliveSilentPeriods = 0;
  #ticks = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #flushScheduled = false;
  #closed = false;

  constructor(options: TrackerOptions = {}) {
    this.#pubsub = options.pubsub ?? new PubSub();
    this.#logger = options.logger ?? defaultLogger();
    this.#metrics = options.metrics;
    this.#topic = options.topic ?? "tandem:tracker";
    this.#now = options.now ?? Date.now;
    this.#periodMs = options.broadcastPeriodMs ?? 1500;
    const maxSilentPeriods = options.maxSilentPeriods ?? 10;
    this.#downPeriodMs = options.downPeriodMs ?? this.#periodMs * maxSilentPeriods * 2;
    // An idle node must still be heard at least twice per down period, or its peers mark
    // it down and up again over and over (a short down period with default silences).
    this.#maxSilentPeriods = Math.max(
      0,
      Math.min(maxSilentPeriods, Math.floor(this.#downPeriodMs / (2 * this.#periodMs)) - 1),
    );
    this.#permdownPeriodMs = options.permdownPeriodMs ?? 1_200_000;
    this.#clockSamplePeriods = options.clockSamplePeriods ?? 2;
    this.#maxTransferBytes = options.maxTransferBytes ?? 1_048_576;
    if (!Number.isSafeInteger(this.#maxTransferBytes) || this.#maxTransferBytes < 1024) {
      throw new RangeError("maxTransferBytes must be an integer of at least 1024");
    }
    if (this.#downPeriodMs < 2 * this.#periodMs) {
      throw new RangeError("downPeriodMs must be at least twice broadcastPeriodMs");
    }
    if (this.#permdownPeriodMs <= this.#downPeriodMs) {
      throw new RangeError("permdownPeriodMs must be longer than downPeriodMs");
    }
    this.#maxDeltaSizes = options.maxDeltaSizes ?? DEFAULT_MAX_DELTA_SIZES;
    this.#eager = options.eager ?? true;
    this.#timers = options.timers !== false;
    this.replica = newReplicaRef(this.#pubsub.nodeName, this.#now());

    this.#subscriber = { deliver: (b) => this.#receive(b.event, b.payload) };
    // The tracker's topic rides on the channels of the shards this node is interested
    // in, and on the node-wide and direct ones: it must not make the node interested.
    this.#unsubscribe = this.#pubsub.subscribe(this.#topic, this.#subscriber, { interest: false });
    this.#unlisten = this.#pubsub.onInterest((shard, interested) =>
      interested ? this.#takeUp(shard) : this.#drop(shard),
    );
    for (const shard of this.#pubsub.interests()) this.#takeUp(shard);
    if (this.#pubsub.clustered && this.#timers) {
      // A random first tick keeps nodes from heartbeating in lockstep.
      this.#schedule(Math.random() * this.#periodMs * 0.25);
    }
  }

  /** Adds a listener; returns the function that removes it. */
  onDiff(listener: DiffListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Tracks `key` on `topic` for `owner`; null if that triple is already tracked. */
  track(owner: string, topic: string, key: string, meta: JsonObject): Entry | null {
    const group = this.#groupOf(this.#pubsub.shardOf(topic));
    if (group.state.get(owner, topic, key)) return null;
    const entry = group.state.join(owner, topic, key, meta);
    const shards = this.#owners.get(owner) ?? new Map<number, number>();
    this.#owners.set(owner, shards);
    shards.set(group.shard, (shards.get(group.shard) ?? 0) + 1);
    group.local++;
    // Held from the first local entry: the node stays interested (and replicating) even
    // without subscribers of the topic.
    group.release ??= this.#pubsub.hold(group.shard);
    this.#report(group, { joins: [entry], leaves: [] });
    this.#changed(group);
    return entry;
  }

  /** Replaces the meta of a tracked triple; undefined if it is not tracked. */
  update(owner: string, topic: string, key: string, meta: JsonObject): Updated | undefined {
    const group = this.#groups.get(this.#pubsub.shardOf(topic));
    const updated = group?.state.update(owner, topic, key, meta);
    if (!group || !updated) return undefined;
    this.#report(group, { joins: [updated.joined], leaves: [updated.left] });
    this.#changed(group);
    return updated;
  }

  /** Stops tracking one triple. */
  untrack(owner: string, topic: string, key: string): Entry | undefined {
    const group = this.#groups.get(this.#pubsub.shardOf(topic));
    const entry = group?.state.leave(owner, topic, key);
    if (!group || !entry) return undefined;
    const shards = this.#owners.get(owner)!;
    const left = shards.get(group.shard)! - 1;
    if (left > 0) shards.set(group.shard, left);
    else shards.delete(group.shard);
    if (shards.size === 0) this.#owners.delete(owner);
    this.#report(group, { joins: [], leaves: [entry] });
    this.#changed(group);
    this.#released(group, 1);
    return entry;
  }

  /** Stops tracking everything `owner` tracked: what happens when a channel exits. */
  untrackOwner(owner: string): Entry[] {
    const shards = this.#owners.get(owner);
    if (!shards) return [];
    this.#owners.delete(owner);
    const all: Entry[] = [];
    for (const shard of shards.keys()) {
      const group = this.#groups.get(shard)!;
      const entries = group.state.leaveOwner(owner);
      for (const entry of entries) all.push(entry);
      this.#report(group, { joins: [], leaves: entries });
      this.#changed(group);
      this.#released(group, entries.length);
    }
    return all;
  }

  /** The triple's entry, if tracked here. */
  get(owner: string, topic: string, key: string): Entry | undefined {
    return this.#stateOf(topic)?.get(owner, topic, key);
  }

  /** Every visible entry of a topic, from every node that is up; none unless this node serves it. */
  list(topic: string): Entry[] {
    return this.#stateOf(topic)?.byTopic(topic) ?? [];
  }

  /** Every visible entry of one key on a topic. */
  listKey(topic: string, key: string): Entry[] {
    return this.#stateOf(topic)?.byKey(topic, key) ?? [];
  }

  /** How many entries a topic has, from every node that is up; O(1). */
  topicSize(topic: string): number {
    return this.#stateOf(topic)?.topicSize(topic) ?? 0;
  }

  /**
   * A copy of the causal context of `topic`'s shard on this node: for each replica
   * (`name#vsn`) that is not down, the clock up to which this node has applied its
   * changes there. Empty while the node is not interested in the shard.
   */
  clocks(topic: string): { readonly [replica: string]: number } {
    return this.#stateOf(topic)?.clocks() ?? {};
  }

  /** The shards this node replicates now. */
  shards(): number[] {
    return [...this.#groups.keys()];
  }

  /** The peers this node knows, and whether each is up. */
  peers(): { name: string; up: boolean }[] {
    return this.#liveness.peers().map(({ ref, up }) => ({ name: ref.name, up }));
  }

  /**
   * The peers this node knows, whether each is up, and how long ago (ms) it was last
   * heard from: what an operator's view of the cluster shows.
   */
  peerSilences(): PeerSilence[] {
    const now = this.#now();
    return this.#liveness.peers().map(({ ref, up, lastHeartbeatAt }) => ({
      name: ref.name,
      up,
      silentMs: now - lastHeartbeatAt,
    }));
  }

  /**
   * Sends the local changes not sent yet, one heartbeat per shard that has any. With
   * `eager` and timers this runs by itself after each turn of the event loop that made
   * changes; simulations call it themselves.
   */
  flush(): void {
    this.#flushScheduled = false;
    if (this.#closed) return;
    for (const group of this.#dirty) {
      if (this.#groups.get(group.shard) !== group) continue;
      if (group.announcing) this.#announce(group);
      else if (group.state.hasDelta()) {
        // Clocks half due ride along with the changes, and the idle heartbeat they would
        // have needed is not sent: in a busy shard most clocks go this way.
        const due = 2 * group.silentPeriods >= this.#maxSilentPeriods;
        this.#sendHeartbeat(group, group.state.takeDelta(), due);
      } else this.#sendHeartbeat(group, null);
    }
    this.#dirty.clear();
  }

  /**
   * One broadcast period: each shard sends its delta (or an idle heartbeat) and asks for
   * transfers where peers know more than we do; the node heartbeats to every node and
   * marks silent peers down or forgets them. Timers call this; simulations call it
   * themselves.
   */
  tick(): void {
    if (this.#closed) return;
    this.#ticks++;
    const now = this.#now();
    for (const group of [...this.#groups.values()]) {
      group.ticks++;
      this.#heartbeat(group);
      if (group.ticks % this.#clockSamplePeriods === 0) this.#requestTransfers(group);
      this.#expireMembers(group, now);
      this.#expireTransfers(group, now);
    }
    this.#dirty.clear();
    this.#alive();
    this.#checkLiveness();
  }

  /**
   * Stops replicating. With `permdown` (the default), peers are told to drop this node's
   * entries at once instead of waiting for the down period.
   */
  close(options: { permdown?: boolean } = {}): void {
    if (this.#closed) return;
    if (options.permdown !== false && this.#pubsub.clustered) {
      const message: Permdown = { from: this.#ref() };
      this.#pubsub.clusterBroadcast(this.#topic, TrackerEvent.permdown, toJson(message));
    }
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#unlisten();
    this.#unsubscribe();
    for (const group of this.#groups.values()) group.release?.();
    this.#groups.clear();
    this.#dirty.clear();
  }

  #schedule(delay: number): void {
    this.#timer = setTimeout(() => {
      this.tick();
      if (!this.#closed) this.#schedule(this.#periodMs);
    }, delay);
    this.#timer.unref?.();
  }

  #stateOf(topic: string): TrackerState | undefined {
    return this.#groups.get(this.#pubsub.shardOf(topic))?.state;
  }

  /** The group of `shard`, made empty (resuming this replica's clock) if there is none. */
  #groupOf(shard: number): Group {
    let group = this.#groups.get(shard);
    if (!group) {
      const clock = this.#resumeClocks.get(shard) ?? 0;
      group = newGroup(shard, this.replica, clock, this.#maxDeltaSizes);
      this.#groups.set(shard, group);
    }
    return group;
  }

  /** The node became interested in `shard`: replicate it, and say so to its peers. */
  #takeUp(shard: number): void {
    if (this.#closed) return;
    const group = this.#groupOf(shard);
    // The announcement carries this node's entries there, and each peer answers with its
    // own: the shard's state arrives without a transfer, one copy of each entry.
    if (this.#pubsub.clustered) {
      group.announcing = true;
      this.#markDirty(group);
    }
  }

  /**
   * The node lost interest in `shard` (no subscribers, no local entries): send what is
   * pending and a goodbye, then forget the shard.
   */
  #drop(shard: number): void {
    const group = this.#groups.get(shard);
    if (!group || this.#closed) return;
    const self = group.state.replica;
    if (this.#pubsub.clustered) {
      if (group.state.hasDelta()) this.#sendHeartbeat(group, group.state.takeDelta());
      const leave: Leave = { from: this.#ref(), shard };
      this.#pubsub.shardBroadcast(shard, this.#topic, TrackerEvent.leave, toJson(leave));
    }
    const clock = group.state.clocks()[self]!;
    if (clock > 0) this.#resumeClocks.set(shard, clock);
    this.#groups.delete(shard);
    this.#dirty.delete(group);
    const leaves = group.state.topics().flatMap((topic) => group.state.byTopic(topic));
    this.#report(group, { joins: [], leaves });
  }

  /** `count` local entries of the group are gone; the last one releases the shard. */
  #released(group: Group, count: number): void {
    group.local -= count;
    if (group.local > 0 || !group.release) return;
    const release = group.release;
    group.release = undefined;
    release();
  }

  #changed(group: Group): void {
    if (this.#eager && this.#pubsub.clustered) this.#markDirty(group);
  }

  #markDirty(group: Group): void {
    this.#dirty.add(group);
    if (!this.#timers || this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => this.flush());
  }

  #heartbeat(group: Group): void {
    if (group.announcing) {
      this.#announce(group);
      return;
    }
    let delta: Delta | null = null;
    // Until a peer knows it, through its first idle interval, a shard heartbeats every
    // period: its first announcements may be lost (a tracker is made before its bus is
    // up), and a node new to the shard must be heard within a period, not an interval.
    const starting = !group.known && group.ticks <= this.#maxSilentPeriods;
    // Removes relayed from others (for peers that missed them) ride along with the next
    // heartbeat that goes anyway: alone, every receiver of every update would send one,
    // in every shard, each period.
    if (!group.state.hasOwnChanges() && !starting && group.silentPeriods < this.#maxSilentPeriods) {
      group.silentPeriods++;
      return;
    }
    if (group.state.hasDelta()) delta = group.state.takeDelta();
    this.#sendHeartbeat(group, delta);
  }

  /** Sends the group's heartbeat; `withClocks` false for one that only carries changes. */
  #sendHeartbeat(group: Group, delta: Delta | null, withClocks = true): void {
    if (delta) group.generations.push(delta);
    if (withClocks) group.silentPeriods = 0;
    const message = this.#heartbeatMessage(group, delta, withClocks);
    this.#pubsub.shardBroadcast(group.shard, this.#topic, TrackerEvent.heartbeat, message);
  }

  #heartbeatMessage(
    group: Group,
    delta: Delta | null,
    withClocks = true,
    state: Transfer | null = null,
  ): JsonObject {
    return heartbeatPayload({
      from: this.#ref(),
      shard: group.shard,
      clocks: withClocks ? group.state.clocks() : null,
      delta,
      state,
      sentAt: withClocks ? Date.now() : null,
    });
  }

  /**
   * The first heartbeat of a shard taken up: clocks and this node's own entries there,
   * with the removes it relays if any (its own changes are in its state).
   */
  #announce(group: Group): void {
    group.announcing = false;
    const delta = group.state.hasDelta() ? group.state.takeDelta() : null;
    if (delta) group.generations.push(delta);
    group.silentPeriods = 0;
    const state = this.#ownState(group);
    const self = group.state.replica;
    const relays = delta !== null && Object.keys(delta.clouds).some((r) => r !== self);
    const sent = state && !relays ? null : delta;
    const message = this.#heartbeatMessage(group, sent, true, state);
    this.#pubsub.shardBroadcast(group.shard, this.#topic, TrackerEvent.heartbeat, message);
  }

  /**
   * This node's own entries in the group's shard, if they fit in one message; else null,
   * and peers ask for a transfer, which comes in parts.
   */
  #ownState(group: Group): Transfer | null {
    const state = group.state.ownState();
    const header = jsonBytes({ from: this.#ref(), shard: group.shard, clocks: state.context });
    return jsonBytes(state) + header <= this.#maxTransferBytes ? state : null;
  }

  /** The node-wide heartbeat: every period while starting, then every idle interval. */
  #alive(): void {
    const starting = this.#ticks <= this.#maxSilentPeriods + 1;
    if (!starting && this.#aliveSilentPeriods < this.#maxSilentPeriods) {
      this.#aliveSilentPeriods++;
      return;
    }
    this.#aliveSilentPeriods = 0;
    this.#pubsub.clusterBroadcast(this.#topic, TrackerEvent.alive, this.#aliveMessage());
  }

  #aliveMessage(): JsonObject {
    return toJson({ from: this.#ref(), sentAt: Date.now() } satisfies Alive);
  }

  /**
   * A shard heartbeat for one peer that does not know this node there, with this node's
   * own entries: it hears of this node now, not at our next idle heartbeat, and holds
   * our entries without asking.
   */
  #announceTo(group: Group, node: string): void {
    const message = this.#heartbeatMessage(group, null, true, this.#ownState(group));
    this.#direct(node, TrackerEvent.heartbeat, message);
  }

  /**
   * Asks the peers whose clocks, as last heard, are ahead of ours. Only peers still in
   * the shard, and only on the replicas we know: a transfer holds nothing of the others
   * (they introduce themselves), so asking for them would bring nothing, again and again.
   */
  #requestTransfers(group: Group): void {
    const self = group.state.replica;
    const ours = group.state.clocks();
    const known = Object.keys(ours);
    let heard: ClockSet = [];
    for (const { replica, clock } of group.pendingClocks) {
      const ref = parseReplicaId(replica);
      if (group.members.get(ref.name)?.ref.vsn !== ref.vsn) continue;
      heard = appendClock(heard, { replica, clock: filterReplicas(clock, known) });
    }
    const candidates = appendClock(heard, { replica: self, clock: ours });
    group.pendingClocks = [];
    for (const replica of clockSetReplicas(candidates)) {
      if (replica !== self) this.#askForTransfer(group, parseReplicaId(replica).name);
    }
  }

  /**
   * Asks `node` for what we miss in the group's shard, unless a transfer from it is
   * under way (asked for, or a part received, within a sampling interval): asking again
   * would restart it.
   */
  #askForTransfer(group: Group, node: string): void {
    const now = this.#now();
    const askedAt = group.asked.get(node);
    if (askedAt !== undefined && now - askedAt < this.#sampleIntervalMs()) return;
    group.asked.set(node, now);
    const request: TransferRequest = {
      from: this.#ref(),
      shard: group.shard,
      clocks: group.state.clocks(),
    };
    this.#direct(node, TrackerEvent.transferRequest, toJson(request));
  }

  #sampleIntervalMs(): number {
    return this.#clockSamplePeriods * this.#periodMs;
  }

  /** Gives up transfers in parts that made no progress for a down period. */
  #expireTransfers(group: Group, now: number): void {
    for (const transfers of [group.outgoing, group.incoming]) {
      for (const [node, transfer] of transfers) {
        if (now - transfer.progressAt > this.#downPeriodMs) transfers.delete(node);
      }
    }
    for (const [node, askedAt] of group.asked) {
      if (now - askedAt >= this.#sampleIntervalMs()) group.asked.delete(node);
    }
  }

  /**
   * Forgets, in this shard, peers that are up but have not been heard here for two down
   * periods: they left the shard and their goodbye was lost, so what they left behind
   * here would be ghosts. A peer that is down keeps its entries (hidden) for a healed
   * partition, until it is forgotten everywhere.
   */
  #expireMembers(group: Group, now: number): void {
    for (const member of [...group.members.values()]) {
      if (now - member.heardAt <= 2 * this.#downPeriodMs) continue;
      if (this.#liveness.isUp(member.ref)) this.#forgetMember(group, member.ref);
    }
  }

  #checkLiveness(): void {
    const verdict = this.#liveness.check(this.#now(), this.#downPeriodMs, this.#permdownPeriodMs);
    for (const ref of verdict.down) {
      this.#logger.warn({ replica: replicaId(ref) }, "tracker peer down");
      for (const group of this.#groupsOf(ref)) this.#report(group, group.state.replicaDown(ref));
    }
    for (const { ref } of verdict.permdown) {
      this.#logger.info({ replica: replicaId(ref) }, "tracker peer forgotten");
      this.#forgetEverywhere(ref);
    }
    if (this.#metrics) {
      const peers = this.#liveness.peers();
      const up = peers.filter((p) => p.up).length;
      this.#metrics.replicas.set({ status: "up" }, up);
      this.#metrics.replicas.set({ status: "down" }, peers.length - up);
    }
  }

  /** The groups in which `ref` (this incarnation) is a member. */
  #groupsOf(ref: ReplicaRef): Group[] {
    return [...this.#groups.values()].filter((g) => g.members.get(ref.name)?.ref.vsn === ref.vsn);
  }

  #forgetEverywhere(ref: ReplicaRef): void {
    for (const group of this.#groupsOf(ref)) this.#forgetMember(group, ref);
  }

  /** Forgets `ref` in one shard: its entries there leave, its context goes. */
  #forgetMember(group: Group, ref: ReplicaRef): void {
    const member = group.members.get(ref.name);
    if (!member || member.ref.vsn !== ref.vsn) return;
    group.members.delete(ref.name);
    group.outgoing.delete(ref.name);
    group.incoming.delete(ref.name);
    group.asked.delete(ref.name);
    this.#report(group, group.state.removeDownReplica(ref));
    group.generations.removeReplica(replicaId(ref));
  }

  /** Records that `ref` was heard in the group's shard; returns whether it is new there. */
  #meet(group: Group, ref: ReplicaRef): boolean {
    const member = group.members.get(ref.name);
    if (member?.ref.vsn === ref.vsn) {
      member.heardAt = this.#now();
      return false;
    }
    if (member) this.#forgetMember(group, member.ref);
    group.members.set(ref.name, { ref, heardAt: this.#now() });
    this.#report(group, group.state.replicaUp(ref));
    return true;
  }

  #receive(event: string, payload: JsonObject | Uint8Array): void {
    if (this.#closed || !isJsonObject(payload)) return;
    const shards = this.#pubsub.shards;
    try {
      switch (event) {
        case TrackerEvent.alive:
          this.#handle(event, parseAlive(payload), (m) => this.#onAlive(m));
          break;
        case TrackerEvent.heartbeat:
          this.#handle(event, parseHeartbeat(payload, shards), (m) => this.#onHeartbeat(m));
          break;
        case TrackerEvent.leave:
          this.#handle(event, parseLeave(payload, shards), (m) => this.#onLeave(m));
          break;
        case TrackerEvent.transferRequest:
          this.#handle(event, parseTransferRequest(payload, shards), (m) =>
            this.#onTransferRequest(m),
          );
          break;
        case TrackerEvent.transferAck:
          this.#handle(event, parseTransferAck(payload, shards), (m) => this.#onTransferAck(m));
          break;
        case TrackerEvent.transferPart:
          this.#handle(event, parseTransferPart(payload, shards), (m) => this.#onTransferPart(m));
          break;
        case TrackerEvent.transferPartAck:
          this.#handle(event, parseTransferPartAck(payload, shards), (m) =>
            this.#onTransferPartAck(m),
          );
          break;
        case TrackerEvent.permdown:
          this.#handle(event, parsePermdown(payload), (m) => this.#onPermdown(m));
          break;
      }
    } catch (err) {
      this.#logger.error({ err, event }, "tracker message failed");
    }
  }

  /** Any heartbeat from a peer: node-wide liveness. Returns undefined for our own. */
  #heard(from: ReplicaRef, sentAt: number | null): HeartbeatOutcome | undefined {
    if (from.name === this.replica.name) return undefined;
    if (sentAt !== null) {
      this.#metrics?.busLagSeconds.observe(Math.max(0, Date.now() - sentAt) / 1000);
    }
    const outcome = this.#liveness.heartbeat(from, this.#now());
    this.#peerAlive(from, outcome);
    return outcome;
  }

  #onAlive(message: Alive): void {
    this.#heard(message.from, message.sentAt);
  }

  #onHeartbeat(message: Heartbeat): void {
    const { from } = message;
    const outcome = this.#heard(from, message.sentAt);
    const group = this.#groups.get(message.shard);
    if (!outcome || !group) return;
    const met = this.#meet(group, from);
    const { clocks, delta, state } = message;
    if (clocks) {
      group.pendingClocks = appendClock(group.pendingClocks, {
        replica: replicaId(from),
        clock: clocks,
      });
    }
    if (state) this.#mergeOwnState(group, from, state);
    if (delta) {
      this.#report(group, group.state.merge(delta));
      group.generations.push(delta);
      // A delta that starts beyond what we have of its sender shows one was lost: ask
      // now rather than when the sender's clocks come with its idle heartbeat.
      const id = replicaId(from);
      if (group.state.clockOf(id) < clockAt(delta.range.end, id)) {
        this.#askForTransfer(group, from.name);
      }
    }
    // A peer that has not heard of this node here (it is new to the shard, restarted, or
    // back from a partition) hears of it now rather than at our next idle heartbeat, and
    // a peer just met is asked at once for what it has rather than at the next sampling.
    // Without clocks, a peer just met is taken for one that knows nothing of us.
    if (clocks ? Object.hasOwn(clocks, group.state.replica) : !met) group.known = true;
    else this.#announceTo(group, from.name);
    // Only on the replicas we know: the others' entries come with their own answers,
    // and a transfer would not hold them. A peer met with its state needs no
    // transfer for itself; one met without clocks is taken to hold what we lack.
    const behind = clocks ? !coversKnown(group.state.clocks(), clocks) : met && !state;
    if ((met || outcome.kind !== "refresh") && behind) this.#askForTransfer(group, from.name);
  }

  /**
   * Merges a peer's own entries. Generations that knew less of it would stop where its
   * clock jumps and could no longer grow: it leaves them, and a requester behind on it
   * gets the full state.
   */
  #mergeOwnState(group: Group, from: ReplicaRef, state: Transfer): void {
    const id = replicaId(from);
    const before = group.state.clockOf(id);
    this.#report(group, group.state.merge(state));
    if (group.state.clockOf(id) !== before) group.generations.removeReplica(id);
  }

  #peerAlive(ref: ReplicaRef, outcome: HeartbeatOutcome): void {
    switch (outcome.kind) {
      case "refresh":
        return;
      case "replaced":
        // A restarted node is a new replica: its previous life's entries go now.
        this.#forgetEverywhere(outcome.old);
        this.#logger.info({ replica: replicaId(ref) }, "tracker peer restarted");
        break;
      case "up_again": {
        this.#logger.info({ replica: replicaId(ref) }, "tracker peer up again");
        const now = this.#now();
        for (const group of this.#groupsOf(ref)) {
          group.members.get(ref.name)!.heardAt = now;
          this.#report(group, group.state.replicaUp(ref));
        }
        break;
      }
      case "new":
        this.#logger.info({ replica: replicaId(ref) }, "tracker peer up");
        break;
    }
    // So that it knows this node now, not at our next idle heartbeat.
    this.#direct(ref.name, TrackerEvent.alive, this.#aliveMessage());
  }

  #onLeave(message: Leave): void {
    const group = this.#groups.get(message.shard);
    if (group) this.#forgetMember(group, message.from);
  }

  #onTransferRequest(message: TransferRequest): void {
    const group = this.#groups.get(message.shard);
    if (!group) return;
    const to = message.from;
    // What a message holds besides its payload; "payload" is the longer of the two names.
    const budget =
      this.#maxTransferBytes - jsonBytes({ from: this.#ref(), shard: group.shard, payload: null });
    const cached = group.generations.select(message.clocks);
    if (cached !== FULL_STATE && jsonBytes(cached) <= budget) {
      this.#sendTransferAck(group, to, cached);
      return;
    }
    const transfer = group.state.extract(message.clocks);
    const id = ++this.#lastTransferId;
    const parts = splitTransfer(transfer, id, budget);
    if (parts.length === 1) {
      this.#sendTransferAck(group, to, transfer);
      return;
    }
    this.#logger.debug({ to: replicaId(to), parts: parts.length }, "tracker transfer in parts");
    // A newer request replaces the transfer under way: the requester gave up on it.
    const outgoing = { to, id, parts, sent: 0, acked: new Set<number>(), progressAt: this.#now() };
    group.outgoing.set(to.name, outgoing);
    this.#sendParts(group, outgoing);
  }

  #sendTransferAck(group: Group, to: ReplicaRef, payload: Delta | Transfer): void {
    const ack: TransferAck = { from: this.#ref(), shard: group.shard, payload };
    this.#direct(to.name, TrackerEvent.transferAck, toJson(ack));
  }

  /** Sends parts until {@link TRANSFER_WINDOW} are unacknowledged, or none are left. */
  #sendParts(group: Group, outgoing: OutgoingTransfer): void {
    const { to, parts, acked } = outgoing;
    while (outgoing.sent < parts.length && outgoing.sent - acked.size < TRANSFER_WINDOW) {
      const part = parts[outgoing.sent]!;
      const message: TransferPartMessage = { from: this.#ref(), shard: group.shard, part };
      outgoing.sent++;
      this.#direct(to.name, TrackerEvent.transferPart, toJson(message));
    }
  }

  #onTransferPartAck(message: TransferPartAck): void {
    const { from, id, index } = message;
    const group = this.#groups.get(message.shard);
    const outgoing = group?.outgoing.get(from.name);
    if (!group || !outgoing || outgoing.to.vsn !== from.vsn || outgoing.id !== id) return;
    if (index >= outgoing.sent || outgoing.acked.has(index)) return;
    outgoing.acked.add(index);
    outgoing.progressAt = this.#now();
    if (outgoing.acked.size === outgoing.parts.length) group.outgoing.delete(from.name);
    else this.#sendParts(group, outgoing);
  }

  #onTransferPart(message: TransferPartMessage): void {
    const { from, part } = message;
    const group = this.#groups.get(message.shard);
    // Parts answer our requests, which go to the shard's members: from anyone else they
    // would only make this node hold memory.
    if (!group || group.members.get(from.name)?.ref.vsn !== from.vsn) return;
    const now = this.#now();
    let incoming = group.incoming.get(from.name);
    if (!incoming || incoming.from.vsn !== from.vsn || part.id > incoming.assembly.id) {
      incoming = { from, assembly: new TransferAssembly(part), progressAt: now };
      group.incoming.set(from.name, incoming);
    } else if (part.id < incoming.assembly.id || part.count !== incoming.assembly.count) {
      // A part of a transfer that a newer one replaced, or one that contradicts its own.
      return;
    }
    const { assembly } = incoming;
    const received = assembly.received;
    const transfer = assembly.add(part);
    // A duplicate: neither progress nor worth an acknowledgement.
    if (assembly.received === received) return;
    incoming.progressAt = now;
    group.asked.set(from.name, now);
    const ack: TransferPartAck = {
      from: this.#ref(),
      shard: group.shard,
      id: part.id,
      index: part.index,
    };
    this.#direct(from.name, TrackerEvent.transferPartAck, toJson(ack));
    if (transfer) this.#mergeAnswer(group, from, transfer);
  }

  #onTransferAck(message: TransferAck): void {
    const group = this.#groups.get(message.shard);
    if (group) this.#mergeAnswer(group, message.from, message.payload);
  }

  /** Merges what a peer sent in answer to our request. */
  #mergeAnswer(group: Group, from: ReplicaRef, payload: Delta | Transfer): void {
    group.asked.delete(from.name);
    this.#report(group, group.state.merge(payload));
    if (payload.kind === "transfer") group.generations.clear();
    else group.generations.push(payload);
  }

  #onPermdown(message: Permdown): void {
    const wasUp = this.#liveness.forget(message.from);
    if (wasUp === undefined) return;
    this.#logger.info({ replica: replicaId(message.from) }, "tracker peer left");
    this.#forgetEverywhere(message.from);
  }

  /** Runs `handler` on a message that parsed; drops (and logs) one that did not. */
  #handle<T>(event: string, message: T | null, handler: (message: T) => void): void {
    if (message) handler(message);
    else this.#logger.warn({ event }, "malformed tracker message dropped");
  }

  #direct(node: string, event: string, payload: JsonObject): void {
    this.#pubsub.directBroadcast(node, this.#topic, event, payload);
  }

  #ref(): ReplicaRef {
    return { name: this.replica.name, vsn: this.replica.vsn };
  }

  #report(group: Group, changes: Changes): void {
    // Alone, nobody will ever ask for the delta: drop it instead of letting it grow.
    if (!this.#pubsub.clustered && group.state.hasDelta()) group.state.takeDelta();
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

/** A message as the bus carries it: plain JSON data. */
function toJson(message: object): JsonObject {
  return message as JsonObject;
}
