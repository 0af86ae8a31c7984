import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type Changes,
  type Context,
  type Delta,
  dominates,
  type Entry,
  type ReplicaRef,
  replicaId,
  TrackerState,
  type Transfer,
} from "../src/tracker/index.js";

const ref = (i: number): ReplicaRef => ({ name: `node${i}`, vsn: 1 });
const TOPICS = ["lobby", "room:1"];
const KEYS = ["ann", "bob", "cyd"];

/** A local operation or a network event in a simulated cluster. */
type Step =
  | { t: "join"; r: number; owner: number; topic: number; key: number; meta: number }
  | { t: "leave"; r: number; owner: number; topic: number; key: number }
  | { t: "leaveOwner"; r: number; owner: number }
  | { t: "tick"; r: number }
  | { t: "deliver"; i: number; keep: boolean }
  | { t: "drop"; i: number }
  | { t: "transfer"; from: number; to: number };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      t: fc.constant("join" as const),
      r: fc.nat(3),
      owner: fc.nat(2),
      topic: fc.nat(TOPICS.length - 1),
      key: fc.nat(KEYS.length - 1),
      meta: fc.nat(9),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant("leave" as const),
      r: fc.nat(3),
      owner: fc.nat(2),
      topic: fc.nat(TOPICS.length - 1),
      key: fc.nat(KEYS.length - 1),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant("leaveOwner" as const), r: fc.nat(3), owner: fc.nat(2) }),
  },
  { weight: 4, arbitrary: fc.record({ t: fc.constant("tick" as const), r: fc.nat(3) }) },
  {
    weight: 6,
    arbitrary: fc.record({ t: fc.constant("deliver" as const), i: fc.nat(), keep: fc.boolean() }),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("drop" as const), i: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant("transfer" as const), from: fc.nat(3), to: fc.nat(3) }),
  },
);

const tagKey = (entry: Entry) => `${entry.tag.replica}/${entry.tag.clock}`;

/** Everything a reader can observe, in a canonical order. */
function visible(state: TrackerState): Entry[] {
  return state
    .topics()
    .flatMap((topic) => state.byTopic(topic))
    .sort((x, y) => tagKey(x).localeCompare(tagKey(y)));
}

/** The wire: every payload crosses JSON, as it will over Redis. */
const wire = <T extends Delta | Transfer>(payload: T): T => JSON.parse(JSON.stringify(payload));

/**
 * A cluster of replicas plus, per replica, the view a subscriber would build from the
 * reported changes alone. The view must always equal what the state shows.
 */
class Sim {
  readonly states: TrackerState[];
  readonly views: Map<string, Entry>[];
  inFlight: { to: number; payload: string }[] = [];

  constructor(readonly n: number) {
    this.states = Array.from({ length: n }, (_, i) => new TrackerState(ref(i)));
    for (const state of this.states) {
      for (let j = 0; j < n; j++) if (replicaId(ref(j)) !== state.replica) state.replicaUp(ref(j));
    }
    this.views = this.states.map(() => new Map());
  }

  apply(r: number, changes: Changes): void {
    const view = this.views[r]!;
    for (const entry of changes.leaves) {
      if (!view.delete(tagKey(entry))) throw new Error(`leave of unseen ${tagKey(entry)}`);
    }
    for (const entry of changes.joins) {
      if (view.has(tagKey(entry))) throw new Error(`duplicate join of ${tagKey(entry)}`);
      view.set(tagKey(entry), entry);
    }
  }

  merge(to: number, payload: Delta | Transfer): Changes {
    const changes = this.states[to]!.merge(wire(payload));
    this.apply(to, changes);
    return changes;
  }

