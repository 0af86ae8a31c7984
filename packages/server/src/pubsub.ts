import { randomUUID } from "node:crypto";
import type { Broadcast, JsonObject, Serializer } from "@tandem/protocol";
import { defaultLogger, type Logger } from "./logger.js";
import type { BusMessage, PubSubAdapter } from "./pubsub-adapter.js";
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
}

/**
 * Topic subscriptions and fan-out, on this node and, through an adapter, across the
 * cluster. A broadcast is encoded at most once per serializer, however many
 * subscribers it reaches.
 */
export class PubSub {
  readonly #topics = new Map<string, Set<Subscriber>>();
  readonly #adapter: PubSubAdapter | undefined;
  readonly #logger: Logger;
  readonly nodeName: string;
  #started: Promise<void> | undefined;
  #observeFanout: ((seconds: number) => void) | undefined;

  constructor(options: PubSubOptions = {}) {
    this.#adapter = options.adapter;
    this.#logger = options.logger ?? defaultLogger();
    this.nodeName = options.adapter?.nodeName ?? options.nodeName ?? `node-${randomUUID()}`;
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
  subscribe(topic: string, subscriber: Subscriber): () => void {
    let subscribers = this.#topics.get(topic);
    if (!subscribers) {
      subscribers = new Set();
      this.#topics.set(topic, subscribers);
    }
    subscribers.add(subscriber);
    return () => this.unsubscribe(topic, subscriber);
  }

  /** Removes a subscription, for callers that keep no unsubscribe function per topic. */
  unsubscribe(topic: string, subscriber: Subscriber): void {
    const subscribers = this.#topics.get(topic);
    if (!subscribers) return;
    subscribers.delete(subscriber);
    if (subscribers.size === 0) this.#topics.delete(topic);
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
    this.#adapter?.broadcast({ topic, event, payload });
    return this.localBroadcast(topic, event, payload, from);
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
    for (const subscriber of [...subscribers]) {
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
