/** Refused by {@link HashQueue.run} when every slot is busy and the queue is full. */
export class HashQueueFull extends Error {
  constructor() {
    super("too many password hashes waiting");
    this.name = "HashQueueFull";
  }
}

/** Limits of a {@link HashQueue}. */
export interface HashQueueLimits {
  /** Hashes running at once. Each scrypt hash holds 32 MiB while it runs. */
  readonly concurrency: number;
  /** Hashes waiting for a slot; one more is refused at once. */
  readonly maxWaiting: number;
}

/**
 * Runs password hashes a few at a time. scrypt is memory-hard on purpose (32 MiB each),
 * so a flood of sign-ins must wait for a slot rather than each allocate its own, and a
 * flood longer than the queue is refused instead of growing the wait without bound. It
 * also keeps libuv's small thread pool free for file reads.
 */
export class HashQueue {
  readonly #limits: HashQueueLimits;
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(limits: HashQueueLimits) {
    if (!(limits.concurrency >= 1) || !(limits.maxWaiting >= 0)) {
      throw new RangeError("a HashQueue needs at least one slot and a queue of zero or more");
    }
    this.#limits = limits;
  }

  /** Hashes running now. */
  get running(): number {
    return this.#running;
  }

  /** Hashes waiting for a slot now. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /**
   * Runs `task` once a slot is free; rejects with {@link HashQueueFull} without running
   * it when the queue is full.
   */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#running < this.#limits.concurrency) {
      this.#running += 1;
    } else if (this.#waiting.length < this.#limits.maxWaiting) {
      // The slot is handed over by the task that finishes, so `running` stays counted.
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      throw new HashQueueFull();
    }
    try {
      return await task();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#running -= 1;
    }
  }
}
