import {
  AUTH_TOKEN_PREFIX,
  ChannelEvent,
  DEFAULT_VSN,
  PHOENIX_TOPIC,
  SUBPROTOCOL,
  WEBSOCKET_PATH,
} from "@tandem/protocol";
import { defaultReconnectAfterMs, defaultRejoinAfterMs, jitteredBackoff } from "./backoff.js";
import { Channel, type ChannelParams, stateChangeRefsOf } from "./channel.js";
import { Connection, type ConnectionOwner } from "./connection.js";
import {
  CHANNEL_EVENTS,
  type ConnectionState,
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_TIMEOUT,
  SOCKET_STATES,
  WS_CLOSE_NORMAL,
} from "./constants.js";
import { LongPoll } from "./long-poll.js";
import { appendParams } from "./params.js";
import {
  type Decode,
  type Encode,
  type IncomingMessage,
  type OutgoingMessage,
  serializer,
} from "./serializer.js";
import { type Backoff, Timer } from "./timer.js";
import type {
  Transport,
  TransportCloseEvent,
  TransportConstructor,
  TransportMessageEvent,
} from "./transport.js";

/** Receives the socket's diagnostics: `kind` is "transport", "push", "receive" or "channel". */
export type Logger = (kind: string, msg: string, data?: unknown) => void;

/** Connect params, or a function producing them on every connect (to refresh tokens). */
export type SocketParams = object | (() => object);

/** Runs when a connection opens. */
export type OpenCallback = () => void;
/** Runs when a connection closes, with the transport's close event. */
export type CloseCallback = (event: TransportCloseEvent) => void;
/**
 * Runs on a transport error, with the transport class in use and the number of
 * connections that had opened, both as they were before the error was handled.
 */
export type ErrorCallback = (
  error: unknown,
  transport: TransportConstructor,
  establishedConnections: number,
) => void;
/** Runs for every decoded incoming message. */
export type MessageCallback = (msg: IncomingMessage) => void;

/** Options of {@link Socket}. Names and defaults are those of the `phoenix` client. */
export interface SocketOptions {
  /**
   * The transport class: a WebSocket class or {@link LongPoll}. Defaults to the global
   * `WebSocket`, else `LongPoll`; in Node, pass the `WebSocket` of the `ws` package.
   */
  transport?: TransportConstructor;
  /**
   * Opt-in: how long (ms) the WebSocket may take to open, and then to answer a ping,
   * before the socket falls back to {@link LongPoll}; an error before it opens falls back
   * at once. A fallback is remembered for the browser session (`sessionStorage`), unless
   * a WebSocket ever worked. Off by default, as in phoenix (which suggests 2500).
   */
  longPollFallbackMs?: number;
  /** The longest a long-poll request may take (ms) before the transport gives up. Default 20000. */
  longpollerTimeout?: number;
  /** Where a long-poll fallback is remembered. Default the global `sessionStorage`, if any. */
  sessionStorage?: Pick<Storage, "getItem" | "setItem">;
  /** Default timeout in milliseconds for joins, leaves and pushes. Default 10000. */
  timeout?: number;
  /** Heartbeat interval, also the heartbeat reply timeout. Default 30000. */
  heartbeatIntervalMs?: number;
  /**
   * Reconnect delay for attempt `tries` (1-based). Default
   * `[10, 50, 100, 150, 200, 250, 500, 1000, 2000][tries - 1] || 5000`.
   */
  reconnectAfterMs?: Backoff;
  /** Channel rejoin delay for attempt `tries` (1-based). Default `[1000, 2000, 5000][tries - 1] || 10000`. */
  rejoinAfterMs?: Backoff;
  /**
   * Opt-in: shorten each reconnect delay by a random fraction of up to this ratio
   * (0 to 1), see {@link jitteredBackoff}. Off by default.
   */
  reconnectJitter?: number;
  /** Receives diagnostics. Default none. */
  logger?: Logger;
  /** Logs to the console when no `logger` is given. Default false. */
  debug?: boolean;
  /** Connect params, sent in the query string. An object or a function. Default `{}`. */
  params?: SocketParams;
  /**
   * A token sent in the `Sec-WebSocket-Protocol` header rather than the URL, exposed as
   * `connect_info.auth_token` on the server. A string or a function.
   */
  authToken?: string | (() => string);
  /** The transport's binary type. Default "arraybuffer". */
  binaryType?: string;
  /** The protocol version sent as `vsn`. Default "2.0.0". */
  vsn?: string;
  /** Encodes outgoing messages. Default: the V2 serializer. */
  encode?: Encode;
  /** Decodes incoming frames. Default: the V2 serializer. */
  decode?: Decode;
}

