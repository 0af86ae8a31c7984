/**
 * Tandem's browser and Node client for Phoenix-protocol channels, API-compatible with
 * the `phoenix` npm client (1.8.16) over WebSocket and long-poll.
 *
 * A {@link Socket} holds one connection to the server and reconnects with backoff when
 * it drops. Channels multiplex topics over it: `socket.channel(topic, params)` creates
 * one, `join()` subscribes, `on(event, cb)` listens and `push(event, payload)` sends,
 * with replies matched by `receive(status, cb)` on the returned {@link Push}. Channels
 * rejoin by themselves after errors and reconnects, and pushes made while offline are
 * buffered until the channel is joined.
 *
 * {@link Presence} keeps a channel's `presence_state` / `presence_diff` in sync with the
 * exact semantics of phoenix's, and can report updates as updates (`onChange`).
 *
 * Payloads are JSON objects, or `ArrayBuffer`s, which travel as binary frames.
 *
 * In Node, pass the `ws` package's `WebSocket` as the `transport` option. Where
 * WebSockets do not get through, {@link LongPoll} carries the same protocol over HTTP:
 * pass it as the `transport`, or set `longPollFallbackMs` to fall back to it by itself.
 *
 * @example
 * import { Socket } from "@tandem/client";
 *
 * const socket = new Socket("/socket", { params: { token } });
 * socket.connect();
 * const room = socket.channel("room:lobby");
 * room.on<{ body: string }>("new_msg", (msg) => console.log(msg.body));
 * room.join().receive("ok", () => {
 *   room.push<{ body: string }, { id: string }>("new_msg", { body: "hi" })
 *     .receive("ok", (reply) => console.log("stored as", reply.id));
 * });
 *
 * @packageDocumentation
 * @module @tandem/client
 */
export {
  defaultReconnectAfterMs,
  defaultRejoinAfterMs,
  jitteredBackoff,
  RECONNECT_MAX_MS,
  RECONNECT_SCHEDULE,
  REJOIN_MAX_MS,
  REJOIN_SCHEDULE,
  steppedBackoff,
} from "./backoff.js";
export { type Binding, type BindingCallback, Channel, type ChannelParams } from "./channel.js";
export {
  CHANNEL_EVENTS,
  CHANNEL_STATES,
  type ChannelState,
  type ConnectionState,
  DEFAULT_TIMEOUT,
  SOCKET_STATES,
  WS_CLOSE_NORMAL,
} from "./constants.js";
export { LongPoll } from "./long-poll.js";
export {
  Presence,
  type PresenceChannel,
  type PresenceChooser,
  type PresenceOnJoin,
  type PresenceOnLeave,
  type PresenceOptions,
} from "./presence.js";
export {
  describeChange,
  type PresenceChange,
  type PresenceChangeCallback,
  type PresenceUpdate,
} from "./presence-updates.js";
export { Push, type PushReply } from "./push.js";
export {
  type Decode,
  type Encode,
  type IncomingMessage,
  type OutgoingMessage,
  serializer,
} from "./serializer.js";
export {
  type CloseCallback,
  type ErrorCallback,
  type Logger,
  type MessageCallback,
  type OpenCallback,
  Socket,
  type SocketOptions,
  type SocketParams,
} from "./socket.js";
export { type Backoff, Timer } from "./timer.js";
export type {
  Transport,
  TransportCloseEvent,
  TransportConstructor,
  TransportMessageEvent,
} from "./transport.js";