  run(step: Step): void {
    const n = this.n;
    switch (step.t) {
      case "join": {
        const r = step.r % n;
        const state = this.states[r]!;
        const [owner, topic, key] = [`n${r}-o${step.owner}`, TOPICS[step.topic]!, KEYS[step.key]!];
        if (state.get(owner, topic, key)) {
          const { joined, left } = state.update(owner, topic, key, { v: step.meta })!;
          this.apply(r, { joins: [joined], leaves: [left] });
        } else {
          this.apply(r, { joins: [state.join(owner, topic, key, { v: step.meta })], leaves: [] });
        }
        return;
      }
      case "leave": {
        const r = step.r % n;
        const [owner, topic, key] = [`n${r}-o${step.owner}`, TOPICS[step.topic]!, KEYS[step.key]!];
        const left = this.states[r]!.leave(owner, topic, key);
        this.apply(r, { joins: [], leaves: left ? [left] : [] });
        return;
      }
      case "leaveOwner": {
        const r = step.r % n;
        this.apply(r, { joins: [], leaves: this.states[r]!.leaveOwner(`n${r}-o${step.owner}`) });
        return;
      }
      case "tick": {
        const r = step.r % n;
        if (!this.states[r]!.hasDelta()) return;
        const payload = JSON.stringify(this.states[r]!.takeDelta());
        for (let to = 0; to < n; to++) if (to !== r) this.inFlight.push({ to, payload });
        return;
      }
      case "deliver": {
        if (this.inFlight.length === 0) return;
        const i = step.i % this.inFlight.length;
        const message = this.inFlight[i]!;
        if (!step.keep) this.inFlight.splice(i, 1);
        this.merge(message.to, JSON.parse(message.payload) as Delta);
        return;
      }
      case "drop": {
        if (this.inFlight.length > 0) this.inFlight.splice(step.i % this.inFlight.length, 1);
        return;
      }
      case "transfer": {
        const [from, to] = [step.from % n, step.to % n];
        if (from !== to) this.merge(to, this.states[from]!.extract(this.states[to]!.clocks()));
        return;
      }
    }
  }

  /**
   * Anti-entropy as the tracker process will run it: a replica asks a peer for a transfer
   * only when its clocks do not dominate the peer's. Ghosts that leave clocks equal would
   * never be repaired by this, which is what makes it a meaningful end condition.
   */
  antiEntropy(): void {
    for (let round = 0; round < 2; round++) {
      for (const [i, state] of this.states.entries()) {
        for (const [j, peer] of this.states.entries()) {
          if (i !== j && !dominates(state.clocks(), peer.clocks())) {
            this.merge(i, peer.extract(state.clocks()));
          }
        }
      }
    }
  }

  /** A replica whose clock for r has reached r's own clock must hold exactly r's entries. */
  expectCaughtUpMeansEqual(): void {
    for (const state of this.states) {
      for (const origin of this.states) {
        if (state === origin) continue;
        const id = origin.replica;
        if (state.clocks()[id] !== origin.clocks()[id]) continue;
        const held = visible(state).filter((entry) => entry.tag.replica === id);
        expect(held).toEqual(visible(origin).filter((entry) => entry.tag.replica === id));
      }
    }
  }

  /** The entries each replica holds for itself: the authoritative truth. */
  truth(): Entry[] {
    return this.states
      .flatMap((state) => visible(state).filter((entry) => entry.tag.replica === state.replica))
      .sort((x, y) => tagKey(x).localeCompare(tagKey(y)));
  }

  expectViewsMatchStates(): void {
    this.states.forEach((state, r) => {
      const view = [...this.views[r]!.values()].sort((x, y) => tagKey(x).localeCompare(tagKey(y)));
      expect(visible(state)).toEqual(view);
    });
  }
}

const historyArb = fc.record({
  n: fc.integer({ min: 2, max: 4 }),
  steps: fc.array(stepArb, { maxLength: 60 }),
});

function simulate({ n, steps }: { n: number; steps: Step[] }, check = false): Sim {
  const sim = new Sim(n);
  for (const step of steps) {
    sim.run(step);
    if (check) sim.expectCaughtUpMeansEqual();
  }
  return sim;
}

/** A replica that tracks nothing itself and knows every replica of the cluster. */
function observer(n: number): TrackerState {
  const state = new TrackerState({ name: "observer", vsn: 1 });
  for (let i = 0; i < n; i++) state.replicaUp(ref(i));
  return state;
}

const observed = (state: TrackerState) => ({
  entries: visible(state),
  clocks: state.clocks(),
  seen: state.extract(state.clocks()).clouds,
});

const everyone = (n: number): Context =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [replicaId(ref(i)), 0]));

