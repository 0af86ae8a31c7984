import type { PresenceChannel } from "../src/presence.js";

/**
 * Just enough of a channel for Presence: event bindings that can be triggered by hand, and a
 * join ref that a simulated reconnect bumps.
 */
export class StubChannel implements PresenceChannel {
  private readonly bindings = new Map<string, ((payload: unknown) => void)[]>();
  private ref = 1;

  on(event: string, callback: (payload: unknown) => void): number {
    const callbacks = this.bindings.get(event) ?? [];
    callbacks.push(callback);
    this.bindings.set(event, callbacks);
    return callbacks.length;
  }

  joinRef(): string {
    return String(this.ref);
  }

  trigger(event: string, payload: unknown): void {
    for (const callback of this.bindings.get(event) ?? []) callback(payload);
  }

  /** A rejoin after a lost connection: same channel, new join ref. */
  rejoin(): void {
    this.ref += 1;
  }
}

/** Deep copy that keeps `undefined` (JSON would drop it), to freeze callback arguments. */
export function snapshot<T>(value: T): T {
  return structuredClone(value);
}
