import type { JsonObject, JsonValue, Payload } from "@tandem/protocol";
import type { HandleInfoResult, HandleInResult, ReplyResult, StopReason } from "./results.js";
import type { SharedMessage } from "./shared-message.js";

/** Socket-wide data set by `connect`, copied into each channel at join. */
export type Assigns = Record<string, unknown>;

/** A broadcast on a topic a channel subscribed to with `socket.subscribe`. */
export interface BroadcastInfo {
  readonly kind: "broadcast";
  readonly topic: string;
  readonly event: string;
  readonly payload: JsonObject | Uint8Array;
}

/** Identifies one request so a reply can be sent later, after `handleIn` has returned. */
export interface RequestRef {
  readonly topic: string;
  readonly joinRef: string;
  readonly ref: string;
}

/**
 * The channel's view of itself, handed to every callback: who the client is, which
 * topic this is, and how to talk to the client and to the topic.
 */
export interface ChannelContext<A extends Assigns = Assigns> {
  /** The topic this channel joined, e.g. `room:42`. */
  readonly topic: string;
  /** The join_ref of this incarnation of the channel. */
  readonly joinRef: string;
  /** The ref of the client message being handled, or null outside `handleIn`. */
  readonly ref: string | null;
  /** The socket id returned by the connection handler's `id`, if any. */
  readonly socketId: string | null;
  /** Unique per connection on this node; rate limits are kept per connection. */
  readonly connectionId: string;
  /** Unique per channel instance on this node; owns presence entries. */
  readonly ownerId: string;
  /**
   * Whether the channel has exited (left, crashed, or its connection dropped). A callback
   * that resumes after an `await` may find it so; Presence then refuses to track.
   */
  readonly closed: boolean;
  /** This channel's own copy of the socket's assigns. */
  readonly assigns: A;
  /** Merges values into this channel's assigns (other channels are unaffected). */
  assign(values: Partial<A>): void;
  /** Sends an event to this client only. */
  push(event: string, payload: JsonObject | Uint8Array): void;
  /**
   * Sends a message shared with other clients of this topic, encoded once for all of
   * them. Ignored once the channel has stopped.
   */
  pushShared(message: SharedMessage): void;
  /** Sends an event to every subscriber of the topic, this client included, on every node. */
  broadcast(event: string, payload: JsonObject | Uint8Array): void;
  /** Like `broadcast`, but not to this client. */
  broadcastFrom(event: string, payload: JsonObject | Uint8Array): void;
  /** Queues a message to this channel's own `handleInfo`, after what is already queued. */
  send(message: unknown): void;
  /** Queues a message to `handleInfo` after a delay; returns a function that cancels it. */
  sendAfter(ms: number, message: unknown): () => void;
  /** Subscribes this channel to another topic; broadcasts arrive in `handleInfo`. */
  subscribe(topic: string): void;
  /** Cancels a `subscribe`. */
  unsubscribe(topic: string): void;
  /** Captures the current request so it can be answered later with `replyTo`. */
  requestRef(): RequestRef;
  /** Answers a captured request. Ignored once the channel has stopped. */
  replyTo(ref: RequestRef, result: ReplyResult): void;
  /** Runs `callback` when the channel exits for any reason, crash included. */
  onExit(callback: (reason: StopReason) => void): void;
}

type MaybePromise<T> = T | Promise<T>;

/** Answers the client's `presence_update` events; {@link Presence.clientPresence} makes one. */
export interface ClientPresenceHandler<A extends Assigns = Assigns> {
  /** Applies one update to the sender's own presence, or refuses it with `{reason}`. */
  handleUpdate(payload: Payload, socket: ChannelContext<A>): MaybePromise<ReplyResult>;
}

/**
 * A channel: what happens when a client joins a topic, sends an event, or the server
 * sends the channel a message. Callbacks for one channel instance run one at a time, in
 * order. A callback that throws or rejects fails that channel alone: the client gets
 * `phx_error` and rejoins.
 */
export interface ChannelDefinition<A extends Assigns = Assigns> {
  /**
   * Authorises a join. Return `ok(reply)` (or nothing) to accept, `error(reply)` to refuse.
   * Pushing is not possible until the join reply is out: queue work with `socket.send`.
   */
  join(
    topic: string,
    payload: JsonValue,
    socket: ChannelContext<A>,
  ): MaybePromise<ReplyResult | undefined>;
  /** Handles a client event. Return a reply, `stop(...)`, or nothing for no reply. */
  handleIn?(
    event: string,
    payload: Payload,
    socket: ChannelContext<A>,
  ): MaybePromise<HandleInResult>;
  /** Handles `send`/`sendAfter` messages and broadcasts of extra subscriptions. */
  handleInfo?(message: unknown, socket: ChannelContext<A>): MaybePromise<HandleInfoResult>;
  /**
   * Lets clients set fields of their own presence: `presence_update` events go to it
   * (in order with the others) instead of `handleIn`.
   */
  clientPresence?: ClientPresenceHandler<A>;
  /** Events of this topic's broadcasts that go through `handleOut` instead of straight out. */
  intercept?: readonly string[];
  /** Rewrites or drops an intercepted broadcast for this client (push it to deliver it). */
  handleOut?(
    event: string,
    payload: JsonObject | Uint8Array,
    socket: ChannelContext<A>,
  ): MaybePromise<HandleInfoResult>;
  /** Runs once when the channel exits, whatever the reason (crashes included). */
  terminate?(reason: StopReason, socket: ChannelContext<A>): MaybePromise<void>;
}

/** Declares a channel with its assigns type inferred in callbacks. */
export function defineChannel<A extends Assigns = Assigns>(
  definition: ChannelDefinition<A>,
): ChannelDefinition<A> {
  return definition;
}