describe("tracker CRDT properties", () => {
  it("replicas converge after random ops, lossy duplicated reordered deltas and one anti-entropy round", () => {
    fc.assert(
      fc.property(historyArb, (history) => {
        const sim = simulate(history, true);
        sim.expectViewsMatchStates();
        sim.antiEntropy();
        sim.expectViewsMatchStates();

        const truth = sim.truth();
        const clocks = sim.states[0]!.clocks();
        expect(Object.keys(clocks)).toHaveLength(history.n);
        for (const state of sim.states) {
          expect(visible(state)).toEqual(truth);
          expect(state.clocks()).toEqual(clocks);
          for (const topic of TOPICS) {
            expect(state.topicSize(topic)).toBe(state.byTopic(topic).length);
            for (const key of KEYS) {
              expect(state.byKey(topic, key)).toEqual(
                state.byTopic(topic).filter((entry) => entry.key === key),
              );
            }
          }
        }

        // late, stale or duplicate messages can no longer change anything
        const late = [
          ...sim.inFlight.map((m) => ({ to: m.to, payload: JSON.parse(m.payload) as Delta })),
          ...sim.states.flatMap((state, from) => {
            const delta = state.takeDelta();
            return sim.states.map((_, to) => ({ to, payload: delta })).filter((m) => m.to !== from);
          }),
        ];
        for (const { to, payload } of late) {
          expect(sim.merge(to, payload)).toEqual({ joins: [], leaves: [] });
        }
        for (const state of sim.states) expect(visible(state)).toEqual(truth);
      }),
      { numRuns: 150 },
    );
  });

  it("merge is commutative: any order of the same deltas and transfers gives the same state", () => {
    fc.assert(
      fc.property(
        historyArb.chain((history) => {
          const sim = simulate(history);
          const payloads: (Delta | Transfer)[] = [
            ...sim.inFlight.map((m) => JSON.parse(m.payload) as Delta),
            ...sim.states.map((state) => state.extract(everyone(history.n))),
            ...sim.states.map((state) => state.takeDelta()),
          ];
          return fc.tuple(
            fc.constant(history.n),
            fc.shuffledSubarray(payloads, { minLength: payloads.length }),
            fc.shuffledSubarray(payloads, { minLength: payloads.length }),
          );
        }),
        ([n, order1, order2]) => {
          const x = observer(n);
          const y = observer(n);
          for (const payload of order1) x.merge(wire(payload));
          for (const payload of order2) y.merge(wire(payload));
          expect(observed(x)).toEqual(observed(y));
        },
      ),
      { numRuns: 100 },
    );
  });

  it("merge is associative: (A ⊔ B) ⊔ C = A ⊔ (B ⊔ C)", () => {
    fc.assert(
      fc.property(historyArb, (history) => {
        const sim = simulate(history);
        const all = everyone(history.n);
        const [a, b, c] = [0, 1, history.n - 1].map((i) => sim.states[i]!.extract(all)) as [
          Transfer,
          Transfer,
          Transfer,
        ];

        const ab = observer(history.n);
        ab.merge(wire(a));
        ab.merge(wire(b));
        const left = observer(history.n);
        left.merge(wire(ab.extract(all)));
        left.merge(wire(c));

        const bc = observer(history.n);
        bc.merge(wire(b));
        bc.merge(wire(c));
        const right = observer(history.n);
        right.merge(wire(a));
        right.merge(wire(bc.extract(all)));

        expect(observed(left)).toEqual(observed(right));
      }),
      { numRuns: 100 },
    );
  });

  it("merge is idempotent: merging the same payload again changes nothing", () => {
    fc.assert(
      fc.property(historyArb, fc.nat(), (history, pick) => {
        const sim = simulate(history);
        const target = sim.states[pick % history.n]!;
        const payloads: (Delta | Transfer)[] = [
          ...sim.inFlight.map((m) => JSON.parse(m.payload) as Delta),
          ...sim.states.filter((s) => s !== target).map((s) => s.extract(target.clocks())),
        ];
        for (const payload of payloads) {
          target.merge(wire(payload));
          const before = observed(target);
          expect(target.merge(wire(payload))).toEqual({ joins: [], leaves: [] });
          expect(observed(target)).toEqual(before);
        }
      }),
      { numRuns: 100 },
    );
  });

  it("a remove reaches a third replica through a relayed delta", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(fc.nat(3), fc.nat(TOPICS.length - 1), fc.nat(KEYS.length - 1)), {
          minLength: 1,
          maxLength: 8,
          selector: ([o, t, k]) => `${o}/${t}/${k}`,
        }),
        fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
        (tracked, removeMask) => {
          const sim = new Sim(3);
          const [a, b, c] = sim.states as [TrackerState, TrackerState, TrackerState];
          for (const [o, t, k] of tracked) a.join(`o${o}`, TOPICS[t]!, KEYS[k]!, {});
          const joins = a.takeDelta();
          b.merge(wire(joins));
          c.merge(wire(joins));
          b.takeDelta();

          const removed = tracked
            .filter((_, i) => removeMask[i])
            .map(([o, t, k]) => a.leave(`o${o}`, TOPICS[t]!, KEYS[k]!)!);
          // the delta with the removes reaches b only; c hears of them from b
          b.merge(wire(a.takeDelta()));
          const relayed = c.merge(wire(b.takeDelta()));
          expect(relayed.joins).toEqual([]);
          expect(relayed.leaves.map(tagKey).sort()).toEqual(removed.map(tagKey).sort());
          expect(visible(c)).toEqual(visible(a));
          expect(visible(b)).toEqual(visible(a));
        },
      ),
      { numRuns: 100 },
    );
  });

  it("a down replica's entries vanish from reads, return on up and are gone after permdown", () => {
    fc.assert(
      fc.property(historyArb, fc.nat(), fc.nat(), (history, pickDown, pickObserver) => {
        const sim = simulate(history);
        sim.antiEntropy();
        const n = history.n;
        const downIndex = pickDown % n;
        const obsIndex = (downIndex + 1 + (pickObserver % (n - 1))) % n;
        const down = ref(downIndex);
        const downId = replicaId(down);
        const state = sim.states[obsIndex]!;
        const before = visible(state);
        const theirs = before.filter((entry) => entry.tag.replica === downId);
        const rest = before.filter((entry) => entry.tag.replica !== downId);
        const late = sim.states[downIndex]!.join("late-owner", "lobby", "ann", {});
        const owners = [...new Set([...before, late].map((entry) => entry.owner))];
        const reads = () => ({
          all: visible(state),
          byOwner: owners
            .flatMap((owner) => state.byOwner(owner))
            .map(tagKey)
            .sort(),
          byKey: TOPICS.flatMap((t) => KEYS.flatMap((k) => state.byKey(t, k)))
            .map(tagKey)
            .sort(),
          sizes: TOPICS.map((topic) => state.topicSize(topic)),
        });
        const countIn = (entries: Entry[], topic: string) =>
          entries.filter((entry) => entry.topic === topic).length;
        const expectOnly = (entries: Entry[]) => {
          expect(reads()).toEqual({
            all: entries,
            byOwner: entries.map(tagKey).sort(),
            byKey: entries.map(tagKey).sort(),
            sizes: TOPICS.map((topic) => countIn(entries, topic)),
          });
        };

        const wentDown = state.replicaDown(down);
        expect(wentDown.joins).toEqual([]);
        expect(wentDown.leaves.map(tagKey).sort()).toEqual(theirs.map(tagKey).sort());
        expectOnly(rest);
        expect(Object.keys(state.clocks())).not.toContain(downId);
        // what a down replica's delta brings stays hidden too
        expect(state.merge(wire(sim.states[downIndex]!.takeDelta()))).toEqual({
          joins: [],
          leaves: [],
        });
        expectOnly(rest);

        const cameBack = state.replicaUp(down);
        const all = [...theirs, late];
        expect(cameBack.joins.map(tagKey).sort()).toEqual(all.map(tagKey).sort());
        expect(cameBack.leaves).toEqual([]);
        const sortTags = (entries: Entry[]) =>
          [...entries].sort((x, y) => tagKey(x).localeCompare(tagKey(y)));
        expectOnly(sortTags([...before, late]));
        expect(Object.keys(state.clocks())).toContain(downId);

        state.replicaDown(down);
        expect(state.removeDownReplica(down)).toEqual({ joins: [], leaves: [] });
        expectOnly(rest);
        expect(state.replicas().has(downId)).toBe(false);
        // neither the purged replica nor peers that still know it bring its entries back
        for (const [i, other] of sim.states.entries()) {
          if (i !== obsIndex)
            expect(state.merge(wire(other.extract(state.clocks())))).toEqual({
              joins: [],
              leaves: [],
            });
        }
        expectOnly(rest);
      }),
      { numRuns: 100 },
    );
  });
});
