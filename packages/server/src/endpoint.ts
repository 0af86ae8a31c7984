import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import {
  CloseCode,
  type JsonObject,
  LONGPOLL_PATH,
  type Serializer,
  SUBPROTOCOL,
  serializerForVsn,
  WEBSOCKET_PATH,
} from "@tandem/protocol";
import { WebSocketServer } from "ws";
import { takeAuthToken } from "./auth-token.js";
import type { Assigns } from "./channel.js";
import { ConnectBudgets } from "./connect-budgets.js";
import { Connection, type ConnectionLimits, idleClock } from "./connection.js";
import type { ConnectInfo, ConnectionHandler } from "./connection-handler.js";
import type { ConnectionSocket } from "./connection-socket.js";
import { defaultLogger, type Logger } from "./logger.js";
import { LongPoll, type Refusal } from "./long-poll.js";
import type { LongPollSession } from "./long-poll-session.js";
import { connectParamsOf } from "./long-poll-wire.js";
import { Metrics } from "./metrics.js";
import { type OriginCheck, originAllowed } from "./origin.js";
import { PubSub } from "./pubsub.js";
import type { Rate } from "./token-bucket.js";

/** Endpoint options; every limit has a safe default. */
export interface EndpointOptions {
  /** An HTTP server to attach to. Without one, `listen` creates its own. */
  server?: Server;
  /** Largest accepted frame in bytes; bigger frames close the socket with 1009. Default 1 MiB. */
  maxFrameSize?: number;
  /** Which origins may connect. Default: same host as the request. */
  checkOrigin?: OriginCheck;
  /** Close a connection that sends nothing for this long (ms). Default 60 000. */
  idleTimeoutMs?: number;
  /** Live channels allowed per connection. Default 100. */
  maxChannelsPerConnection?: number;
  /** Longest topic accepted. Default 255 characters. */
  maxTopicLength?: number;
  /** Deepest nesting of arrays and objects in a payload. Default 32. */
  maxPayloadDepth?: number;
  /** Longest event name accepted. Default 255 characters. */
  maxEventLength?: number;
  /** Longest `ref` / `join_ref`; a longer one closes the connection with 1008. Default 255. */
  maxRefLength?: number;
  /**
   * Messages per connection, heartbeats aside. Default 200 per second. Over it a message
   * is refused with a reply; a connection that keeps sending past as many refusals again
   * is closed with 1008.
   */
  messageRate?: Rate;
  /** Heartbeats per connection. Default 10 per 10 s (clients send one every 30 s). */
  heartbeatRate?: Rate;
  /**
   * Bytes of frames per connection, charged before decoding; over it the connection is
   * closed with 1008. Must let one frame of `maxFrameSize` through. Default: one
   * `maxFrameSize` per second, in bursts of as much.
   */
  byteRate?: Rate;
  /** Messages a connection may queue behind a join still pending. Default 256. */
  maxQueuedMessages?: number;
  /**
   * WebSocket upgrades per client, keyed by {@link EndpointOptions.clientKey}. Over it an
   * upgrade is refused with 429 and `Retry-After`, before `connect` runs: a client cut for
   * flooding cannot come straight back with a fresh budget. Off by default, because
   * behind a proxy every client has the proxy's address: set `clientKey` there.
   */
  connectRate?: Rate;
  /**
   * Who a client is, for `connectRate`. Default: the TCP peer's address. Behind a proxy,
   * read the address it forwards (only from a proxy you trust). null skips the budget.
   */
  clientKey?: (req: IncomingMessage) => string | null;
  /** Joins per connection. Default 200 per 10 s (a reconnect rejoins all channels at once). */
  joinRate?: Rate;
  /** Unread bytes after which a client is cut off as a slow consumer. Default 16 MiB. */
  maxBufferedBytes?: number;
  /**
   * How long a long-poll request waits for messages before it is answered empty (ms); a
   * session not polled for 1.5 times as long is closed. Default 10 000, as Phoenix.
   */
  longPollWindowMs?: number;
  /** Shared subscriptions; pass one to join endpoints or add a cluster adapter. */
  pubsub?: PubSub;
  logger?: Logger;
  /** Also export Node process metrics (CPU, memory, event loop) at /metrics. Default true. */
  processMetrics?: boolean;
}

