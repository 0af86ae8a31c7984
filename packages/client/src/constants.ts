import { ChannelEvent, CloseCode } from "@tandem/protocol";

/** Default timeout in milliseconds for joins, leaves and pushes. */
export const DEFAULT_TIMEOUT = 10_000;

/** Default heartbeat interval, also used as the heartbeat reply timeout. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 30_000;

/** WebSocket close code for a normal closure. */
export const WS_CLOSE_NORMAL = CloseCode.normal;

/** The `readyState` values of the WebSocket API. */
export const SOCKET_STATES = { connecting: 0, open: 1, closing: 2, closed: 3 } as const;

/** What {@link Socket.connectionState} reports. */
export type ConnectionState = keyof typeof SOCKET_STATES;

/** The states of a channel's lifecycle. */
export const CHANNEL_STATES = {
  closed: "closed",
  errored: "errored",
  joined: "joined",
  joining: "joining",
  leaving: "leaving",
} as const;

/** One of {@link CHANNEL_STATES}. */
export type ChannelState = (typeof CHANNEL_STATES)[keyof typeof CHANNEL_STATES];

/** The protocol's reserved channel events. */
export const CHANNEL_EVENTS = {
  close: ChannelEvent.close,
  error: ChannelEvent.error,
  join: ChannelEvent.join,
  reply: ChannelEvent.reply,
  leave: ChannelEvent.leave,
} as const;
