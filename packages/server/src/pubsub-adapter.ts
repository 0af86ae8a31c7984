import type { JsonObject } from "@tandem/protocol";

/** A broadcast as it crosses the cluster bus. */
export interface BusMessage {
  readonly topic: string;
  readonly event: string;
  readonly payload: JsonObject | Uint8Array;
}

/**
 * Connects one node's {@link PubSub} to the others. The adapter serialises a message
 * once for the bus; each receiving node encodes it once per wire format for its own
 * subscribers. Messages a node sends never come back to it.
 *
 * Routing is by interest: a node receives what is published to the channels it
 * subscribes to (PubSub subscribes to a topic shard's channel while it serves a topic
 * of that shard), plus every `broadcast` and every message addressed to it.
 */
export interface PubSubAdapter {
  /** This node's name, unique in the cluster; direct messages are addressed to it. */
  readonly nodeName: string;
  /**
   * Connects. `receive` gets messages published to channels this node subscribes to,
   * every `broadcast`, and direct messages.
   */
  start(receive: (message: BusMessage) => void): Promise<void>;
  /**
   * Starts receiving what is `publish`ed to `channel` (an opaque name chosen by
   * PubSub/Tracker: 1-64 chars of [A-Za-z0-9_.:-]). Idempotent. Resolves once the
   * engine confirms the subscription, or at once while the bus is down (the adapter
   * resubscribes every channel it holds whenever it reconnects). Never rejects.
   */
  subscribe(channel: string): Promise<void>;
  /** Stops receiving `channel`. Idempotent. Never rejects. */
  unsubscribe(channel: string): Promise<void>;
  /** Sends to every other node subscribed to `channel`. Never throws; drops while the bus is down. */
  publish(channel: string, message: BusMessage): void;
  /** Sends to every other node (liveness heartbeats, cluster-wide control). Never throws. */
  broadcast(message: BusMessage): void;
  /** Sends to one node by name. Never throws, drops while the bus is down. */
  directBroadcast(node: string, message: BusMessage): void;
  /** Disconnects from the bus. */
  close(): Promise<void>;
}
