import { randomUUID } from "node:crypto";
import type { Broadcast, JsonObject, Serializer } from "@tandem/protocol";
import { defaultLogger, type Logger } from "./logger.js";
import type { BusMessage, PubSubAdapter } from "./pubsub-adapter.js";
import { checkShards, DEFAULT_SHARDS, shardChannel, shardOf } from "./shard.js";
import { forMany, type OutboundFrame } from "./text-bytes.js";

/**
 * A direct path from a broadcast to a client connection that skips the channel:
 * the frame is encoded once per serializer and written as is.
 */
export interface Fastlane {
  readonly serializer: Serializer;
  /** Events the channel wants to see (and rewrite) itself instead. */
  readonly intercept: ReadonlySet<string>;
  /** Writes an encoded frame to the connection. */
  write(frame: OutboundFrame): void;
}

/** One subscription to a topic. */
export interface Subscriber {
  readonly fastlane?: Fastlane;
  /** Receives broadcasts that do not go through the fastlane. */
  deliver(broadcast: Broadcast): void;
}

/** PubSub options. */
export interface PubSubOptions {
  /** The cluster bus; without one, broadcasts stay on this node. */
  adapter?: PubSubAdapter;
  /** This node's name when there is no adapter. Default: unique per process. */
  nodeName?: string;
  /** Where a failing delivery is reported. Default: a pino logger at `LOG_LEVEL`. */
  logger?: Logger;
  /**
   * How many shards topics hash to; a node receives the broadcasts of a shard only while
   * it serves a topic of it. Every node of a cluster must use the same count. Default
   * {@link DEFAULT_SHARDS}; 1 makes every node receive everything.
   */
  shards?: number;
}

/** Options of one subscription. */
export interface SubscribeOptions {
  /**
   * Whether this subscription makes the node interested in the topic's shard (the
   * default). A subscriber with `false` only hears what other interests bring to this
   * node: the tracker listens to its bus topic so, on every shard at once.
   */
  interest?: boolean;
}

/** Called when this node gains (`true`) or loses (`false`) interest in a shard. */
export type InterestListener = (shard: number, interested: boolean) => void;

/**
 * Topic subscriptions and fan-out, on this node and, through an adapter, across the
 * cluster. A broadcast is encoded at most once per serializer, however many
 * subscribers it reaches.
 *
 * Across the cluster, broadcasts are routed by interest: topics hash to shards, and
 * this node subscribes the adapter to a shard's channel while it has subscribers of a
 * topic of that shard, or while something {@link hold}s the shard.
 */
export class PubSub {
  /** Subscribers per topic, each with whether it counts as interest. */
  readonly #topics = new Map<string, Map<Subscriber, boolean>>();
  /** Per topic, how many of its subscribers count as interest; never 0. */
  readonly #interestedSubscribers = new Map<string, number>();
  /** Per shard, topics with interested subscribers plus holds; never 0. */
  readonly #interest = new Map<number, number>();
  readonly #interestListeners = new Set<InterestListener>();
  /** Per interested shard, the adapter's subscription to its channel. */
  readonly #subscriptions = new Map<number, Promise<void>>();
  readonly #adapter: PubSubAdapter | undefined;
  readonly #logger: Logger;
  readonly nodeName: string;
  /** How many shards topics hash to. */
  readonly shards: number;
  #started: Promise<void> | undefined;
  #observeFanout: ((seconds: number) => void) | undefined;

  constructor(options: PubSubOptions = {}) {
    this.#adapter = options.adapter;
    this.#logger = options.logger ?? defaultLogger();
    this.nodeName = options.adapter?.nodeName ?? options.nodeName ?? `node-${randomUUID()}`;
    this.shards = checkShards(options.shards ?? DEFAULT_SHARDS);
  }

  /** Reports how long each local fan-out takes, for metrics. */
  observeFanout(observer: (seconds: number) => void): void {
    this.#observeFanout = observer;
  }

  /** Whether broadcasts reach other nodes. */
  get clustered(): boolean {
    return this.#adapter !== undefined;
  }

