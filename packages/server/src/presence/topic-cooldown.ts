/**
 * How presence traffic to one topic is paced. The first batch after a quiet period goes
 * out at once; what arrives during the cooldown that follows is merged into one batch.
 * The cooldown grows with the audience, because each batch costs one frame per
 * subscriber: `min(maxIntervalMs, minIntervalMs + perSubscriberMs * subscribers)`.
 */
export interface CoalesceOptions {
  /** Cooldown of a small room (ms). Default 5. */
  minIntervalMs?: number;
  /** Extra cooldown per subscriber (ms). Default 0.01: 2 000 subscribers wait 25 ms. */
  perSubscriberMs?: number;
  /** Longest cooldown (ms). Default 1500, Phoenix's replication period. */
  maxIntervalMs?: number;
}

/** How a {@link TopicCooldown} builds, fills and empties its batches. */
export interface BatchKind<B> {
  create(): B;
  isEmpty(batch: B): boolean;
  emit(topic: string, batch: B): void;
}

/** Per-topic batching with a leading edge and an audience-sized cooldown. */
export class TopicCooldown<B> {
  readonly #topics = new Map<string, { batch: B; timer: ReturnType<typeof setTimeout> }>();
  readonly #interval: (topic: string) => number;
  readonly #kind: BatchKind<B>;

  constructor(
    options: CoalesceOptions,
    subscribers: (topic: string) => number,
    kind: BatchKind<B>,
  ) {
    const min = options.minIntervalMs ?? 5;
    const perSubscriber = options.perSubscriberMs ?? 0.01;
    const max = options.maxIntervalMs ?? 1500;
    this.#interval = (topic) => Math.min(max, min + perSubscriber * subscribers(topic));
    this.#kind = kind;
  }

  /** Adds to the topic's pending batch. */
  add(topic: string, fill: (batch: B) => void): void {
    let pending = this.#topics.get(topic);
    if (!pending) {
      // Idle topic: emit on the next turn, so what is added in the same turn still merges.
      pending = { batch: this.#kind.create(), timer: setTimeout(() => this.#flush(topic), 0) };
      this.#topics.set(topic, pending);
    }
    fill(pending.batch);
  }

  /** Emits every pending batch now and forgets all cooldowns. */
  flushAll(): void {
    for (const [topic, pending] of [...this.#topics]) {
      clearTimeout(pending.timer);
      this.#topics.delete(topic);
      if (!this.#kind.isEmpty(pending.batch)) this.#kind.emit(topic, pending.batch);
    }
  }

  #flush(topic: string): void {
    const pending = this.#topics.get(topic);
    if (!pending) return;
    if (this.#kind.isEmpty(pending.batch)) {
      this.#topics.delete(topic);
      return;
    }
    const batch = pending.batch;
    pending.batch = this.#kind.create();
    pending.timer = setTimeout(() => this.#flush(topic), this.#interval(topic));
    this.#kind.emit(topic, batch);
  }
}
