import { isJsonObject, type JsonObject } from "@tandem/protocol";
import { defaultLogger, type Logger } from "../logger.js";
import type { Metrics } from "../metrics.js";
import { PubSub, type Subscriber } from "../pubsub.js";
import { appendClock, type ClockSet, clockSetReplicas } from "./clock.js";
import { DEFAULT_MAX_DELTA_SIZES, DeltaGenerations, FULL_STATE } from "./delta-generation.js";
import { type HeartbeatOutcome, Liveness } from "./liveness.js";
import {
  type Heartbeat,
  type Permdown,
  parseHeartbeat,
  parsePermdown,
  parseTransferAck,
  parseTransferRequest,
  TrackerEvent,
  type TransferAck,
  type TransferRequest,
} from "./messages.js";
import { newReplicaRef, parseReplicaId, type ReplicaRef, replicaId } from "./replica.js";
import { type Changes, type Entry, TrackerState, type Updated } from "./state.js";

/** What changed on one topic: entries that became visible and entries that went away. */
export interface TopicChanges {
  readonly joins: Entry[];
  readonly leaves: Entry[];
}

/** Called with every change, grouped by topic, in the order the changes happened. */
export type DiffListener = (diffs: ReadonlyMap<string, TopicChanges>) => void;

/** How often nodes talk and how long they wait for each other. */
export type ReplicationTimings = Pick<
  TrackerOptions,
  | "broadcastPeriodMs"
  | "maxSilentPeriods"
  | "downPeriodMs"
  | "permdownPeriodMs"
  | "clockSamplePeriods"
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
  /** Size caps of the cached delta generations. Default [100, 1000, 10000]. */
  maxDeltaSizes?: readonly number[];
  /** The bus topic of this tracker. Default "tandem:tracker". */
  topic?: string;
  /** `false` leaves ticking to the caller ({@link Tracker.tick}), as simulations do. */
  timers?: boolean;
  /** The clock, for simulations. Default `Date.now`. */
  now?: () => number;
}

/**
 * One node's replica of the presence CRDT and the process around it, as Phoenix.Tracker
 * runs it: local changes are applied at once and reported, and every broadcast period the
 * delta since the last heartbeat goes to the other nodes. A node that finds a gap in what
 * it has seen asks for a transfer; silent nodes go down (their entries leave) and are
 * forgotten later; a node that shuts down on purpose makes its entries leave at once.
 */
export class Tracker {
  readonly replica: ReplicaRef;
  readonly state: TrackerState;
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
  readonly #generations: DeltaGenerations;
  readonly #liveness = new Liveness();
  readonly #subscriber: Subscriber;
  readonly #unsubscribe: () => void;
  #silentPeriods: number;
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
    if (this.#downPeriodMs < 2 * this.#periodMs) {
      throw new RangeError("downPeriodMs must be at least twice broadcastPeriodMs");
    }
    if (this.#permdownPeriodMs <= this.#downPeriodMs) {
      throw new RangeError("permdownPeriodMs must be longer than downPeriodMs");
    }
    this.#generations = new DeltaGenerations(options.maxDeltaSizes ?? DEFAULT_MAX_DELTA_SIZES);
    // Starting at the maximum makes the first tick announce this node.
    this.#silentPeriods = this.#maxSilentPeriods;
    this.replica = newReplicaRef(this.#pubsub.nodeName, this.#now());
    this.state = new TrackerState(this.replica);

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

  /** Every visible entry of a topic, from every node that is up. */
  list(topic: string): Entry[] {
    return this.state.byTopic(topic);
  }

  /** Every visible entry of one key on a topic. */
  listKey(topic: string, key: string): Entry[] {
    return this.state.byKey(topic, key);
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
    if (this.state.hasDelta()) {
      delta = this.state.takeDelta();
      this.#generations.push(delta);
    } else if (this.#silentPeriods < this.#maxSilentPeriods) {
      this.#silentPeriods++;
      return;
    }
    this.#silentPeriods = 0;
    this.#send(TrackerEvent.heartbeat, {
      from: this.#ref(),
      clocks: this.state.clocks(),
      delta,
      sentAt: Date.now(),
    } satisfies Heartbeat as unknown as JsonObject);
  }

  #requestTransfers(): void {
    const self = this.state.replica;
    const candidates = appendClock(this.#pendingClocks, {
      replica: self,
      clock: this.state.clocks(),
    });
    this.#pendingClocks = [];
    for (const replica of clockSetReplicas(candidates)) {
      if (replica === self) continue;
      const request: TransferRequest = { from: this.#ref(), clocks: this.state.clocks() };
      this.#pubsub.directBroadcast(
        parseReplicaId(replica).name,
        this.#topic,
        TrackerEvent.transferRequest,
        request as unknown as JsonObject,
      );
    }
  }

  #checkLiveness(): void {
    const verdict = this.#liveness.check(this.#now(), this.#downPeriodMs, this.#permdownPeriodMs);
    for (const ref of verdict.down) {
      this.#logger.warn({ replica: replicaId(ref) }, "tracker peer down");
      this.#report(this.state.replicaDown(ref));
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
    if (wasUp) this.#report(this.state.replicaDown(ref));
    this.#report(this.state.removeDownReplica(ref));
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
    this.#peerAlive(from, this.#liveness.heartbeat(from, this.#now()));
    this.#pendingClocks = appendClock(this.#pendingClocks, {
      replica: replicaId(from),
      clock: message.clocks,
    });
    if (message.delta) {
      this.#report(this.state.merge(message.delta));
      this.#generations.push(message.delta);
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
    this.#report(this.state.replicaUp(ref));
  }

  #onTransferRequest(message: TransferRequest): void {
    const cached = this.#generations.select(message.clocks);
    const ack: TransferAck = {
      from: this.#ref(),
      payload: cached === FULL_STATE ? this.state.extract(message.clocks) : cached,
    };
    this.#pubsub.directBroadcast(
      message.from.name,
      this.#topic,
      TrackerEvent.transferAck,
      ack as unknown as JsonObject,
    );
  }

  #onTransferAck(message: TransferAck): void {
    this.#report(this.state.merge(message.payload));
    if (message.payload.kind === "transfer") this.#generations.clear();
    else this.#generations.push(message.payload);
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

  #ref(): ReplicaRef {
    return { name: this.replica.name, vsn: this.replica.vsn };
  }

  #report(changes: Changes): void {
    // Alone, nobody will ever ask for the delta: drop it instead of letting it grow.
    if (!this.#pubsub.clustered && this.state.hasDelta()) this.state.takeDelta();
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
