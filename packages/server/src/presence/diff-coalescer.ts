import type { PresenceDiff, PresenceMeta } from "@tandem/protocol";
import { DiffBatch } from "./diff-batch.js";

/**
 * How presence changes to one topic are batched. The first change after a quiet period
 * goes out at once; changes during the cooldown that follows are merged into one diff.
 * The cooldown grows with the audience, because each diff costs one frame per
 * subscriber: `min(maxIntervalMs, minIntervalMs + perSubscriberMs * subscribers)`.
 */
export interface CoalesceOptions {
  /** Cooldown of a small room (ms). Default 10. */
  minIntervalMs?: number;
  /** Extra cooldown per subscriber (ms). Default 0.05: 2 000 subscribers wait 110 ms. */
  perSubscriberMs?: number;
  /** Longest cooldown (ms). Default 1500, Phoenix's replication period. */
  maxIntervalMs?: number;
}

interface TopicBatch {
  batch: DiffBatch;
  timer: ReturnType<typeof setTimeout>;
}

/** Collects presence changes per topic and emits them as coalesced diffs. */
export class DiffCoalescer {
  readonly #topics = new Map<string, TopicBatch>();
  readonly #min: number;
  readonly #perSubscriber: number;
  readonly #max: number;
  readonly #subscribers: (topic: string) => number;
  readonly #emit: (topic: string, diff: PresenceDiff) => void;

  constructor(
    options: CoalesceOptions,
    subscribers: (topic: string) => number,
    emit: (topic: string, diff: PresenceDiff) => void,
  ) {
    this.#min = options.minIntervalMs ?? 10;
    this.#perSubscriber = options.perSubscriberMs ?? 0.05;
    this.#max = options.maxIntervalMs ?? 1500;
    this.#subscribers = subscribers;
    this.#emit = emit;
  }

  /** Adds changes for a topic. Metas must carry their `phx_ref`. */
  add(
    topic: string,
    joins: readonly [string, PresenceMeta][],
    leaves: readonly [string, PresenceMeta][],
  ): void {
    let pending = this.#topics.get(topic);
    if (!pending) {
      // Idle topic: emit on the next turn, so changes made in the same turn still merge.
      pending = { batch: new DiffBatch(), timer: setTimeout(() => this.#flush(topic), 0) };
      this.#topics.set(topic, pending);
    }
    for (const [key, meta] of joins) pending.batch.join(key, meta);
    for (const [key, meta] of leaves) pending.batch.leave(key, meta);
  }

  /** Emits every pending diff now and forgets all cooldowns. */
  flushAll(): void {
    for (const [topic, pending] of [...this.#topics]) {
      clearTimeout(pending.timer);
      this.#topics.delete(topic);
      if (!pending.batch.isEmpty) this.#emit(topic, pending.batch.toDiff());
    }
  }

  #flush(topic: string): void {
    const pending = this.#topics.get(topic);
    if (!pending) return;
    if (pending.batch.isEmpty) {
      this.#topics.delete(topic);
      return;
    }
    const diff = pending.batch.toDiff();
    pending.batch = new DiffBatch();
    pending.timer = setTimeout(() => this.#flush(topic), this.#interval(topic));
    this.#emit(topic, diff);
  }

  #interval(topic: string): number {
    return Math.min(this.#max, this.#min + this.#perSubscriber * this.#subscribers(topic));
  }
}
