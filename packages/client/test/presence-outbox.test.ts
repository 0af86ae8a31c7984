import type { JsonObject } from "@tandem/protocol";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { changedFields, PresenceOutbox } from "../src/presence-outbox.js";

const field = fc.constantFrom("a", "b", "c");
const value = fc.oneof(fc.integer({ min: 0, max: 3 }), fc.boolean(), fc.constant(null));
const patch = fc.dictionary(field, value) as fc.Arbitrary<JsonObject>;
/** Updates as (patch, ms since the previous one). */
const updates = fc.array(fc.tuple(patch, fc.integer({ min: 0, max: 250 })), { maxLength: 30 });

/** Drives an outbox as a client does: sends at once when allowed, else at the end of the period. */
function run(throttleMs: number, input: [JsonObject, number][]) {
  const outbox = new PresenceOutbox(throttleMs);
  const sent: { at: number; patch: JsonObject }[] = [];
  let now = 0;
  let due: number | null = null;
  const sendDue = (until: number) => {
    while (due !== null && due <= until) {
      const taken = outbox.take(due);
      if (taken) sent.push({ at: due, patch: taken });
      due = outbox.hasPending ? due + outbox.delay(due) : null;
    }
  };
  for (const [p, gap] of input) {
    sendDue(now + gap);
    now += gap;
    const wait = outbox.add(p, now);
    if (wait === 0) {
      const taken = outbox.take(now);
      if (taken) sent.push({ at: now, patch: taken });
      due = null;
    } else due ??= now + wait;
  }
  sendDue(Number.POSITIVE_INFINITY);
  return sent;
}

const apply = (patches: JsonObject[]): JsonObject => Object.assign({}, ...patches);

describe("PresenceOutbox", () => {
  it("sends what was set, newer values winning, and never twice within the throttle period", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), updates, (throttleMs, input) => {
        const sent = run(throttleMs, input);
        expect(apply(sent.map((s) => s.patch))).toEqual(apply(input.map(([p]) => p)));
        for (let i = 1; i < sent.length; i++) {
          expect(sent[i]!.at - sent[i - 1]!.at).toBeGreaterThanOrEqual(throttleMs);
        }
        // Coalescing never sends more updates than were made.
        expect(sent.length).toBeLessThanOrEqual(input.length);
      }),
    );
  });

  it("sends the first update at once and coalesces a burst into one more", () => {
    const outbox = new PresenceOutbox(100);
    expect(outbox.add({ x: 1 }, 1000)).toBe(0);
    expect(outbox.take(1000)).toEqual({ x: 1 });
    expect(outbox.add({ x: 2 }, 1010)).toBe(90);
    expect(outbox.add({ x: 3, y: 1 }, 1050)).toBe(50);
    expect(outbox.take(1099)).toBeNull();
    expect(outbox.take(1100)).toEqual({ x: 3, y: 1 });
    expect(outbox.hasPending).toBe(false);
    expect(outbox.take(5000)).toBeNull();
  });
});

describe("changedFields", () => {
  it("keeps exactly the fields that differ, and transient fields always", () => {
    fc.assert(
      fc.property(patch, patch, fc.subarray(["a", "b", "c"]), (p, current, transient) => {
        const changed = changedFields(p, current, new Set(transient));
        for (const [f, v] of Object.entries(p)) {
          const differs = JSON.stringify(v) !== JSON.stringify(current[f]);
          expect(f in changed).toBe(differs || transient.includes(f));
          if (f in changed) expect(changed[f]).toEqual(v);
        }
        // Applying only the changes gives the same presence as applying the whole patch.
        expect({ ...current, ...changed }).toEqual({ ...current, ...p });
      }),
    );
  });

  it("finds nothing to send for a no-op, even with nested values in another key order", () => {
    const current = { cursor: { x: 1, y: 2 }, status: "away" };
    expect(changedFields({ cursor: { y: 2, x: 1 } }, current, new Set())).toEqual({});
    expect(changedFields({ status: "away" }, current, new Set(["status"]))).toEqual({
      status: "away",
    });
  });
});
