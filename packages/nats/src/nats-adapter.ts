import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import {
  connect,
  type NatsConnection,
  type NodeConnectionOptions,
  type Subscription,
} from "@nats-io/transport-node";
import {
  BusLink,
  type BusMessage,
  type BusStats,
  type BusStatus,
  defaultLogger,
  encodeEnvelope,
  type Logger,
  type PubSubAdapter,
  reconnectDelay,
} from "@tandem/server";
import { type Subjects, subjectsFor } from "./subjects.js";

/** NatsAdapter options. */
export interface NatsAdapterOptions {
  /**
   * Where NATS is: one URL or several of the same cluster, e.g. from `NATS_URL`.
   * Default `nats://127.0.0.1:4222`.
   */
  servers?: string | readonly string[];
  /**
   * The first token of every subject, so several clusters (or test runs) can share one
   * NATS. Nodes of one cluster must use the same prefix. Default `"tandem"`.
   */
  prefix?: string;
  /**
   * This node's name, unique in the cluster: direct messages are addressed to it.
   * Default: hostname, pid and a random suffix, so a restarted process is a new node.
   */
  nodeName?: string;
  /** Default: the server's pino logger at `LOG_LEVEL`. */
  logger?: Logger;
  /** How long `start` waits for NATS before it rejects (ms). Default 10 000. */
  readyTimeoutMs?: number;
  /**
   * Whether `start` fails when NATS is not reachable within `readyTimeoutMs` (the
   * default). With `false` it resolves anyway and keeps connecting in the background,
   * so a node restarted during an outage serves its own clients meanwhile.
   */
  requireReady?: boolean;
  /**
   * How often the client pings the server (ms); after two unanswered pings the
   * connection counts as lost and the client reconnects. Default 5 000.
   */
  pingIntervalMs?: number;
  /**
   * More client options: credentials (`user` and `pass`, `token`, `authenticator`) and
   * `tls`. The ones the adapter's delivery depends on (servers, echo, reconnects, pings)
   * are its own.
   */
  client?: Pick<NodeConnectionOptions, "user" | "pass" | "token" | "authenticator" | "tls">;
}

const DEFAULT_SERVERS = "nats://127.0.0.1:4222";
const DEFAULT_READY_TIMEOUT_MS = 10_000;
const DEFAULT_PING_INTERVAL_MS = 5000;
/** The client's own default is 2 s between attempts on each server; this is faster. */
const RECONNECT_WAIT_MS = 250;

/**
 * Connects a node's {@link @tandem/server!PubSub} to the others through core NATS
 * (no JetStream), routed by interest: a node subscribes only to the subjects of the
 * channels it serves, `<prefix>.ch.<channel>`, plus `<prefix>.bc` for every node and
 * `<prefix>.node.<name>` for itself; the NATS server forwards each message only to the
 * connections subscribed to its subject ({@link subjectsFor} says how names are escaped).
 *
 * **Encoding.** The same envelope as every engine ({@link @tandem/server!encodeEnvelope}),
 * wrapped once per message. The connection is opened with `noEcho`, so the server
 * never returns a node its own messages.
 *
 * **Outages.** Delivery is at most once. The client reconnects by itself, forever, and
 * on reconnecting sends the server every subscription it holds before anything else;
 * the adapter only reports the status. While the connection is down messages are
 * dropped and counted rather than left in the client's outbound buffer, which would
 * replay them late. A payload bigger than the server's `max_payload` (1 MiB by default)
 * is dropped too: keep `TRACKER_MAX_TRANSFER_BYTES` under it.
 */
