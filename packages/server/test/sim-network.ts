import type { BusMessage, PubSubAdapter } from "../src/index.js";

/** A message as it leaves its sender, with the size of its JSON in bytes. */
export interface SentMessage {
  readonly from: string;
  readonly to: string;
  readonly message: BusMessage;
  readonly bytes: number;
}

interface InFlight {
  from: string;
  to: string;
  // Serialised as the real bus would: receivers never share objects with senders.
  json: string;
}

/**
 * An in-process cluster bus whose delivery the test controls: messages wait in flight
 * until `deliver` runs, which may drop, duplicate and reorder them, and never crosses a
 * partition.
 */
export class SimNetwork {
  readonly #nodes = new Map<string, (message: BusMessage) => void>();
  /** The channels each node subscribes to. */
  readonly #channels = new Map<string, Set<string>>();
  readonly #partitions = new Set<string>();
  #inFlight: InFlight[] = [];
  /** Sees every message sent; one it returns false for is lost. */
  filter: ((sent: SentMessage) => boolean) | undefined;

  adapter(nodeName: string): PubSubAdapter {
    return {
      nodeName,
      start: async (receive) => {
        this.#nodes.set(nodeName, receive);
      },
      subscribe: async (channel) => {
        this.#subscriptions(nodeName).add(channel);
      },
      unsubscribe: async (channel) => {
        this.#subscriptions(nodeName).delete(channel);
      },
      publish: (channel, message) => {
        for (const [to, channels] of this.#channels) {
          if (to !== nodeName && channels.has(channel)) this.#send(nodeName, to, message);
        }
      },
      broadcast: (message) => {
        for (const to of this.#nodes.keys()) {
          if (to !== nodeName) this.#send(nodeName, to, message);
        }
      },
      directBroadcast: (to, message) => this.#send(nodeName, to, message),
      close: async () => {
        this.#nodes.delete(nodeName);
        this.#channels.delete(nodeName);
      },
    };
  }

  /** The channels `nodeName` subscribes to now. */
  channelsOf(nodeName: string): ReadonlySet<string> {
    return this.#subscriptions(nodeName);
  }

  #subscriptions(nodeName: string): Set<string> {
    let channels = this.#channels.get(nodeName);
    if (!channels) {
      channels = new Set();
      this.#channels.set(nodeName, channels);
    }
    return channels;
  }

  /** Removes a node without a goodbye, as kill -9 does. */
  kill(nodeName: string): void {
    this.#nodes.delete(nodeName);
    this.#channels.delete(nodeName);
    this.#inFlight = this.#inFlight.filter((m) => m.from !== nodeName && m.to !== nodeName);
  }

  partition(a: string, b: string): void {
    this.#partitions.add([a, b].sort().join("|"));
  }

  heal(): void {
    this.#partitions.clear();
  }

  /**
   * Delivers what is in flight (and what those deliveries send, up to `rounds` waves).
   * `chaos` sets the odds of dropping, duplicating and shuffling.
   */
  deliver(
    random: () => number,
    chaos = { drop: 0, duplicate: 0, shuffle: false },
    rounds = 4,
  ): void {
    for (let round = 0; round < rounds && this.#inFlight.length > 0; round++) {
      const batch = this.#inFlight;
      this.#inFlight = [];
      if (chaos.shuffle) {
        for (let i = batch.length - 1; i > 0; i--) {
          const j = Math.floor(random() * (i + 1));
          [batch[i], batch[j]] = [batch[j]!, batch[i]!];
        }
      }
      for (const message of batch) {
        if (random() < chaos.drop) continue;
        const copies = random() < chaos.duplicate ? 2 : 1;
        for (let c = 0; c < copies; c++) this.#nodes.get(message.to)?.(decode(message.json));
      }
    }
  }

  #send(from: string, to: string, message: BusMessage): void {
    if (!this.#nodes.has(to) || this.#partitions.has([from, to].sort().join("|"))) return;
    const json = encode(message);
    const bytes = Buffer.byteLength(JSON.stringify(message.payload));
    if (this.filter && !this.filter({ from, to, message, bytes })) return;
    this.#inFlight.push({ from, to, json });
  }
}

function encode(message: BusMessage): string {
  if (message.payload instanceof Uint8Array) throw new Error("the tracker sends JSON only");
  return JSON.stringify(message);
}

function decode(json: string): BusMessage {
  return JSON.parse(json) as BusMessage;
}