/** The key under which a fallback to long-poll is remembered, as phoenix names it. */
const FALLBACK_KEY = "phx:fallback:LongPoll";

function globalSessionStorage(): Pick<Storage, "getItem" | "setItem"> | undefined {
  try {
    return (globalThis as { sessionStorage?: Storage }).sessionStorage;
  } catch {
    // Reading it throws where storage is denied (sandboxed frames, some privacy modes).
    return undefined;
  }
}

function globalWebSocket(): TransportConstructor | undefined {
  const candidate: unknown = (globalThis as { WebSocket?: unknown }).WebSocket;
  return typeof candidate === "function" ? (candidate as TransportConstructor) : undefined;
}

/**
 * A connection to a Phoenix-protocol server that multiplexes channels. It reconnects
 * with backoff when the connection drops, sends heartbeats, and buffers pushes while
 * offline.
 *
 * @example
 * import { WebSocket } from "ws"; // Node only; browsers have a global WebSocket
 * const socket = new Socket("ws://localhost:4000/socket", { transport: WebSocket, params: { token } });
 * socket.connect();
 */
export class Socket {
  /** Registered lifecycle callbacks as `[ref, callback]` pairs. */
  #stateChangeCallbacks: {
    open: [string, OpenCallback][];
    close: [string, CloseCallback][];
    error: [string, ErrorCallback][];
    message: [string, MessageCallback][];
  } = { open: [], close: [], error: [], message: [] };
  /** Channels created on this socket and not yet removed. */
  #channels: Channel[] = [];
  /** Sends waiting for the connection to open. */
  #sendBuffer: (() => void)[] = [];
  /** The last ref handed out by {@link Socket.makeRef}. */
  #ref = 0;
  /** Default timeout for joins, leaves and pushes. */
  readonly timeout: number;
  /** The transport class. */
  #transport: TransportConstructor;
  /** Connections that opened so far. */
  #establishedConnections = 0;
  /** The encoder in use. */
  readonly encode: Encode;
  /** The decoder in use. */
  readonly decode: Decode;
  /**
   * Whether the last close was one we asked for. Starts true so that a page becoming
   * visible does not connect a socket that never connected.
   */
  #closeWasClean = true;
  /** The transport's binary type. */
  readonly binaryType: string;
  /** The connection over the current transport instance, if any. */
  #connection: Connection | null = null;
  /**
   * Bumped on every connect, disconnect and transport replacement, so that deferred work
   * can tell whether the socket moved on in the meantime.
   */
  #connectClock = 1;
  /** The connection opened when the page was last shown. */
  #visibilityConnection: Connection | null = null;
  /** Heartbeat interval and reply timeout. */
  readonly heartbeatIntervalMs: number;
  /** Channel rejoin backoff. */
  readonly rejoinAfterMs: Backoff;
  /** Socket reconnect backoff. */
  readonly reconnectAfterMs: Backoff;
  /** The logger, if any. */
  #logger: Logger | null;
  /** Connect params, evaluated on every connect. */
  #params: () => object;
  /** The endpoint with the transport path appended, e.g. `"/socket/websocket"`. */
  readonly endPoint: string;
  /** The protocol version sent on connect. */
  readonly vsn: string;
  /** The auth token source, if any. */
  readonly #authToken: (() => string) | undefined;
  /** How long the WebSocket may take before falling back to long-poll; off if unset. */
  readonly longPollFallbackMs: number | undefined;
  /** The longest a long-poll request may take (ms). */
  readonly longpollerTimeout: number;
  /** Where a fallback to long-poll is remembered. */
  readonly #sessionStore: Pick<Storage, "getItem" | "setItem"> | undefined;
  /** Fires the fallback to long-poll when the WebSocket takes too long. */
  #fallbackTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  /** Refs of the current fallback attempt's open and error callbacks. */
  #fallbackRefs: string[] = [];
  /** Whether a WebSocket once answered a ping: a fallback is then not remembered. */
  #primaryPassedHealthCheck = false;
  /** Ref of the heartbeat awaiting its reply. */
  #pendingHeartbeatRef: string | null = null;
  /** Fires the next heartbeat. */
  #heartbeatTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  /** Fires when the pending heartbeat was not answered in time. */
  #heartbeatTimeoutTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  /** Reconnects with the reconnect backoff. */
  readonly #reconnectTimer: Timer;
  /** The socket's side of every connection: transport events come back through it. */
  readonly #connectionOwner: ConnectionOwner = {
    uses: (connection) => this.#connection === connection,
    onOpen: () => this.#onConnOpen(),
    onError: (error) => this.#onConnError(error),
    onMessage: (event) => this.#onConnMessage(event),
    onClose: (event) => this.#onConnClose(event),
  };
  /** Removes the page-lifecycle listeners when aborted, see {@link Socket.dispose}. */
  readonly #pageListeners = new AbortController();

  /**
   * @param endPoint - Where the socket is mounted: `"ws://host/socket"`, `"//host/socket"`
   *   or `"/socket"` (the page's host and scheme). `"/websocket"` is appended.
   * @param opts - See {@link SocketOptions}.
   */
  constructor(endPoint: string, opts: SocketOptions = {}) {
    this.#transport = opts.transport ?? globalWebSocket() ?? LongPoll;
    this.longPollFallbackMs = opts.longPollFallbackMs;
    this.longpollerTimeout = opts.longpollerTimeout || 20_000;
    this.#sessionStore = opts.sessionStorage ?? globalSessionStorage();
    this.timeout = opts.timeout || DEFAULT_TIMEOUT;
    this.encode = opts.encode ?? serializer.encode;
    this.decode = opts.decode ?? serializer.decode;
    this.binaryType = opts.binaryType || "arraybuffer";
    this.heartbeatIntervalMs = opts.heartbeatIntervalMs || DEFAULT_HEARTBEAT_INTERVAL_MS;
    this.rejoinAfterMs = opts.rejoinAfterMs ?? defaultRejoinAfterMs;
    const reconnectAfterMs = opts.reconnectAfterMs ?? defaultReconnectAfterMs;
    this.reconnectAfterMs = opts.reconnectJitter
      ? jitteredBackoff(reconnectAfterMs, opts.reconnectJitter)
      : reconnectAfterMs;
    this.#logger = opts.logger ?? null;
    if (!this.#logger && opts.debug) {
      this.#logger = (kind, msg, data) => console.log(`${kind}: ${msg}`, data);
    }
    this.#params = toThunk(opts.params ?? {});
    this.endPoint = `${endPoint}/${WEBSOCKET_PATH}`;
    this.vsn = opts.vsn || DEFAULT_VSN;
    const token = opts.authToken;
    this.#authToken = token ? (typeof token === "function" ? token : () => token) : undefined;
    this.#reconnectTimer = new Timer(() => {
      if (this.#pageHidden) {
        this.log("transport", "not reconnecting while the page is hidden");
        this.#teardown();
        return;
      }
      this.#teardownAndReconnect(() => this.connect());
    }, this.reconnectAfterMs);
    this.#listenToPageLifecycle();
  }

  /** How many connections opened so far; more than zero once the socket has connected. */
  get establishedConnections(): number {
    return this.#establishedConnections;
  }

  /**
   * Whether the last close was one we asked for (`disconnect()`), rather than a dropped
   * connection the socket reconnects. True before the first connect.
   */
  get closeWasClean(): boolean {
    return this.#closeWasClean;
  }

  /** The channels created on this socket and not yet removed, as a copy. */
  get channels(): readonly Channel[] {
    return this.#channels.slice();
  }

  /** The transport instance of the current connection, if any. */
  get conn(): Transport | null {
    return this.#connection?.transport ?? null;
  }

  /** Whether the page is hidden; always false outside browsers. */
  get #pageHidden(): boolean {
    return typeof document !== "undefined" && document.visibilityState === "hidden";
  }

  /** `"wss"` on an https page, `"ws"` otherwise. */
  protocol(): "ws" | "wss" {
    return typeof location !== "undefined" && location.protocol.startsWith("https") ? "wss" : "ws";
  }

  /** The URL to connect to, with params and `vsn` in the query string. */
  endPointURL(): string {
    const uri = appendParams(appendParams(this.endPoint, this.#params()), { vsn: this.vsn });
    if (uri.charAt(0) !== "/") return uri;
    if (uri.charAt(1) === "/") return `${this.protocol()}:${uri}`;
    if (typeof location === "undefined") {
      throw new Error(`cannot resolve "${this.endPoint}" without a page location: use a ws:// URL`);
    }
    return `${this.protocol()}://${location.host}${uri}`;
  }

  /**
   * Connects, unless a connection is already open or opening.
   *
   * @param params - Deprecated: pass `params` to the constructor instead.
   */
  connect(params?: SocketParams): void {
    if (params) this.#params = toThunk(params);
    if (this.#connection && !this.#connection.ended) return;
    if (this.longPollFallbackMs && this.#transport !== LongPoll) {
      this.#connectWithFallback(this.longPollFallbackMs);
    } else {
      this.#transportConnect();
    }
  }

  /** The long-poll transport class, as phoenix's `getLongPollTransport`. */
  getLongPollTransport(): typeof LongPoll {
    return LongPoll;
  }

  /**
   * Closes the connection and stops reconnecting. Waits briefly for queued data to be
   * sent first.
   *
   * @param callback - Runs once the transport closed (or the wait gave up).
   * @param code - A WebSocket close code.
   * @param reason - A close reason.
   */
  disconnect(callback?: () => void, code?: number, reason?: string): void {
    this.#connectClock++;
    this.#closeWasClean = true;
    clearTimeout(this.#fallbackTimer);
    this.#reconnectTimer.reset();
    // Connecting again opens a new connection at once instead of waiting for this one.
    if (this.#connection) this.#connection.ended = true;
    this.#teardown(callback, code, reason);
  }

  /**
   * Disconnects and removes the socket's page-lifecycle listeners (`pagehide`,
   * `pageshow`, `visibilitychange`, `resume`), so that nothing on the page keeps the
   * socket alive. Call it when done with a socket, for example when the component that
   * made it unmounts. Calling it again does nothing more. A disposed socket can still
   * connect, but no longer follows the page's lifecycle.
   */
  dispose(): void {
    if (this.#pageListeners.signal.aborted) return;
    this.#pageListeners.abort();
    this.disconnect();
  }

  /**
   * Switches to another transport class. The current connection is dropped without
   * reconnecting; call {@link Socket.connect} afterwards.
   *
   * @returns The connect clock after the switch.
   */
  replaceTransport(newTransport: TransportConstructor): number {
    const connectClock = ++this.#connectClock;
    this.#closeWasClean = true;
    clearTimeout(this.#fallbackTimer);
    this.#reconnectTimer.reset();
    // Replaced first, as the channel error callbacks below may already connect again.
    this.#transport = newTransport;
    const connection = this.#connection;
    if (connection) {
      const wasOpen = connection.isOpen();
      this.#connection = null;
      connection.ended = true;
      connection.close();
      this.#clearHeartbeats();
      // Pushes in flight on the old connection are lost, so channels must rejoin.
      if (wasOpen) this.#triggerChanError("connection_closed", connection);
    }
    return connectClock;
  }

  /** Sends a diagnostic to the logger, if there is one. */
  log(kind: string, msg: string, data?: unknown): void {
    this.#logger?.(kind, msg, data);
  }

  /** Whether a logger is set; check it before building expensive log messages. */
  hasLogger(): boolean {
    return this.#logger !== null;
  }

  /** Runs `callback` whenever a connection opens. @returns A ref for {@link Socket.off}. */
  onOpen(callback: OpenCallback): string {
    const ref = this.makeRef();
    this.#stateChangeCallbacks.open.push([ref, callback]);
    return ref;
  }

  /** Runs `callback` whenever a connection closes. @returns A ref for {@link Socket.off}. */
  onClose(callback: CloseCallback): string {
    const ref = this.makeRef();
    this.#stateChangeCallbacks.close.push([ref, callback]);
    return ref;
  }

  /** Runs `callback` on transport errors. @returns A ref for {@link Socket.off}. */
  onError(callback: ErrorCallback): string {
    const ref = this.makeRef();
    this.#stateChangeCallbacks.error.push([ref, callback]);
    return ref;
  }

  /** Runs `callback` for every incoming message. @returns A ref for {@link Socket.off}. */
  onMessage(callback: MessageCallback): string {
    const ref = this.makeRef();
    this.#stateChangeCallbacks.message.push([ref, callback]);
    return ref;
  }

  /** Removes the lifecycle callbacks registered under `refs`. */
  off(refs: readonly string[]): void {
    const keep = <T>([ref]: [string, T]) => !refs.includes(ref);
    const cbs = this.#stateChangeCallbacks;
    cbs.open = cbs.open.filter(keep);
    cbs.close = cbs.close.filter(keep);
    cbs.error = cbs.error.filter(keep);
    cbs.message = cbs.message.filter(keep);
  }

  /**
   * Measures the round trip to the server with a heartbeat.
   *
   * @param callback - Receives the round-trip time in milliseconds.
   * @returns False, without sending, if the socket is not connected.
   */
  ping(callback: (rttMs: number) => void): boolean {
    const connection = this.#connection;
    if (!connection || !this.isConnected()) return false;
    const ref = this.makeRef();
    const start = Date.now();
    connection.pings.set(ref, () => callback(Date.now() - start));
    this.push({ topic: PHOENIX_TOPIC, event: ChannelEvent.heartbeat, payload: {}, ref });
    return true;
  }

  /** `"connecting"`, `"open"`, `"closing"` or `"closed"`, from the transport's readyState. */
  connectionState(): ConnectionState {
    switch (this.conn?.readyState) {
      case SOCKET_STATES.connecting:
        return "connecting";
      case SOCKET_STATES.open:
        return "open";
      case SOCKET_STATES.closing:
        return "closing";
      default:
        return "closed";
    }
  }

  /** Whether the connection is open. */
  isConnected(): boolean {
    return this.connectionState() === "open";
  }

  /** Forgets a channel and its lifecycle callbacks. Called when the channel closes. */
  remove(channel: Channel): void {
    this.off(stateChangeRefsOf(channel));
    this.#channels = this.#channels.filter((c) => c !== channel);
  }

  /**
   * Creates a channel for `topic`. Several channels may share a topic; joining one leaves
   * the others.
   *
   * @param topic - The topic, for example `"room:lobby"`.
   * @param chanParams - Join params, or a function producing them on every (re)join.
   */
  channel(topic: string, chanParams: ChannelParams = {}): Channel {
    const channel = new Channel(topic, chanParams, this);
    this.#channels.push(channel);
    return channel;
  }

  /**
   * Sends a message now if connected, or when the connection opens. A buffered message
   * of a channel that rejoined or closed in the meantime is dropped.
   *
   * @param data - The message.
   * @param channel - The channel it belongs to, if any.
   */
  push(data: OutgoingMessage, channel?: Channel): void {
    if (this.hasLogger()) {
      const { topic, event, payload, ref, join_ref } = data;
      this.log("push", `${topic} ${event} (${join_ref}, ${ref})`, payload);
    }
    if (this.isConnected()) {
      this.#send(data, channel);
    } else {
      this.#sendBuffer.push(() => {
        if (!this.#isOutdated(data, channel)) this.#send(data, channel);
      });
    }
  }

  /** The next ref, as a string; wraps to 0 if the counter stops increasing. */
  makeRef(): string {
    this.#ref = nextRef(this.#ref);
    return this.#ref.toString();
  }

  /**
   * Leaves any other joined or joining channel of `topic`, since the server closes the
   * old one when a topic is joined again on the same connection.
   */
  leaveOpenTopic(topic: string): void {
    const duplicate = this.#channels.find(
      (c) => c.topic === topic && (c.isJoined() || c.isJoining()),
    );
    if (duplicate) {
      this.log("transport", `leaving duplicate topic "${topic}"`);
      duplicate.leave();
    }
  }

  /** Sends a heartbeat and starts waiting for its reply. */
  #sendHeartbeat(): void {
    if (!this.isConnected()) return;
    this.#pendingHeartbeatRef = this.makeRef();
    this.push({
      topic: PHOENIX_TOPIC,
      event: ChannelEvent.heartbeat,
      payload: {},
      ref: this.#pendingHeartbeatRef,
    });
    this.#heartbeatTimeoutTimer = setTimeout(
      () => this.#heartbeatTimeout(),
      this.heartbeatIntervalMs,
    );
  }

  /** Sends everything buffered while offline. */
  #flushSendBuffer(): void {
    if (!this.isConnected() || this.#sendBuffer.length === 0) return;
    const buffered = this.#sendBuffer;
    this.#sendBuffer = [];
    for (const send of buffered) send();
  }

  /** Handles the transport opening: flush, reset backoff, start heartbeats. */
  #onConnOpen(): void {
    if (this.hasLogger()) this.log("transport", `connected to ${this.endPointURL()}`);
    this.#closeWasClean = false;
    this.#establishedConnections++;
    this.#flushSendBuffer();
    this.#reconnectTimer.reset();
    this.#resetHeartbeat();
    for (const [, callback] of this.#stateChangeCallbacks.open) callback();
  }

  /** Handles the transport closing: error channels, maybe reconnect. */
  #onConnClose(event: TransportCloseEvent): void {
    const connection = this.#connection;
    this.log("transport", "close", event);
    this.#clearHeartbeats();
    // We only close a connection to disconnect or to reconnect, and the code doing so
    // handles what comes next. Any other close is reconnected whatever its code, since
    // servers and proxies also close with 1000.
    const closedByUs = connection?.closing ?? false;
    this.#triggerChanError("connection_closed", connection);
    if (this.#stillUses(connection) && !closedByUs && !this.#closeWasClean) {
      this.#reconnectTimer.scheduleTimeout();
    }
    for (const [, callback] of this.#stateChangeCallbacks.close) callback(event);
  }

  /** Handles a transport error: notify callbacks, error channels. */
  #onConnError(error: unknown): void {
    const connection = this.#connection;
    this.log("transport", "error", error);
    const transportBefore = this.#transport;
    const establishedBefore = this.#establishedConnections;
    for (const [, callback] of this.#stateChangeCallbacks.error) {
      callback(error, transportBefore, establishedBefore);
    }
    this.#triggerChanError("connection_error", connection);
  }

  /** Decodes an incoming frame and dispatches it to channels and callbacks. */
  #onConnMessage(event: TransportMessageEvent): void {
    const connection = this.#connection;
    const wasOpen = connection?.isOpen() ?? false;
    let dispatching = false;
    try {
      this.decode(event.data, (msg) => {
        dispatching = true;
        this.#dispatch(connection, wasOpen, msg);
      });
    } catch (error) {
      // Errors from callbacks are the application's; only decoding errors are ours.
      if (dispatching) throw error;
      this.log("transport", "dropping a frame that does not decode", error);
    }
  }

  /**
   * Errors the channels after `connection` stopped being open. Several paths
   * notice that (error, close, teardown, heartbeat timeout); after the first, only the
   * channels whose current join travelled on that connection are errored, since callbacks
   * may already have joined others over a new connection.
   */
  #triggerChanError(reason: string, connection: Connection | null = this.#connection): void {
    let erroredBefore = false;
    if (connection && !connection.isOpen()) {
      erroredBefore = connection.channelsErrored;
      connection.channelsErrored = true;
    }
    const joins = this.#channels.map((channel) => [channel, channel.joinRef()] as const);
    for (const [channel, joinRef] of joins) {
      // An earlier callback may have rejoined this channel: then this error is not its.
      if (channel.joinRef() !== joinRef) continue;
      if (
        connection &&
        (erroredBefore || !connection.isCurrent()) &&
        !connection.carried(channel, joinRef)
      ) {
        continue;
      }
      if (!(channel.isErrored() || channel.isLeaving() || channel.isClosed())) {
        channel.trigger(CHANNEL_EVENTS.error, { source: "transport", reason });
      }
    }
  }

  #dispatch(connection: Connection | null, wasOpen: boolean, msg: IncomingMessage): void {
    // A decoder may be asynchronous, and the connection may have moved on meanwhile.
    if (connection !== this.#connection || (wasOpen && !connection?.isOpen())) return;
    const { topic, event, payload, ref, join_ref } = msg;
    if (ref && ref === this.#pendingHeartbeatRef) {
      this.#clearHeartbeats();
      this.#heartbeatTimer = setTimeout(() => this.#sendHeartbeat(), this.heartbeatIntervalMs);
    }
    if (this.hasLogger()) {
      const status = (payload as { status?: unknown } | null)?.status ?? "";
      this.log("receive", `${status} ${topic} ${event} ${ref ? `(${ref})` : ""}`, payload);
    }
    // Removal replaces these lists rather than mutating them, so iterating the current
    // ones is safe while callbacks remove channels or callbacks.
    for (const channel of this.#channels) {
      if (channel.isMember(topic, event, payload, join_ref)) {
        channel.trigger(event, payload, ref, join_ref);
      }
    }
    for (const [, callback] of this.#stateChangeCallbacks.message) callback(msg);
    const ping = ref ? connection?.pings.get(ref) : undefined;
    if (ref && ping) {
      connection?.pings.delete(ref);
      ping();
    }
  }

  #transportConnect(): void {
    const previous = this.#connection;
    this.#connectClock++;
    this.#closeWasClean = false;
    // A reconnect scheduled earlier would tear this connection down; its tries are kept
    // until a connection opens.
    this.#reconnectTimer.cancel();
    let protocols: string[] | undefined;
    if (this.#authToken) {
      const encoded = btoa(this.#authToken()).replace(/=/g, "");
      protocols = [SUBPROTOCOL, `${AUTH_TOKEN_PREFIX}${encoded}`];
    }
    const transport = new this.#transport(this.endPointURL(), protocols);
    transport.binaryType = this.binaryType;
    transport.timeout = this.longpollerTimeout;
    this.#connection = new Connection(this.#connectionOwner, transport);
    // An ended connection may still be open while its buffer drains; its channels must
    // rejoin on the new connection rather than wait for it to close.
    if (previous?.isOpen()) this.#triggerChanError("connection_closed", previous);
  }

  /**
   * Connects over the current transport, falling back to long-poll if it errors before
   * opening, or does not open and then answer a ping within `thresholdMs`; as phoenix.
   */
  #connectWithFallback(thresholdMs: number): void {
    // A previous attempt's callbacks must not act on this one.
    clearTimeout(this.#fallbackTimer);
    this.off(this.#fallbackRefs);
    let established = false;
    let primary = true;
    let connectClock = 0;
    const isCurrent = () => connectClock === this.#connectClock && !this.#closeWasClean;
    const fallback = (reason?: unknown) => {
      this.log("transport", "falling back to LongPoll...", reason);
      // The open callback stays, to remember the fallback once it connects.
      this.off([errorRef]);
      primary = false;
      if (this.replaceTransport(LongPoll) !== this.#connectClock) return;
      this.#transportConnect();
    };
    let errorRef = "";
    if (this.#sessionStore?.getItem(FALLBACK_KEY)) {
      fallback("memorized");
      return;
    }
    this.#fallbackTimer = setTimeout(fallback, thresholdMs);
    errorRef = this.onError((reason) => {
      if (!isCurrent()) return;
      if (primary && !established) {
        clearTimeout(this.#fallbackTimer);
        fallback(reason);
      }
    });
    const openRef = this.onOpen(() => {
      if (!primary) {
        // Reconnects stay on long-poll; one that opens is remembered, unless a callback
        // before this one disconnected.
        if (this.#transport !== LongPoll || this.#closeWasClean) return;
        if (!this.#primaryPassedHealthCheck) this.#sessionStore?.setItem(FALLBACK_KEY, "true");
        this.log("transport", "established LongPoll fallback");
        return;
      }
      if (!isCurrent()) return;
      established = true;
      // Open is not enough (a proxy may accept the upgrade and pass nothing): a ping
      // must come back within the threshold too.
      clearTimeout(this.#fallbackTimer);
      this.#fallbackTimer = setTimeout(fallback, thresholdMs);
      this.ping((rtt) => {
        this.log("transport", "connected to primary after", rtt);
        this.#primaryPassedHealthCheck = true;
        clearTimeout(this.#fallbackTimer);
      });
    });
    this.#fallbackRefs = [errorRef, openRef];
    this.#transportConnect();
    connectClock = this.#connectClock;
  }

  #send(data: OutgoingMessage, channel?: Channel): void {
    const connection = this.#connection;
    if (!connection) return;
    // Recorded before encoding, so a teardown during an asynchronous encode still
    // makes the channel rejoin.
    if (channel && data.event === CHANNEL_EVENTS.join) {
      connection.joins.set(channel, data.join_ref ?? null);
    }
    this.encode(data, (frame) => {
      if (!connection.isCurrent() || !connection.isOpen()) return;
      // A leave must reach the server even though its channel is already gone locally.
      if (data.event !== CHANNEL_EVENTS.leave && this.#isOutdated(data, channel)) return;
      connection.transport.send(frame);
    });
  }

  /** Whether a push belongs to an earlier join of its channel, or the channel closed. */
  #isOutdated(data: OutgoingMessage, channel?: Channel): boolean {
    return !!channel && (data.join_ref !== channel.joinRef() || channel.isClosed());
  }

  #heartbeatTimeout(): void {
    if (!this.#pendingHeartbeatRef) return;
    const connection = this.#connection;
    this.#pendingHeartbeatRef = null;
    this.log("transport", "heartbeat timeout, reconnecting");
    this.#closeWasClean = false;
    // The connection is presumed dead: close it now rather than wait for its buffer, so
    // it no longer counts as connected when the channels error.
    connection?.close(WS_CLOSE_NORMAL, "heartbeat timeout");
    // Close and error callbacks may disconnect or connect, which wins over reconnecting.
    if (!this.#stillUses(connection)) return;
    this.#triggerChanError("heartbeat_timeout");
    if (!this.#stillUses(connection)) return;
    this.#teardownAndReconnect(() => this.#reconnectTimer.scheduleTimeout());
  }

  #resetHeartbeat(): void {
    if (this.conn?.skipHeartbeat) return;
    this.#clearHeartbeats();
    this.#heartbeatTimer = setTimeout(() => this.#sendHeartbeat(), this.heartbeatIntervalMs);
  }

  #clearHeartbeats(): void {
    clearTimeout(this.#heartbeatTimer);
    clearTimeout(this.#heartbeatTimeoutTimer);
    // A late reply to the pending heartbeat must not restart the heartbeats.
    this.#pendingHeartbeatRef = null;
  }

  /** Whether the socket still uses `connection` and has not given up on it. */
  #stillUses(connection: Connection | null): boolean {
    return this.#connection === connection && !connection?.ended;
  }

  /**
   * Tears the current connection down, then runs `reconnect` unless the socket was
   * disconnected or connected again meanwhile, which takes precedence.
   */
  #teardownAndReconnect(reconnect: () => void): void {
    const connection = this.#connection;
    const connectClock = this.#connectClock;
    this.#teardown(() => {
      if (connectClock !== this.#connectClock || connection?.ended) return;
      reconnect();
    });
  }

  #teardown(callback?: () => void, code?: number, reason?: string): void {
    const connection = this.#connection;
    if (!connection) {
      callback?.();
      return;
    }
    // The close event may arrive late or never reach onConnClose, and a heartbeat
    // timeout meanwhile would reconnect.
    this.#clearHeartbeats();
    waitFor(
      () => !connection.transport.bufferedAmount || !connection.isOpen(),
      () => {
        // A connection we already closed (heartbeat timeout, overlapping teardown) has
        // errored its channels already.
        if (!connection.closing) {
          const wasOpened = !connection.isConnecting();
          connection.close(code, reason);
          // Not left to onConnClose: the close event may come after we stop waiting, or
          // after a new connection replaced this one.
          if (wasOpened) this.#triggerChanError("connection_closed", connection);
        }
        waitFor(
          () => connection.transport.readyState === SOCKET_STATES.closed,
          () => {
            if (this.#connection === connection) this.#connection = null;
            callback?.();
          },
        );
      },
    );
  }

  #handleVisibilityChange(): void {
    if (this.#pageHidden) {
      this.#visibilityConnection = null;
      return;
    }
    // "resume" and "visibilitychange" can both fire on the way back: keep the connection
    // the first one started while it is still connecting.
    const connection = this.#connection;
    if (connection && connection === this.#visibilityConnection && connection.isConnecting()) {
      return;
    }
    if (!this.isConnected() && !this.#closeWasClean) {
      // A reconnect scheduled earlier would tear down the connection made here.
      this.#reconnectTimer.reset();
      this.#teardownAndReconnect(() => {
        this.connect();
        this.#visibilityConnection = this.#connection;
      });
    }
  }

  #listenToPageLifecycle(): void {
    if (typeof window === "undefined" || typeof window.addEventListener !== "function") return;
    const listening = { signal: this.#pageListeners.signal };
    let awaitingPageShow: number | null = null;
    window.addEventListener(
      "pagehide",
      () => {
        // An ended connection is only finishing its close, e.g. after disconnect().
        if (this.#connection && !this.#connection.ended) {
          this.disconnect();
          awaitingPageShow = this.#connectClock;
        }
      },
      listening,
    );
    window.addEventListener(
      "pageshow",
      () => {
        if (awaitingPageShow === this.#connectClock) {
          awaitingPageShow = null;
          this.connect();
        }
      },
      listening,
    );
    window.addEventListener("visibilitychange", () => this.#handleVisibilityChange(), listening);
    // Some Chrome versions do not reliably fire visibilitychange after a page resumes.
    window.document?.addEventListener("resume", () => this.#handleVisibilityChange(), listening);
  }
}

/** The ref counter after `ref`: 0 once adding 1 no longer changes it (past 2^53). */
export function nextRef(ref: number): number {
  const next = ref + 1;
  return next === ref ? 0 : next;
}

function toThunk(params: SocketParams): () => object {
  return typeof params === "function" ? (params as () => object) : () => params;
}

/**
 * Polls `done` up to four times, 150 ms, 300 ms, ... apart, then runs `next` whether or
 * not it became true: a stuck transport must not block a disconnect forever.
 */
function waitFor(done: () => boolean, next: () => void, tries = 1): void {
  if (tries === 5 || done()) {
    next();
    return;
  }
  setTimeout(() => waitFor(done, next, tries + 1), 150 * tries);
}
