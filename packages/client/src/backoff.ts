import type { Backoff } from "./timer.js";

/** Phoenix's reconnect delays for tries 1 to 9; later tries wait {@link RECONNECT_MAX_MS}. */
export const RECONNECT_SCHEDULE: readonly number[] = [10, 50, 100, 150, 200, 250, 500, 1000, 2000];
/** Reconnect delay once {@link RECONNECT_SCHEDULE} is exhausted. */
export const RECONNECT_MAX_MS = 5000;
/** Phoenix's channel rejoin delays for tries 1 to 3; later tries wait {@link REJOIN_MAX_MS}. */
export const REJOIN_SCHEDULE: readonly number[] = [1000, 2000, 5000];
/** Rejoin delay once {@link REJOIN_SCHEDULE} is exhausted. */
export const REJOIN_MAX_MS = 10_000;

/** A backoff that walks `schedule` (1-based tries) and then stays at `after`. */
export function steppedBackoff(schedule: readonly number[], after: number): Backoff {
  return (tries) => schedule[tries - 1] || after;
}

/** The default `reconnectAfterMs`, identical to phoenix's. */
export const defaultReconnectAfterMs: Backoff = steppedBackoff(
  RECONNECT_SCHEDULE,
  RECONNECT_MAX_MS,
);

/** The default `rejoinAfterMs`, identical to phoenix's. */
export const defaultRejoinAfterMs: Backoff = steppedBackoff(REJOIN_SCHEDULE, REJOIN_MAX_MS);

/**
 * Spreads reconnects out so that clients dropped together by a server restart do not
 * all come back in the same millisecond. Each delay is drawn uniformly from
 * `[base * (1 - ratio), base]`: jitter only shortens a delay, so the schedule's maximum
 * still bounds the wait.
 *
 * @param schedule - The base backoff, or a table of delays whose last entry repeats.
 *   Defaults to phoenix's reconnect schedule.
 * @param ratio - The largest fraction of a delay that may be cut, clamped to [0, 1].
 * @param random - A source of numbers in [0, 1); injectable for tests.
 * @returns A backoff usable as the `reconnectAfterMs` or `rejoinAfterMs` option.
 *
 * @example
 * new Socket("/socket", { reconnectAfterMs: jitteredBackoff() });
 */
export function jitteredBackoff(
  schedule: Backoff | readonly number[] = defaultReconnectAfterMs,
  ratio = 0.5,
  random: () => number = Math.random,
): Backoff {
  const base =
    typeof schedule === "function"
      ? schedule
      : steppedBackoff(schedule, schedule[schedule.length - 1] ?? 0);
  const spread = Math.min(1, Math.max(0, ratio));
  return (tries) => {
    const delay = base(tries);
    return Math.round(delay * (1 - spread * random()));
  };
}
