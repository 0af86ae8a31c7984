import type { Broadcast, Frame, JsonObject, Serializer } from "@tandem/protocol";

/**
 * A direct path from a broadcast to a client connection that skips the channel:
 * the frame is encoded once per serializer and written as is.
 */
export interface Fastlane {
  readonly serializer: Serializer;
  /** Events the channel wants to see (and rewrite) itself instead. */
  readonly intercept: ReadonlySet<string>;
  write(frame: Frame): void;
}

/** One subscription to a topic. */
export interface Subscriber {
  readonly fastlane?: Fastlane;
  /** Receives broadcasts that do not go through the fastlane. */
  deliver(broadcast: Broadcast): void;
}

/**
 * Local topic subscriptions and fan-out. A broadcast is encoded at most once per
 * serializer, however many subscribers it reaches.
 */
export class PubSub {
  readonly #topics = new Map<string, Set<Subscriber>>();

  /** Subscribes and returns the function that unsubscribes. */
  subscribe(topic: string, subscriber: Subscriber): () => void {
    let subscribers = this.#topics.get(topic);
    if (!subscribers) {
      subscribers = new Set();
      this.#topics.set(topic, subscribers);
    }
    subscribers.add(subscriber);
    return () => this.#unsubscribe(topic, subscriber);
  }

  /** How many subscribers a topic has on this node. */
  subscriberCount(topic: string): number {
    return this.#topics.get(topic)?.size ?? 0;
  }

  /**
   * Delivers to every subscriber of `topic` except `from`. Returns the number of
   * subscribers reached.
   */
  broadcast(
    topic: string,
    event: string,
    payload: JsonObject | Uint8Array,
    from?: Subscriber,
  ): number {
    const subscribers = this.#topics.get(topic);
    if (!subscribers) return 0;
    const message: Broadcast = { topic, event, payload };
    const frames = new Map<Serializer, Frame>();
    let reached = 0;
    // Copy first: a delivery may unsubscribe (a channel stopping) while we iterate.
    for (const subscriber of [...subscribers]) {
      if (subscriber === from) continue;
      reached++;
      const lane = subscriber.fastlane;
      if (!lane || lane.intercept.has(event)) {
        subscriber.deliver(message);
        continue;
      }
      let frame = frames.get(lane.serializer);
      if (frame === undefined) {
        frame = lane.serializer.encodeBroadcast(message);
        frames.set(lane.serializer, frame);
      }
      lane.write(frame);
    }
    return reached;
  }

  #unsubscribe(topic: string, subscriber: Subscriber): void {
    const subscribers = this.#topics.get(topic);
    if (!subscribers) return;
    subscribers.delete(subscriber);
    if (subscribers.size === 0) this.#topics.delete(topic);
  }
}
