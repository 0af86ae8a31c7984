/**
 * How presence traffic to one topic is paced. The first batch after a quiet period goes
 * out at once; what arrives during the cooldown that follows is merged into one batch.
 * The cooldown grows with the audience, because each batch costs one frame per
 * subscriber: `min(maxIntervalMs, minIntervalMs + perSubscriberMs * subscribers)`.
 * The cooldown paces joins and leaves; meta updates (typing, a cursor) wait for it only
 * while a batch of joins and leaves is already waiting.
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

/**
 * Per-topic batching with a leading edge and an audience-sized cooldown.
 *
 * Coalescing pays off in a storm, when a crowd joins or leaves and each change would
 * otherwise cost a frame per subscriber. A typing flag or a cursor is one change at a
 * time, and a cooldown would only add its length to the latency. So an urgent change
 * ({@link addUrgent}) goes out at once, as it would without coalescing, unless a storm's
 * batch is waiting: then it joins that batch, which keeps it behind the joins it may refer
 * to.
 */
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

  /** Adds to the topic's pending batch, which goes out when the cooldown allows. */
  add(topic: string, fill: (batch: B) => void): void {
    let pending = this.#topics.get(topic);
    if (!pending) {
      // Idle topic: emit on the next turn, so what is added in the same turn still merges.
      pending = { batch: this.#kind.create(), timer: setTimeout(() => this.#flush(topic), 0) };
      this.#topics.set(topic, pending);
    }
    fill(pending.batch);
  }

  /**
   * Adds a change that should not wait for the cooldown: it goes out now, or with the
   * pending batch if one is waiting. Either way nothing sent before it comes after it.
   */
  addUrgent(topic: string, fill: (batch: B) => void): void {
    const pending = this.#topics.get(topic);
    if (pending && !this.#kind.isEmpty(pending.batch)) {
      fill(pending.batch);
      return;
    }
    const batch = this.#kind.create();
    fill(batch);
    this.#kind.emit(topic, batch);
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
