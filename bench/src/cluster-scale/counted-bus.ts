import type { BusMessage, PubSubAdapter } from "@tandem/server";

/** What reached one node's receive over the bus, and what handling it cost. */
export interface BusCounters {
  messages: number;
  /** Bytes of the messages as JSON, as the bus carries them (without its framing). */
  bytes: number;
  /** Broadcasts of topics the node had no subscriber of when they arrived. */
  unserved: number;
  /** Time this node spent decoding and handling, and in its own tracker work (ns). */
  cpuNs: number;
}

/** What all nodes received of one kind of message. */
export interface EventCounters {
  messages: number;
  bytes: number;
}

interface Node {
  receive: ((message: BusMessage) => void) | undefined;
  readonly channels: Set<string>;
  readonly counters: BusCounters;
  /** Whether a topic has subscribers on the node, to count broadcasts it did not need. */
  serves: (topic: string) => boolean;
}

interface InFlight {
  readonly to: string;
  readonly json: string;
}

const zero = (): BusCounters => ({ messages: 0, bytes: 0, unserved: 0, cpuNs: 0 });

/**
 * An in-process cluster bus that counts, per receiving node, what it is handed. A
 * message is encoded once per send and decoded by every receiver, as over Redis.
 * Delivery waits until {@link drain}, which the simulation runs after each operation.
 */
export class CountedBus {
  readonly #nodes = new Map<string, Node>();
  /** Messages and bytes received over all nodes, by event (heartbeats by {@link kindOf}). */
  readonly #events = new Map<string, EventCounters>();
  #inFlight: InFlight[] = [];

  /** The adapter of node `name`; `serves` tells whether it has subscribers of a topic. */
  adapter(name: string, serves: (topic: string) => boolean): PubSubAdapter {
    const node: Node = { receive: undefined, channels: new Set(), counters: zero(), serves };
    this.#nodes.set(name, node);
    const send = (to: Iterable<string>, message: BusMessage): void => {
      const json = JSON.stringify(message);
      for (const other of to) if (other !== name) this.#inFlight.push({ to: other, json });
    };
    return {
      nodeName: name,
      start: async (receive) => {
        node.receive = receive;
      },
      subscribe: async (channel) => {
        node.channels.add(channel);
      },
      unsubscribe: async (channel) => {
        node.channels.delete(channel);
      },
      publish: (channel, message) => send(this.#subscribersOf(channel), message),
      broadcast: (message) => send(this.#nodes.keys(), message),
      directBroadcast: (to, message) => send([to], message),
      close: async () => {
        this.#nodes.delete(name);
      },
    };
  }

  *#subscribersOf(channel: string): Iterable<string> {
    for (const [name, node] of this.#nodes) if (node.channels.has(channel)) yield name;
  }

  /** Delivers until nothing is in flight (answers to answers included). */
  drain(): void {
    while (this.#inFlight.length > 0) {
      const batch = this.#inFlight;
      this.#inFlight = [];
      for (const { to, json } of batch) {
        const node = this.#nodes.get(to);
        if (!node?.receive) continue;
        const started = process.hrtime.bigint();
        const message = JSON.parse(json) as BusMessage;
        node.counters.messages++;
        const bytes = Buffer.byteLength(json);
        node.counters.bytes += bytes;
        const kind = kindOf(message);
        const counted = this.#events.get(kind) ?? { messages: 0, bytes: 0 };
        counted.messages++;
        counted.bytes += bytes;
        this.#events.set(kind, counted);
        if (message.event === "shout" && !node.serves(message.topic)) node.counters.unserved++;
        node.receive(message);
        node.counters.cpuNs += Number(process.hrtime.bigint() - started);
      }
    }
  }

  /** Runs `work` on behalf of node `name`, charging its time to that node. */
  charge<T>(name: string, work: () => T): T {
    const started = process.hrtime.bigint();
    try {
      return work();
    } finally {
      const node = this.#nodes.get(name);
      if (node) node.counters.cpuNs += Number(process.hrtime.bigint() - started);
    }
  }

  /** A copy of node `name`'s counters. */
  counters(name: string): BusCounters {
    return { ...(this.#nodes.get(name)?.counters ?? zero()) };
  }

  /** Messages and bytes received over all nodes, by event, since the last {@link reset}. */
  events(): Record<string, EventCounters> {
    return Object.fromEntries([...this.#events].map(([kind, counted]) => [kind, { ...counted }]));
  }

  /** Starts every node's counters from zero (after the warm-up). */
  reset(): void {
    this.#events.clear();
    for (const node of this.#nodes.values()) Object.assign(node.counters, zero());
  }
}

/**
 * A message's event, with a tracker heartbeat told apart by what it carries: `eager`
 * (a delta, no clocks), `announce` (clocks and the sender's own entries: a shard taken
 * up, or the answer to a node that took it up), `clocks` (the periodic one, with any
 * delta that waited for it).
 */
function kindOf(message: BusMessage): string {
  if (message.event !== "heartbeat" || message.payload instanceof Uint8Array) return message.event;
  const { payload } = message;
  if (payload.state !== undefined) return "heartbeat/announce";
  return payload.clocks === undefined || payload.clocks === null
    ? "heartbeat/eager"
    : "heartbeat/clocks";
}
