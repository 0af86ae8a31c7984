import {
  type Broadcast,
  ChannelEvent,
  type JsonObject,
  type JsonValue,
  type Message,
  PresenceEvent,
  type Serializer,
} from "@tandem/protocol";
import type {
  Assigns,
  BroadcastInfo,
  ChannelContext,
  ChannelDefinition,
  RequestRef,
} from "./channel.js";
import { BoundChannelContext } from "./channel-context.js";
import type { Logger } from "./logger.js";
import type { Metrics } from "./metrics.js";
import type { Fastlane, PubSub, Subscriber } from "./pubsub.js";
import {
  error,
  type HandleInfoResult,
  type HandleInResult,
  isCleanStop,
  ok,
  type ReplyResult,
  type StopReason,
} from "./results.js";
import type { SharedMessage } from "./shared-message.js";
import type { OutboundFrame } from "./text-bytes.js";

/** What a channel needs from the connection that carries it. */
export interface ChannelHost {
  readonly serializer: Serializer;
  readonly pubsub: PubSub;
  readonly socketId: string | null;
  readonly connectionId: string;
  readonly logger: Logger;
  readonly metrics: Metrics;
  write(frame: OutboundFrame): void;
  channelExited(channel: ChannelServer): void;
}

type ChannelState = "joining" | "joined" | "closed";
type Task = () => unknown;

let ownerSequence = 0;

/**
 * How long a join reply waits for the bus to confirm a new subscription. A bus that slow
 * is failing: the join goes ahead, and the adapter's resubscribe catches up.
 */
const SUBSCRIBE_WAIT_MS = 2000;

