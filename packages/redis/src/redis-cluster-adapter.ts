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
import { Cluster, type ClusterNode } from "ioredis";

/** RedisClusterAdapter options. */
export interface RedisClusterAdapterOptions {
  /**
   * Seed nodes of the cluster (`host:port` strings or ioredis node objects), e.g. from
   * `REDIS_CLUSTER_URLS`; the client learns the rest from them. Any few will do.
   */
  nodes: readonly ClusterNode[];
  /**
   * Starts every channel name, so several clusters (or test runs) can share one Redis
   * Cluster. Nodes of one cluster must use the same prefix. Default `"tandem"`.
   */
  prefix?: string;
  /**
   * This node's name, unique in the cluster: direct messages are addressed to it.
   * Default: hostname, pid and a random suffix, so a restarted process is a new node.
   */
  nodeName?: string;
  /** Default: the server's pino logger at `LOG_LEVEL`. */
  logger?: Logger;
  /** How long `start` waits for the cluster before it rejects (ms). Default 10 000. */
  readyTimeoutMs?: number;
  /**
   * Whether `start` fails when the cluster is not reachable within `readyTimeoutMs`
   * (the default). With `false` it resolves anyway and keeps connecting in the
   * background, so a node restarted during an outage serves its own clients meanwhile.
   */
  requireReady?: boolean;
}

const DEFAULT_READY_TIMEOUT_MS = 10_000;
/** After this long a QUIT that got no answer gives way to closing the sockets. */
const QUIT_TIMEOUT_MS = 1000;

/** What the adapter knows of one channel it holds. */
type Held = "subscribing" | "subscribed" | "pending";

/**
 * Connects a node's {@link @tandem/server!PubSub} to the others through Redis Cluster's
 * sharded pub/sub (Redis 7 `SSUBSCRIBE`/`SPUBLISH`). A sharded channel lives in the slot
 * of its name, so messages travel only within the shard (a master and its replicas) that
 * owns it, instead of over every node's cluster bus as plain `PUBLISH` does: pub/sub load
 * spreads over the masters as the channels spread over the slots.
 *
 * **Channels.** `<prefix>:ch:<channel>` for each channel the node serves, with no hash
 * tag so that channels scatter over the slots; `<prefix>:bc` for what every node gets
 * (one shard carries all of it: heartbeats and cluster-wide control, not room traffic)
 * and `<prefix>:node:<name>` for this node.
 *
 * **Connections.** One ioredis `Cluster` with `shardedSubscribers`: commands go over its
 * connection to each master, and it keeps one more subscriber connection per master
 * that owns a subscribed channel. When a master dies, a slot moves, or Redis drops a
 * sharded subscription because its slot moved (an unsolicited `SUNSUBSCRIBE`), ioredis
 * refreshes the slot map and subscribes again on the new owner. Channels the adapter
 * could not subscribe while the cluster was unreachable it subscribes when it is back.
 *
 * **Outages.** Delivery is at most once: a publish whose connection closed before Redis
 * answered is not resent (it may or may not have gone out), and while the cluster or a
 * channel's shard is unreachable publishes fail and are counted as dropped. {@link status}
 * follows the cluster client: `"down"` while it reconnects to the whole cluster; a single
 * master failing over shows as drops on its slots until its replica takes over.
 */
export class RedisClusterAdapter implements PubSubAdapter {
  readonly nodeName: string;
  /** The sharded channels this node always listens on. */
  readonly channels: { readonly broadcast: string; readonly direct: string };
  readonly #prefix: string;
  readonly #cluster: Cluster;
  readonly #link: BusLink;
  readonly #log: Logger;
  readonly #readyTimeoutMs: number;
  readonly #requireReady: boolean;
  /** Every Redis channel held, by its full name. */
  readonly #held = new Map<string, Held>();
  /** Channels given up while the cluster was unreachable: Redis may still send them. */
  readonly #stale = new Set<string>();
  #closing: Promise<void> | undefined;
  #retry: NodeJS.Timeout | undefined;
  #retries = 0;

