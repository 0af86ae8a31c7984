import {
  isJsonObject,
  type JsonObject,
  type JsonValue,
  jsonEqual,
  type Payload,
  PresenceEvent,
} from "@tandem/protocol";
import type { Assigns, ChannelContext, ClientPresenceHandler } from "../channel.js";
import { error, ok, type ReplyResult } from "../results.js";
import { makePhxRef } from "./phx-ref.js";
import type { PresenceRefusal, PresenceResult } from "./presence.js";
import { type RateLimit, RateLimiter } from "./rate-limit.js";
import type { StandardSchema, StandardSchemaIssue } from "./standard-schema.js";

/** A field that reverts by itself after a quiet period, e.g. a typing flag or a cursor. */
export interface TransientField {
  /** Quiet period after the client's last set of the field, in ms. */
  afterMs: number;
  /** The value the field takes back, e.g. `false` or `null`. */
  revert: JsonValue;
}

/** What a channel lets its clients set in their own presence: see {@link Presence.clientPresence}. */
export interface ClientPresenceOptions<A extends Assigns = Assigns> {
  /** The presence key of the channel's user, e.g. `(socket) => socket.assigns.userId`. */
  key(socket: ChannelContext<A>): string;
  /**
   * Validates one update: an object of the fields being set (a partial object schema, such
   * as zod's `z.object({...}).partial().strict()`). Any Standard Schema fits.
   */
  schema: StandardSchema<JsonObject>;
  /**
   * Fields only the server sets (identity, colour): an update naming one is refused
   * whatever the schema says. `member`, `phx_ref` and `phx_ref_prev` always are.
   */
  serverOwned?: readonly string[];
  /** Fields that revert by themselves after a quiet period, by name. */
  transient?: Readonly<Record<string, TransientField>>;
  /** Largest update accepted, in bytes of JSON. Default 1024. */
  maxBytes?: number;
  /**
   * Updates allowed per channel. Default 20 per 2 s: the client's default 100 ms
   * throttle fits with room to spare. `false` disables the limit.
   */
  rateLimit?: RateLimit | false;
}

/** Why a `presence_update` was refused: the `reason` of its error reply. */
export type ClientPresenceRefusal =
  | PresenceRefusal
  /** The payload is not a JSON object. */
  | "invalid_payload"
  /** The update is larger than `maxBytes`. */
  | "update_too_large"
  /** The update names a server-owned field (the reply's `field`). */
  | "server_owned"
  /** The schema refused the update (the reply's `issues`). */
  | "invalid";

/** The `presence_self` payload: which presence is the client's own. */
export interface PresenceSelf {
  /** The presence key the channel tracks the user under. */
  key: string;
  /** The `member` field of this channel's meta, unique per tracked channel. */
  member: string;
  /** Quiet periods of the transient fields, in ms, by name. */
  transient: Record<string, number>;
}

/** What {@link ClientPresence} needs from {@link Presence}. */
export interface OwnPresenceStore {
  /** Tracks `key` with `meta` for the channel, as {@link Presence.track} does. */
  track(socket: ChannelContext, key: string, meta: JsonObject): PresenceResult;
  /** Merges fields into the channel's meta, outside the per-connection budget. */
  merge(socket: ChannelContext, key: string, fields: JsonObject): PresenceResult;
  /** Broadcasts to every subscriber of `topic`, on every node. */
  announce(topic: string, event: string, payload: JsonObject): void;
}

const ALWAYS_SERVER_OWNED = ["member", "phx_ref", "phx_ref_prev"];
const MAX_ISSUES = 5;
const MAX_MESSAGE = 200;

/**
 * Lets the clients of a channel set fields of their own presence with `presence_update`,
 * within a schema, a size, a rate, and never the server's own fields. Made by
 * {@link Presence.clientPresence}; given to a channel as its `clientPresence`.
 */
export class ClientPresence<A extends Assigns = Assigns> implements ClientPresenceHandler<A> {
  readonly #options: ClientPresenceOptions<A>;
  readonly #store: OwnPresenceStore;
  readonly #serverOwned: ReadonlySet<string>;
  readonly #limiter: RateLimiter | null;
  readonly #maxBytes: number;
  readonly #transientPeriods: Record<string, number>;
  // Revert timers by owner, then field; an owner's go when its channel exits.
  readonly #timers = new Map<string, Map<string, ReturnType<typeof setTimeout>>>();

