import {
  isJsonObject,
  type JsonObject,
  type JsonValue,
  jsonEqual,
  PresenceEvent,
  type PresenceMeta,
} from "@tandem/protocol";
import type { Channel } from "./channel.js";
import { Presence } from "./presence.js";
import { changedFields, PresenceOutbox } from "./presence-outbox.js";

/** Another member of the room: one per tracked channel (a user with two tabs is two). */
export interface Other<P extends JsonObject = JsonObject> {
  /** The presence key, e.g. the user id: the same for every tab of a user. */
  readonly key: string;
  /** Unique per tracked channel, kept for the channel's life (Liveblocks' connectionId). */
  readonly member: string;
  /** Their presence: the meta without its `phx_ref`s. */
  readonly presence: P;
  /**
   * True while their connection is gone but the grace period is not over: they are
   * kept, so a short drop does not make them vanish and reappear. Who leaves on purpose
   * (the server says so with `presence_left`) goes at once.
   */
  readonly reconnecting: boolean;
}

/** The user's own member of the room, once the server has tracked it. */
export interface Self<P extends JsonObject = JsonObject> {
  /** The presence key the server tracks the user under. */
  readonly key: string;
  /** This channel's `member` id. */
  readonly member: string;
  /** The user's presence as the server has it, with local updates not yet echoed on top. */
  readonly presence: P;
}

/**
 * Where the room stands: `connecting` until the server first tracks the user,
 * `connected` while it does, `reconnecting` after a drop until it tracks them again,
 * `disconnected` once the channel is left or closed.
 */
export type RoomStatus = "connecting" | "connected" | "reconnecting" | "disconnected";

/** `lost` when a drop outlasts `lostConnectionMs`; `restored` when it ends after that. */
export type LostConnectionEvent = "lost" | "restored";

/** An update of the user's presence the server refused (its optimistic value is undone). */
export interface PresenceRefusalEvent {
  /** The fields that were sent. */
  readonly patch: JsonObject;
  /** The server's reason, e.g. `rate_limited`, `invalid`, `server_owned`; `timeout` if none. */
  readonly reason: string;
  /** The whole error reply. */
  readonly response: unknown;
}

/** Everything the room shows at one moment; replaced (not changed) on every change. */
export interface RoomSnapshot<P extends JsonObject = JsonObject> {
  /** Where the room stands. */
  readonly status: RoomStatus;
  /** The user's own member, or null until the server has tracked it. */
  readonly self: Self<P> | null;
  /** The user's presence, optimistic: updates show here at once. */
  readonly myPresence: P;
  /** Everyone else, in presence order, then those reconnecting. */
  readonly others: readonly Other<P>[];
}

/** Options of {@link RoomPresence}. */
export interface RoomPresenceOptions<P extends JsonObject = JsonObject> {
  /** Updates within this period of the last one are coalesced into one (ms). Default 100. */
  throttleMs?: number;
  /** How long someone whose connection dropped stays listed as reconnecting (ms). Default 5000. */
  graceMs?: number;
  /** How long a drop of the user's own connection lasts before `lost` is reported (ms). Default 5000. */
  lostConnectionMs?: number;
  /** Fields the user sets as soon as they are tracked, e.g. `{ cursor: null }`. */
  initialPresence?: Partial<P>;
}

type OverlayEntry = { value: JsonValue; acked: boolean };

const EMPTY: readonly Other[] = [];

/**
 * The presence of a room (a channel whose server declares client-set presence, see
 * `Presence.clientPresence` in `@tandem/server`): who is there, and the user's own presence,
 * which {@link RoomPresence.update} sets optimistically, throttled and coalesced, sending
 * nothing for a no-op. Create it before the channel joins, so the first events are seen.
 * A framework-agnostic store: `subscribe` and `snapshot` fit React's `useSyncExternalStore`.
 *
 * @example
 * ```ts
 * const room = new RoomPresence<{ cursor: { x: number; y: number } | null }>(channel);
 * channel.join();
 * room.subscribe(() => render(room.snapshot.others));
 * window.onpointermove = (e) => room.update({ cursor: { x: e.clientX, y: e.clientY } });
 * ```
 */
