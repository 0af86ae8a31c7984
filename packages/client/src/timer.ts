/** Computes the delay in milliseconds before attempt number `tries` (1-based). */
export type Backoff = (tries: number) => number;

/**
 * Runs a callback after a delay that grows with each attempt, as computed by a
 * {@link Backoff}. The attempt count only goes back to zero on {@link Timer.reset}, so
 * repeated failures walk up the schedule.
 *
 * @example
 * const timer = new Timer(() => socket.connect(), (tries) => [1000, 5000][tries - 1] ?? 10000);
 * timer.scheduleTimeout(); // fires after 1000 ms
 * timer.scheduleTimeout(); // replaces it: fires after 1000 ms, since no attempt ran yet
 */
export class Timer {
  /** Attempts that have run since the last reset. */
  #tries = 0;
  /** The pending timeout, if any. */
  #timer: ReturnType<typeof setTimeout> | undefined = undefined;

  /**
   * @param callback - What to run when the delay elapses.
   * @param timerCalc - The delay for a given attempt number.
   */
  constructor(
    readonly callback: () => void,
    readonly timerCalc: Backoff,
  ) {}

  /** Cancels the pending timeout and forgets the attempts made so far. */
  reset(): void {
    this.#tries = 0;
    this.cancel();
  }

  /** Cancels the pending timeout but keeps counting attempts from where they were. */
  cancel(): void {
    clearTimeout(this.#timer);
  }

  /** Replaces any pending timeout with one for the next attempt. */
  scheduleTimeout(): void {
    this.cancel();
    this.#timer = setTimeout(
      () => {
        this.#tries += 1;
        this.callback();
      },
      this.timerCalc(this.#tries + 1),
    );
  }
}
