import { CHANNEL_EVENTS, CHANNEL_STATES, type ChannelState } from "./constants.js";
import { Push } from "./push.js";
import type { Socket } from "./socket.js";
import { Timer } from "./timer.js";

/**
 * A channel event callback: the payload, the message's ref (set on replies) and the
 * join_ref of the channel incarnation it belongs to.
 */
export type BindingCallback<P = unknown> = (
  payload: P,
  ref: string | null | undefined,
  joinRef: string | null,
) => void;

/** A registered channel event callback. */
export interface Binding {
  event: string;
  ref: number;
  callback: BindingCallback;
}

/** Join params, or a function producing them on every (re)join. */
export type ChannelParams = object | (() => object);

/**
 * The socket callbacks a channel registered, which {@link Socket.remove} removes with it.
 * Internal to the package.
 */
export let stateChangeRefsOf: (channel: Channel) => readonly string[];

/**
 * A subscription to one topic over a {@link Socket}. Create it with `socket.channel()`,
 * then {@link Channel.join} once. The channel rejoins by itself after errors and
 * reconnects until {@link Channel.leave} is called or the server closes it.
 *
 * @example
 * const channel = socket.channel("room:lobby", { token });
 * channel.on<{ body: string }>("new_msg", (msg) => render(msg.body));
 * channel.join().receive("ok", () => console.log("joined"));
 */
export class Channel {
  static {
    stateChangeRefsOf = (channel) => channel.#stateChangeRefs;
  }

  /** Where the channel is in its lifecycle. */
  #state: ChannelState = CHANNEL_STATES.closed;
  /** Event callbacks, in registration order. */
  #bindings: Binding[] = [];
  /** The last binding ref handed out; per channel, separate from the socket's refs. */
  #bindingRef = 0;
  /** Default timeout for this channel's pushes: the socket's until `join(timeout)`. */
  timeout: number;
  /** Whether {@link Channel.join} was called: a channel instance joins only once. */
  #joinedOnce = false;
  /** The `phx_join` push, resent with a new ref on every rejoin. */
  readonly #joinPush: Push;
  /** Pushes made before the channel was joined, sent once the join succeeds. */
  #pushBuffer: Push[] = [];
  /** Retries the join with the socket's `rejoinAfterMs` backoff. */
  readonly #rejoinTimer: Timer;
  /** The socket callbacks this channel registered, removed with the channel. */
  readonly #stateChangeRefs: string[] = [];
  /** Join params, evaluated on every (re)join. */
  readonly #params: () => object;