export class NatsAdapter implements PubSubAdapter {
  readonly nodeName: string;
  /** The subjects of this cluster. */
  readonly subjects: Subjects;
  readonly #servers: string[];
  readonly #link: BusLink;
  readonly #log: Logger;
  readonly #readyTimeoutMs: number;
  readonly #requireReady: boolean;
  readonly #pingIntervalMs: number;
  readonly #client: NatsAdapterOptions["client"];
  /** Every channel this node holds, with its subscription while there is a connection. */
  readonly #channels = new Map<string, Subscription | undefined>();
  #connection: NatsConnection | undefined;
  #retry: NodeJS.Timeout | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: NatsAdapterOptions = {}) {
    this.nodeName =
      options.nodeName ?? `${hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`;
    this.subjects = subjectsFor(options.prefix ?? "tandem");
    const servers = options.servers ?? DEFAULT_SERVERS;
    this.#servers = typeof servers === "string" ? [servers] : [...servers];
    this.#readyTimeoutMs = options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
    this.#requireReady = options.requireReady ?? true;
    this.#pingIntervalMs = options.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS;
    this.#client = options.client;
    this.#log = (options.logger ?? defaultLogger()).child({
      component: "nats-adapter",
      node: this.nodeName,
    });
    this.#link = new BusLink(this.nodeName, this.#log);
  }

  /** Whether the bus carries messages now. */
  get status(): BusStatus {
    return this.#link.status;
  }

  /** A snapshot of the message counters. */
  get stats(): BusStats {
    return this.#link.stats;
  }

  /**
   * Calls `listener` on every status change (not with the current status). Returns the
   * function that removes it.
   */
  onStatus(listener: (status: BusStatus) => void): () => void {
    return this.#link.onStatus(listener);
  }

  /**
   * Connects and subscribes. Resolves once messages flow; if that takes longer than
   * `readyTimeoutMs` it rejects (and closes the adapter), unless `requireReady` is false.
   */
  async start(receive: (message: BusMessage) => void): Promise<void> {
    this.#link.start(receive, "NatsAdapter");
    this.#dial(0);
    try {
      await this.#link.whenReady(this.#readyTimeoutMs, "NatsAdapter");
    } catch (err) {
      if (!this.#requireReady) {
        this.#log.warn({ err }, "NATS unreachable: serving local clients until it returns");
        return;
      }
      await this.close();
      throw err;
    }
  }

  /**
   * Starts receiving what is {@link publish}ed to `channel`. Idempotent. Resolves once
   * the server has the subscription, or at once while the bus is down (the client
   * subscribes again when it reconnects). Never rejects.
   */
  async subscribe(channel: string): Promise<void> {
    if (this.#link.closed || this.#channels.has(channel)) return;
    const connection = this.#connection;
    this.#channels.set(channel, connection && this.#subscribeOn(connection, channel));
    // A PONG after the SUB means the server has registered it. While the bus is down
    // there is no one to ask; the client subscribes again when it reconnects.
    if (connection && this.#link.status === "ready") await connection.flush().catch(() => {});
  }

  /** Stops receiving `channel`. Idempotent. Never rejects. */
  async unsubscribe(channel: string): Promise<void> {
    if (this.#link.closed || !this.#channels.has(channel)) return;
    this.#channels.get(channel)?.unsubscribe();
    this.#channels.delete(channel);
  }

  /** Sends to every other node subscribed to `channel`. Never throws; drops while the bus is down. */
  publish(channel: string, message: BusMessage): void {
    this.#send(this.subjects.channel(channel), message);
  }

  broadcast(message: BusMessage): void {
    this.#send(this.subjects.broadcast, message);
  }

  directBroadcast(node: string, message: BusMessage): void {
    this.#send(this.subjects.direct(node), message);
  }

  /** Closes the connection (or stops trying to open one). Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    this.#link.close();
    clearTimeout(this.#retry);
    await this.#connection?.close().catch(() => {});
  }

  /**
   * Opens a connection: the client's own reconnect loop only starts once it has
   * connected, and a pending first connect cannot be cancelled, so until then the
   * adapter retries itself, one attempt at a time, until closed.
   */
  #dial(attempt: number): void {
    connect({
      ...this.#client,
      servers: this.#servers,
      name: this.nodeName,
      noEcho: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: RECONNECT_WAIT_MS,
      pingInterval: this.#pingIntervalMs,
      maxPingOut: 2,
      timeout: Math.min(this.#readyTimeoutMs, 5000),
    }).then(
      (connection) => {
        if (this.#link.closed) {
          connection.close().catch(() => {});
          return;
        }
        this.#adopt(connection);
      },
      (err: Error) => {
        this.#link.failed(err, "connect");
        if (this.#link.closed) return;
        this.#retry = setTimeout(() => this.#dial(attempt + 1), reconnectDelay(attempt + 1));
      },
    );
  }

  #adopt(connection: NatsConnection): void {
    this.#connection = connection;
    connection.subscribe(this.subjects.broadcast, { callback: this.#onMessage });
    connection.subscribe(this.subjects.direct(this.nodeName), { callback: this.#onMessage });
    for (const channel of this.#channels.keys()) {
      this.#channels.set(channel, this.#subscribeOn(connection, channel));
    }
    this.#confirm(connection);
    this.#watch(connection);
    connection.closed().then((err) => {
      if (this.#link.closed) return;
      // Only a fatal error (such as a refused authorisation) ends a connection that
      // reconnects forever: start over with a new one, as on the first connect.
      if (err) this.#link.failed(err, "nats");
      this.#log.error({ err }, "NATS connection closed; connecting anew");
      this.#connection = undefined;
      for (const channel of this.#channels.keys()) this.#channels.set(channel, undefined);
      this.#link.set("down");
      this.#dial(0);
    });
  }

  /** Ready once the server has answered a PING sent after every SUB. */
  #confirm(connection: NatsConnection): void {
    connection.flush().then(
      () => {
        if (!connection.isClosed()) this.#link.set("ready");
      },
      // The connection dropped before the answer: the reconnect confirms again.
      (err: Error) => this.#link.failed(err, "nats"),
    );
  }

  async #watch(connection: NatsConnection): Promise<void> {
    for await (const status of connection.status()) {
      switch (status.type) {
        case "disconnect":
          this.#link.set("down");
          break;
        case "reconnect":
          this.#confirm(connection);
          break;
        case "error":
          this.#link.failed(status.error, "nats");
          break;
      }
    }
  }

  #subscribeOn(connection: NatsConnection, channel: string): Subscription {
    return connection.subscribe(this.subjects.channel(channel), { callback: this.#onMessage });
  }

  readonly #onMessage = (err: Error | null, message: { data: Uint8Array }): void => {
    if (err) {
      this.#link.failed(err, "subscription");
      return;
    }
    this.#link.arrived(message.data);
  };

  #send(subject: string, message: BusMessage): void {
    const connection = this.#connection;
    if (!connection || this.#link.status !== "ready") {
      this.#link.dropped();
      return;
    }
    try {
      connection.publish(subject, encodeEnvelope({ origin: this.nodeName, ...message }));
    } catch (err) {
      // Too long a field for the envelope, or more than the server's max_payload.
      this.#link.dropped();
      this.#log.warn({ err, topic: message.topic, event: message.event }, "message not sent");
      return;
    }
    this.#link.sent();
  }
}
