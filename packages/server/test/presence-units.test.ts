import {
  jsonEqual,
  type PresenceDiff,
  type PresenceMeta,
  type PresenceState,
} from "@tandem/protocol";
import fc from "fast-check";
import { Presence as PhoenixPresence } from "phoenix";
import { describe, expect, it } from "vitest";
import { DiffBatch } from "../src/presence/diff-batch.js";
import { RateLimiter } from "../src/presence/rate-limit.js";

type Op = { join: boolean; key: string; ref: string };

/** Turns a sequence of joins and leaves into valid presence changes (leave only what is in). */
function changes(ops: { key: string; leaveIndex: number | null }[]): Op[] {
  const live: Op[] = [];
  const out: Op[] = [];
  let n = 0;
  for (const op of ops) {
    if (op.leaveIndex !== null && live.length > 0) {
      const [gone] = live.splice(op.leaveIndex % live.length, 1);
      out.push({ ...gone!, join: false });
    } else {
      const joined = { join: true, key: op.key, ref: `r${n++}` };
      live.push(joined);
      out.push(joined);
    }
  }
  return out;
}

const meta = (op: Op): PresenceMeta => ({ phx_ref: op.ref, key: op.key });
const single = (op: Op): PresenceDiff => ({
  joins: op.join ? { [op.key]: { metas: [meta(op)] } } : {},
  leaves: op.join ? {} : { [op.key]: { metas: [meta(op)] } },
});
const sync = (state: PresenceState, diff: PresenceDiff): PresenceState =>
  PhoenixPresence.syncDiff(state as never, diff as never) as unknown as PresenceState;
const refs = (state: PresenceState) =>
  Object.fromEntries(
    Object.entries(state).map(([k, p]) => [k, p.metas.map((m) => m.phx_ref).sort()]),
  );

describe("DiffBatch", () => {
  const opsArb = fc.array(
    fc.record({
      key: fc.constantFrom("a", "b", "c", "__proto__", "1"),
      leaveIndex: fc.option(fc.nat(), { nil: null, freq: 3 }),
    }),
    { maxLength: 50 },
  );

  /** Live metas after the first `n` changes, as a presence_state would list them. */
  function live(ops: Op[], n: number): PresenceState {
    let state: PresenceState = {};
    for (const op of ops.slice(0, n)) state = sync(state, single(op));
    return state;
  }

  it("clients that join at any moment converge through coalesced diffs", () => {
    fc.assert(
      fc.property(
        opsArb,
        fc.uniqueArray(fc.nat({ max: 50 }), { maxLength: 8 }),
        fc.nat({ max: 50 }),
        fc.nat({ max: 50 }),
        (raw, cuts, a, b) => {
          const ops = changes(raw);
          // Batches end at the cut points; the last one ends with the last change.
          const ends = [...new Set([...cuts.filter((c) => c < ops.length), ops.length])].sort(
            (x, y) => x - y,
          );
          const batches: { end: number; diff: PresenceDiff }[] = [];
          let start = 0;
          for (const end of ends) {
            const batch = new DiffBatch();
            for (const op of ops.slice(start, end)) {
              if (op.join) batch.join(op.key, meta(op));
              else batch.leave(op.key, meta(op));
            }
            batches.push({ end, diff: batch.toDiff() });
            start = end;
          }
          // The client subscribes after change `subscribed`, gets the state listed after
          // change `listed`, then applies every diff emitted after it subscribed.
          const subscribed = Math.min(a, b, ops.length);
          const listed = Math.min(Math.max(a, b), ops.length);
          let state = PhoenixPresence.syncState(
            {} as never,
            live(ops, listed) as never,
          ) as unknown as PresenceState;
          for (const { end, diff } of batches) {
            if (end > subscribed) state = sync(state, diff);
          }
          expect(refs(state)).toEqual(refs(live(ops, ops.length)));
        },
      ),
    );
  });

  it("keeps a join and a leave of the same meta inside one batch", () => {
    const batch = new DiffBatch();
    batch.join("u", { phx_ref: "1" });
    batch.leave("u", { phx_ref: "1" });
    expect(batch.toDiff()).toEqual({
      joins: { u: { metas: [{ phx_ref: "1" }] } },
      leaves: { u: { metas: [{ phx_ref: "1" }] } },
    });
  });
});

describe("RateLimiter", () => {
  it("allows a burst, refuses beyond it, refills over time", () => {
    let now = 0;
    const limiter = new RateLimiter({ limit: 3, intervalMs: 300 }, () => now);
    expect([1, 2, 3, 4].map(() => limiter.take("c1"))).toEqual([true, true, true, false]);
    expect(limiter.take("c2")).toBe(true);
    now = 100;
    expect(limiter.take("c1")).toBe(true);
    expect(limiter.take("c1")).toBe(false);
  });
});

describe("jsonEqual", () => {
  it("agrees with comparing canonical JSON", () => {
    const canonical = (v: unknown): string =>
      JSON.stringify(v, (_k, x) =>
        x && typeof x === "object" && !Array.isArray(x)
          ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : 1)))
          : x,
      );
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 3 }), fc.jsonValue({ maxDepth: 3 }), (a, b) => {
        const norm = (v: unknown) => JSON.parse(JSON.stringify(v));
        const [x, y] = [norm(a), norm(b)];
        expect(jsonEqual(x, y)).toBe(canonical(x) === canonical(y));
        expect(jsonEqual(x, norm(x))).toBe(true);
      }),
    );
  });
});
