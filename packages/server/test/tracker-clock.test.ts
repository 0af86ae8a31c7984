import { describe, expect, it } from "vitest";
import {
  appendClock,
  clockSetReplicas,
  dominates,
  dominatesOrEqual,
  filterReplicas,
  lowerbound,
  type ReplicaClock,
  upperbound,
} from "../src/tracker/index.js";

const sortSet = (set: readonly ReplicaClock[]) =>
  [...set].sort((x, y) => x.replica.localeCompare(y.replica));

describe("tracker clock", () => {
  it("dominates", () => {
    const clock1 = { a: 1, b: 2, c: 3 };
    const clock2 = { b: 2, c: 3, d: 1 };
    const clock3 = { a: 1, b: 2 };
    expect(dominates(clock1, clock3)).toBe(true);
    expect(dominates(clock3, clock1)).toBe(false);
    expect(dominates(clock1, clock2)).toBe(false);
    expect(dominates(clock1, clock1)).toBe(true);
    // fewer replicas never dominate, even with higher clocks
    expect(dominates({ a: 9 }, { a: 1, b: 0 })).toBe(false);
  });

  it("dominatesOrEqual compares the replicas of the first clock only", () => {
    expect(dominatesOrEqual({}, {})).toBe(true);
    expect(dominatesOrEqual({}, { a: 1 })).toBe(false);
    expect(dominatesOrEqual({ a: 2 }, { a: 2 })).toBe(true);
    expect(dominatesOrEqual({ a: 1 }, { a: 2 })).toBe(false);
    // b is only in the second clock: ranges of different replicas count as touching
    expect(dominatesOrEqual({ a: 5 }, { a: 3, b: 100 })).toBe(true);
    expect(dominatesOrEqual({ a: 5, b: 1 }, { a: 3, b: 100 })).toBe(false);
  });

  it("trims clock sets to their maximal clocks", () => {
    const clock1 = { replica: "a", clock: { a: 1, b: 2, c: 3 } };
    const clock2 = { replica: "b", clock: { b: 2, c: 3, d: 1 } };
    const clock3 = { replica: "c", clock: { a: 1, b: 2 } };
    expect(sortSet(appendClock([clock2, clock3], clock1))).toEqual([clock2, clock3]);
    expect(sortSet(appendClock([clock1, clock2], clock3))).toEqual([clock1, clock2]);
    expect(sortSet(appendClock([clock1, clock2], clock1))).toEqual([clock1, clock2]);
    expect(sortSet(appendClock([clock1, clock2], clock2))).toEqual([clock1, clock2]);
    expect(sortSet(appendClock([clock1, clock3], clock2))).toEqual([clock1, clock2, clock3]);
    expect(clockSetReplicas(appendClock([clock2, clock3], clock1)).sort()).toEqual(["b", "c"]);
  });

  it("a dominating clock replaces the set; an empty clock is ignored", () => {
    const small = { replica: "a", clock: { a: 1, b: 1 } };
    const other = { replica: "b", clock: { a: 0, b: 2 } };
    const big = { replica: "c", clock: { a: 3, b: 3, c: 1 } };
    expect(appendClock([small, other], big)).toEqual([big]);
    expect(appendClock([small], { replica: "d", clock: {} })).toEqual([small]);
    expect(appendClock([], small)).toEqual([small]);
  });

  it("upperbound", () => {
    expect(upperbound({ a: 1, b: 2, c: 2 }, { a: 3, b: 1, d: 2 })).toEqual({
      a: 3,
      b: 2,
      c: 2,
      d: 2,
    });
    expect(upperbound({}, { a: 3, b: 1, d: 2 })).toEqual({ a: 3, b: 1, d: 2 });
    expect(upperbound({ a: 3, b: 1, d: 2 }, {})).toEqual({ a: 3, b: 1, d: 2 });
  });

  it("lowerbound", () => {
    expect(lowerbound({ a: 1, b: 2, c: 2 }, { a: 3, b: 1, d: 2 })).toEqual({
      a: 1,
      b: 1,
      c: 2,
      d: 2,
    });
    expect(lowerbound({}, { a: 3, b: 1, d: 2 })).toEqual({ a: 3, b: 1, d: 2 });
    expect(lowerbound({ a: 3, b: 1, d: 2 }, {})).toEqual({ a: 3, b: 1, d: 2 });
  });

  it("filters replicas", () => {
    expect(filterReplicas({ a: 1, b: 2, c: 3 }, ["a", "b"])).toEqual({ a: 1, b: 2 });
    expect(filterReplicas({ a: 1, b: 2, c: 3 }, ["a", "c"])).toEqual({ a: 1, c: 3 });
    expect(filterReplicas({ a: 1, b: 2, c: 3 }, ["a", "d"])).toEqual({ a: 1 });
    expect(filterReplicas({ a: 1, b: 2, c: 3 }, ["d"])).toEqual({});
  });

  it("does not read inherited properties as clocks", () => {
    expect(dominatesOrEqual({ constructor: 1 }, {})).toBe(true);
    expect(dominates({ constructor: 1, toString: 1 }, { constructor: 1 })).toBe(true);
  });
});