export class RoomPresence<P extends JsonObject = JsonObject> {
  /** The room's channel. */
  readonly channel: Channel;
  readonly #presence: Presence;
  readonly #outbox: PresenceOutbox;
  readonly #graceMs: number;
  readonly #lostConnectionMs: number;
  readonly #listeners = new Set<() => void>();
  readonly #lostListeners = new Set<(event: LostConnectionEvent) => void>();
  readonly #refusalListeners = new Set<(event: PresenceRefusalEvent) => void>();
  #snapshot: RoomSnapshot<P>;
  #self: { key: string; member: string } | null = null;
  // Every member id this client has had: after a rejoin the old one lingers in the list
  // until the new presence_state, and it is not someone else.
  readonly #mine = new Set<string>();
  #transient: ReadonlySet<string> = new Set();
  // Every non-transient field the user set, latest value: a rejoin tracks a fresh meta,
  // so they are sent again.
  #desired: JsonObject = {};
  // Local values the server has not echoed yet (or refused).
  readonly #overlay = new Map<string, OverlayEntry>();
  #myMeta: JsonObject | undefined;
  #live: readonly Other<P>[] = EMPTY as readonly Other<P>[];
  // Members announced as having left on purpose: no grace period for them.
  readonly #departed = new Set<string>();
  readonly #ghosts = new Map<string, { other: Other<P>; timer: ReturnType<typeof setTimeout> }>();
  #fromState = false;
  #flushTimer: ReturnType<typeof setTimeout> | undefined;
  #lostTimer: ReturnType<typeof setTimeout> | undefined;
  #lost = false;
  #everConnected = false;
  #disposed = false;

