import type { Channel } from "./channel.js";

/** A reply as routed to a push: the server's status and response. */
export interface PushReply {
  status: string;
  response: unknown;
}

interface ReceiveHook {
  status: string;
  callback: (response: unknown) => void;
}

/**
 * One message sent on a channel, and the reply it is waiting for. Register callbacks per
 * reply status with {@link Push.receive}; `"timeout"` is produced locally when no reply
 * arrives in time.
 *
 * @typeParam Res - The response of an `"ok"` reply.
 * @typeParam Err - The response of an `"error"` reply.
 */
export class Push<Res = unknown, Err = unknown> {
  /** The ref of the current send; a new one is taken every time the push is (re)sent. */
  #ref: string | null = null;
  /** The channel event a reply to the current ref is routed through. */
  #refEvent: string | null = null;
  /** The reply received for the current send, if any. */
  #receivedResp: PushReply | null = null;
  /** The pending timeout, if any. */
  #timeoutTimer: ReturnType<typeof setTimeout> | null = null;
  /** Callbacks by status, in registration order. */
  #recHooks: ReceiveHook[] = [];

  /**
   * @param channel - The channel to push on.
   * @param event - The event name, for example `"phx_join"`.
   * @param payload - Produces the payload on every send, so rejoins can carry fresh params.
   * @param timeout - How long to wait for a reply, in milliseconds.
   */
  constructor(
    readonly channel: Channel,
    readonly event: string,
    readonly payload: () => unknown,
    public timeout: number,
  ) {}

  /** The ref of the current send, null before the first; every (re)send takes a new one. */
  get ref(): string | null {
    return this.#ref;
  }

  /** Sends again with a new ref and, optionally, a new timeout. */
  resend(timeout: number): void {
    this.timeout = timeout;
    this.reset();
    this.send();
  }

  /** Sends the push, unless it already timed out: a timed-out push is never sent. */
  send(): void {
    if (this.hasReceived("timeout")) return;
    this.startTimeout();
    this.channel.socket.push(
      {
        topic: this.channel.topic,
        event: this.event,
        payload: this.payload(),
        ref: this.#ref,
        join_ref: this.channel.joinRef(),
      },
      this.channel,
    );
  }

  /**
   * Registers a callback for replies with `status`. If that reply already arrived, the
   * callback also runs at once. Returns the push so calls can be chained.
   */
  receive(status: "ok", callback: (response: Res) => void): this;
  receive(status: "error", callback: (response: Err) => void): this;
  receive(status: "timeout", callback: (response: Record<string, never>) => void): this;
  receive<R = unknown>(status: string, callback: (response: R) => void): this;
  receive(status: string, callback: (response: never) => void): this {
    // Replies are not validated at runtime: the response type is the caller's claim.
    const hook = callback as (response: unknown) => void;
    if (this.#receivedResp && this.#receivedResp.status === status) {
      hook(this.#receivedResp.response);
    }
    this.#recHooks.push({ status, callback: hook });
    return this;
  }

  /** Forgets the current send: its ref, its reply binding and any reply received. */
  reset(): void {
    this.#cancelRefEvent();
    this.#ref = null;
    this.#refEvent = null;
    this.#receivedResp = null;
  }

  /** Stops waiting for the timeout. */
  cancelTimeout(): void {
    clearTimeout(this.#timeoutTimer ?? undefined);
    this.#timeoutTimer = null;
  }

  /**
   * Takes a new ref, listens for its reply and starts the timeout. Called on every send;
   * the previous reply binding is dropped so buffered pushes do not leak bindings.
   */
  startTimeout(): void {
    if (this.#timeoutTimer) this.cancelTimeout();
    this.#cancelRefEvent();
    this.#ref = this.channel.socket.makeRef();
    const refEvent = this.channel.replyEventName(this.#ref);
    this.#refEvent = refEvent;
    this.channel.on<PushReply>(refEvent, (reply) => {
      this.#cancelRefEvent();
      this.cancelTimeout();
      this.#receivedResp = reply;
      this.#matchReceive(reply);
    });
    this.#timeoutTimer = setTimeout(() => this.trigger("timeout", {}), this.timeout);
  }

  /** Whether the reply for the current send has `status`. */
  hasReceived(status: string): boolean {
    return this.#receivedResp?.status === status;
  }

  /** Delivers a reply locally, as if the server had sent it. */
  trigger(status: string, response: unknown): void {
    if (this.#refEvent) this.channel.trigger(this.#refEvent, { status, response });
  }

  #matchReceive({ status, response }: PushReply): void {
    for (const hook of this.#recHooks.filter((h) => h.status === status)) hook.callback(response);
  }

  #cancelRefEvent(): void {
    if (this.#refEvent) this.channel.off(this.#refEvent);
  }
}
