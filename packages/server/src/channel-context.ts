import type { JsonObject } from "@tandem/protocol";
import type { Assigns, ChannelContext, RequestRef } from "./channel.js";
import type { ChannelHost, ChannelServer } from "./channel-server.js";
import type { ReplyResult, StopReason } from "./results.js";
import type { SharedMessage } from "./shared-message.js";

/**
 * The {@link ChannelContext} a channel's callbacks receive. Its methods live on the
 * prototype and forward to the channel, so each of the many open channels costs one
 * small object rather than a set of closures.
 */
export class BoundChannelContext<A extends Assigns> implements ChannelContext<A> {
  readonly #channel: ChannelServer<A>;
  readonly ownerId: string;
  readonly socketId: string | null;
  readonly connectionId: string;

  constructor(channel: ChannelServer<A>, ownerId: string, host: ChannelHost) {
    this.#channel = channel;
    this.ownerId = ownerId;
    this.socketId = host.socketId;
    this.connectionId = host.connectionId;
  }

  get topic(): string {
    return this.#channel.topic;
  }

  get joinRef(): string {
    return this.#channel.joinRef;
  }

  get ref(): string | null {
    return this.#channel.currentRef;
  }

  get closed(): boolean {
    return this.#channel.state === "closed";
  }

  get assigns(): A {
    return this.#channel.assigns;
  }

  assign(values: Partial<A>): void {
    this.#channel.assign(values);
  }

  push(event: string, payload: JsonObject | Uint8Array): void {
    this.#channel.pushEvent(event, payload);
  }

  pushShared(message: SharedMessage): void {
    this.#channel.pushShared(message);
  }

  broadcast(event: string, payload: JsonObject | Uint8Array): void {
    this.#channel.broadcastEvent(event, payload, false);
  }

  broadcastFrom(event: string, payload: JsonObject | Uint8Array): void {
    this.#channel.broadcastEvent(event, payload, true);
  }

  send(message: unknown): void {
    this.#channel.sendInfo(message);
  }

  sendAfter(ms: number, message: unknown): () => void {
    return this.#channel.sendInfoAfter(ms, message);
  }

  subscribe(topic: string): void {
    this.#channel.subscribeTopic(topic);
  }

  unsubscribe(topic: string): void {
    this.#channel.unsubscribeTopic(topic);
  }

  requestRef(): RequestRef {
    return this.#channel.requestRef();
  }

  replyTo(ref: RequestRef, result: ReplyResult): void {
    this.#channel.replyTo(ref, result);
  }

  onExit(callback: (reason: StopReason) => void): void {
    this.#channel.onExit(callback);
  }
}
