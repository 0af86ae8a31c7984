import type { PresenceDiff, PresenceMeta, PresenceState } from "@tandem/protocol";
import fc from "fast-check";
import { Presence as PhoenixPresence } from "phoenix";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DiffBatch } from "../src/presence/diff-batch.js";
import { TopicCooldown } from "../src/presence/topic-cooldown.js";

const TOPIC = "room:1";

/** A cooldown over DiffBatches that records what it emits, with the fake time of each. */
function recorder(subscribers: number) {
  const emitted: { at: number; diff: PresenceDiff }[] = [];
  const cooldown = new TopicCooldown<DiffBatch>({}, () => subscribers, {
    create: () => new DiffBatch(),
    isEmpty: (batch) => batch.isEmpty,
    emit: (_topic, batch) => emitted.push({ at: Date.now(), diff: batch.toDiff() }),
  });
  return { cooldown, emitted };
}

const meta = (ref: string, prev?: string): PresenceMeta =>
  prev === undefined ? { phx_ref: ref } : { phx_ref: ref, phx_ref_prev: prev };

const refs = (state: PresenceState) =>
  Object.fromEntries(
    Object.entries(state)
      .filter(([, p]) => p.metas.length > 0)
      .map(([k, p]) => [k, p.metas.map((m) => m.phx_ref).sort()]),
  );

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe("TopicCooldown", () => {
  it("holds joins for the cooldown but sends a meta update on the next turn", () => {
    // 1 000 subscribers: a cooldown of 5 + 10 ms.
    const { cooldown, emitted } = recorder(1000);
    cooldown.add(TOPIC, (b) => b.join("a", meta("a1")));
    vi.advanceTimersByTime(1);
    expect(emitted).toHaveLength(1);

    // During the cooldown: a join waits for its end, an update of a present member does not.
    cooldown.add(TOPIC, (b) => b.join("b", meta("b1")));
    vi.advanceTimersByTime(1);
    expect(emitted).toHaveLength(1);
    vi.advanceTimersByTime(20);
    expect(emitted).toHaveLength(2);

    const before = Date.now();
    cooldown.addUrgent(TOPIC, (b) => {
      b.join("a", meta("a2", "a1"));
      b.leave("a", meta("a1"));
    });
    vi.advanceTimersByTime(0);
    vi.runOnlyPendingTimers();
    expect(emitted).toHaveLength(3);
    expect(emitted[2]!.at).toBe(before);
  });

  it("puts an update behind the joins that are waiting, so it never overtakes them", () => {
    const { cooldown, emitted } = recorder(1000);
    cooldown.add(TOPIC, (b) => b.join("a", meta("a1")));
    vi.advanceTimersByTime(1);
    cooldown.add(TOPIC, (b) => b.join("b", meta("b1")));
    cooldown.addUrgent(TOPIC, (b) => {
      b.join("b", meta("b2", "b1"));
      b.leave("b", meta("b1"));
    });
    vi.advanceTimersByTime(100);
    expect(emitted).toHaveLength(2);
    expect(emitted[1]!.diff.joins.b?.metas.map((m) => m.phx_ref)).toEqual(["b1", "b2"]);
  });

  it("sends a waiting update before a leave that refers to its meta", () => {
    // The dangerous order: an update and then the member's leave, both made in a timer
    // that runs just before the cooldown's own timer in the same turn. Were the leave to
    // go out with the cooldown and the update after it, a subscriber would keep a ghost.
    const { cooldown, emitted } = recorder(1000);
    setTimeout(() => {
      cooldown.addUrgent(TOPIC, (b) => {
        b.join("a", meta("a2", "a1"));
        b.leave("a", meta("a1"));
      });
      cooldown.add(TOPIC, (b) => b.leave("a", meta("a2")));
    }, 15);
    cooldown.add(TOPIC, (b) => b.join("a", meta("a1")));
    vi.advanceTimersByTime(0);
    vi.advanceTimersByTime(100);
    let state: PresenceState = {};
    for (const { diff } of emitted) {
      state = PhoenixPresence.syncDiff(state as never, diff as never) as never;
    }
    expect(refs(state)).toEqual({});
  });

  type Op =
    | { kind: "join"; key: string }
    | { kind: "update"; pick: number }
    | { kind: "leave"; pick: number }
    | { kind: "wait"; ms: number };
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ kind: fc.constant("join" as const), key: fc.constantFrom("a", "b", "c") }),
    fc.record({ kind: fc.constant("update" as const), pick: fc.nat() }),
    fc.record({ kind: fc.constant("leave" as const), pick: fc.nat() }),
    fc.record({ kind: fc.constant("wait" as const), ms: fc.integer({ min: 0, max: 40 }) }),
  );

  it("a subscriber who applies every emitted diff ends with exactly the live metas", () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60 }), fc.nat({ max: 3000 }), (ops, subs) => {
        vi.useFakeTimers({ now: 0 });
        const { cooldown, emitted } = recorder(subs);
        const live: { key: string; ref: string }[] = [];
        let n = 0;
        for (const op of ops) {
          if (op.kind === "wait") {
            vi.advanceTimersByTime(op.ms);
          } else if (op.kind === "join") {
            const ref = `r${n++}`;
            live.push({ key: op.key, ref });
            cooldown.add(TOPIC, (b) => b.join(op.key, meta(ref)));
          } else if (live.length > 0) {
            const i = op.pick % live.length;
            const { key, ref } = live[i]!;
            if (op.kind === "leave") {
              live.splice(i, 1);
              cooldown.add(TOPIC, (b) => b.leave(key, meta(ref)));
            } else {
              const next = `r${n++}`;
              live[i] = { key, ref: next };
              cooldown.addUrgent(TOPIC, (b) => {
                b.join(key, meta(next, ref));
                b.leave(key, meta(ref));
              });
            }
          }
        }
        vi.advanceTimersByTime(2000);
        let state: PresenceState = {};
        for (const { diff } of emitted) {
          state = PhoenixPresence.syncDiff(state as never, diff as never) as never;
        }
        const expected: Record<string, string[]> = {};
        for (const { key, ref } of live) expected[key] = [...(expected[key] ?? []), ref].sort();
        expect(refs(state)).toEqual(expected);
      }),
    );
  });
});