  constructor(channel: Channel, options: RoomPresenceOptions<P> = {}) {
    this.channel = channel;
    this.#outbox = new PresenceOutbox(options.throttleMs ?? 100);
    this.#graceMs = options.graceMs ?? 5000;
    this.#lostConnectionMs = options.lostConnectionMs ?? 5000;
    this.#snapshot = { status: "connecting", self: null, myPresence: {} as P, others: this.#live };
    // Bound before Presence's own binding, so a sync knows it came from a full state.
    channel.on(PresenceEvent.state, () => {
      this.#fromState = true;
    });
    this.#presence = new Presence(channel);
    this.#presence.onSync(() => this.#sync());
    channel.on(PresenceEvent.self, (payload) => this.#onSelf(payload));
    channel.on(PresenceEvent.left, (payload) => this.#onLeft(payload));
    channel.onError(() => this.#setStatus(this.#everConnected ? "reconnecting" : "connecting"));
    channel.onClose(() => this.#setStatus("disconnected"));
    if (options.initialPresence) this.update(options.initialPresence);
  }

  /** What the room shows now; a new object after every change, the same one otherwise. */
  get snapshot(): RoomSnapshot<P> {
    return this.#snapshot;
  }

  /** Calls `listener` after every change of {@link snapshot}; returns the unsubscribe. */
  readonly subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };

  /** Reports when a drop of the user's connection is lost (long) and restored; returns the unsubscribe. */
  onLostConnection(listener: (event: LostConnectionEvent) => void): () => void {
    this.#lostListeners.add(listener);
    return () => this.#lostListeners.delete(listener);
  }

  /** Reports updates the server refused; returns the unsubscribe. */
  onRefusal(listener: (event: PresenceRefusalEvent) => void): () => void {
    this.#refusalListeners.add(listener);
    return () => this.#refusalListeners.delete(listener);
  }

  /**
   * Sets fields of the user's presence. They show in `myPresence` at once; they are sent
   * at once if nothing was sent in the last `throttleMs`, else coalesced with what follows
   * into one update at the end of the period. Fields that already have these values are
   * not sent (transient ones always are: that restarts their quiet period).
   */
  update(patch: Partial<P>): void {
    if (this.#disposed) return;
    const changes = changedFields(patch as JsonObject, this.#snapshot.myPresence, this.#transient);
    const fields = Object.entries(changes);
    if (fields.length === 0) return;
    for (const [field, value] of fields) {
      this.#overlay.set(field, { value, acked: false });
      if (!this.#transient.has(field)) this.#desired[field] = value;
    }
    this.#outbox.add(changes, Date.now());
    this.#flush();
    this.#publish();
  }

  /** Stops every timer and listener; the channel itself is the caller's to leave. */
  dispose(): void {
    this.#disposed = true;
    clearTimeout(this.#flushTimer);
    clearTimeout(this.#lostTimer);
    for (const { timer } of this.#ghosts.values()) clearTimeout(timer);
    this.#ghosts.clear();
    this.#listeners.clear();
    this.#lostListeners.clear();
    this.#refusalListeners.clear();
  }

  #onSelf(payload: unknown): void {
    if (!isJsonObject(payload)) return;
    const { key, member, transient } = payload;
    if (typeof key !== "string" || typeof member !== "string") return;
    this.#self = { key, member };
    this.#mine.add(member);
    this.#transient = new Set(isJsonObject(transient) ? Object.keys(transient) : []);
    this.#everConnected = true;
    this.#setStatus("connected");
    // A fresh track holds the server's initial values: what the user set goes again.
    if (Object.keys(this.#desired).length > 0) this.#outbox.add(this.#desired, Date.now());
    this.#flush();
    this.#sync();
  }

  #onLeft(payload: unknown): void {
    if (!isJsonObject(payload) || typeof payload.member !== "string") return;
    const member = payload.member;
    if (this.#ghosts.has(member)) {
      this.#dropGhost(member);
      this.#publish();
    } else if (this.#live.some((other) => other.member === member)) {
      // The leave itself follows in a presence_diff; a few are remembered until then.
      this.#departed.add(member);
      if (this.#departed.size > 64) this.#departed.delete(this.#departed.values().next().value!);
    }
  }

  #flush(): void {
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    if (this.#disposed || !this.#self || !this.#outbox.hasPending) return;
    const now = Date.now();
    const patch = this.#outbox.take(now);
    if (!patch) {
      this.#flushTimer = setTimeout(() => this.#flush(), this.#outbox.delay(now));
      return;
    }
    this.channel
      .push(PresenceEvent.update, patch)
      .receive("ok", (reply) => this.#acknowledged(patch, reply))
      .receive("error", (reply) => this.#refused(patch, reply))
      .receive("timeout", () => this.#refused(patch, { reason: "timeout" }));
  }

  #acknowledged(patch: JsonObject, reply: unknown): void {
    const unchanged = isJsonObject(reply) && reply.changed === false;
    for (const [field, value] of Object.entries(patch)) {
      const entry = this.#overlay.get(field);
      if (!entry || !jsonEqual(entry.value, value)) continue;
      // The echo comes with a diff, maybe after this reply: keep the value until a sync.
      if (unchanged) this.#overlay.delete(field);
      else entry.acked = true;
    }
    if (unchanged) this.#publish();
  }

  #refused(patch: JsonObject, reply: unknown): void {
    const response = isJsonObject(reply) ? reply : {};
    const reason = typeof response.reason === "string" ? response.reason : "unknown";
    const retryAfter = response.retry_after_ms;
    if (reason === "rate_limited" && typeof retryAfter === "number") {
      // Still wanted: the values the user has not changed since go again after the wait.
      const again: JsonObject = {};
      for (const [field, value] of Object.entries(patch)) {
        if (jsonEqual(this.#overlay.get(field)?.value, value)) again[field] = value;
      }
      this.#outbox.add(again, Date.now());
      clearTimeout(this.#flushTimer);
      this.#flushTimer = setTimeout(() => this.#flush(), retryAfter);
    } else {
      for (const [field, value] of Object.entries(patch)) {
        if (jsonEqual(this.#overlay.get(field)?.value, value)) this.#overlay.delete(field);
        if (jsonEqual(this.#desired[field], value)) delete this.#desired[field];
      }
      this.#publish();
    }
    for (const listener of [...this.#refusalListeners]) listener({ patch, reason, response });
  }

  #sync(): void {
    const fromState = this.#fromState;
    this.#fromState = false;
    const state = this.#presence.state;
    const self = this.#self;
    this.#myMeta = undefined;
    const previous = new Map(this.#live.map((other) => [other.member, other]));
    const live: Other<P>[] = [];
    for (const key of Object.getOwnPropertyNames(state)) {
      for (const meta of state[key]?.metas ?? []) {
        const member = typeof meta.member === "string" ? meta.member : meta.phx_ref;
        if (self && key === self.key && this.#mine.has(member)) {
          if (member === self.member) this.#myMeta = strip(meta);
          continue;
        }
        live.push(reuse(previous.get(member), key, member, strip(meta) as P));
      }
    }
    for (const [field, entry] of this.#overlay) {
      if (entry.acked || jsonEqual(entry.value, this.#myMeta?.[field])) this.#overlay.delete(field);
    }
    this.#graceDepartures(previous, live, fromState);
    this.#live = sameItems(this.#live, live) ? this.#live : live;
    this.#publish();
  }

  /**
   * Who left since the last sync stays listed as reconnecting for the grace period, unless
   * a new member of the same key came in (that is them, back). A full state (after the
   * user's own rejoin) is no news of a drop: who is not in it has left.
   */
  #graceDepartures(previous: Map<string, Other<P>>, live: Other<P>[], fromState: boolean): void {
    const liveMembers = new Set(live.map((other) => other.member));
    const arrivedKeys = new Set(
      live.filter((other) => !previous.has(other.member)).map((other) => other.key),
    );
    for (const [member, ghost] of this.#ghosts) {
      if (arrivedKeys.has(ghost.other.key) || fromState) this.#dropGhost(member);
    }
    if (fromState || this.#graceMs <= 0) return;
    for (const [member, other] of previous) {
      if (liveMembers.has(member)) continue;
      if (this.#departed.delete(member) || arrivedKeys.has(other.key)) continue;
      const timer = setTimeout(() => {
        this.#dropGhost(member);
        this.#publish();
      }, this.#graceMs);
      this.#ghosts.set(member, { other: { ...other, reconnecting: true }, timer });
    }
  }

  #dropGhost(member: string): void {
    clearTimeout(this.#ghosts.get(member)?.timer);
    this.#ghosts.delete(member);
  }

  #setStatus(status: RoomStatus): void {
    if (this.#snapshot.status === status) return;
    clearTimeout(this.#lostTimer);
    this.#lostTimer = undefined;
    if (status === "reconnecting") {
      this.#lostTimer = setTimeout(() => {
        this.#lost = true;
        for (const listener of [...this.#lostListeners]) listener("lost");
      }, this.#lostConnectionMs);
    } else if (status === "connected" && this.#lost) {
      this.#lost = false;
      for (const listener of [...this.#lostListeners]) listener("restored");
    }
    this.#snapshot = { ...this.#snapshot, status };
    this.#notify();
  }

  /** Rebuilds the snapshot from the parts, keeping every part that did not change. */
  #publish(): void {
    const current = this.#snapshot;
    const overlay = Object.fromEntries([...this.#overlay].map(([field, e]) => [field, e.value]));
    const mine = { ...this.#myMeta, ...overlay } as P;
    const myPresence = jsonEqual(mine, current.myPresence) ? current.myPresence : mine;
    const self =
      this.#self && this.#myMeta
        ? current.self?.member === this.#self.member &&
          current.self.key === this.#self.key &&
          current.self.presence === myPresence
          ? current.self
          : { key: this.#self.key, member: this.#self.member, presence: myPresence }
        : null;
    const ghosts = [...this.#ghosts.values()].map((ghost) => ghost.other);
    const others = ghosts.length === 0 ? this.#live : [...this.#live, ...ghosts];
    const sameOthers = sameItems(current.others, others);
    if (myPresence === current.myPresence && self === current.self && sameOthers) return;
    this.#snapshot = {
      status: current.status,
      self,
      myPresence,
      others: sameOthers ? current.others : others,
    };
    this.#notify();
  }

  #notify(): void {
    for (const listener of [...this.#listeners]) listener();
  }
}

/** The previous object for this member when nothing about it changed, else a new one. */
function reuse<P extends JsonObject>(
  previous: Other<P> | undefined,
  key: string,
  member: string,
  presence: P,
): Other<P> {
  if (previous && previous.key === key && jsonEqual(previous.presence, presence)) return previous;
  return { key, member, presence, reconnecting: false };
}

function sameItems<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((item, i) => item === b[i]);
}

/** The meta without the refs Presence manages. */
function strip(meta: PresenceMeta): JsonObject {
  const { phx_ref: _ref, phx_ref_prev: _prev, ...rest } = meta;
  return rest;
}