  /**
   * Use `socket.channel(topic, params)` instead, which also registers the channel.
   *
   * @param topic - The topic, for example `"room:lobby"`.
   * @param params - Join params, or a function returning them on every join.
   * @param socket - The socket to join over.
   */
  constructor(
    readonly topic: string,
    params: ChannelParams | undefined,
    readonly socket: Socket,
  ) {
    const p = params ?? {};
    this.#params = typeof p === "function" ? (p as () => object) : () => p;
    this.timeout = socket.timeout;
    this.#joinPush = new Push(this, CHANNEL_EVENTS.join, () => this.#params(), this.timeout);
    this.#rejoinTimer = new Timer(() => {
      if (this.socket.isConnected()) this.rejoin();
    }, socket.rejoinAfterMs);

    this.#stateChangeRefs.push(socket.onError(() => this.#rejoinTimer.reset()));
    this.#stateChangeRefs.push(
      socket.onOpen(() => {
        this.#rejoinTimer.reset();
        if (this.isErrored()) this.rejoin();
      }),
    );

    this.#joinPush.receive("ok", () => {
      this.#state = CHANNEL_STATES.joined;
      this.#rejoinTimer.reset();
      const buffered = this.#pushBuffer;
      this.#pushBuffer = [];
      for (const push of buffered) push.send();
    });
    this.#joinPush.receive("error", () => {
      this.#state = CHANNEL_STATES.errored;
      // A refused join is retried like a crashed one, as phoenix does; call leave() in
      // an "error" callback to stop retrying.
      if (this.socket.isConnected()) this.#rejoinTimer.scheduleTimeout();
    });
    this.#joinPush.receive("timeout", () => {
      this.#log("timeout", this.#joinPush.timeout);
      // The server may have completed the join we stopped waiting for: undo it.
      new Push(this, CHANNEL_EVENTS.leave, () => ({}), this.timeout).send();
      this.#state = CHANNEL_STATES.errored;
      this.#joinPush.reset();
      if (this.socket.isConnected()) this.#rejoinTimer.scheduleTimeout();
    });

    this.onClose(() => {
      this.#rejoinTimer.reset();
      this.#log(`close ${this.joinRef()}`);
      this.#state = CHANNEL_STATES.closed;
      this.socket.remove(this);
    });
    this.onError((reason) => {
      this.#log("error", reason);
      if (this.isJoining()) this.#joinPush.reset();
      this.#state = CHANNEL_STATES.errored;
      if (this.socket.isConnected()) this.#rejoinTimer.scheduleTimeout();
    });
    this.on(CHANNEL_EVENTS.reply, (payload, ref) => {
      this.trigger(this.replyEventName(ref), payload);
    });
  }

  /** Where the channel is in its lifecycle. */
  get state(): ChannelState {
    return this.#state;
  }

  /** Whether {@link Channel.join} was called: a channel instance joins only once. */
  get joinedOnce(): boolean {
    return this.#joinedOnce;
  }

  /** The event callbacks, in registration order, as a copy. */
  get bindings(): readonly Binding[] {
    return this.#bindings.slice();
  }

  /**
   * Joins the channel. Call it once per instance; later rejoins happen by themselves.
   *
   * @param timeout - How long to wait for the join reply; also becomes the channel's
   *   default push timeout.
   * @returns The join push: use `receive("ok" | "error" | "timeout", cb)` on it.
   * @throws If the channel was already joined once.
   */
  join<Res = unknown, Err = unknown>(timeout: number = this.timeout): Push<Res, Err> {
    if (this.#joinedOnce) {
      throw new Error(
        "tried to join multiple times. 'join' can only be called a single time per channel instance",
      );
    }
    this.timeout = timeout;
    this.#joinedOnce = true;
    this.rejoin();
    // The reply types only narrow what receive() callbacks are declared to accept.
    return this.#joinPush as Push<Res, Err>;
  }

  /**
   * Leaves the channel. The channel closes locally at once (its close callbacks run and
   * it is removed from the socket); the `phx_leave` is still sent, or buffered while
   * offline, and the server's reply is not awaited.
   *
   * @param timeout - Timeout of the leave push.
   */
  leave(timeout: number = this.timeout): Push {
    this.#rejoinTimer.reset();
    this.#joinPush.cancelTimeout();
    this.#state = CHANNEL_STATES.leaving;
    const onClose = () => {
      this.#log("leave");
      this.trigger(CHANNEL_EVENTS.close, "leave");
    };
    const leavePush = new Push(this, CHANNEL_EVENTS.leave, () => ({}), timeout);
    leavePush.receive("ok", onClose).receive("timeout", onClose);
    leavePush.send();
    // While leaving, canPush() is always false, so this always resolves the leave here.
    if (!this.canPush()) leavePush.trigger("ok", {});
    return leavePush;
  }

  /**
   * Sends an event to the channel. Before the channel is joined, the push is buffered
   * and sent with a new ref once the join succeeds; its timeout runs from now.
   *
   * @typeParam Req - The payload type.
   * @typeParam Res - The response of an `"ok"` reply.
   * @typeParam Err - The response of an `"error"` reply.
   * @param event - The event name.
   * @param payload - A JSON-encodable object, or an `ArrayBuffer` for a binary frame.
   * @param timeout - How long to wait for a reply.
   * @throws If {@link Channel.join} was never called.
   */
  push<Req = object | ArrayBuffer, Res = unknown, Err = unknown>(
    event: string,
    payload?: Req,
    timeout: number = this.timeout,
  ): Push<Res, Err> {
    const body: unknown = payload || {};
    if (!this.#joinedOnce) {
      throw new Error(
        `tried to push '${event}' to '${this.topic}' before joining. Use channel.join() before pushing events`,
      );
    }
    const push = new Push<Res, Err>(this, event, () => body, timeout);
    if (this.canPush()) {
      push.send();
    } else {
      push.startTimeout();
      this.#pushBuffer.push(push);
    }
    return push;
  }

  /**
   * Subscribes to an event.
   *
   * @typeParam P - The payload type; not validated at runtime.
   * @returns A ref for {@link Channel.off}.
   */
  on<P = unknown>(event: string, callback: BindingCallback<P>): number {
    const ref = this.#bindingRef++;
    // Payloads are not validated at runtime: the payload type is the caller's claim.
    this.#bindings.push({ event, ref, callback: callback as BindingCallback });
    return ref;
  }

  /** Unsubscribes the binding with `ref` from `event`, or all of the event's bindings. */
  off(event: string, ref?: number): void {
    this.#bindings = this.#bindings.filter(
      (b) => !(b.event === event && (ref === undefined || ref === b.ref)),
    );
  }

  /** Runs `callback` when the channel closes: on `leave()` or when the server closes it. */
  onClose<P = unknown>(callback: BindingCallback<P>): number {
    return this.on(CHANNEL_EVENTS.close, callback);
  }

  /**
   * Runs `callback` when the channel errors: a crash on the server, or a transport
   * problem (`{source: "transport", reason}`). The channel then rejoins by itself.
   */
  onError<P = unknown>(callback: (reason: P) => void): number {
    return this.on<P>(CHANNEL_EVENTS.error, (reason) => callback(reason));
  }

  /**
   * A hook that sees every message before the event callbacks do. Override it to
   * transform payloads; it must return the payload, modified or not.
   */
  onMessage(
    _event: string,
    payload: unknown,
    _ref?: string | null,
    _joinRef?: string | null,
  ): unknown {
    return payload;
  }

  /** Whether a push would be sent now rather than buffered. */
  canPush(): boolean {
    return this.socket.isConnected() && this.isJoined();
  }

  /**
   * Whether an incoming message belongs to this channel: same topic, and either no
   * join_ref (a broadcast) or the join_ref of the current join.
   */
  isMember(topic: string, event: string, payload: unknown, joinRef: string | null): boolean {
    if (this.topic !== topic) return false;
    if (joinRef && joinRef !== this.joinRef()) {
      if (this.socket.hasLogger()) {
        this.socket.log("channel", "dropping outdated message", { topic, event, payload, joinRef });
      }
      return false;
    }
    return true;
  }

  /** The ref of the current join; null before joining and after a failed join attempt. */
  joinRef(): string | null {
    return this.#joinPush.ref;
  }

  /** Sends the join again with a new join_ref, unless the channel is leaving. */
  rejoin(timeout: number = this.timeout): void {
    if (this.isLeaving()) return;
    this.socket.leaveOpenTopic(this.topic);
    this.#state = CHANNEL_STATES.joining;
    this.#joinPush.resend(timeout);
  }

  /**
   * Dispatches an event to the channel's callbacks, as if it had arrived.
   * Callbacks bound during dispatch only see later events.
   */
  trigger(event: string, payload?: unknown, ref?: string | null, joinRef?: string | null): void {
    const handled = this.onMessage(event, payload, ref, joinRef);
    if (payload && !handled) {
      throw new Error(
        "channel onMessage callbacks must return the payload, modified or unmodified",
      );
    }
    const matching = this.#bindings.filter((b) => b.event === event);
    for (const binding of matching) binding.callback(handled, ref, joinRef || this.joinRef());
  }

  /** The internal event a reply to `ref` is routed through. */
  replyEventName(ref: string | null | undefined): string {
    return `chan_reply_${ref}`;
  }

  /** Whether the channel is closed. */
  isClosed(): boolean {
    return this.#state === CHANNEL_STATES.closed;
  }
  /** Whether the channel errored and waits to rejoin. */
  isErrored(): boolean {
    return this.#state === CHANNEL_STATES.errored;
  }
  /** Whether the channel is joined. */
  isJoined(): boolean {
    return this.#state === CHANNEL_STATES.joined;
  }
  /** Whether a join is in flight. */
  isJoining(): boolean {
    return this.#state === CHANNEL_STATES.joining;
  }
  /** Whether the channel is leaving. */
  isLeaving(): boolean {
    return this.#state === CHANNEL_STATES.leaving;
  }

  #log(what: string, data?: unknown): void {
    if (this.socket.hasLogger()) this.socket.log("channel", `${what} ${this.topic}`, data);
  }
}