  /** Connects the adapter, once; later calls return the same promise. */
  start(): Promise<void> {
    this.#started ??= this.#adapter
      ? this.#adapter.start((message) => this.#receive(message))
      : Promise.resolve();
    return this.#started;
  }

  /** Disconnects the adapter. */
  async close(): Promise<void> {
    if (this.#started) await this.#adapter?.close();
  }

  /** Subscribes and returns the function that unsubscribes. */
  subscribe(topic: string, subscriber: Subscriber, options: SubscribeOptions = {}): () => void {
    let subscribers = this.#topics.get(topic);
    if (!subscribers) {
      subscribers = new Map();
      this.#topics.set(topic, subscribers);
    }
    if (subscribers.has(subscriber)) return () => this.unsubscribe(topic, subscriber);
    const interest = options.interest !== false;
    subscribers.set(subscriber, interest);
    if (interest) {
      const count = (this.#interestedSubscribers.get(topic) ?? 0) + 1;
      this.#interestedSubscribers.set(topic, count);
      if (count === 1) this.#gain(this.shardOf(topic));
    }
    return () => this.unsubscribe(topic, subscriber);
  }

  /** Removes a subscription, for callers that keep no unsubscribe function per topic. */
  unsubscribe(topic: string, subscriber: Subscriber): void {
    const subscribers = this.#topics.get(topic);
    const interest = subscribers?.get(subscriber);
    if (!subscribers || interest === undefined) return;
    subscribers.delete(subscriber);
    if (subscribers.size === 0) this.#topics.delete(topic);
    if (!interest) return;
    const count = this.#interestedSubscribers.get(topic)! - 1;
    if (count > 0) {
      this.#interestedSubscribers.set(topic, count);
      return;
    }
    this.#interestedSubscribers.delete(topic);
    this.#lose(this.shardOf(topic));
  }

  /** The shard `topic` belongs to. */
  shardOf(topic: string): number {
    return shardOf(topic, this.shards);
  }

  /**
   * Resolves once the bus delivers `topic`'s broadcasts from other nodes here, as far as
   * the adapter can tell (at once while the bus is down, or when no one subscribed).
   */
  whenSubscribed(topic: string): Promise<void> {
    return this.pendingSubscription(topic) ?? Promise.resolve();
  }

  /**
   * The bus's confirmation of `topic`'s shard subscription while it is awaited, or
   * `undefined` once it came (or when there is no bus), so that a join needs no wait.
   */
  pendingSubscription(topic: string): Promise<void> | undefined {
    return this.#subscriptions.get(this.shardOf(topic));
  }

  /** Whether this node serves a topic of `shard`, or holds it. */
  interested(shard: number): boolean {
    return this.#interest.has(shard);
  }

  /** The shards this node is interested in. */
  interests(): number[] {
    return [...this.#interest.keys()];
  }

  /**
   * Keeps this node interested in `shard` without a subscriber, as the tracker does
   * while it holds presence entries of the shard's topics. Returns the release.
   */
  hold(shard: number): () => void {
    this.#gain(shard);
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.#lose(shard);
    };
  }

  /**
   * Calls `listener` whenever this node gains or loses interest in a shard: gains
   * after the adapter was asked to subscribe, losses before it is asked to unsubscribe,
   * so that a listener can still say goodbye. Returns the function that removes it.
   */
  onInterest(listener: InterestListener): () => void {
    this.#interestListeners.add(listener);
    return () => this.#interestListeners.delete(listener);
  }

  #gain(shard: number): void {
    const count = (this.#interest.get(shard) ?? 0) + 1;
    this.#interest.set(shard, count);
    if (count > 1) return;
    if (this.#adapter) {
      const pending: Promise<void> = this.#adapter.subscribe(shardChannel(shard)).then(() => {
        if (this.#subscriptions.get(shard) === pending) this.#subscriptions.delete(shard);
      });
      this.#subscriptions.set(shard, pending);
    }
    this.#notify(shard, true);
  }

  #lose(shard: number): void {
    const count = this.#interest.get(shard)! - 1;
    if (count > 0) {
      this.#interest.set(shard, count);
      return;
    }
    this.#interest.delete(shard);
    this.#notify(shard, false);
    // A listener may have gained it again (a goodbye that tracked): then stay subscribed.
    if (this.#interest.has(shard)) return;
    this.#subscriptions.delete(shard);
    void this.#adapter?.unsubscribe(shardChannel(shard));
  }

  #notify(shard: number, interested: boolean): void {
    for (const listener of [...this.#interestListeners]) {
      try {
        listener(shard, interested);
      } catch (err) {
        this.#logger.error({ err, shard }, "interest listener failed");
      }
    }
  }

  /**
   * Every topic with subscribers on this node, and how many it has: a read-only walk for
   * diagnostics (the operator dashboard's busiest topics), O(topics).
   */
  *topicSizes(): IterableIterator<[topic: string, subscribers: number]> {
    for (const [topic, subscribers] of this.#topics) yield [topic, subscribers.size];
  }

  /** How many subscribers a topic has on this node. */
  subscriberCount(topic: string): number {
    return this.#topics.get(topic)?.size ?? 0;
  }

  /**
   * Delivers to every subscriber of `topic` on every node, except `from`. Returns the
   * number of subscribers reached on this node.
   */
  broadcast(
    topic: string,
    event: string,
    payload: JsonObject | Uint8Array,
    from?: Subscriber,
  ): number {
    this.#adapter?.publish(shardChannel(this.shardOf(topic)), { topic, event, payload });
    return this.localBroadcast(topic, event, payload, from);
  }

  /**
   * Sends to the other nodes interested in `shard` only, for a subscriber of `topic`
   * there (the tracker's replication of one shard).
   */
  shardBroadcast(
    shard: number,
    topic: string,
    event: string,
    payload: JsonObject | Uint8Array,
  ): void {
    this.#adapter?.publish(shardChannel(shard), { topic, event, payload });
  }

  /** Sends to every other node, whatever it serves (the tracker's liveness heartbeat). */
  clusterBroadcast(topic: string, event: string, payload: JsonObject | Uint8Array): void {
    this.#adapter?.broadcast({ topic, event, payload });
  }

  /** Delivers to one node: this one, or another through the adapter. */
  directBroadcast(
    node: string,
    topic: string,
    event: string,
    payload: JsonObject | Uint8Array,
  ): void {
    if (node === this.nodeName) this.localBroadcast(topic, event, payload);
    else this.#adapter?.directBroadcast(node, { topic, event, payload });
  }

  /** Delivers to the subscribers of `topic` on this node only, except `from`. */
  localBroadcast(
    topic: string,
    event: string,
    payload: JsonObject | Uint8Array,
    from?: Subscriber,
  ): number {
    const subscribers = this.#topics.get(topic);
    if (!subscribers) return 0;
    const started = this.#observeFanout ? process.hrtime.bigint() : 0n;
    const message: Broadcast = { topic, event, payload };
    const frames = new Map<Serializer, OutboundFrame>();
    let reached = 0;
    // Copy first: a delivery may unsubscribe (a channel stopping) while we iterate.
    for (const subscriber of [...subscribers.keys()]) {
      if (subscriber === from) continue;
      reached++;
      // One failing subscriber must neither starve the ones after it nor throw into the
      // broadcaster, which is some other client's channel.
      try {
        const lane = subscriber.fastlane;
        if (!lane || lane.intercept.has(event)) {
          subscriber.deliver(message);
          continue;
        }
        let frame = frames.get(lane.serializer);
        if (frame === undefined) {
          frame = forMany(lane.serializer.encodeBroadcast(message));
          frames.set(lane.serializer, frame);
        }
        lane.write(frame);
      } catch (err) {
        this.#logger.error({ err, topic, event }, "broadcast delivery failed");
      }
    }
    if (this.#observeFanout) {
      this.#observeFanout(Number(process.hrtime.bigint() - started) / 1e9);
    }
    return reached;
  }

  #receive(message: BusMessage): void {
    this.localBroadcast(message.topic, message.event, message.payload);
  }
}
