/** The topic the transport answers itself, with no channel involved. */
export const PHOENIX_TOPIC = "phoenix";

/** Events the protocol reserves. Anything else belongs to the application. */
export const ChannelEvent = {
  join: "phx_join",
  leave: "phx_leave",
  reply: "phx_reply",
  error: "phx_error",
  close: "phx_close",
  heartbeat: "heartbeat",
} as const;

/** Events Presence uses by convention; clients may rename them. */
export const PresenceEvent = {
  state: "presence_state",
  diff: "presence_diff",
  /** Tandem's counts mode for large rooms: occupancy instead of every change. */
  summary: "presence_summary",
  /**
   * Client to server: set fields of one's own presence, `{field: value, ...}`, on a channel
   * that declares them (Tandem's client-set presence). Replies `ok` with `{changed}`, or
   * `error` with `{reason}`.
   */
  update: "presence_update",
  /**
   * Server to client: which presence is the client's own, `{key, member, transient}`, sent
   * when a channel with client-set presence tracks it.
   */
  self: "presence_self",
  /**
   * Server to clients: `{member}` left the topic on purpose (`phx_leave`), so clients need
   * not keep it listed as reconnecting.
   */
  left: "presence_left",
} as const;

/** The `vsn` query parameter the official client sends: the V2 JSON serializer. */
export const DEFAULT_VSN = "2.0.0";

/** The WebSocket subprotocol both sides negotiate when the client sends an auth token. */
export const SUBPROTOCOL = "phoenix";

/**
 * Prefix of the `Sec-WebSocket-Protocol` entry that carries the client's auth token.
 * Despite its name the client encodes the token in standard base64 (`btoa`) without padding.
 */
export const AUTH_TOKEN_PREFIX = "base64url.bearer.phx.";

/** Path segment under a socket's mount point at which the WebSocket transport is served. */
export const WEBSOCKET_PATH = "websocket";

/** Path segment under a socket's mount point at which the long-poll transport is served. */
export const LONGPOLL_PATH = "longpoll";

/** WebSocket close codes with a meaning in this protocol. */
export const CloseCode = {
  normal: 1000,
  /** Server-forced disconnect (the socket-id "disconnect" broadcast). */
  goingAway: 1001,
  /** A frame that does not decode as a message. */
  invalidPayload: 1007,
  /** Policy violation: limits such as the channel count or rate limits. */
  policyViolation: 1008,
  /** A frame larger than the configured maximum. */
  messageTooBig: 1009,
  /** The server is restarting or draining; reconnect elsewhere. */
  serviceRestart: 1012,
} as const;