/** Resolves when `promise` does, or after `ms`, whichever is first. */
async function within(promise: Promise<void>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  try {
    await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

// One intercept set per channel definition, shared by every channel of it.
const intercepts = new WeakMap<ChannelDefinition<never>, ReadonlySet<string>>();

function interceptSet(definition: ChannelDefinition<never>): ReadonlySet<string> {
  let set = intercepts.get(definition);
  if (!set) {
    set = new Set(definition.intercept ?? []);
    intercepts.set(definition, set);
  }
  return set;
}

/**
 * One joined topic on one connection: the Node counterpart of a Phoenix channel
 * process. Its callbacks run one at a time from a mailbox; an exception in any of them
 * ends this channel with `phx_error` and nothing else.
 *
 * It is also its own topic's subscriber and fastlane, so that a joined channel, of which a
 * server holds tens of thousands, costs no closures or side objects for either.
 */
export class ChannelServer<A extends Assigns = Assigns> implements Subscriber, Fastlane {
  readonly topic: string;
  readonly joinRef: string;
  /** What the definition's callbacks receive as this channel's context. */
  readonly context: ChannelContext<A>;
  #state: ChannelState = "joining";
  #currentRef: string | null = null;
  #assigns: A;
  readonly #definition: ChannelDefinition<A>;
  readonly #host: ChannelHost;
  // Arrays here exist only while they hold something: a pushed-to empty array keeps room
  // for 17 elements, which across tens of thousands of idle channels adds up.
  #mailbox: Task[] | undefined;
  // The mailbox stays paused until the join reply is on the wire.
  #draining = true;
  // Allocated on first use: most channels never set a timer nor follow another topic.
  #timers: Set<ReturnType<typeof setTimeout>> | undefined;
  #subscriptions: Map<string, () => void> | undefined;
  #exitCallbacks: ((reason: StopReason) => void)[] | undefined;
  readonly intercept: ReadonlySet<string>;

  constructor(
    definition: ChannelDefinition<A>,
    host: ChannelHost,
    topic: string,
    joinRef: string,
    assigns: A,
  ) {
    this.#definition = definition;
    this.#host = host;
    this.topic = topic;
    this.joinRef = joinRef;
    // Assigns are replaced, never mutated, so the caller's fresh object can be kept.
    this.#assigns = assigns;
    this.context = new BoundChannelContext(this, `${++ownerSequence}`, host);
    this.intercept = interceptSet(definition as ChannelDefinition<never>);
  }

  /** Broadcasts of this topic go straight to the connection, one encode for all. */
  get fastlane(): Fastlane {
    return this;
  }

  get serializer(): Serializer {
    return this.#host.serializer;
  }

  /** Writes a broadcast frame encoded for every subscriber (the fastlane). */
  write(frame: OutboundFrame): void {
    this.#host.write(frame);
  }

  /** An intercepted broadcast of this topic: through `handleOut`, in mailbox order. */
  deliver(broadcast: Broadcast): void {
    this.#enqueue(() => this.#handleOut(broadcast.event, broadcast.payload));
  }

  get state(): ChannelState {
    return this.#state;
  }

  /**
   * Runs the definition's `join`. Resolves with the reply to send; on refusal or crash
   * the channel has already exited. The caller writes the reply, then calls `start`.
   */
  async join(payload: JsonValue): Promise<ReplyResult> {
    let result: ReplyResult | undefined;
    try {
      result = (await this.#definition.join(this.topic, payload, this.context)) ?? ok();
    } catch (err) {
      this.#host.logger.error({ err, topic: this.topic }, "join crashed");
      this.#exit({ error: err }, false);
      return error({ reason: "join crashed" });
    }
    // The client may act on the reply at once (ask someone on another node to speak):
    // an accepted join waits until the bus confirms this node hears the topic's shard.
    const accepted = result.status === "ok";
    const pubsub = this.#host.pubsub;
    const release = accepted ? pubsub.hold(pubsub.shardOf(this.topic)) : undefined;
    try {
      const pending = accepted ? pubsub.pendingSubscription(this.topic) : undefined;
      if (pending) await within(pending, SUBSCRIBE_WAIT_MS);
      // The connection may have closed while an async join, or the bus, was pending.
      if (this.#state === "closed") return error({ reason: "join crashed" });
      if (result.status !== "ok") {
        this.#exit("shutdown", false);
        return result;
      }
      this.#state = "joined";
      this.#host.metrics.channels.inc();
      pubsub.subscribe(this.topic, this);
      return result;
    } finally {
      release?.();
    }
  }

  /** Starts running queued messages: called once the join reply has been written. */
  start(): void {
    this.#draining = false;
    void this.#drain();
  }

  /** A client event for this incarnation (the join_ref already matched). */
  handleIn(msg: Message): void {
    this.#enqueue(async () => {
      this.#currentRef = msg.ref;
      try {
        const { handleIn: handler, clientPresence } = this.#definition;
        const result: HandleInResult =
          clientPresence && msg.event === PresenceEvent.update
            ? await clientPresence.handleUpdate(msg.payload, this.context)
            : handler
              ? await handler(msg.event, msg.payload, this.context)
              : error({ reason: "unhandled event" });
        this.#applyHandleIn(msg.ref, result);
      } finally {
        this.#currentRef = null;
      }
    });
  }

  /** The client left: reply ok, exit, then confirm with phx_close. */
  leave(ref: string | null): void {
    this.#enqueue(() => {
      if (ref !== null) this.#writeReply(ref, ok());
      this.#exit({ shutdown: "left" }, true);
    });
  }

  /**
   * Ends the channel from outside (connection closed, duplicate join, shutdown). Nothing
   * is written: the connection decides what the client hears.
   */
  close(reason: StopReason): void {
    this.#exit(reason, false);
  }

  #applyHandleIn(ref: string | null, result: HandleInResult): void {
    if (!result) return;
    if (result.type === "reply") {
      if (ref !== null) this.#writeReply(ref, result);
      return;
    }
    if (result.reply && ref !== null) this.#writeReply(ref, result.reply);
    this.#exit(result.reason, true);
  }

  #applyInfo(result: HandleInfoResult): void {
    if (result) this.#exit(result.reason, true);
  }

  async #handleOut(event: string, payload: JsonObject | Uint8Array): Promise<void> {
    const handler = this.#definition.handleOut;
    if (!handler) {
      this.#writeMessage(event, payload);
      return;
    }
    this.#applyInfo(await handler(event, payload, this.context));
  }

  async #handleInfo(message: unknown): Promise<void> {
    const handler = this.#definition.handleInfo;
    if (!handler) {
      this.#host.logger.warn({ topic: this.topic }, "message sent to a channel without handleInfo");
      return;
    }
    this.#applyInfo(await handler(message, this.context));
  }

  #enqueue(task: Task): void {
    if (this.#state === "closed") return;
    if (this.#mailbox) this.#mailbox.push(task);
    else this.#mailbox = [task];
    if (!this.#draining) void this.#drain();
  }

  async #drain(): Promise<void> {
    this.#draining = true;
    while (this.#state !== "closed") {
      const task = this.#mailbox?.shift();
      if (task === undefined) break;
      try {
        await task();
      } catch (err) {
        this.#host.logger.error({ err, topic: this.topic }, "channel crashed");
        this.#exit({ error: err }, true);
      }
    }
    this.#mailbox = undefined;
    this.#draining = false;
  }

  /**
   * Leaves for good: timers and subscriptions go, exit callbacks (presence) run, the
   * connection forgets us, and the client hears phx_close or phx_error when `notify`.
   */
  #exit(reason: StopReason, notify: boolean): void {
    if (this.#state === "closed") return;
    const wasJoined = this.#state === "joined";
    this.#state = "closed";
    if (wasJoined) this.#host.metrics.channels.dec();
    this.#mailbox = undefined;
    for (const timer of this.#timers ?? []) clearTimeout(timer);
    this.#timers = undefined;
    if (wasJoined) this.#host.pubsub.unsubscribe(this.topic, this);
    for (const unsubscribe of this.#subscriptions?.values() ?? []) unsubscribe();
    this.#subscriptions = undefined;
    for (const callback of this.#exitCallbacks ?? []) {
      try {
        callback(reason);
      } catch (err) {
        this.#host.logger.error({ err, topic: this.topic }, "exit callback failed");
      }
    }
    this.#host.channelExited(this);
    if (wasJoined) void this.#terminate(reason);
    if (notify) {
      const clean = isCleanStop(reason);
      this.#writeFrame({
        join_ref: this.joinRef,
        ref: this.joinRef,
        topic: this.topic,
        event: clean ? ChannelEvent.close : ChannelEvent.error,
        payload: clean ? {} : { reason: "channel_crash" },
      });
    }
  }

  async #terminate(reason: StopReason): Promise<void> {
    const terminate = this.#definition.terminate;
    if (!terminate) return;
    try {
      await terminate(reason, this.context);
    } catch (err) {
      this.#host.logger.error({ err, topic: this.topic }, "terminate failed");
    }
  }

  #writeReply(ref: string, result: ReplyResult): void {
    this.#host.write(
      this.#host.serializer.encodeReply({
        join_ref: this.joinRef,
        ref,
        topic: this.topic,
        status: result.status,
        response: result.response,
      }),
    );
  }

  #writeMessage(event: string, payload: JsonObject | Uint8Array): void {
    this.#writeFrame({ join_ref: this.joinRef, ref: null, topic: this.topic, event, payload });
  }

  #writeFrame(msg: Message): void {
    this.#host.write(this.#host.serializer.encodeMessage(msg));
  }

  #requireJoined(action: string): void {
    if (this.#state !== "joined") {
      throw new Error(
        `cannot ${action} on "${this.topic}" ${this.#state === "joining" ? "before the join reply" : "after the channel closed"}`,
      );
    }
  }

  // -- what the ChannelContext handed to callbacks does --------------------------------------

  /** The ref of the client message being handled, or null. */
  get currentRef(): string | null {
    return this.#currentRef;
  }

  get assigns(): A {
    return this.#assigns;
  }

  assign(values: Partial<A>): void {
    this.#assigns = { ...this.#assigns, ...values };
  }

  pushEvent(event: string, payload: JsonObject | Uint8Array): void {
    this.#requireJoined("push");
    this.#writeMessage(event, payload);
  }

  pushShared(message: SharedMessage): void {
    if (message.topic !== this.topic) {
      throw new Error(`a message for "${message.topic}" cannot go out on "${this.topic}"`);
    }
    if (this.#state === "closed") return;
    this.#requireJoined("push");
    this.#host.write(message.frameFor(this.#host.serializer));
  }

  broadcastEvent(event: string, payload: JsonObject | Uint8Array, skipSelf: boolean): void {
    this.#requireJoined("broadcast");
    this.#host.pubsub.broadcast(this.topic, event, payload, skipSelf ? this : undefined);
  }

  sendInfo(message: unknown): void {
    this.#enqueue(() => this.#handleInfo(message));
  }

  sendInfoAfter(ms: number, message: unknown): () => void {
    if (this.#state === "closed") return () => {};
    this.#timers ??= new Set();
    const timers = this.#timers;
    const timer = setTimeout(() => {
      timers.delete(timer);
      this.sendInfo(message);
    }, ms);
    timers.add(timer);
    return () => {
      clearTimeout(timer);
      timers.delete(timer);
    };
  }

  subscribeTopic(topic: string): void {
    if (this.#state === "closed" || topic === this.topic || this.#subscriptions?.has(topic)) {
      return;
    }
    const subscriber: Subscriber = {
      deliver: (b) => {
        const info: BroadcastInfo = { kind: "broadcast", ...b };
        this.#enqueue(() => this.#handleInfo(info));
      },
    };
    this.#subscriptions ??= new Map();
    this.#subscriptions.set(topic, this.#host.pubsub.subscribe(topic, subscriber));
  }

  unsubscribeTopic(topic: string): void {
    this.#subscriptions?.get(topic)?.();
    this.#subscriptions?.delete(topic);
  }

  requestRef(): RequestRef {
    if (this.#currentRef === null) {
      throw new Error("requestRef() is only available while handling a client event with a ref");
    }
    return { topic: this.topic, joinRef: this.joinRef, ref: this.#currentRef };
  }

  replyTo(ref: RequestRef, result: ReplyResult): void {
    if (this.#state === "closed" || ref.joinRef !== this.joinRef) return;
    this.#writeReply(ref.ref, result);
  }

  onExit(callback: (reason: StopReason) => void): void {
    this.#exitCallbacks = this.#exitCallbacks ? [...this.#exitCallbacks, callback] : [callback];
  }
}