  constructor(options: RedisClusterAdapterOptions) {
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
      component: "redis-cluster-adapter",
      node: this.nodeName,
    });
    this.#link = new BusLink(this.nodeName, this.#log);
    this.#held.set(this.channels.broadcast, "pending");
    this.#held.set(this.channels.direct, "pending");

    this.#cluster = new Cluster([...options.nodes], {
      lazyConnect: true,
      shardedSubscribers: true,
      // The offline queue stays on: without it ioredis fails every command sent while a
      // node's connection is still opening. The adapter itself sends nothing while the
      // cluster is unreachable, so the queue holds only the instants of a connect.
      // Not resending a command whose connection closed keeps delivery at most once.
      retryDelayOnFailover: 0,
      clusterRetryStrategy: reconnectDelay,
      redisOptions: {
        connectionName: connectionName(this.#prefix, this.nodeName),
        maxRetriesPerRequest: 0,
        autoResendUnfulfilledCommands: false,
        // See RedisAdapter: a cut socket gets this long to close, not ioredis's 2 s.
        disconnectTimeout: 100,
      },
    });
    this.#cluster.on("ready", () => this.#onReady());
    for (const event of ["close", "reconnecting", "end"]) {
      this.#cluster.on(event, () => this.#onDown());
    }
    // The cluster reports every failed node and subscriber connection; the status and
    // drops tell the operator what matters.
    this.#cluster.on("error", (err: Error) => this.#link.failed(err, "cluster"));
    this.#cluster.on("node error", (err: Error) => this.#link.failed(err, "node"));
    this.#cluster.on("smessageBuffer", (channel: Buffer, bytes: Buffer) =>
      this.#onMessage(channel.toString(), bytes),
    );
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
    this.#link.start(receive, "RedisClusterAdapter");
    // A failed first attempt rejects, but the cluster client retries by itself.
    this.#cluster.connect().catch((err: Error) => this.#link.failed(err, "connect"));
    try {
      await this.#link.whenReady(this.#readyTimeoutMs, "RedisClusterAdapter");
    } catch (err) {
      if (!this.#requireReady) {
        this.#log.warn(
          { err },
          "Redis Cluster unreachable: serving local clients until it returns",
        );
        return;
      }
      await this.close();
      throw err;
    }
  }

  /**
   * Starts receiving what is {@link publish}ed to `channel`. Idempotent. Resolves once
   * the shard owning it confirms, or at once while the cluster is unreachable (the
   * adapter subscribes when it is back). Never rejects.
   */
  async subscribe(channel: string): Promise<void> {
    const name = this.#channel(channel);
    if (this.#link.closed || this.#held.has(name)) return;
    this.#stale.delete(name);
    this.#held.set(name, "pending");
    if (this.#cluster.status === "ready") await this.#ssubscribe(name);
  }

  /** Stops receiving `channel`. Idempotent. Never rejects. */
  async unsubscribe(channel: string): Promise<void> {
    const name = this.#channel(channel);
    const held = this.#held.get(name);
    if (this.#link.closed || held === undefined) return;
    this.#held.delete(name);
    if (held === "pending") return;
    await this.#cluster.sunsubscribe(name).then(
      () => {},
      // ioredis may still resubscribe it after a failover: drop its messages, retry later.
      () => this.#stale.add(name),
    );
  }

  /** Sends to every other node subscribed to `channel`. Never throws; drops while the bus is down. */
  publish(channel: string, message: BusMessage): void {
    this.#send(this.#channel(channel), message);
  }

  broadcast(message: BusMessage): void {
    this.#send(this.channels.broadcast, message);
  }

  directBroadcast(node: string, message: BusMessage): void {
    this.#send(this.#directChannel(node), message);
  }

  /** Quits every connection; resolves when they are closed. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    this.#link.close();
    clearTimeout(this.#retry);
    const cluster = this.#cluster;
    if (cluster.status === "end") return;
    if (cluster.status !== "ready") {
      cluster.disconnect();
      return;
    }
    const timer = setTimeout(() => cluster.disconnect(), QUIT_TIMEOUT_MS);
    await cluster.quit().catch(() => cluster.disconnect());
    clearTimeout(timer);
  }

  #channel(channel: string): string {
    return `${this.#prefix}:ch:${channel}`;
  }

  #directChannel(node: string): string {
    return `${this.#prefix}:node:${node}`;
  }

  /**
   * Subscribes every channel not yet subscribed, and gives up the stale ones; tries
   * again with backoff while some fail (a shard's subscriber connection not up yet).
   */
  #onReady(): void {
    clearTimeout(this.#retry);
    if (this.#link.closed) return;
    const pending = [...this.#held].filter(([, held]) => held === "pending").map(([name]) => name);
    for (const name of this.#stale) {
      this.#cluster.sunsubscribe(name).then(
        () => this.#stale.delete(name),
        () => {},
      );
    }
    Promise.all(pending.map((name) => this.#ssubscribe(name))).then(() => {
      if (this.#cluster.status !== "ready" || this.#link.closed) return;
      const always = [this.channels.broadcast, this.channels.direct];
      if (always.every((name) => this.#held.get(name) === "subscribed")) this.#link.set("ready");
      if ([...this.#held.values()].includes("pending")) {
        this.#retry = setTimeout(() => this.#onReady(), reconnectDelay(++this.#retries));
      } else {
        this.#retries = 0;
      }
    });
  }

  #onDown(): void {
    if (this.#link.status !== "connecting") this.#link.set("down");
  }

  /** One channel per command: sharded channels in one command must share a slot. */
  async #ssubscribe(name: string): Promise<void> {
    this.#held.set(name, "subscribing");
    try {
      await this.#cluster.ssubscribe(name);
      if (this.#held.get(name) === "subscribing") this.#held.set(name, "subscribed");
      else if (!this.#held.has(name)) this.#stale.add(name);
    } catch (err) {
      this.#link.failed(err as Error, "ssubscribe");
      if (this.#held.get(name) === "subscribing") this.#held.set(name, "pending");
    }
  }

  #onMessage(channel: string, bytes: Buffer): void {
    // A channel given up while the cluster was down may still be subscribed on a shard.
    if (!this.#held.has(channel)) return;
    this.#link.arrived(bytes);
  }

  #send(channel: string, message: BusMessage): void {
    if (this.#cluster.status !== "ready" || this.#link.status !== "ready") {
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
    this.#cluster.spublish(channel, bytes).then(
      () => this.#link.sent(),
      (err: Error) => {
        this.#link.failed(err, "spublish");
        this.#link.dropped();
      },
    );
  }
}

/**
 * The name the connections show in CLIENT LIST, to tell nodes apart there. Redis
 * refuses names with spaces or other special characters.
 */
function connectionName(prefix: string, node: string): string {
  return `${prefix}:${node}`.replace(/[^\x21-\x7e]/g, "_");
}
