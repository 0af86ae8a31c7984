import {
  type JsonObject,
  type JsonValue,
  jsonEqual,
  type PresenceDiff,
  type PresenceEntry,
  PresenceEvent,
  type PresenceMeta,
  type PresenceState,
} from "@tandem/protocol";
import type { Assigns, ChannelContext } from "../channel.js";
import type { Logger } from "../logger.js";
import type { Metrics } from "../metrics.js";
import type { PubSub } from "../pubsub.js";
import { SharedMessage } from "../shared-message.js";
import type { Entry } from "../tracker/state.js";
import { type PeerSilence, type ReplicationTimings, Tracker } from "../tracker/tracker.js";
import { ClientPresence, type ClientPresenceOptions } from "./client-presence.js";
import { DiffBatch } from "./diff-batch.js";
import { type LargeRoomOptions, LargeRooms, summarize } from "./large-rooms.js";
import { makePhxRef } from "./phx-ref.js";
import { type RateLimit, RateLimiter } from "./rate-limit.js";
import { type CoalesceOptions, TopicCooldown } from "./topic-cooldown.js";

/**
 * Enriches presences before they are listed or broadcast, e.g. with user records from a
 * database in one query. Must return the same keys, each keeping its `metas`.
 */
export type PresenceFetch = (
  topic: string,
  presences: PresenceState,
) => PresenceState | Promise<PresenceState>;

/** Where Presence broadcasts and logs, and hears of channels that exit: an {@link Endpoint} fits. */
export interface PresenceHost {
  readonly pubsub: PubSub;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  /** Calls `listener` with the owner id of every channel that exits; returns the unsubscribe. */
  onChannelExit(listener: (ownerId: string) => void): () => void;
}

/** Presence options. */
export interface PresenceOptions {
  /**
   * The tracker replica to use. Default: a tracker on the host's pubsub, which
   * replicates across the cluster when the pubsub has an adapter.
   */
  tracker?: Tracker;
  /** Replication timings for the tracker Presence creates (ignored with `tracker`). */
  replication?: ReplicationTimings;
  fetch?: PresenceFetch;
  /**
   * Diff batching per topic. `false` sends one diff per change as soon as it happens,
   * as Phoenix Presence does (costly for crowds; kept for comparison and tiny rooms).
   */
  coalesce?: CoalesceOptions | false;
  /**
   * Track and update calls allowed per connection. Default 30 per 3 s (10/s sustained,
   * bursts of 30); `false` disables the limit.
   */
  rateLimit?: RateLimit | false;
  /** Largest meta accepted, in bytes of JSON. Default 4096. */
  maxMetaBytes?: number;
  /** Counts mode for rooms past a size: summaries instead of diffs. Off by default. */
  largeRooms?: LargeRoomOptions;
}

/** Why a presence call was refused. */
export type PresenceRefusal =
  | "already_tracked"
  | "no_presence"
  | "rate_limited"
  | "meta_too_large"
  /** The channel exited before the call: an entry stored now would never leave. */
  | "channel_closed";

/** The outcome of `track` and `update`. `changed` is false when the meta was identical. */
export type PresenceResult =
  | { ok: true; ref: string; changed: boolean }
  | { ok: false; reason: PresenceRefusal };

/** Options of {@link Presence.setTransient}. */
export interface TransientOptions {
  /** Quiet period after which `revert` is applied (ms). */
  afterMs: number;
  /** The fields to restore, e.g. `{ typing: false }`. */
  revert: JsonObject;
}

type MetaUpdate = JsonObject | ((previous: PresenceMeta) => JsonObject);

const refusal = (reason: PresenceRefusal): PresenceResult => ({ ok: false, reason });

/**
 * Who is on each topic, and what they are doing. Entries belong to the channel that
 * tracked them and leave by themselves when it exits. Every change is broadcast to the
 * topic as a `presence_diff`, batched so that a crowd joining at once costs diffs in
 * proportion to the crowd, not to its square.
 */
export class Presence {
  readonly #tracker: Tracker;
  readonly #pubsub: PubSub;
  readonly #logger: Logger;
  readonly #fetch: PresenceFetch | undefined;
  readonly #coalescer: TopicCooldown<DiffBatch> | null;
  // Members who just joined wait (at most one cooldown) for one shared presence_state.
  readonly #stateWaiters: TopicCooldown<ChannelContext[]> | null;
  readonly #limiter: RateLimiter | null;
  // Revert timers by owner, then key: a channel's exit clears its own without a scan.
  readonly #transients = new Map<string, Map<string, ReturnType<typeof setTimeout>>>();
  // With an async fetch, each topic's diffs still go out in the order they were made.
  readonly #outgoing = new Map<string, Promise<void>>();
  readonly #unlisten: () => void;
  readonly #unlistenExits: () => void;
  readonly #ownsTracker: boolean;
  readonly #maxMetaBytes: number;
  readonly #largeRooms: LargeRooms | null;

