import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import {
  type BusMessage,
  decodeEnvelope,
  defaultLogger,
  type EnvelopeError,
  encodeEnvelope,
  type Logger,
  type PubSubAdapter,
} from "@tandem/server";
import { Redis, type RedisOptions } from "ioredis";

/**
 * Whether the bus carries messages: `"connecting"` until the first time both
 * connections are up and subscribed, `"ready"` while they are, `"down"` whenever they
 * are not after that (and after `close`).
 */
export type RedisAdapterStatus = "connecting" | "ready" | "down";

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
}

/** Message counts since the adapter was created, for metrics. */
export interface RedisAdapterStats {
  /** Messages Redis accepted for delivery. */
  readonly published: number;
  /** Messages from other nodes handed to PubSub. */
  readonly received: number;
  /** Messages not sent: the bus was down, the publish failed, or they could not be wrapped. */
  readonly dropped: number;
  /** Messages from the bus that were not valid envelopes. */
  readonly invalid: number;
}

const DEFAULT_URL = "redis://127.0.0.1:6379";
const DEFAULT_READY_TIMEOUT_MS = 10_000;
/** After this long a QUIT that got no answer gives way to closing the socket. */
const QUIT_TIMEOUT_MS = 1000;
/** Undecodable messages are logged at most this often, so a flood cannot flood the log. */
const INVALID_LOG_INTERVAL_MS = 10_000;

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
  readonly #requireReady: boolean;
  readonly #statusListeners = new Set<(status: RedisAdapterStatus) => void>();
  readonly #stats = { published: 0, received: 0, dropped: 0, invalid: 0 };
  #status: RedisAdapterStatus = "connecting";
  #receive: ((message: BusMessage) => void) | undefined;
  /** The Redis channels PubSub asked for, besides the two fixed ones. */
  readonly #channels = new Set<string>();
  #subscribed = false;
  #closing: Promise<void> | undefined;
  #closed = false;
  #lastError: Error | undefined;
  #invalidLoggedAt = Number.NEGATIVE_INFINITY;

  constructor(options: RedisAdapterOptions = {}) {
    this.nodeName =
      options.nodeName ?? `${hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`;
    this.#prefix = options.prefix ?? "tandem";
    this.channels = {
      broadcast: `${this.#prefix}:bc`,
      direct: this.#directChannel(this.nodeName),
    };
    this.#readyTimeoutMs = options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
    this.#requireReady = options.requireReady ?? true;
    this.#log = (options.logger ?? defaultLogger()).child({
      component: "redis-adapter",
      node: this.nodeName,
    });

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
    this.#subscriber.on("messageBuffer", (_channel: Buffer, bytes: Buffer) =>
      this.#onMessage(bytes),
    );
  }

  /** Whether the bus carries messages now. */
  get status(): RedisAdapterStatus {
    return this.#status;
  }

  /** A snapshot of the message counters. */
  get stats(): RedisAdapterStats {
    return { ...this.#stats };
  }

  /**
   * Calls `listener` on every status change (not with the current status). Returns
   * the function that removes it.
   */
  onStatus(listener: (status: RedisAdapterStatus) => void): () => void {
    this.#statusListeners.add(listener);
    return () => this.#statusListeners.delete(listener);
  }

  /**
   * Connects both connections and subscribes. Resolves once messages flow; if that
   * takes longer than `readyTimeoutMs` it rejects (and closes the adapter), so a node
   * does not start serving while it cannot see the rest of the cluster, unless
   * `requireReady` is false.
   */
  async start(receive: (message: BusMessage) => void): Promise<void> {
    if (this.#receive || this.#closed) throw new Error("RedisAdapter starts once, before close");
    this.#receive = receive;
    // Failed attempts reject these promises but ioredis keeps retrying; errors reach
    // the "error" listeners, and the status tells when it worked.
    this.#publisher.connect().catch(() => {});
    this.#subscriber.connect().catch(() => {});
    try {
      await this.#whenReady();
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
    if (this.#closed || this.#channels.has(name)) return Promise.resolve();
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
    this.#closed = true;
    this.#setStatus("down");
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
      this.#stats.dropped++;
      return;
    }
    let bytes: Buffer;
    try {
      bytes = encodeEnvelope({ origin: this.nodeName, ...message });
    } catch (err) {
      this.#stats.dropped++;
      this.#log.warn({ err, topic: message.topic, event: message.event }, "message not sent");
      return;
    }
    this.#publisher.publish(channel, bytes).then(
      () => {
        this.#stats.published++;
      },
      () => {
        this.#stats.dropped++;
      },
    );
  }

  #onMessage(bytes: Buffer): void {
    const result = decodeEnvelope(bytes);
    if (!result.ok) {
      this.#stats.invalid++;
      this.#logInvalid(result.error);
      return;
    }
    const { origin, topic, event, payload } = result.value;
    if (origin === this.nodeName) return;
    this.#stats.received++;
    try {
      this.#receive?.({ topic, event, payload });
    } catch (err) {
      // Thrown inside ioredis's reply parser it would break the connection's stream.
      this.#log.error({ err, topic, event }, "delivering a bus message failed");
    }
  }

  #logInvalid(error: EnvelopeError): void {
    const now = Date.now();
    if (now - this.#invalidLoggedAt < INVALID_LOG_INTERVAL_MS) return;
    this.#invalidLoggedAt = now;
    this.#log.warn(
      { kind: error.kind, reason: error.message, invalid: this.#stats.invalid },
      "dropped undecodable bus messages",
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

  #onError(connection: "publisher" | "subscriber", err: Error): void {
    this.#lastError = err;
    // Every reconnect attempt fails with an error; the status change is what to log.
    this.#log.debug({ err, connection }, "redis connection error");
  }

  #update(): void {
    if (this.#closed) return;
    if (this.#publisher.status === "ready" && this.#subscribed) this.#setStatus("ready");
    else if (this.#status !== "connecting") this.#setStatus("down");
  }

  #setStatus(status: RedisAdapterStatus): void {
    const previous = this.#status;
    if (status === previous) return;
    this.#status = status;
    if (this.#closed) this.#log.info({}, "redis bus closed");
    else if (status === "down") {
      this.#log.warn(
        { err: this.#lastError },
        "redis bus down: cluster messages are dropped until it is back",
      );
    } else {
      this.#lastError = undefined;
      this.#log.info({ dropped: this.#stats.dropped }, "redis bus ready");
    }
    for (const listener of [...this.#statusListeners]) {
      try {
        listener(status);
      } catch (err) {
        this.#log.error({ err }, "status listener failed");
      }
    }
  }

  #whenReady(): Promise<void> {
    if (this.#status === "ready") return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        stop();
        const reason = this.#lastError ? `: ${this.#lastError.message}` : "";
        reject(new Error(`Redis not ready after ${this.#readyTimeoutMs} ms${reason}`));
      }, this.#readyTimeoutMs);
      const stop = this.onStatus((status) => {
        if (status === "ready") resolve();
        else if (this.#closed) reject(new Error("RedisAdapter closed while starting"));
        else return;
        clearTimeout(timer);
        stop();
      });
    });
  }
}

/** Exponential backoff from 100 ms up to 2 s, jittered so restarted Redis is not stampeded. */
function reconnectDelay(attempt: number): number {
  return Math.round(Math.min(50 * 2 ** attempt, 2000) * (0.5 + Math.random() / 2));
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
