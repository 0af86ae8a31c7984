import { isJsonObject, type JsonObject } from "@tandem/protocol";
import { defaultLogger, type Logger } from "../logger.js";
import type { Metrics } from "../metrics.js";
import { PubSub, type Subscriber } from "../pubsub.js";
import { appendClock, type ClockSet, clockSetReplicas, dominates } from "./clock.js";
import { DEFAULT_MAX_DELTA_SIZES, DeltaGenerations, FULL_STATE } from "./delta-generation.js";
import { type HeartbeatOutcome, Liveness } from "./liveness.js";
import {
  type Heartbeat,
  type Permdown,
  parseHeartbeat,
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
import {
  type Changes,
  type Delta,
  type Entry,
  TrackerState,
  type Transfer,
  type Updated,
} from "./state.js";
import { jsonBytes, splitTransfer, TransferAssembly, type TransferPart } from "./transfer-parts.js";

/** What changed on one topic: entries that became visible and entries that went away. */
export interface TopicChanges {
  readonly joins: Entry[];
  readonly leaves: Entry[];
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
 * pubsub has a cluster adapter.
 */
export interface TrackerOptions {
  /** The bus to replicate over; the replica is named after `pubsub.nodeName`. */
  pubsub?: PubSub;
  logger?: Logger;
  /** Where to report peers and bus lag. */
  metrics?: Metrics;
  /** Heartbeat (with the pending delta) every this many ms. Default 1500. */
  broadcastPeriodMs?: number;
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

/** A transfer this node sends in parts, paced by the requester's acknowledgements. */
interface OutgoingTransfer {
  readonly to: ReplicaRef;
  readonly id: number;
  readonly parts: readonly TransferPart[];
  sent: number;
  readonly acked: Set<number>;
  progressAt: number;
}

/** A transfer this node receives in parts. */
interface IncomingTransfer {
  readonly from: ReplicaRef;
  readonly assembly: TransferAssembly;
  progressAt: number;
}

/**
 * The CRDT behind a tracker, for this package's tests of what the tracker keeps. Not
 * exported from the package: outside the tracker, only the tracker may change it.
 */
export let trackerStateOf: (tracker: Tracker) => TrackerState;

/**
 * One node's replica of the presence CRDT and the process around it, as Phoenix.Tracker
 * runs it: local changes are applied at once and reported, and every broadcast period the
 * delta since the last heartbeat goes to the other nodes. A node that finds a gap in what
 * it has seen asks for a transfer; silent nodes go down (their entries leave) and are
 * forgotten later; a node that shuts down on purpose makes its entries leave at once.
 */
export class Tracker {
  static {
    trackerStateOf = (tracker) => tracker.#state;
  }

  /** This node's replica: its node name and the version chosen at start. */
  readonly replica: ReplicaRef;
  /** The CRDT; only this process mutates it, so that every change is reported and sent. */
  readonly #state: TrackerState;
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
  readonly #generations: DeltaGenerations;
  readonly #liveness = new Liveness();
  readonly #subscriber: Subscriber;
  readonly #unsubscribe: () => void;
  /** Transfers being sent in parts, by requester name. */
  readonly #outgoing = new Map<string, OutgoingTransfer>();
  /** Transfers being received in parts, by sender name. */
  readonly #incoming = new Map<string, IncomingTransfer>();
  /** When each peer was last asked for a transfer, or last sent a part of one. */
  readonly #asked = new Map<string, number>();
  #lastTransferId = 0;
  #silentPeriods = 0;
  /** Whether a peer has shown (in its clocks) that it knows this replica. */
  #known = false;
  #ticks = 0;
  #pendingClocks: ClockSet = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
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
    this.#generations = new DeltaGenerations(options.maxDeltaSizes ?? DEFAULT_MAX_DELTA_SIZES);
    this.replica = newReplicaRef(this.#pubsub.nodeName, this.#now());
    this.#state = new TrackerState(this.replica);

    this.#subscriber = { deliver: (b) => this.#receive(b.event, b.payload) };
    this.#unsubscribe = this.#pubsub.subscribe(this.#topic, this.#subscriber);
    if (this.#pubsub.clustered && options.timers !== false) {
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
    if (this.#state.get(owner, topic, key)) return null;
    const entry = this.#state.join(owner, topic, key, meta);
    this.#report({ joins: [entry], leaves: [] });
    return entry;
  }

  /** Replaces the meta of a tracked triple; undefined if it is not tracked. */
  update(owner: string, topic: string, key: string, meta: JsonObject): Updated | undefined {
    const updated = this.#state.update(owner, topic, key, meta);
    if (updated) this.#report({ joins: [updated.joined], leaves: [updated.left] });
    return updated;
  }

  /** Stops tracking one triple. */
  untrack(owner: string, topic: string, key: string): Entry | undefined {
    const entry = this.#state.leave(owner, topic, key);
    if (entry) this.#report({ joins: [], leaves: [entry] });
    return entry;
  }

  /** Stops tracking everything `owner` tracked: what happens when a channel exits. */
  untrackOwner(owner: string): Entry[] {
    const entries = this.#state.leaveOwner(owner);
    if (entries.length > 0) this.#report({ joins: [], leaves: entries });
    return entries;
  }

  /** The triple's entry, if tracked here. */
  get(owner: string, topic: string, key: string): Entry | undefined {
    return this.#state.get(owner, topic, key);
  }

  /** Every visible entry of a topic, from every node that is up. */
  list(topic: string): Entry[] {
    return this.#state.byTopic(topic);
  }

  /** Every visible entry of one key on a topic. */
  listKey(topic: string, key: string): Entry[] {
    return this.#state.byKey(topic, key);
  }

  /** How many entries a topic has, from every node that is up; O(1). */
  topicSize(topic: string): number {
    return this.#state.topicSize(topic);
  }

  /**
   * A copy of this replica's causal context: for each replica (`name#vsn`) that is not
   * down, the clock up to which this node has applied its changes.
   */
  clocks(): { readonly [replica: string]: number } {
    return this.#state.clocks();
  }

  /** The peers this node knows, and whether each is up. */
  peers(): { name: string; up: boolean }[] {
    return this.#liveness.peers().map(({ ref, up }) => ({ name: ref.name, up }));
  }

  /**
   * One broadcast period: send the delta (or an idle heartbeat), ask for transfers where
   * peers know more than we do, and mark silent peers down or forget them. Timers call
   * this; simulations call it themselves.
   */
  tick(): void {
    if (this.#closed) return;
    this.#ticks++;
    this.#heartbeat();
    if (this.#ticks % this.#clockSamplePeriods === 0) this.#requestTransfers();
    this.#checkLiveness();
    this.#expireTransfers();
  }

  /**
   * Stops replicating. With `permdown` (the default), peers are told to drop this node's
   * entries at once instead of waiting for the down period.
   */
  close(options: { permdown?: boolean } = {}): void {
    if (this.#closed) return;
    if (options.permdown !== false && this.#pubsub.clustered) {
      const message: Permdown = { from: this.#ref() };
      this.#send(TrackerEvent.permdown, message as unknown as JsonObject);
    }
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#outgoing.clear();
    this.#incoming.clear();
    this.#asked.clear();
    this.#unsubscribe();
  }

  #schedule(delay: number): void {
    this.#timer = setTimeout(() => {
      this.tick();
      if (!this.#closed) this.#schedule(this.#periodMs);
    }, delay);
    this.#timer.unref?.();
  }

  #heartbeat(): void {
    let delta = null;
    // Until a peer knows it, through its first idle interval, a node heartbeats every
    // period: a tracker is made before its bus is up, so its first announcements may be
    // lost, and a new node must be heard within a period, not an idle interval.
    const starting = !this.#known && this.#ticks <= this.#maxSilentPeriods;
    if (this.#state.hasDelta()) {
      delta = this.#state.takeDelta();
      this.#generations.push(delta);
    } else if (!starting && this.#silentPeriods < this.#maxSilentPeriods) {
      this.#silentPeriods++;
      return;
    }
    this.#silentPeriods = 0;
    this.#send(TrackerEvent.heartbeat, this.#heartbeatMessage(delta));
  }

  #heartbeatMessage(delta: Delta | null): JsonObject {
    return {
      from: this.#ref(),
      clocks: this.#state.clocks(),
      delta,
      sentAt: Date.now(),
    } satisfies Heartbeat as unknown as JsonObject;
  }

  /** An idle heartbeat for one peer: tells it about this node without waiting a period. */
  #announceTo(node: string): void {
    this.#direct(node, TrackerEvent.heartbeat, this.#heartbeatMessage(null));
  }

  #requestTransfers(): void {
    const self = this.#state.replica;
    const candidates = appendClock(this.#pendingClocks, {
      replica: self,
      clock: this.#state.clocks(),
    });
    this.#pendingClocks = [];
    for (const replica of clockSetReplicas(candidates)) {
      if (replica !== self) this.#askForTransfer(parseReplicaId(replica).name);
    }
  }

  /**
   * Asks `node` for what we miss, unless a transfer from it is under way (asked for, or a
   * part received, within a sampling interval): asking again would restart it.
   */
  #askForTransfer(node: string): void {
    const now = this.#now();
    const askedAt = this.#asked.get(node);
    if (askedAt !== undefined && now - askedAt < this.#sampleIntervalMs()) return;
    this.#asked.set(node, now);
    const request: TransferRequest = { from: this.#ref(), clocks: this.#state.clocks() };
    this.#direct(node, TrackerEvent.transferRequest, request as unknown as JsonObject);
  }

  #sampleIntervalMs(): number {
    return this.#clockSamplePeriods * this.#periodMs;
  }

  /** Gives up transfers in parts that made no progress for a down period. */
  #expireTransfers(): void {
    const now = this.#now();
    for (const transfers of [this.#outgoing, this.#incoming]) {
      for (const [node, transfer] of transfers) {
        if (now - transfer.progressAt > this.#downPeriodMs) transfers.delete(node);
      }
    }
    for (const [node, askedAt] of this.#asked) {
      if (now - askedAt >= this.#sampleIntervalMs()) this.#asked.delete(node);
    }
  }

  #checkLiveness(): void {
    const verdict = this.#liveness.check(this.#now(), this.#downPeriodMs, this.#permdownPeriodMs);
    for (const ref of verdict.down) {
      this.#logger.warn({ replica: replicaId(ref) }, "tracker peer down");
      this.#report(this.#state.replicaDown(ref));
    }
    for (const { ref, wasUp } of verdict.permdown) {
      this.#logger.info({ replica: replicaId(ref) }, "tracker peer forgotten");
      this.#forget(ref, wasUp);
    }
    if (this.#metrics) {
      const peers = this.#liveness.peers();
      const up = peers.filter((p) => p.up).length;
      this.#metrics.replicas.set({ status: "up" }, up);
      this.#metrics.replicas.set({ status: "down" }, peers.length - up);
    }
  }

  #forget(ref: ReplicaRef, wasUp: boolean): void {
    this.#outgoing.delete(ref.name);
    this.#incoming.delete(ref.name);
    this.#asked.delete(ref.name);
    if (wasUp) this.#report(this.#state.replicaDown(ref));
    this.#report(this.#state.removeDownReplica(ref));
    this.#generations.removeReplica(replicaId(ref));
  }

  #receive(event: string, payload: JsonObject | Uint8Array): void {
    if (this.#closed || !isJsonObject(payload)) return;
    try {
      switch (event) {
        case TrackerEvent.heartbeat:
          this.#handle(event, parseHeartbeat(payload), (m) => this.#onHeartbeat(m));
          break;
        case TrackerEvent.transferRequest:
          this.#handle(event, parseTransferRequest(payload), (m) => this.#onTransferRequest(m));
          break;
        case TrackerEvent.transferAck:
          this.#handle(event, parseTransferAck(payload), (m) => this.#onTransferAck(m));
          break;
        case TrackerEvent.transferPart:
          this.#handle(event, parseTransferPart(payload), (m) => this.#onTransferPart(m));
          break;
        case TrackerEvent.transferPartAck:
          this.#handle(event, parseTransferPartAck(payload), (m) => this.#onTransferPartAck(m));
          break;
        case TrackerEvent.permdown:
          this.#handle(event, parsePermdown(payload), (m) => this.#onPermdown(m));
          break;
      }
    } catch (err) {
      this.#logger.error({ err, event }, "tracker message failed");
    }
  }

  #onHeartbeat(message: Heartbeat): void {
    const { from } = message;
    if (from.name === this.replica.name) return;
    this.#metrics?.busLagSeconds.observe(Math.max(0, Date.now() - message.sentAt) / 1000);
    const outcome = this.#liveness.heartbeat(from, this.#now());
    this.#peerAlive(from, outcome);
    this.#pendingClocks = appendClock(this.#pendingClocks, {
      replica: replicaId(from),
      clock: message.clocks,
    });
    if (message.delta) {
      this.#report(this.#state.merge(message.delta));
      this.#generations.push(message.delta);
    }
    // A peer that has not heard of this node (it is new, restarted, or back from a
    // partition) hears of it now rather than at our next idle heartbeat, and a peer just
    // met is asked at once for what it has rather than at the next clock sampling.
    if (Object.hasOwn(message.clocks, this.#state.replica)) this.#known = true;
    else this.#announceTo(from.name);
    if (outcome.kind !== "refresh" && !dominates(this.#state.clocks(), message.clocks)) {
      this.#askForTransfer(from.name);
    }
  }

  #peerAlive(ref: ReplicaRef, outcome: HeartbeatOutcome): void {
    switch (outcome.kind) {
      case "refresh":
        return;
      case "replaced":
        // A restarted node is a new replica: its previous life's entries go now.
        this.#forget(outcome.old, outcome.oldWasUp);
        break;
      case "up_again":
        this.#logger.info({ replica: replicaId(ref) }, "tracker peer up again");
        break;
      case "new":
        this.#logger.info({ replica: replicaId(ref) }, "tracker peer up");
        break;
    }
    this.#report(this.#state.replicaUp(ref));
  }

  #onTransferRequest(message: TransferRequest): void {
    const to = message.from;
    // What a message holds besides its payload; "payload" is the longer of the two names.
    const budget = this.#maxTransferBytes - jsonBytes({ from: this.#ref(), payload: null });
    const cached = this.#generations.select(message.clocks);
    if (cached !== FULL_STATE && jsonBytes(cached) <= budget) {
      this.#sendTransferAck(to, cached);
      return;
    }
    const transfer = this.#state.extract(message.clocks);
    const id = ++this.#lastTransferId;
    const parts = splitTransfer(transfer, id, budget);
    if (parts.length === 1) {
      this.#sendTransferAck(to, transfer);
      return;
    }
    this.#logger.debug({ to: replicaId(to), parts: parts.length }, "tracker transfer in parts");
    // A newer request replaces the transfer under way: the requester gave up on it.
    const outgoing = { to, id, parts, sent: 0, acked: new Set<number>(), progressAt: this.#now() };
    this.#outgoing.set(to.name, outgoing);
    this.#sendParts(outgoing);
  }

  #sendTransferAck(to: ReplicaRef, payload: Delta | Transfer): void {
    const ack: TransferAck = { from: this.#ref(), payload };
    this.#direct(to.name, TrackerEvent.transferAck, ack as unknown as JsonObject);
  }

  /** Sends parts until {@link TRANSFER_WINDOW} are unacknowledged, or none are left. */
  #sendParts(outgoing: OutgoingTransfer): void {
    const { to, parts, acked } = outgoing;
    while (outgoing.sent < parts.length && outgoing.sent - acked.size < TRANSFER_WINDOW) {
      const message: TransferPartMessage = { from: this.#ref(), part: parts[outgoing.sent]! };
      outgoing.sent++;
      this.#direct(to.name, TrackerEvent.transferPart, message as unknown as JsonObject);
    }
  }

  #onTransferPartAck(message: TransferPartAck): void {
    const { from, id, index } = message;
    const outgoing = this.#outgoing.get(from.name);
    if (!outgoing || outgoing.to.vsn !== from.vsn || outgoing.id !== id) return;
    if (index >= outgoing.sent || outgoing.acked.has(index)) return;
    outgoing.acked.add(index);
    outgoing.progressAt = this.#now();
    if (outgoing.acked.size === outgoing.parts.length) this.#outgoing.delete(from.name);
    else this.#sendParts(outgoing);
  }

  #onTransferPart(message: TransferPartMessage): void {
    const { from, part } = message;
    // Parts answer our requests, which go to peers we know: from anyone else they
    // would only make this node hold memory.
    if (!this.#liveness.isCurrent(from)) return;
    const now = this.#now();
    let incoming = this.#incoming.get(from.name);
    if (!incoming || incoming.from.vsn !== from.vsn || part.id > incoming.assembly.id) {
      incoming = { from, assembly: new TransferAssembly(part), progressAt: now };
      this.#incoming.set(from.name, incoming);
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
    this.#asked.set(from.name, now);
    const ack: TransferPartAck = { from: this.#ref(), id: part.id, index: part.index };
    this.#direct(from.name, TrackerEvent.transferPartAck, ack as unknown as JsonObject);
    if (transfer) this.#mergeAnswer(from, transfer);
  }

  #onTransferAck(message: TransferAck): void {
    this.#mergeAnswer(message.from, message.payload);
  }

  /** Merges what a peer sent in answer to our request. */
  #mergeAnswer(from: ReplicaRef, payload: Delta | Transfer): void {
    this.#asked.delete(from.name);
    this.#report(this.#state.merge(payload));
    if (payload.kind === "transfer") this.#generations.clear();
    else this.#generations.push(payload);
  }

  #onPermdown(message: Permdown): void {
    const wasUp = this.#liveness.forget(message.from);
    if (wasUp === undefined) return;
    this.#logger.info({ replica: replicaId(message.from) }, "tracker peer left");
    this.#forget(message.from, wasUp);
  }

  /** Runs `handler` on a message that parsed; drops (and logs) one that did not. */
  #handle<T>(event: string, message: T | null, handler: (message: T) => void): void {
    if (message) handler(message);
    else this.#logger.warn({ event }, "malformed tracker message dropped");
  }

  #send(event: string, payload: JsonObject): void {
    this.#pubsub.broadcast(this.#topic, event, payload, this.#subscriber);
  }

  #direct(node: string, event: string, payload: JsonObject): void {
    this.#pubsub.directBroadcast(node, this.#topic, event, payload);
  }

  #ref(): ReplicaRef {
    return { name: this.replica.name, vsn: this.replica.vsn };
  }

  #report(changes: Changes): void {
    // Alone, nobody will ever ask for the delta: drop it instead of letting it grow.
    if (!this.#pubsub.clustered && this.#state.hasDelta()) this.#state.takeDelta();
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
