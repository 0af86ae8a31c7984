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
 */
export interface PubSubAdapter {
  /** This node's name, unique in the cluster; direct messages are addressed to it. */
  readonly nodeName: string;
  /**
   * Connects to the bus. From then on `receive` gets every message other nodes
   * broadcast, and every message sent directly to this node.
   */
  start(receive: (message: BusMessage) => void): Promise<void>;
  /** Sends to every other node. Never throws: while the bus is down messages are dropped. */
  broadcast(message: BusMessage): void;
  /** Sends to one node by name. Never throws, drops while the bus is down. */
  directBroadcast(node: string, message: BusMessage): void;
  /** Disconnects from the bus. */
  close(): Promise<void>;
}