  constructor(options: ClientPresenceOptions<A>, store: OwnPresenceStore) {
    this.#options = options;
    this.#store = store;
    this.#serverOwned = new Set([...ALWAYS_SERVER_OWNED, ...(options.serverOwned ?? [])]);
    this.#maxBytes = options.maxBytes ?? 1024;
    this.#limiter =
      options.rateLimit === false
        ? null
        : new RateLimiter(options.rateLimit ?? { limit: 20, intervalMs: 2000 });
    this.#transientPeriods = Object.fromEntries(
      Object.entries(options.transient ?? {}).map(([field, t]) => [field, t.afterMs]),
    );
  }

  /**
   * Tracks the channel's user under its key with `meta` (server-owned fields and the
   * initial values of the others) plus a `member` id, and tells the client which presence
   * is its own with `presence_self`. Call it after the join, where `presence.track` goes.
   */
  track(socket: ChannelContext<A>, meta: JsonObject): PresenceResult {
    const key = this.#options.key(socket);
    const member = makePhxRef();
    const result = this.#store.track(socket as ChannelContext, key, { ...meta, member });
    if (!result.ok) return result;
    socket.onExit((reason) => {
      this.#clearOwner(socket.ownerId);
      // Only a leave is known to be on purpose: a dropped connection may come back.
      if (typeof reason === "object" && "shutdown" in reason && reason.shutdown === "left") {
        this.#store.announce(socket.topic, PresenceEvent.left, { member });
      }
    });
    const self: PresenceSelf = { key, member, transient: this.#transientPeriods };
    socket.push(PresenceEvent.self, self as unknown as JsonObject);
    return result;
  }

  /** Answers one `presence_update`: applies it to the sender's own presence, or says why not. */
  async handleUpdate(payload: Payload, socket: ChannelContext<A>): Promise<ReplyResult> {
    if (!isJsonObject(payload)) return refuse("invalid_payload");
    if (Buffer.byteLength(JSON.stringify(payload)) > this.#maxBytes) {
      return refuse("update_too_large", { max_bytes: this.#maxBytes });
    }
    const owned = this.#ownedField(payload);
    if (owned !== undefined) return refuse("server_owned", { field: owned });
    const checked = await this.#options.schema["~standard"].validate(payload);
    if (checked.issues) return refuse("invalid", { issues: describe(checked.issues) });
    const fields = checked.value;
    // A schema may transform or add defaults: what it returns must be safe too.
    if (!isJsonObject(fields)) return refuse("invalid_payload");
    const ownedAfter = this.#ownedField(fields);
    if (ownedAfter !== undefined) return refuse("server_owned", { field: ownedAfter });
    if (this.#limiter && !this.#limiter.take(socket.ownerId)) {
      return refuse("rate_limited", { retry_after_ms: this.#limiter.waitMs(socket.ownerId) });
    }
    const key = this.#options.key(socket);
    const result = this.#store.merge(socket as ChannelContext, key, fields);
    if (!result.ok) return refuse(result.reason);
    this.#schedule(socket, key, fields);
    return ok({ changed: result.changed });
  }

  /** Stops every revert timer; for shutdown and tests. */
  close(): void {
    for (const owner of [...this.#timers.keys()]) this.#clearOwner(owner);
  }

  #ownedField(fields: JsonObject): string | undefined {
    return Object.keys(fields).find((field) => this.#serverOwned.has(field));
  }

  /** (Re)starts the quiet period of each transient field set, unless set to its revert. */
  #schedule(socket: ChannelContext<A>, key: string, fields: JsonObject): void {
    const transient = this.#options.transient;
    if (!transient) return;
    for (const [field, value] of Object.entries(fields)) {
      const spec = transient[field];
      if (!spec) continue;
      this.#clear(socket.ownerId, field);
      if (jsonEqual(value, spec.revert)) continue;
      const timer = setTimeout(() => {
        this.#clear(socket.ownerId, field);
        this.#store.merge(socket as ChannelContext, key, { [field]: spec.revert });
      }, spec.afterMs);
      timer.unref?.();
      let timers = this.#timers.get(socket.ownerId);
      if (!timers) {
        timers = new Map();
        this.#timers.set(socket.ownerId, timers);
      }
      timers.set(field, timer);
    }
  }

  #clear(owner: string, field: string): void {
    const timers = this.#timers.get(owner);
    if (!timers) return;
    clearTimeout(timers.get(field));
    timers.delete(field);
    if (timers.size === 0) this.#timers.delete(owner);
  }

  #clearOwner(owner: string): void {
    for (const timer of this.#timers.get(owner)?.values() ?? []) clearTimeout(timer);
    this.#timers.delete(owner);
  }
}

function refuse(reason: ClientPresenceRefusal, details: JsonObject = {}): ReplyResult {
  return error({ reason, ...details });
}

/** The schema's issues as plain JSON, few and short: they go back over the wire. */
function describe(issues: readonly StandardSchemaIssue[]): JsonObject[] {
  return issues.slice(0, MAX_ISSUES).map((issue) => ({
    path: (issue.path ?? []).map((segment) =>
      String(typeof segment === "object" ? segment.key : segment),
    ),
    message: issue.message.slice(0, MAX_MESSAGE),
  }));
}
