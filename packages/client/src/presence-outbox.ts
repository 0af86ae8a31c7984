import { type JsonObject, jsonEqual } from "@tandem/protocol";

/**
 * The fields of `patch` that would change `current`. Setting a field to the value it has is
 * a no-op and is left out, except for transient fields: setting one again restarts its
 * quiet period on the server.
 */
export function changedFields(
  patch: JsonObject,
  current: JsonObject,
  transient: ReadonlySet<string>,
): JsonObject {
  const changed: JsonObject = {};
  for (const [field, value] of Object.entries(patch)) {
    if (transient.has(field) || !jsonEqual(value, current[field])) changed[field] = value;
  }
  return changed;
}

/**
 * The client's own presence updates waiting to go out: the first goes at once, and what
 * follows within `throttleMs` of the last send is coalesced (newer values win) into one
 * update sent when the period is over. Time is passed in, so this holds no timers.
 */
export class PresenceOutbox {
  #pending: JsonObject | null = null;
  #lastSentAt = Number.NEGATIVE_INFINITY;

  constructor(readonly throttleMs: number) {}

  /** Whether an update is waiting. */
  get hasPending(): boolean {
    return this.#pending !== null;
  }

  /** Queues `patch` over what is waiting; returns how long until {@link take} may send it. */
  add(patch: JsonObject, now: number): number {
    this.#pending = { ...this.#pending, ...patch };
    return this.delay(now);
  }

  /** How long until the waiting update may go out (0 when it may now). */
  delay(now: number): number {
    return Math.max(0, this.#lastSentAt + this.throttleMs - now);
  }

  /** The coalesced update to send now, or null when nothing waits or the period is not over. */
  take(now: number): JsonObject | null {
    if (!this.#pending || this.delay(now) > 0) return null;
    const patch = this.#pending;
    this.#pending = null;
    this.#lastSentAt = now;
    return patch;
  }
}
