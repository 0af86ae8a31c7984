import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
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
import { Redis, type RedisOptions } from "ioredis";

/**
 * Whether the bus carries messages: `"connecting"` until the first time both
 * connections are up and subscribed, `"ready"` while they are, `"down"` whenever they
 * are not after that (and after `close`).
 */
export type RedisAdapterStatus = BusStatus;

/** RedisAdapter options. */
export interface RedisAdapterOptions {
  /** Where Redis is, e.g. `process.env.REDIS_URL`. Default `redis://127.0.0.1:6379`. */
  url?: string;
  /**
   * Starts every channel name, so several clusters (or test runs) can share one Redis.
   * Nodes of one cluster must use the same prefix. Default `"tandem"`.
   */
  prefix?: string;
  /**
   * This node's name, unique in the cluster: direct messages are addressed to it and a
   * node ignores messages that carry its own name. Default: hostname, pid and a random
   * suffix, so a restarted process is a new node.
   */
  nodeName?: string;
  /** Default: the server's pino logger at `LOG_LEVEL`. */
  logger?: Logger;
  /** How long `start` waits for Redis before it rejects (ms). Default 10 000. */
  readyTimeoutMs?: number;
  /**
   * Whether `start` fails when Redis is not reachable within `readyTimeoutMs` (the
   * default). With `false` it resolves anyway and keeps connecting in the background:
   * the node serves its own clients and joins the cluster when Redis comes back, which
   * is what a node restarted during a Redis outage wants.
   */
  requireReady?: boolean;
  /**
   * How often each connection pings Redis (ms); after two unanswered pings it is dropped
   * and reconnected. Without this a connection across a network partition stays open
   * and, once the network heals, carries messages again only at TCP's next
   * retransmission, whose interval doubles while the partition lasts (seconds after a
   * cut of 20 s, minutes after a longer one). Default 5 000, as the NATS adapter.
   */
  pingIntervalMs?: number;
}

/** Message counts since the adapter was created, for metrics (`published`: accepted by Redis). */
export type RedisAdapterStats = BusStats;

const DEFAULT_URL = "redis://127.0.0.1:6379";
const DEFAULT_READY_TIMEOUT_MS = 10_000;
const DEFAULT_PING_INTERVAL_MS = 5000;
/** Unanswered pings after which a connection counts as lost. */
const MAX_PINGS_OUT = 2;
/** After this long a QUIT that got no answer gives way to closing the socket. */
const QUIT_TIMEOUT_MS = 1000;

/**
 * Connects a node's {@link @tandem/server!PubSub} to the others through Redis pub/sub.
 *
 * **Channels.** What PubSub publishes to one of its channels (a topic shard, see
 * {@link @tandem/server!PubSub}) goes to the Redis channel `<prefix>:ch:<channel>`, which
 * this node SUBSCRIBEs to only while PubSub asks it to, so Redis skips the nodes that
 * serve no topic of that shard. Cluster-wide messages (tracker liveness) go to
 * `<prefix>:bc`; messages for one node to `<prefix>:node:<nodeName>`. A node therefore
 * holds two fixed subscriptions plus one per shard it serves, all resubscribed in one
 * command after each reconnect.
 *
 * **Encoding.** A message is wrapped once per broadcast ({@link encodeEnvelope}), and
 * Redis hands the same bytes to every node.
 *
 * **Outages.** Delivery is at most once. While Redis is unreachable messages are
 * dropped at once and counted: there is no offline queue to grow without bound or to
 * replay stale messages later, and in-flight publishes are not resent after a
 * reconnect. Both connections reconnect by themselves with jittered backoff; the
 * subscriber subscribes again on every reconnect. Watch {@link status} or
 * {@link onStatus}: presence replicas on other nodes can be silent while the bus is down.
 */
export class RedisAdapter implements PubSubAdapter {
  readonly nodeName: string;
  /** The Redis channels this node listens on. */
  readonly channels: { readonly broadcast: string; readonly direct: string };
  readonly #prefix: string;
  readonly #publisher: Redis;
  readonly #subscriber: Redis;
  readonly #log: Logger;
  readonly #readyTimeoutMs: number;
  readonly #pingIntervalMs: number;
  /** Pings each connection has sent since its last answer. */
  readonly #pingsOut = new Map<Redis, number>();
  #pinger: NodeJS.Timeout | undefined;
  readonly #requireReady: boolean;
  readonly #link: BusLink;
  /** The Redis channels PubSub asked for, besides the two fixed ones. */
  readonly #channels = new Set<string>();
  #subscribed = false;
  #closing: Promise<void> | undefined;