  constructor(host: PresenceHost, options: PresenceOptions = {}) {
    this.#ownsTracker = !options.tracker;
    this.#maxMetaBytes = options.maxMetaBytes ?? 4096;
    this.#tracker =
      options.tracker ??
      new Tracker({
        ...options.replication,
        pubsub: host.pubsub,
        logger: host.logger,
        metrics: host.metrics,
      });
    const gauge = host.metrics?.presences;
    this.#pubsub = host.pubsub;
    this.#logger = host.logger;
    this.#fetch = options.fetch;
    this.#limiter =
      options.rateLimit === false
        ? null
        : new RateLimiter(options.rateLimit ?? { limit: 30, intervalMs: 3000 });
    const subscribers = (topic: string) => this.#pubsub.subscriberCount(topic);
    const pacing = options.coalesce === false ? null : (options.coalesce ?? {});
    this.#coalescer = pacing
      ? new TopicCooldown<DiffBatch>(pacing, subscribers, {
          create: () => new DiffBatch(),
          isEmpty: (batch) => batch.isEmpty,
          emit: (topic, batch) => this.#broadcast(topic, batch.toDiff()),
        })
      : null;
    // With an async fetch, lists go through it in order with the diffs: no sharing then.
    this.#stateWaiters =
      pacing && !this.#fetch
        ? new TopicCooldown<ChannelContext[]>(pacing, subscribers, {
            create: () => [],
            isEmpty: (waiters) => waiters.length === 0,
            emit: (topic, waiters) => this.#sendState(topic, waiters),
          })
        : null;
    const large = options.largeRooms;
    this.#largeRooms = large
      ? new LargeRooms(large, {
          size: (topic) => this.#tracker.topicSize(topic),
          summary: (topic) =>
            summarize(this.#tracker.list(topic), large.highlight, large.maxHighlighted ?? 20),
          state: (topic) => group(this.#tracker.list(topic)),
          emit: (topic, event, payload) => this.#pubsub.localBroadcast(topic, event, payload),
        })
      : null;
    this.#unlisten = this.#tracker.onDiff((diffs) => {
      for (const [topic, changes] of diffs) {
        const joins = changes.joins.map(wire);
        const leaves = changes.leaves.map(wire);
        gauge?.inc(joins.length - leaves.length);
        if (this.#largeRooms?.changed(topic)) continue;
        if (this.#coalescer) {
          const fill = (batch: DiffBatch) => {
            for (const [key, meta] of joins) batch.join(key, meta);
            for (const [key, meta] of leaves) batch.leave(key, meta);
          };
          if (isMetaUpdate(joins, leaves)) this.#coalescer.addUrgent(topic, fill);
          else this.#coalescer.add(topic, fill);
        } else this.#broadcast(topic, immediateDiff(joins, leaves));
      }
    });
    // One listener for every channel, rather than an exit callback per tracked channel.
    this.#unlistenExits = host.onChannelExit((owner) => this.#ownerExited(owner));
  }

  /** Tracks `key` with `meta` for this channel; it leaves when the channel exits. */
  track(socket: ChannelContext, key: string, meta: JsonObject): PresenceResult {
    if (socket.closed) return refusal("channel_closed");
    if (this.#tracker.get(socket.ownerId, socket.topic, key)) return refusal("already_tracked");
    if (this.#tooLarge(meta)) return refusal("meta_too_large");
    if (!this.#allow(socket)) return refusal("rate_limited");
    const ref = makePhxRef();
    this.#tracker.track(socket.ownerId, socket.topic, key, withRefs(meta, ref));
    return { ok: true, ref, changed: true };
  }

  /**
   * Replaces this channel's meta for `key` (or computes it from the previous one). A meta
   * equal to the current one changes nothing and broadcasts nothing.
   */
  update(socket: ChannelContext, key: string, update: MetaUpdate): PresenceResult {
    return this.#update(socket, key, update, true);
  }

  /**
   * Sets fields that restore themselves after a quiet period: `typing: true` that turns
   * back to false 3 s after the last call, so an indicator never sticks when the "stopped"
   * message is lost. Each call restarts the period.
   */
  setTransient(
    socket: ChannelContext,
    key: string,
    fields: JsonObject,
    options: TransientOptions,
  ): PresenceResult {
    const result = this.#update(socket, key, (meta) => ({ ...meta, ...fields }), true);
    if (!result.ok) return result;
    const owner = socket.ownerId;
    this.#clearTransient(owner, key);
    const timer = setTimeout(() => {
      this.#clearTransient(owner, key);
      this.#update(socket, key, (meta) => ({ ...meta, ...options.revert }), false);
    }, options.afterMs);
    timer.unref?.();
    let timers = this.#transients.get(owner);
    if (!timers) {
      timers = new Map();
      this.#transients.set(owner, timers);
    }
    timers.set(key, timer);
    return result;
  }

  /**
   * Lets a channel's clients set fields of their own presence (`presence_update`), as
   * `options` declares: give the result to the channel definition as `clientPresence`,
   * and track with its `track`. Its updates have their own budget, per channel, instead of
   * the per-connection `rateLimit`.
   */
  clientPresence<A extends Assigns>(options: ClientPresenceOptions<A>): ClientPresence<A> {
    return new ClientPresence(options, {
      track: (socket, key, meta) => this.track(socket, key, meta),
      merge: (socket, key, fields) =>
        this.#update(socket, key, (meta) => ({ ...meta, ...fields }), false),
      announce: (topic, event, payload) => this.#pubsub.broadcast(topic, event, payload),
    });
  }

  /** Stops tracking `key` for this channel. */
  untrack(socket: ChannelContext, key: string): void {
    this.#clearTransient(socket.ownerId, key);
    this.#tracker.untrack(socket.ownerId, socket.topic, key);
  }

  /** Everyone on a topic as `{key: {metas: [...]}}`, through `fetch`. */
  list(topic: string): Promise<PresenceState> {
    return this.#fetched(topic, group(this.#tracker.list(topic)));
  }

  /**
   * How many presences (metas) a topic has, from every node that is up, without going
   * through `fetch`; O(1).
   */
  topicSize(topic: string): number {
    return this.#tracker.topicSize(topic);
  }

  /**
   * The other nodes this node's tracker replica knows, up or down, and how long since each
   * was last heard from (see {@link Tracker.peerSilences}).
   */
  peers(): PeerSilence[] {
    return this.#tracker.peerSilences();
  }

  /** One key's presence on a topic, through `fetch`; undefined if absent. */
  async get(topic: string, key: string): Promise<PresenceEntry | undefined> {
    const entries = this.#tracker.listKey(topic, key);
    if (entries.length === 0) return undefined;
    return (await this.#fetched(topic, group(entries)))[key];
  }

  /**
   * Pushes `presence_state` (the full list) to a client that just joined. Clients that
   * join in the same cooldown share one list, encoded once: a crowd arriving together
   * costs one list per cooldown instead of one per member.
   */
  async pushState(socket: ChannelContext): Promise<void> {
    // A large room's next summary (at most one interval away) covers the newcomer: a
    // summary per joiner would cost O(N) each, O(N²) for a crowd.
    if (this.#largeRooms?.isLarge(socket.topic)) return;
    if (this.#stateWaiters) {
      this.#stateWaiters.add(socket.topic, (waiters) => waiters.push(socket));
      return;
    }
    const state = await this.list(socket.topic);
    socket.push(PresenceEvent.state, state as JsonObject);
  }

  #sendState(topic: string, waiters: readonly ChannelContext[]): void {
    const message = new SharedMessage(
      topic,
      PresenceEvent.state,
      group(this.#tracker.list(topic)) as JsonObject,
    );
    for (const socket of waiters) socket.pushShared(message);
  }

  /** Whether a topic is in counts mode (see {@link LargeRoomOptions}). */
  isLarge(topic: string): boolean {
    return this.#largeRooms?.isLarge(topic) ?? false;
  }

  /** Sends pending diffs now and stops timers; for shutdown and tests. */
  flush(): void {
    this.#coalescer?.flushAll();
    this.#stateWaiters?.flushAll();
  }

  /**
   * Stops listening to the tracker and cancels every timer. A tracker Presence created
   * itself is closed too, which tells the other nodes to drop this node's entries now.
   */
  close(): void {
    this.#coalescer?.flushAll();
    this.#stateWaiters?.flushAll();
    this.#unlisten();
    this.#unlistenExits();
    this.#largeRooms?.close();
    if (this.#ownsTracker) this.#tracker.close();
    for (const timers of this.#transients.values()) {
      for (const timer of timers.values()) clearTimeout(timer);
    }
    this.#transients.clear();
  }

  #update(
    socket: ChannelContext,
    key: string,
    update: MetaUpdate,
    limited: boolean,
  ): PresenceResult {
    if (socket.closed) return refusal("channel_closed");
    const current = this.#tracker.get(socket.ownerId, socket.topic, key);
    if (!current) return refusal("no_presence");
    const previous = current.meta as PresenceMeta;
    const next = strip(typeof update === "function" ? update(previous) : update);
    if (jsonEqual(next, strip(previous))) {
      return { ok: true, ref: previous.phx_ref, changed: false };
    }
    if (this.#tooLarge(next)) return refusal("meta_too_large");
    if (limited && !this.#allow(socket)) return refusal("rate_limited");
    const ref = makePhxRef();
    this.#tracker.update(socket.ownerId, socket.topic, key, withRefs(next, ref, previous.phx_ref));
    return { ok: true, ref, changed: true };
  }

  #tooLarge(meta: JsonObject): boolean {
    return Buffer.byteLength(JSON.stringify(meta)) > this.#maxMetaBytes;
  }

  #allow(socket: ChannelContext): boolean {
    return this.#limiter?.take(socket.connectionId) ?? true;
  }

  /** A channel went away: what it tracked leaves, and its revert timers go. */
  #ownerExited(owner: string): void {
    for (const timer of this.#transients.get(owner)?.values() ?? []) clearTimeout(timer);
    this.#transients.delete(owner);
    this.#tracker.untrackOwner(owner);
  }

  #clearTransient(owner: string, key: string): void {
    const timers = this.#transients.get(owner);
    if (!timers) return;
    clearTimeout(timers.get(key));
    timers.delete(key);
    if (timers.size === 0) this.#transients.delete(owner);
  }

  #broadcast(topic: string, diff: PresenceDiff): void {
    const fetch = this.#fetch;
    if (!fetch) {
      this.#pubsub.localBroadcast(topic, PresenceEvent.diff, diff as unknown as JsonObject);
      return;
    }
    const previous = this.#outgoing.get(topic) ?? Promise.resolve();
    const next = previous.then(async () => {
      const [joins, leaves] = await Promise.all([
        this.#fetched(topic, diff.joins),
        this.#fetched(topic, diff.leaves),
      ]);
      this.#pubsub.localBroadcast(topic, PresenceEvent.diff, {
        joins,
        leaves,
      } as unknown as JsonObject);
    });
    this.#outgoing.set(topic, next);
    void next.finally(() => {
      if (this.#outgoing.get(topic) === next) this.#outgoing.delete(topic);
    });
  }

  async #fetched(topic: string, presences: PresenceState): Promise<PresenceState> {
    if (!this.#fetch || Object.keys(presences).length === 0) return presences;
    try {
      return await this.#fetch(topic, presences);
    } catch (err) {
      // Clients must still converge: send the unenriched presences rather than nothing.
      this.#logger.error({ err, topic }, "presence fetch failed");
      return presences;
    }
  }
}

function immediateDiff(
  joins: readonly [string, PresenceMeta][],
  leaves: readonly [string, PresenceMeta][],
): PresenceDiff {
  const batch = new DiffBatch();
  for (const [key, meta] of joins) batch.join(key, meta);
  for (const [key, meta] of leaves) batch.leave(key, meta);
  return batch.toDiff();
}

/**
 * Whether the changes only replace metas of presences that stay: each join names, in
 * `phx_ref_prev`, a meta of its key that leaves in the same changes, and nothing else
 * leaves. Such changes are no part of a join or leave storm.
 */
function isMetaUpdate(
  joins: readonly [string, PresenceMeta][],
  leaves: readonly [string, PresenceMeta][],
): boolean {
  if (joins.length === 0 || joins.length !== leaves.length) return false;
  const left = new Map(leaves.map(([key, meta]) => [meta.phx_ref, key]));
  return joins.every(([key, meta]) => {
    const previous = meta.phx_ref_prev;
    return previous !== undefined && left.get(previous) === key && left.delete(previous);
  });
}

function wire(entry: Entry): [string, PresenceMeta] {
  return [entry.key, entry.meta as PresenceMeta];
}

function group(entries: readonly Entry[]): PresenceState {
  // Keys are user data: "__proto__" must be a key like any other.
  const state: PresenceState = Object.create(null);
  for (const entry of entries) {
    const meta = entry.meta as PresenceMeta;
    const existing = state[entry.key];
    if (existing) existing.metas.push(meta);
    else state[entry.key] = { metas: [meta] };
  }
  return state;
}

/** The meta without the refs Presence manages itself. */
function strip(meta: JsonObject): JsonObject {
  const { phx_ref: _ref, phx_ref_prev: _prev, ...rest } = meta;
  return rest;
}

/**
 * A copy of the meta with its refs. The refs are assigned rather than spread in: once
 * optimised, V8 gives every `{ ...meta, phx_ref }` a hidden class of its own, about 200
 * bytes per tracked presence and a megamorphic read wherever metas are read.
 */
function withRefs(meta: JsonObject, ref: string, previousRef?: string): PresenceMeta {
  const out = strip(meta) as Record<string, JsonValue>;
  out.phx_ref = ref;
  if (previousRef !== undefined) out.phx_ref_prev = previousRef;
  return out as PresenceMeta;
}