/** How `close` drains live connections. */
export interface CloseOptions {
  /** Connections closed per batch. Default 100. */
  batchSize?: number;
  /** Pause between batches (ms), so clients reconnect elsewhere gradually. Default 20. */
  batchIntervalMs?: number;
  /** After this long (ms), connections still open are cut. Default 5000. */
  timeoutMs?: number;
}

/**
 * Answers an HTTP request and returns true, or returns false to leave it to the next
 * handler. See {@link Endpoint.addHttpHandler}.
 */
export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

interface Mount {
  /** The mount point, without a trailing slash. */
  path: string;
  handler: ConnectionHandler<Assigns>;
}

/** A connect attempt the endpoint's checks and the handler's `connect` let through. */
interface Admitted {
  serializer: Serializer;
  handler: ConnectionHandler<Assigns>;
  assigns: Assigns;
  socketId: string | null;
}

/**
 * Serves sockets over WebSocket at `<path>/websocket` and over long-poll at
 * `<path>/longpoll`, and owns the connections: the entry point of a Tandem server.
 */
export class Endpoint {
  readonly pubsub: PubSub;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly #mounts: Mount[] = [];
  readonly #httpHandlers = new Set<HttpHandler>();
  readonly #connections = new Set<Connection>();
  readonly #wss: WebSocketServer;
  readonly #ownsServer: boolean;
  readonly #server: Server;
  readonly #maxFrameSize: number;
  readonly #checkOrigin: OriginCheck;
  readonly #limits: ConnectionLimits;
  readonly #idleSweep: ReturnType<typeof setInterval>;
  readonly #connectBudgets: ConnectBudgets | undefined;
  readonly #longPoll: LongPoll;
  readonly #clientKey: (req: IncomingMessage) => string | null;
  readonly #released = (connection: Connection) => this.#connections.delete(connection);
  readonly #exitListeners = new Set<(ownerId: string) => void>();
  readonly #channelExited = (ownerId: string) => {
    for (const listener of this.#exitListeners) {
      try {
        listener(ownerId);
      } catch (err) {
        this.logger.error({ err }, "channel exit listener failed");
      }
    }
  };
  // The socket is destroyed with the error; the pending upgrade sees that and stops.
  readonly #upgradeStreamError = (err: Error) =>
    this.logger.debug({ err }, "client went away during the upgrade");
  #draining = false;

  constructor(options: EndpointOptions = {}) {
    this.logger = options.logger ?? defaultLogger();
    this.pubsub = options.pubsub ?? new PubSub({ logger: this.logger });
    this.metrics = new Metrics({ processMetrics: options.processMetrics ?? true });
    const fanout = this.metrics.fanoutSeconds;
    this.pubsub.observeFanout((seconds) => fanout.observe(seconds));
    this.#maxFrameSize = options.maxFrameSize ?? 1024 * 1024;
    this.#checkOrigin = options.checkOrigin ?? true;
    this.#limits = {
      idleTimeoutMs: options.idleTimeoutMs ?? 60_000,
      maxChannels: options.maxChannelsPerConnection ?? 100,
      maxTopicLength: options.maxTopicLength ?? 255,
      maxEventLength: options.maxEventLength ?? 255,
      maxRefLength: options.maxRefLength ?? 255,
      maxPayloadDepth: options.maxPayloadDepth ?? 32,
      messageRate: options.messageRate ?? { limit: 200, intervalMs: 1000 },
      heartbeatRate: options.heartbeatRate ?? { limit: 10, intervalMs: 10_000 },
      joinRate: options.joinRate ?? { limit: 200, intervalMs: 10_000 },
      byteRate: options.byteRate ?? { limit: this.#maxFrameSize, intervalMs: 1000 },
      maxQueuedMessages: options.maxQueuedMessages ?? 256,
      maxBufferedBytes: options.maxBufferedBytes ?? 16 * 1024 * 1024,
    };
    if (this.#limits.byteRate.limit < this.#maxFrameSize) {
      throw new RangeError(
        `byteRate.limit (${this.#limits.byteRate.limit}) must be at least maxFrameSize (${this.#maxFrameSize}), or the largest frame could never pass`,
      );
    }
    this.#connectBudgets = options.connectRate
      ? new ConnectBudgets(options.connectRate)
      : undefined;
    this.#clientKey = options.clientKey ?? ((req) => req.socket.remoteAddress ?? null);
    this.#longPoll = new LongPoll({
      windowMs: options.longPollWindowMs ?? 10_000,
      maxFrameSize: this.#maxFrameSize,
      // A bigger body could never pass the byte budget; the newlines between its
      // messages are not charged.
      maxBodyBytes: this.#limits.byteRate.limit + 2 * 100,
      checkOrigin: this.#checkOrigin,
      logger: this.logger,
      metrics: this.metrics,
    });
    this.#ownsServer = !options.server;
    this.#server =
      options.server ??
      createServer((req, res) => {
        if (!this.handleLongPoll(req, res) && !this.handleHttp(req, res)) {
          res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
        }
      });
    this.#wss = new WebSocketServer({
      noServer: true,
      // The endpoint keeps its own set of connections; a second one would cost a listener
      // and a set entry per socket.
      clientTracking: false,
      maxPayload: this.#maxFrameSize,
      handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
    });
    this.#server.on("upgrade", (req, stream, head) => {
      void this.#upgrade(req, stream, head);
    });
    // One sweep for every connection instead of a timer each; a connection is closed
    // between one and 1.25 idle timeouts (at most 5 s late) after its last frame.
    const sweepMs = Math.max(10, Math.min(this.#limits.idleTimeoutMs / 4, 5000));
    this.#idleSweep = setInterval(() => this.#sweepIdle(), sweepMs);
    this.#idleSweep.unref();
  }

  /** The HTTP server the endpoint listens on. */
  get server(): Server {
    return this.#server;
  }

  /** Live connections, for metrics and tests. */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /** Whether the endpoint is started and not draining: what a load balancer should ask. */
  get ready(): boolean {
    return this.#server.listening && !this.#draining;
  }

  /**
   * Serves `/metrics` (Prometheus), `/healthz` (the process is up) and `/readyz` (it
   * accepts connections), then asks the handlers added with {@link addHttpHandler}.
   * Returns false for other paths, so an app with its own HTTP server can call it first
   * and route the rest itself.
   */
  handleHttp(req: IncomingMessage, res: ServerResponse): boolean {
    if (this.#handleOwnPaths(req, res)) return true;
    for (const handler of this.#httpHandlers) {
      if (handler(req, res)) return true;
    }
    return false;
  }

  #handleOwnPaths(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method !== "GET" && req.method !== "HEAD") return false;
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/healthz") {
      res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
      return true;
    }
    if (path === "/readyz") {
      const ready = this.ready;
      res.writeHead(ready ? 200 : 503, { "content-type": "text/plain" });
      res.end(ready ? "ready\n" : "draining\n");
      return true;
    }
    if (path === "/metrics") {
      this.metrics.connections.set(this.#connections.size);
      this.metrics.registry.metrics().then(
        (body) =>
          res.writeHead(200, { "content-type": this.metrics.registry.contentType }).end(body),
        (err: unknown) => {
          this.logger.error({ err }, "metrics failed");
          res.writeHead(500).end();
        },
      );
      return true;
    }
    return false;
  }

  /**
   * Serves the long-poll transport at `<path>/longpoll` of every mount. Returns false for
   * other paths. An endpoint on its own server calls it itself; on an app's server (one
   * passed as `server`), the app routes requests to it before its own routing, and
   * before reading their bodies.
   */
  handleLongPoll(req: IncomingMessage, res: ServerResponse): boolean {
    const url = new URL(req.url ?? "/", "http://localhost");
    const suffix = `/${LONGPOLL_PATH}`;
    if (!url.pathname.endsWith(suffix)) return false;
    const path = url.pathname.slice(0, -suffix.length);
    const mount = this.#mounts.find((m) => m.path === path);
    if (!mount) return false;
    this.#longPoll.handle(req, res, url, (session) => this.#openSession(req, url, mount, session));
    return true;
  }

  /**
   * Calls `listener` with the owner id (`socket.ownerId`) of every channel that exits on
   * this endpoint, whatever the reason; returns the function that stops it. This is how
   * Presence untracks a channel's entries without a callback per channel.
   */
  onChannelExit(listener: (ownerId: string) => void): () => void {
    this.#exitListeners.add(listener);
    return () => this.#exitListeners.delete(listener);
  }

  /**
   * Mounts a connection handler at `path`: the WebSocket is served at `path + "/websocket"`,
   * long-poll at `path + "/longpoll"`.
   */
  mount<A extends Assigns>(path: string, handler: ConnectionHandler<A>): this {
    this.#mounts.push({
      path: path.replace(/\/+$/, ""),
      handler: handler as unknown as ConnectionHandler<Assigns>,
    });
    return this;
  }

  /**
   * Removes the mount at `path`: new connections there are refused (404), open ones
   * are left alone. Returns whether there was one.
   */
  unmount(path: string): boolean {
    const index = this.#mounts.findIndex((m) => m.path === path.replace(/\/+$/, ""));
    if (index < 0) return false;
    this.#mounts.splice(index, 1);
    return true;
  }

  /**
   * Adds a handler that {@link handleHttp} asks after its own paths, in the order added:
   * how an add-on (such as the operator dashboard) serves pages on the endpoint's server.
   * Returns the function that removes it.
   */
  addHttpHandler(handler: HttpHandler): () => void {
    this.#httpHandlers.add(handler);
    return () => this.#httpHandlers.delete(handler);
  }

  /** Starts listening; resolves with the bound address. */
  async listen(port: number, host = "127.0.0.1"): Promise<AddressInfo> {
    await this.pubsub.start();
    return new Promise((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(port, host, () => {
        this.#server.off("error", reject);
        resolve(this.#server.address() as AddressInfo);
      });
    });
  }

  /**
   * Broadcasts to every subscriber of a topic. Sent to a socket id with the event
   * `"disconnect"`, it closes every connection of that id with code 1001.
   */
  broadcast(topic: string, event: string, payload: JsonObject | Uint8Array): void {
    this.pubsub.broadcast(topic, event, payload);
  }

  /**
   * Stops accepting connections, closes the open ones in batches with 1012 (Service
   * Restart) so clients reconnect elsewhere, and resolves once all are gone. Channels
   * exit as closed, so their presences leave.
   */
  async close(options: CloseOptions = {}): Promise<void> {
    const batchSize = options.batchSize ?? 100;
    const batchIntervalMs = options.batchIntervalMs ?? 20;
    const timeoutMs = options.timeoutMs ?? 5000;
    this.#draining = true;
    this.#longPoll.drain();
    const connections = [...this.#connections];
    for (let i = 0; i < connections.length; i += batchSize) {
      for (const connection of connections.slice(i, i + batchSize)) {
        connection.close(CloseCode.serviceRestart, "server restart");
      }
      if (i + batchSize < connections.length) await sleep(batchIntervalMs);
    }
    const deadline = Date.now() + timeoutMs;
    while (this.#connections.size > 0 && Date.now() < deadline) await sleep(10);
    for (const connection of this.#connections) connection.terminate();
    this.#longPoll.close();
    clearInterval(this.#idleSweep);
    this.#wss.close();
    if (this.#ownsServer && this.#server.listening) {
      await new Promise<void>((resolve) => {
        this.#server.close(() => resolve());
        // Every socket is gone by now. What is left is HTTP: kept-alive or freshly opened
        // connections of long-poll clients, which would hold the server open for seconds.
        this.#server.closeAllConnections();
      });
    }
  }

  async #upgrade(req: IncomingMessage, stream: Duplex, head: Buffer): Promise<void> {
    // Node's HTTP server lets go of an upgraded socket: until ws takes it over, an error
    // on it (a client resetting while `connect` is pending) would be uncaught and fatal.
    stream.on("error", this.#upgradeStreamError);
    try {
      await this.#authorize(req, stream, head);
    } finally {
      stream.off("error", this.#upgradeStreamError);
    }
  }

  async #authorize(req: IncomingMessage, stream: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    const mount = this.#mounts.find((m) => `${m.path}/${WEBSOCKET_PATH}` === url.pathname);
    if (!mount) {
      // On a shared server another listener may own this path.
      if (this.#ownsServer) refuse(stream, { status: 404 });
      return;
    }
    const admitted = await this.#admit(req, url, mount, takeAuthToken(req), () =>
      Object.fromEntries(url.searchParams),
    );
    if ("status" in admitted) return refuse(stream, admitted);
    // The client may have gone while `connect` ran: nothing is left to upgrade.
    if (stream.destroyed) return;

    this.#wss.handleUpgrade(req, stream, head, (ws) => this.#accept(ws, admitted));
  }

  async #openSession(
    req: IncomingMessage,
    url: URL,
    mount: Mount,
    session: LongPollSession,
  ): Promise<Refusal | Connection> {
    const authToken = req.headers["x-phoenix-authtoken"];
    const admitted = await this.#admit(
      req,
      url,
      mount,
      (Array.isArray(authToken) ? authToken[0] : authToken) ?? null,
      () => connectParamsOf(url),
    );
    if ("status" in admitted) return admitted;
    return this.#accept(session, admitted);
  }

  /** The checks every connect attempt passes, whatever its transport, and `connect`. */
  async #admit(
    req: IncomingMessage,
    url: URL,
    mount: Mount,
    authToken: string | null,
    params: () => Record<string, string>,
  ): Promise<Refusal | Admitted> {
    if (this.#draining) return { status: 503 };
    const key = this.#connectBudgets ? this.#clientKey(req) : null;
    const waitMs = key === null ? 0 : this.#connectBudgets!.take(key, idleClock());
    if (waitMs > 0) {
      this.metrics.rejected.inc({ reason: "connect rate" });
      return { status: 429, retryAfterSeconds: Math.ceil(waitMs / 1000) };
    }
    const serializer = serializerForVsn(url.searchParams.get("vsn"));
    if (!serializer) return { status: 403 };
    if (!originAllowed(this.#checkOrigin, req)) {
      this.logger.warn({ origin: req.headers.origin }, "origin refused");
      return { status: 403 };
    }
    const info: ConnectInfo = {
      authToken,
      headers: req.headers,
      origin: req.headers.origin ?? null,
      // Read on demand: Node caches the peer address on the socket once asked.
      get remoteAddress() {
        return req.socket.remoteAddress ?? null;
      },
      url,
    };
    const { handler } = mount;
    let assigns: Assigns | null;
    let socketId: string | null;
    try {
      assigns = await handler.connect(params(), info);
      socketId = assigns && handler.id ? handler.id(assigns) : null;
    } catch (err) {
      this.logger.error({ err }, "connect failed");
      return { status: 500 };
    }
    if (!assigns) return { status: 403 };
    if (this.#draining) return { status: 503 };
    return { serializer, handler, assigns, socketId };
  }

  // Kept apart from #upgrade so that the connection's listeners do not hold on to the
  // upgrade request's scope (URL, headers) for the connection's whole life.
  #accept(ws: ConnectionSocket, admitted: Admitted): Connection {
    const connection = new Connection({
      ws,
      serializer: admitted.serializer,
      pubsub: this.pubsub,
      handler: admitted.handler,
      assigns: admitted.assigns,
      socketId: admitted.socketId,
      limits: this.#limits,
      logger: this.logger,
      metrics: this.metrics,
      onClosed: this.#released,
      onChannelExit: this.#channelExited,
    });
    this.#connections.add(connection);
    return connection;
  }

  #sweepIdle(): void {
    const now = idleClock();
    for (const connection of this.#connections) connection.sweep(now);
    this.#longPoll.sweep(now);
    this.#connectBudgets?.sweep(now);
  }
}

const STATUS_TEXT: Record<number, string> = {
  403: "Forbidden",
  404: "Not Found",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

function refuse(stream: Duplex, refusal: Refusal): void {
  if (stream.writable) {
    const retry =
      refusal.retryAfterSeconds === undefined
        ? ""
        : `Retry-After: ${refusal.retryAfterSeconds}\r\n`;
    stream.write(
      `HTTP/1.1 ${refusal.status} ${STATUS_TEXT[refusal.status] ?? ""}\r\nConnection: close\r\n${retry}Content-Length: 0\r\n\r\n`,
    );
  }
  stream.destroy();
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
