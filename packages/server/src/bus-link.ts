import { decodeEnvelope } from "./bus-envelope.js";
import type { Logger } from "./logger.js";
import type { BusMessage } from "./pubsub-adapter.js";

/**
 * Whether a bus carries messages: `"connecting"` until it first does, `"ready"` while it
 * does, `"down"` whenever it does not after that (and after close).
 */
export type BusStatus = "connecting" | "ready" | "down";

/** Message counts since an adapter was created, for metrics. */
export interface BusStats {
  /** Messages handed to the engine for delivery. */
  readonly published: number;
  /** Messages from other nodes handed to PubSub. */
  readonly received: number;
  /** Bytes of those messages as they came off the bus (envelope included). */
  readonly receivedBytes: number;
  /** Messages not sent: the bus was down, the engine refused them, or they could not be wrapped. */
  readonly dropped: number;
  /** Messages from the bus that were not valid envelopes. */
  readonly invalid: number;
}

/** Undecodable messages are logged at most this often, so a flood cannot flood the log. */
const INVALID_LOG_INTERVAL_MS = 10_000;

/**
 * The half of a {@link PubSubAdapter} that is the same on every engine: the status and
 * its listeners, the counters, and what happens to bytes that arrive (decode, drop the
 * node's own, count the invalid, hand the rest over). The engine's adapter owns the
 * connections and tells the link what they do.
 */
export class BusLink {
  readonly #nodeName: string;
  readonly #log: Logger;
  readonly #name: string;
  readonly #statusListeners = new Set<(status: BusStatus) => void>();
  readonly #counts = { published: 0, received: 0, receivedBytes: 0, dropped: 0, invalid: 0 };
  #status: BusStatus = "connecting";
  #closed = false;
  #receive: ((message: BusMessage) => void) | undefined;
  #lastError: Error | undefined;
  #invalidLoggedAt = Number.NEGATIVE_INFINITY;

  /**
   * `log` names the engine; messages from `nodeName` are this node's own. `name` starts
   * the status lines in the log ("bus down: ...", "redis bus ready").
   */
  constructor(nodeName: string, log: Logger, name = "bus") {
    this.#nodeName = nodeName;
    this.#log = log;
    this.#name = name;
  }

  /** The current status. */
  get status(): BusStatus {
    return this.#status;
  }

  /** Whether {@link close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** A snapshot of the counters. */
  get stats(): BusStats {
    return { ...this.#counts };
  }

  /** The last connection error, shown when the bus goes down or never comes up. */
  get lastError(): Error | undefined {
    return this.#lastError;
  }

  /** Remembers why the engine failed; every reconnect attempt reports one, so only debug-logged. */
  failed(err: Error, connection: string): void {
    this.#lastError = err;
    this.#log.debug({ err, connection }, "bus connection error");
  }

  /**
   * Calls `listener` on every status change (not with the current status). Returns the
   * function that removes it.
   */
  onStatus(listener: (status: BusStatus) => void): () => void {
    this.#statusListeners.add(listener);
    return () => this.#statusListeners.delete(listener);
  }

  /** Where arriving messages go from now on; throws if the link already has one or is closed. */
  start(receive: (message: BusMessage) => void, engine: string): void {
    if (this.#receive || this.#closed) throw new Error(`${engine} starts once, before close`);
    this.#receive = receive;
  }

  /** Counts a message the engine accepted. */
  sent(): void {
    this.#counts.published++;
  }

  /** Counts a message that was not sent. */
  dropped(): void {
    this.#counts.dropped++;
  }

  /**
   * Bytes that came off the bus: anyone who can publish there can send anything, so
   * they are decoded defensively; invalid ones are counted (and logged now and then),
   * the node's own are dropped, the rest go to `receive`. Never throws: it runs inside
   * the engine client's read loop.
   */
  arrived(bytes: Uint8Array): void {
    const result = decodeEnvelope(bytes);
    if (!result.ok) {
      this.#counts.invalid++;
      const now = Date.now();
      if (now - this.#invalidLoggedAt >= INVALID_LOG_INTERVAL_MS) {
        this.#invalidLoggedAt = now;
        this.#log.warn(
          { kind: result.error.kind, reason: result.error.message, invalid: this.#counts.invalid },
          "dropped undecodable bus messages",
        );
      }
      return;
    }
    const { origin, topic, event, payload } = result.value;
    if (origin === this.#nodeName) return;
    this.#counts.received++;
    this.#counts.receivedBytes += bytes.byteLength;
    try {
      this.#receive?.({ topic, event, payload });
    } catch (err) {
      this.#log.error({ err, topic, event }, "delivering a bus message failed");
    }
  }

  /** Moves to `status`, logging the change and telling the listeners. No-op once closed. */
  set(status: BusStatus): void {
    if (this.#closed || status === this.#status) return;
    if (status === "connecting") throw new Error("a bus never goes back to connecting");
    this.#status = status;
    if (status === "down") {
      this.#log.warn(
        { err: this.#lastError },
        `${this.#name} down: cluster messages are dropped until it is back`,
      );
    } else {
      this.#lastError = undefined;
      this.#log.info({ dropped: this.#counts.dropped }, `${this.#name} ready`);
    }
    this.#notify();
  }

  /** Marks the link closed and down for good. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const changed = this.#status !== "down";
    this.#status = "down";
    this.#log.info({}, `${this.#name} closed`);
    if (changed) this.#notify();
  }

  /**
   * Resolves once the status is `"ready"`; rejects after `timeoutMs`, or when the link
   * closes first.
   */
  whenReady(timeoutMs: number, engine: string): Promise<void> {
    if (this.#status === "ready") return Promise.resolve();
    if (this.#closed) return Promise.reject(new Error(`${engine} closed while starting`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        stop();
        const reason = this.#lastError ? `: ${this.#lastError.message}` : "";
        reject(new Error(`${engine} not ready after ${timeoutMs} ms${reason}`));
      }, timeoutMs);
      const stop = this.onStatus((status) => {
        if (status === "ready") resolve();
        else if (this.#closed) reject(new Error(`${engine} closed while starting`));
        else return;
        clearTimeout(timer);
        stop();
      });
    });
  }

  #notify(): void {
    for (const listener of [...this.#statusListeners]) {
      try {
        listener(this.#status);
      } catch (err) {
        this.#log.error({ err }, "status listener failed");
      }
    }
  }
}

/** Exponential backoff from 100 ms up to 2 s, jittered so a restarted engine is not stampeded. */
export function reconnectDelay(attempt: number): number {
  return Math.round(Math.min(50 * 2 ** attempt, 2000) * (0.5 + Math.random() / 2));
}