  constructor(options: RedisAdapterOptions = {}) {
    this.nodeName =
      options.nodeName ?? `${hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`;
    this.#prefix = options.prefix ?? "tandem";
    this.channels = {
      broadcast: `${this.#prefix}:bc`,
      direct: this.#directChannel(this.nodeName),
    };
    this.#readyTimeoutMs = options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
    this.#pingIntervalMs = options.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS;
    if (!(this.#pingIntervalMs > 0)) throw new RangeError("pingIntervalMs must be positive");
    this.#requireReady = options.requireReady ?? true;
    this.#log = (options.logger ?? defaultLogger()).child({
      component: "redis-adapter",
      node: this.nodeName,
    });
    this.#link = new BusLink(this.nodeName, this.#log, "redis bus");

    const url = options.url ?? DEFAULT_URL;
    const common: RedisOptions = {
      lazyConnect: true,
      // Fail commands at once while disconnected instead of queueing them: a queue
      // would grow for the whole outage and then replay stale messages.
      enableOfflineQueue: false,
      // Reject commands in flight when the connection drops rather than resending them.
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      retryStrategy: reconnectDelay,
      // A connect across a partition hangs until this; the ping check covers the rest.
      connectTimeout: this.#pingIntervalMs * MAX_PINGS_OUT,
      // When we cut a connection (Redis unresponsive or never reached) its socket gets
      // this long to close before it is destroyed; ioredis keeps a timer that long, which
      // would hold the process open for its default 2 s.
      disconnectTimeout: 100,
    };
    this.#publisher = new Redis(url, {
      ...common,
      connectionName: connectionName(this.#prefix, this.nodeName, "pub"),
    });
    this.#subscriber = new Redis(url, {
      ...common,
      connectionName: connectionName(this.#prefix, this.nodeName, "sub"),
      // ioredis would resubscribe too, but it reports "ready" before Redis confirms the
      // subscription; subscribing ourselves tells us when messages flow again.
      autoResubscribe: false,
    });

    this.#publisher.on("ready", () => this.#update());
    this.#publisher.on("close", () => this.#update());
    this.#publisher.on("error", (err: Error) => this.#onError("publisher", err));
    this.#subscriber.on("ready", () => this.#subscribe());
    this.#subscriber.on("close", () => {
      this.#subscribed = false;
      this.#update();
    });
    this.#subscriber.on("error", (err: Error) => this.#onError("subscriber", err));
    // Delivery never throws: inside ioredis's reply parser it would break the stream.
    this.#subscriber.on("messageBuffer", (_channel: Buffer, bytes: Buffer) =>
      this.#link.arrived(bytes),
    );
  }

  /** Whether the bus carries messages now. */
  get status(): RedisAdapterStatus {
    return this.#link.status;
  }

  /** A snapshot of the message counters. */
  get stats(): RedisAdapterStats {
    return this.#link.stats;
  }

  /**
   * Calls `listener` on every status change (not with the current status). Returns
   * the function that removes it.
   */
  onStatus(listener: (status: RedisAdapterStatus) => void): () => void {
    return this.#link.onStatus(listener);
  }

  /**
   * Connects both connections and subscribes. Resolves once messages flow; if that
   * takes longer than `readyTimeoutMs` it rejects (and closes the adapter), so a node
   * does not start serving while it cannot see the rest of the cluster, unless
   * `requireReady` is false.
   */
  async start(receive: (message: BusMessage) => void): Promise<void> {
    this.#link.start(receive, "RedisAdapter");
    this.#pinger = setInterval(() => this.#ping(), this.#pingIntervalMs);
    this.#pinger.unref();
    // Failed attempts reject these promises but ioredis keeps retrying; errors reach
    // the "error" listeners, and the status tells when it worked.
    this.#publisher.connect().catch(() => {});
    this.#subscriber.connect().catch(() => {});
    try {
      await this.#link.whenReady(this.#readyTimeoutMs, "RedisAdapter");
    } catch (err) {
      if (!this.#requireReady) {
        this.#log.warn({ err }, "Redis unreachable: serving local clients until it returns");
        return;
      }
      await this.close();
      throw err;
    }
  }

  /** The Redis channels of {@link subscribe}d bus channels, for tests and diagnostics. */
  get subscriptions(): string[] {
    return [...this.#channels];
  }

  subscribe(channel: string): Promise<void> {
    const name = this.#channel(channel);
    if (this.#link.closed || this.#channels.has(name)) return Promise.resolve();
    this.#channels.add(name);
    // While down, the resubscribe on reconnect covers it.
    if (!this.#subscribed) return Promise.resolve();
    return this.#subscriber.subscribe(name).then(
      () => {},
      (err: Error) => this.#onError("subscriber", err),
    );
  }

  unsubscribe(channel: string): Promise<void> {
    const name = this.#channel(channel);
    if (!this.#channels.delete(name) || !this.#subscribed) return Promise.resolve();
    return this.#subscriber.unsubscribe(name).then(
      () => {},
      (err: Error) => this.#onError("subscriber", err),
    );
  }

  publish(channel: string, message: BusMessage): void {
    this.#publish(this.#channel(channel), message);
  }

  broadcast(message: BusMessage): void {
    this.#publish(this.channels.broadcast, message);
  }

  directBroadcast(node: string, message: BusMessage): void {
    this.#publish(this.#directChannel(node), message);
  }

  /** Quits both connections; resolves when their sockets are closed. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    clearInterval(this.#pinger);
    this.#link.close();
    await Promise.all([quit(this.#publisher), quit(this.#subscriber)]);
  }

  #channel(channel: string): string {
    return `${this.#prefix}:ch:${channel}`;
  }

  #directChannel(node: string): string {
    return `${this.#prefix}:node:${node}`;
  }

  #publish(channel: string, message: BusMessage): void {
    if (this.#publisher.status !== "ready") {
      this.#link.dropped();
      return;
    }
    let bytes: Buffer;
    try {
      bytes = encodeEnvelope({ origin: this.nodeName, ...message });
    } catch (err) {
      this.#link.dropped();
      this.#log.warn({ err, topic: message.topic, event: message.event }, "message not sent");
      return;
    }
    this.#publisher.publish(channel, bytes).then(
      () => this.#link.sent(),
      () => this.#link.dropped(),
    );
  }

  #subscribe(): void {
    const subscriber = this.#subscriber;
    subscriber.subscribe(this.channels.broadcast, this.channels.direct, ...this.#channels).then(
      () => {
        // The connection may have dropped (and come back) while we waited.
        if (subscriber.status !== "ready") return;
        this.#subscribed = true;
        this.#update();
      },
      (err: Error) => this.#onError("subscriber", err),
    );
  }

  /**
   * Pings each ready connection; one that has left {@link MAX_PINGS_OUT} pings
   * unanswered is dropped, and ioredis reconnects it (a subscriber resubscribes).
   */
  #ping(): void {
    for (const [redis, connection] of [
      [this.#publisher, "publisher"],
      [this.#subscriber, "subscriber"],
    ] as const) {
      if (redis.status !== "ready") {
        this.#pingsOut.delete(redis);
        continue;
      }
      const out = this.#pingsOut.get(redis) ?? 0;
      if (out >= MAX_PINGS_OUT) {
        this.#pingsOut.delete(redis);
        this.#link.failed(new Error(`no answer to ${out} pings`), connection);
        this.#log.warn({ connection }, "Redis stopped answering: reconnecting");
        redis.disconnect(true);
        continue;
      }
      this.#pingsOut.set(redis, out + 1);
      redis.ping().then(
        () => this.#pingsOut.delete(redis),
        () => {},
      );
    }
  }

  #onError(connection: "publisher" | "subscriber", err: Error): void {
    this.#link.failed(err, connection);
  }

  #update(): void {
    if (this.#link.closed) return;
    if (this.#publisher.status === "ready" && this.#subscribed) this.#link.set("ready");
    else if (this.#link.status !== "connecting") this.#link.set("down");
  }
}

/**
 * The name the connection shows in CLIENT LIST, to tell nodes apart there. Redis
 * refuses names with spaces or other special characters, and ioredis then silently
 * leaves the connection unnamed.
 */
function connectionName(prefix: string, node: string, role: "pub" | "sub"): string {
  return `${prefix}:${node}:${role}`.replace(/[^\x21-\x7e]/g, "_");
}

/** Says goodbye if the connection is up, cuts it otherwise; resolves once it has ended. */
async function quit(redis: Redis): Promise<void> {
  if (redis.status === "end") return;
  if (redis.status === "reconnecting") {
    // No socket is left: disconnecting only cancels the next attempt, and ioredis
    // emits no "end" for it.
    redis.disconnect();
    return;
  }
  const ended = new Promise<void>((resolve) => redis.once("end", () => resolve()));
  if (redis.status === "ready") {
    const timer = setTimeout(() => redis.disconnect(), QUIT_TIMEOUT_MS);
    await redis.quit().catch(() => redis.disconnect());
    clearTimeout(timer);
  } else {
    redis.disconnect();
  }
  await ended;
}
