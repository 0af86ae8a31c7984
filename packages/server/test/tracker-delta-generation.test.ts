import { describe, expect, it } from "vitest";
import {
  type Delta,
  DeltaGenerations,
  FULL_STATE,
  type ReplicaRef,
  TrackerState,
} from "../src/tracker/index.js";

const ref = (name: string): ReplicaRef => ({ name, vsn: 1 });
const keys = (delta: Delta) => delta.values.map((entry) => entry.key).sort();
const cloud = (delta: Delta) =>
  Object.entries(delta.clouds)
    .flatMap(([replica, dots]) => dots.map((dot) => `${replica}:${dot}`))
    .sort();

function joined(state: TrackerState, key: string): Delta {
  state.join(`pid-${key}`, "lobby", key, {});
  return state.takeDelta();
}

describe("DeltaGenerations", () => {
  it("generations keep the most recent changes that fit each cap", () => {
    const s1 = new TrackerState(ref("s1"));
    const s2 = new TrackerState(ref("s2"));
    const gens = new DeltaGenerations([2, 5, 6]);
    expect(gens.generations).toEqual([]);

    const d1 = joined(s1, "user1");
    gens.push(d1);
    expect(gens.generations).toEqual([d1, d1, d1]);
    expect(cloud(d1)).toEqual(["s1#1:1"]);
    // duplicate merges have no effect
    gens.push(d1);
    expect(gens.generations).toEqual([d1, d1, d1]);

    gens.push(joined(s1, "user2"));
    let [gen1, gen2, gen3] = gens.generations as [Delta, Delta, Delta];
    expect([keys(gen1), keys(gen2), keys(gen3)]).toEqual([
      ["user2"],
      ["user1", "user2"],
      ["user1", "user2"],
    ]);
    expect(cloud(gen1)).toEqual(["s1#1:2"]);
    expect(cloud(gen2)).toEqual(["s1#1:1", "s1#1:2"]);
    expect(cloud(gen3)).toEqual(["s1#1:1", "s1#1:2"]);

    const d3 = joined(s1, "user3");
    gens.push(d3);
    [gen1, gen2, gen3] = gens.generations as [Delta, Delta, Delta];
    expect(gen1).toBe(d3);
    expect([keys(gen1), keys(gen2), keys(gen3)]).toEqual([
      ["user3"],
      ["user2", "user3"],
      ["user1", "user2", "user3"],
    ]);
    expect(cloud(gen3)).toEqual(["s1#1:1", "s1#1:2", "s1#1:3"]);

    gens.push(joined(s1, "user4"));
    [gen1, gen2, gen3] = gens.generations as [Delta, Delta, Delta];
    expect([keys(gen1), keys(gen2), keys(gen3)]).toEqual([
      ["user4"],
      ["user3", "user4"],
      ["user2", "user3", "user4"],
    ]);
    expect(cloud(gen2)).toEqual(["s1#1:3", "s1#1:4"]);

    // remote deltas are cached as well
    gens.push(joined(s2, "user5"));
    [gen1, gen2, gen3] = gens.generations as [Delta, Delta, Delta];
    expect([keys(gen1), keys(gen2), keys(gen3)]).toEqual([
      ["user5"],
      ["user4", "user5"],
      ["user3", "user4", "user5"],
    ]);
    expect(cloud(gen1)).toEqual(["s2#1:1"]);
    expect(cloud(gen2)).toEqual(["s1#1:4", "s2#1:1"]);
    expect(cloud(gen3)).toEqual(["s1#1:3", "s1#1:4", "s2#1:1"]);

    // tombstones: the remove drops the value and keeps its dot
    s2.leaveOwner("pid-user5");
    gens.push(s2.takeDelta());
    [gen1, gen2, gen3] = gens.generations as [Delta, Delta, Delta];
    expect([keys(gen1), keys(gen2), keys(gen3)]).toEqual([[], ["user4"], ["user3", "user4"]]);
    expect(cloud(gen1)).toEqual(["s2#1:1", "s2#1:2"]);
    expect(cloud(gen2)).toEqual(["s1#1:4", "s2#1:1", "s2#1:2"]);
    expect(cloud(gen3)).toEqual(["s1#1:3", "s1#1:4", "s2#1:1", "s2#1:2"]);
  });

  it("does not include non-contiguous deltas", () => {
    const s3 = new TrackerState(ref("s3"));
    const old = joined(s3, "user3");
    joined(s3, "user3b");
    const gens = new DeltaGenerations([5, 10, 15]);
    gens.push(old);
    const before = gens.generations;
    gens.push(joined(s3, "user3c"));
    expect(gens.generations).toEqual(before);
  });

  it("removes permanently down replicas from every generation", () => {
    const s1 = new TrackerState(ref("s1"));
    const s2 = new TrackerState(ref("s2"));
    const gens = new DeltaGenerations([10, 20]);
    gens.push(joined(s1, "user1"));
    gens.push(joined(s2, "user2"));
    gens.removeReplica("s2#1");
    for (const gen of gens.generations) {
      expect(keys(gen)).toEqual(["user1"]);
      expect(cloud(gen)).toEqual(["s1#1:1"]);
      expect(gen.range).toEqual({ start: { "s1#1": 0 }, end: { "s1#1": 1 } });
    }
  });

  it("asks for the whole state when there are no deltas", () => {
    const gens = new DeltaGenerations();
    expect(gens.maxSizes).toEqual([100, 1000, 10000]);
    expect(gens.select({ "s1#1": 0 })).toBe(FULL_STATE);
  });

  it("selects the smallest generation whose start the requester has reached", () => {
    const s1 = new TrackerState(ref("s1"));
    const gens = new DeltaGenerations([2, 4, 100]);
    for (const user of ["u1", "u2", "u3"]) gens.push(joined(s1, user));
    const [gen1, gen2, gen3] = gens.generations as [Delta, Delta, Delta];
    expect([gen1.range.start, gen2.range.start, gen3.range.start]).toEqual([
      { "s1#1": 2 },
      { "s1#1": 1 },
      { "s1#1": 0 },
    ]);

    expect(gens.select({ "s1#1": 2, "s2#1": 5 })).toEqual(gen1);
    expect(gens.select({ "s1#1": 1, "s2#1": 5 })).toEqual(gen2);
    expect(gens.select({ "s1#1": 0, "s2#1": 5 })).toEqual(gen3);
    // nothing new for a requester that is up to date
    expect(gens.select({ "s1#1": 3, "s2#1": 5 })).toBe(FULL_STATE);
    // a requester that does not know s1 gets nothing from these generations
    expect(gens.select({ "s2#1": 5 })).toBe(FULL_STATE);

    // the full state covers what a fresh requester lacks; a selected delta brings it level
    const requester = new TrackerState(ref("s2"));
    requester.replicaUp(ref("s1"));
    requester.merge(gens.select(requester.clocks()) as Delta);
    expect(requester.byTopic("lobby").map((entry) => entry.key)).toEqual(["u1", "u2", "u3"]);
    expect(requester.clocks()).toEqual({ "s1#1": 3, "s2#1": 0 });
  });

  it("does not select an empty delta", () => {
    const s1 = new TrackerState(ref("s1"));
    joined(s1, "u1");
    const gens = new DeltaGenerations([10]);
    gens.push(s1.takeDelta());
    expect(gens.generations[0]?.range).toEqual({ start: { "s1#1": 1 }, end: { "s1#1": 1 } });
    expect(gens.select({ "s1#1": 0 })).toBe(FULL_STATE);
    expect(gens.select({ "s1#1": 1 })).toBe(FULL_STATE);
  });

  it("does not select a delta that starts beyond the requester on a common replica", () => {
    const s1 = new TrackerState(ref("s1"));
    const s2 = new TrackerState(ref("s2"));
    joined(s1, "u1");
    const gens = new DeltaGenerations([10]);
    gens.push(joined(s1, "u2"));
    gens.push(joined(s2, "v1"));
    expect(gens.generations[0]?.range).toEqual({
      start: { "s1#1": 1, "s2#1": 0 },
      end: { "s1#1": 2, "s2#1": 1 },
    });
    // behind on s1: it would miss u1
    expect(gens.select({ "s1#1": 0, "s2#1": 0 })).toBe(FULL_STATE);
    // caught up on s1, behind on s2
    const selected = gens.select({ "s1#1": 2, "s2#1": 0 }) as Delta;
    expect(keys(selected)).toEqual(["u2", "v1"]);
    // pruned to what the requester knows
    const pruned = gens.select({ "s1#1": 1 }) as Delta;
    expect(keys(pruned)).toEqual(["u2"]);
    expect(pruned.range).toEqual({ start: { "s1#1": 1 }, end: { "s1#1": 2 } });
    expect(Object.keys(pruned.clouds)).toEqual(["s1#1"]);
  });

  it("clear drops the generations after a full transfer", () => {
    const gens = new DeltaGenerations([1]);
    gens.push(joined(new TrackerState(ref("s1")), "u1"));
    gens.clear();
    expect(gens.generations).toEqual([]);
    expect(gens.select({ "s1#1": 0 })).toBe(FULL_STATE);
  });

  it("rejects invalid caps", () => {
    expect(() => new DeltaGenerations([])).toThrow(RangeError);
    expect(() => new DeltaGenerations([10, 0])).toThrow(RangeError);
  });
});
