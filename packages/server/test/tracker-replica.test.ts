import { describe, expect, it } from "vitest";
import { newReplicaRef, parseReplicaId, replicaId } from "../src/tracker/index.js";

describe("tracker replica identity", () => {
  it("gives every new ref of one process a distinct, increasing vsn", () => {
    const first = newReplicaRef("node1", 1_000);
    const second = newReplicaRef("node1", 1_000);
    expect(second.vsn).toBeGreaterThan(first.vsn);
    expect(replicaId(first)).not.toBe(replicaId(second));
    expect(newReplicaRef("node1", 5_000_000).vsn).toBe(5_000_000_000);
  });

  it("round-trips ids, also for names containing #", () => {
    for (const ref of [
      { name: "node1", vsn: 7 },
      { name: "a#b#1", vsn: 1700000000000123 },
    ]) {
      expect(parseReplicaId(replicaId(ref))).toEqual(ref);
    }
    expect(replicaId({ name: "n", vsn: 3 })).toBe("n#3");
  });

  it("rejects malformed ids and vsns", () => {
    expect(() => parseReplicaId("node1")).toThrow(SyntaxError);
    expect(() => parseReplicaId("node1#x")).toThrow(SyntaxError);
    expect(() => parseReplicaId("node1#99999999999999999999")).toThrow(SyntaxError);
    expect(() => replicaId({ name: "n", vsn: 1.5 })).toThrow(RangeError);
  });
});
