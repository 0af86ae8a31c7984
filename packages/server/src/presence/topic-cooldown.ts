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
 * time, and a cooldown would only add its length to the latency. So urgent changes
 * ({@link addUrgent}) go out on the next turn, merged only with other urgent changes of
 * the same turn, unless a storm's batch is waiting: then they join it, which keeps them in
 * order behind the joins they may refer to.
 */
export class TopicCooldown<B> {
  readonly #topics = new Map<string, { batch: B; timer: ReturnType<typeof setTimeout> }>();
  readonly #urgent = new Map<string, B>();
  #urgentScheduled = false;
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
    // Urgent changes not yet out go first: a leave in this batch may refer to their meta.
    const urgent = this.#urgent.get(topic);
    if (urgent) {
      this.#urgent.delete(topic);
      this.#kind.emit(topic, urgent);
    }
    let pending = this.#topics.get(topic);
    if (!pending) {
      // Idle topic: emit on the next turn, so what is added in the same turn still merges.
      pending = { batch: this.#kind.create(), timer: setTimeout(() => this.#flush(topic), 0) };
      this.#topics.set(topic, pending);
    }
    fill(pending.batch);
  }

  /**
   * Adds a change that should not wait for the cooldown: it goes out on the next turn,
   * or with the pending batch if one is waiting.
   */
  addUrgent(topic: string, fill: (batch: B) => void): void {
    const pending = this.#topics.get(topic);
    if (pending && !this.#kind.isEmpty(pending.batch)) {
      fill(pending.batch);
      return;
    }
    let urgent = this.#urgent.get(topic);
    if (!urgent) {
      urgent = this.#kind.create();
      this.#urgent.set(topic, urgent);
    }
    fill(urgent);
    if (!this.#urgentScheduled) {
      this.#urgentScheduled = true;
      setImmediate(() => this.#flushUrgent());
    }
  }

  /** Emits every pending batch now and forgets all cooldowns. */
  flushAll(): void {
    this.#flushUrgent();
    for (const [topic, pending] of [...this.#topics]) {
      clearTimeout(pending.timer);
      this.#topics.delete(topic);
      if (!this.#kind.isEmpty(pending.batch)) this.#kind.emit(topic, pending.batch);
    }
  }

  #flushUrgent(): void {
    this.#urgentScheduled = false;
    const batches = [...this.#urgent];
    this.#urgent.clear();
    for (const [topic, batch] of batches) this.#kind.emit(topic, batch);
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
