import { describe, expect, it } from "vitest";
import {
  type Delta,
  deltaSize,
  type Entry,
  mergeDeltas,
  type ReplicaRef,
  replicaId,
  TrackerState,
  type Transfer,
} from "../src/tracker/index.js";

const ref = (name: string): ReplicaRef => ({ name, vsn: 1 });

/** States for `names`, each knowing all the others. */
function cluster(...names: string[]): TrackerState[] {
  const states = names.map((name) => new TrackerState(ref(name)));
  for (const state of states) {
    for (const name of names)
      if (replicaId(ref(name)) !== state.replica) state.replicaUp(ref(name));
  }
  return states;
}

const keys = (entries: readonly Entry[]) => entries.map((entry) => entry.key).sort();

/** Everything a reader can observe, in a canonical order. */
function visible(state: TrackerState): Entry[] {
  return state
    .topics()
    .flatMap((topic) => state.byTopic(topic))
    .sort((x, y) => x.tag.replica.localeCompare(y.tag.replica) || x.tag.clock - y.tag.clock);
}

function snapshot(state: TrackerState) {
  return { clocks: state.clocks(), entries: visible(state), full: state.extract(state.clocks()) };
}

const noChanges = { joins: [], leaves: [] };

describe("TrackerState", () => {
  it("starts empty and knows only itself", () => {
    const a = new TrackerState(ref("a"));
    expect(a.replica).toBe("a#1");
    expect(a.extract(a.clocks())).toEqual({
      kind: "transfer",
      context: { "a#1": 0 },
      clouds: {},
      values: [],
    });
    expect(a.clocks()).toEqual({ "a#1": 0 });
    expect(a.replicas()).toEqual(new Map([["a#1", "up"]]));
    expect(a.hasDelta()).toBe(false);
  });

  it("user added online is online", () => {
    const a = new TrackerState(ref("a"));
    const john = a.join("pid1", "lobby", "john", { status: "here" });
    expect(john.tag).toEqual({ replica: "a#1", clock: 1 });
    expect(a.byTopic("lobby")).toEqual([john]);
    expect(a.get("pid1", "lobby", "john")).toBe(john);
    expect(a.leave("pid1", "lobby", "john")).toBe(john);
    expect(a.byTopic("lobby")).toEqual([]);
    expect(a.topics()).toEqual([]);
    expect(a.leave("pid1", "lobby", "john")).toBeUndefined();
    expect(a.get("pid1", "lobby", "john")).toBeUndefined();
  });

  it("refuses to track the same owner, topic and key twice", () => {
    const a = new TrackerState(ref("a"));
    a.join("pid1", "lobby", "john", {});
    expect(() => a.join("pid1", "lobby", "john", {})).toThrow(/already tracked/);
    a.join("pid1", "lobby", "jane", {});
    a.join("pid1", "other", "john", {});
    a.join("pid2", "lobby", "john", {});
    expect(a.topicSize("lobby")).toBe(3);
  });

  it("users from other servers merge", () => {
    const [a, b] = cluster("a", "b") as [TrackerState, TrackerState];
    a.join("alice", "lobby", "alice", {});
    b.join("bob", "lobby", "bob", {});

    // merging emits a bob join
    const first = a.merge(b.extract(a.clocks()));
    expect(keys(first.joins)).toEqual(["bob"]);
    expect(first.leaves).toEqual([]);
    expect(keys(a.byTopic("lobby"))).toEqual(["alice", "bob"]);

    // merging twice doesn't dupe events or change the state
    const before = snapshot(a);
    expect(a.merge(b.extract(a.clocks()))).toEqual(noChanges);
    expect(snapshot(a)).toEqual(before);

    expect(keys(b.merge(a.extract(b.clocks())).joins)).toEqual(["alice"]);
    expect(b.merge(a.extract(b.clocks()))).toEqual(noChanges);

    // observed remove
    a.leave("alice", "lobby", "alice");
    expect(a.byOwner("alice")).toEqual([]);
    expect(b.byOwner("alice")).toHaveLength(1);
    const removed = b.merge(a.extract(b.clocks()));
    expect(removed.joins).toEqual([]);
    expect(keys(removed.leaves)).toEqual(["alice"]);
    expect(b.byOwner("alice")).toEqual([]);
    expect(keys(b.byTopic("lobby"))).toEqual(["bob"]);
    expect(b.merge(a.extract(b.clocks()))).toEqual(noChanges);

    b.join("carol", "lobby", "carol", {});
    expect(keys(b.byTopic("lobby"))).toEqual(["bob", "carol"]);
    expect(keys(a.merge(b.extract(a.clocks())).joins)).toEqual(["carol"]);
    expect(a.merge(b.extract(a.clocks()))).toEqual(noChanges);
    expect(visible(a)).toEqual(visible(b));

    // an update arrives as a join of the new tag and a leave of the old one
    const { joined, left } = b.update("bob", "lobby", "bob", { status: "away" })!;
    expect(a.merge(b.extract(a.clocks()))).toEqual({ joins: [joined], leaves: [left] });
    expect(a.byOwner("bob")).toEqual([joined]);
    expect(a.byKey("lobby", "bob")).toEqual([joined]);
    expect(visible(a)).toEqual(visible(b));
  });

  it("an update travels in a delta as join + leave, atomically", () => {
    const [a, b] = cluster("a", "b") as [TrackerState, TrackerState];
    const old = a.join("pid", "lobby", "alice", { v: 1 });
    b.merge(a.takeDelta());
    const { joined, left } = a.update("pid", "lobby", "alice", { v: 2 })!;
    expect(left).toBe(old);
    expect(joined.meta).toEqual({ v: 2 });
    expect(a.byKey("lobby", "alice")).toEqual([joined]);
    expect(a.get("pid", "lobby", "alice")).toBe(joined);
    expect(b.merge(a.takeDelta())).toEqual({ joins: [joined], leaves: [old] });
    expect(b.byKey("lobby", "alice")).toEqual([joined]);
    expect(b.topicSize("lobby")).toBe(1);
    expect(a.update("pid", "lobby", "nobody", {})).toBeUndefined();
  });

  it("basic netsplit", () => {
    const [a, b] = cluster("a", "b") as [TrackerState, TrackerState];
    a.join("alice", "lobby", "alice", {});
    b.join("bob", "lobby", "bob", {});
    expect(keys(a.merge(b.extract(a.clocks())).joins)).toEqual(["bob"]);
    expect(keys(a.byTopic("lobby"))).toEqual(["alice", "bob"]);

    a.join("carol", "lobby", "carol", {});
    a.leave("alice", "lobby", "alice");
    a.join("david", "lobby", "david", {});

    const down = a.replicaDown(ref("b"));
    expect(down.joins).toEqual([]);
    expect(keys(down.leaves)).toEqual(["bob"]);
    expect(keys(a.byTopic("lobby"))).toEqual(["carol", "david"]);
    expect(a.replicas().get("b#1")).toBe("down");
    // a down replica is left out of the advertised clocks (phoenix_pubsub #135)
    expect(Object.keys(a.clocks())).toEqual(["a#1"]);

    // merging from a down replica adds nothing visible
    b.join("erin", "lobby", "erin", {});
    expect(a.merge(b.takeDelta())).toEqual(noChanges);
    expect(a.merge(b.extract({ ...a.clocks(), "b#1": 0 }))).toEqual(noChanges);
    expect(keys(a.byTopic("lobby"))).toEqual(["carol", "david"]);
    expect(a.replicaDown(ref("b"))).toEqual(noChanges);

    // entries merged while down come back with the others
    const up = a.replicaUp(ref("b"));
    expect(keys(up.joins)).toEqual(["bob", "erin"]);
    expect(up.leaves).toEqual([]);
    expect(keys(a.byTopic("lobby"))).toEqual(["bob", "carol", "david", "erin"]);
    expect(a.replicaUp(ref("b"))).toEqual(noChanges);
    expect(a.merge(b.extract(a.clocks()))).toEqual(noChanges);
  });

  it("ignores entries of replicas it has not heard from", () => {
    const a = new TrackerState(ref("a"));
    const b = new TrackerState(ref("b"));
    b.join("bob", "lobby", "bob", {});
    const delta = b.takeDelta();
    expect(a.merge(delta)).toEqual(noChanges);
    expect(a.merge(b.extract({ ...a.clocks(), "b#1": 0 }))).toEqual(noChanges);
    expect(Object.keys(a.clocks())).toEqual(["a#1"]);
    a.replicaUp(ref("b"));
    expect(keys(a.merge(delta).joins)).toEqual(["bob"]);
  });

  it("joins are observed via another node", () => {
    const [a, b, c] = cluster("a", "b", "c") as [TrackerState, TrackerState, TrackerState];
    a.join("alice", "lobby", "alice", {});
    b.merge(a.extract(b.clocks()));
    expect(keys(c.merge(b.extract(c.clocks())).joins)).toEqual(["alice"]);
    expect(c.clocks()).toEqual({ "a#1": 1, "b#1": 0, "c#1": 0 });
  });

  it("removes are observed via another node (relayed in the next delta)", () => {
    const [a, b, c] = cluster("a", "b", "c") as [TrackerState, TrackerState, TrackerState];
    a.join("alice", "lobby", "alice", {});
    a.join("bob", "lobby", "bob", {});
    const joins = a.takeDelta();
    b.merge(joins);
    c.merge(joins);
    b.takeDelta();
    expect(b.hasDelta()).toBe(false);

    a.leave("alice", "lobby", "alice");
    // the delta with the leave reaches b only
    expect(keys(b.merge(a.takeDelta()).leaves)).toEqual(["alice"]);
    expect(b.hasDelta()).toBe(true);
    const relay = b.takeDelta();
    expect(relay.values).toEqual([]);
    expect(relay.clouds).toEqual({ "a#1": [1] });
    expect(keys(c.merge(relay).leaves)).toEqual(["alice"]);
    expect(keys(c.byTopic("lobby"))).toEqual(["bob"]);
    // c passes the remove on as well; receiving it twice is harmless
    expect(c.hasDelta()).toBe(true);
    expect(c.takeDelta().clouds).toEqual({ "a#1": [1] });
  });

  it("removes are observed via another node's transfer", () => {
    const [a, b, c] = cluster("a", "b", "c") as [TrackerState, TrackerState, TrackerState];
    a.join("alice", "lobby", "alice", {});
    const joined = a.takeDelta();
    b.merge(joined);
    c.merge(joined);
    a.leave("alice", "lobby", "alice");
    b.merge(a.extract(b.clocks()));
    expect(keys(c.merge(b.extract(c.clocks())).leaves)).toEqual(["alice"]);
    // a stale transfer that still holds the entry cannot bring it back: its dot is seen
    const stale = new TrackerState(ref("d"));
    stale.replicaUp(ref("a"));
    stale.merge(joined);
    c.replicaUp(ref("d"));
    expect(c.merge(stale.extract(c.clocks()))).toEqual(noChanges);
    expect(c.byTopic("lobby")).toEqual([]);
  });

  it("a removed dot stays seen, so a stale peer cannot resurrect an entry removed out of order", () => {
    const [a, b, c] = cluster("a", "b", "c") as [TrackerState, TrackerState, TrackerState];
    a.join("x", "lobby", "x", {});
    c.merge(a.takeDelta()); // lost on the way to b: b will have a gap at a#1:1
    a.join("y", "lobby", "y", {});
    const withY = a.takeDelta();
    b.merge(withY);
    c.merge(withY);
    a.leave("y", "lobby", "y");
    expect(keys(b.merge(a.takeDelta()).leaves)).toEqual(["y"]);
    expect(b.clocks()["a#1"]).toBe(0);

    // c still holds y; its transfer fills b's gap with x but must not bring y back
    expect(b.merge(c.extract(b.clocks()))).toEqual({ joins: c.byKey("lobby", "x"), leaves: [] });
    expect(keys(b.byTopic("lobby"))).toEqual(["x"]);
    // b's clock now equals a's, so no anti-entropy would ever repair a resurrected y
    expect(b.clocks()).toEqual(a.clocks());
    expect(keys(a.byTopic("lobby"))).toEqual(["x"]);
  });

  it("a dot seen in a later delta does not stand for the removes of the delta that made it", () => {
    const [a, b] = cluster("a", "b") as [TrackerState, TrackerState];
    a.join("o", "lobby", "k", { v: 1 });
    b.merge(a.takeDelta());
    a.update("o", "lobby", "k", { v: 2 });
    a.takeDelta(); // lost on the way to b: it removed v1's dot
    a.update("o", "lobby", "k", { v: 3 });
    b.merge(a.takeDelta()); // names v2's dot as removed, but not v1's
    expect(b.byKey("lobby", "k").map((e) => e.meta)).toEqual([{ v: 1 }, { v: 3 }]);
    // b must still look behind a, or anti-entropy would never bring it v1's remove
    expect(b.clocks()["a#1"]).toBe(1);

    b.merge(a.extract(b.clocks()));
    expect(b.byKey("lobby", "k").map((e) => e.meta)).toEqual([{ v: 3 }]);
    expect(b.clocks()).toEqual(a.clocks());
  });

  it("a range merged ahead of the context counts once the gap before it is filled", () => {
    const [a, b] = cluster("a", "b") as [TrackerState, TrackerState];
    a.join("u1", "lobby", "u1", {});
    const d1 = a.takeDelta();
    a.join("u2", "lobby", "u2", {});
    const d2 = a.takeDelta();
    a.leave("u1", "lobby", "u1");
    const d3 = a.takeDelta();
    b.merge(d3);
    b.merge(d2);
    expect(b.clocks()["a#1"]).toBe(0);
    b.merge(d1);
    expect(b.clocks()).toEqual(a.clocks());
    expect(keys(b.byTopic("lobby"))).toEqual(["u2"]);
  });

  it("the local replica is the only authority on its own entries", () => {
    const [a] = cluster("a", "b") as [TrackerState, TrackerState];
    const mine = a.join("alice", "lobby", "alice", {});
    const liar: Transfer = { kind: "transfer", context: { "a#1": 5 }, clouds: {}, values: [] };
    expect(a.merge(liar)).toEqual(noChanges);
    const liarDelta: Delta = {
      kind: "delta",
      range: { start: {}, end: {} },
      clouds: { "a#1": [1] },
      values: [],
    };
    expect(a.merge(liarDelta)).toEqual(noChanges);
    expect(a.byTopic("lobby")).toEqual([mine]);
  });

  it("get_by_owner, get_by_key, get_by_topic and topic sizes", () => {
    const [s1, s2, s3] = cluster("node1", "node2", "node3") as [
      TrackerState,
      TrackerState,
      TrackerState,
    ];
    expect(s1.byOwner("pid")).toEqual([]);
    const key1 = s1.join("pid", "topic", "key1", {});
    const key2 = s1.join("pid", "topic", "key2", {});
    const other = s1.join("pid", "another:topic", "key1", {});
    const user2 = s2.join("user2", "topic", "user2", {});
    const user3 = s3.join("user3", "topic", "user3", {});

    expect(s1.byOwner("pid")).toEqual([key1, key2, other]);
    expect(s1.get("pid", "topic", "key1")).toBe(key1);
    expect(s1.get("pid", "notopic", "key1")).toBeUndefined();
    expect(s1.byTopic("topic")).toEqual([key1, key2]);

    s1.merge(s2.extract(s1.clocks()));
    s1.merge(s3.extract(s1.clocks()));
    expect(s1.byTopic("topic")).toEqual([key1, key2, user2, user3]);
    expect(s1.topicSize("topic")).toBe(4);
    expect(s1.byKey("topic", "user2")).toEqual([user2]);
    expect(s1.byOwner("user3")).toEqual([user3]);
    expect(s1.topics().sort()).toEqual(["another:topic", "topic"]);

    // one replica offline
    s1.replicaDown(ref("node2"));
    expect(s1.byTopic("topic")).toEqual([key1, key2, user3]);
    expect(s1.byKey("topic", "user2")).toEqual([]);
    expect(s1.byOwner("user2")).toEqual([]);
    expect(s1.topicSize("topic")).toBe(3);

    // two replicas offline
    s1.replicaDown(ref("node3"));
    expect(s1.byTopic("topic")).toEqual([key1, key2]);
    expect(s1.topicSize("topic")).toBe(2);
    expect(s1.byTopic("nothing")).toEqual([]);
    expect(s1.topicSize("nothing")).toBe(0);

    // a topic holding only hidden entries is not listed
    s1.leave("pid", "topic", "key1");
    s1.leave("pid", "topic", "key2");
    expect(s1.topics()).toEqual(["another:topic"]);
    s1.replicaUp(ref("node2"));
    expect(s1.topics().sort()).toEqual(["another:topic", "topic"]);
    expect(s1.byTopic("topic")).toEqual([user2]);
  });

  it("leaveOwner removes every entry of that owner, and only its own", () => {
    const [a, b] = cluster("a", "b") as [TrackerState, TrackerState];
    const one = a.join("chan", "t1", "u", {});
    const two = a.join("chan", "t2", "u", {});
    a.join("other", "t1", "v", {});
    // a remote replica's entry under the same owner string is not ours to remove
    const theirs = b.join("chan", "t1", "w", {});
    a.merge(b.extract(a.clocks()));
    expect(a.leaveOwner("chan")).toEqual([one, two]);
    expect(a.byOwner("chan")).toEqual([theirs]);
    expect(keys(a.byTopic("t1"))).toEqual(["v", "w"]);
    expect(a.leaveOwner("chan")).toEqual([]);
    expect(keys(b.merge(a.extract(b.clocks())).leaves)).toEqual([]);
  });

  it("remove_down_replicas", () => {
    const [s1, s2] = cluster("node1", "node2") as [TrackerState, TrackerState];
    s1.join("alice", "lobby", "alice", {});
    s2.join("bob", "lobby", "bob", {});
    s2.merge(s1.extract(s2.clocks()));
    expect(keys(s2.byTopic("lobby"))).toEqual(["alice", "bob"]);

    s2.replicaDown(ref("node1"));
    expect(keys(s2.byTopic("lobby"))).toEqual(["bob"]);
    expect(s2.removeDownReplica(ref("node1"))).toEqual(noChanges);
    expect(s2.replicas()).toEqual(new Map([["node2#1", "up"]]));
    expect(s2.clocks()).toEqual({ "node2#1": 1 });
    s2.replicaUp(ref("node1"));
    expect(keys(s2.byTopic("lobby"))).toEqual(["bob"]);
    expect(s2.byOwner("alice")).toEqual([]);
  });

  it("remove_down_replicas of a replica still up reports its entries as leaves", () => {
    const [a, b] = cluster("a", "b") as [TrackerState, TrackerState];
    b.join("bob", "lobby", "bob", {});
    a.merge(b.extract(a.clocks()));
    expect(keys(a.removeDownReplica(ref("b")).leaves)).toEqual(["bob"]);
    expect(a.topicSize("lobby")).toBe(0);
    expect(() => a.removeDownReplica(ref("a"))).toThrow();
    expect(() => a.replicaDown(ref("a"))).toThrow();
  });

  it("remove_down_replicas purges the replica from the pending delta", () => {
    const [a, b, c] = cluster("a", "b", "c") as [TrackerState, TrackerState, TrackerState];
    b.join("bob", "lobby", "bob", {});
    a.merge(b.takeDelta());
    b.leave("bob", "lobby", "bob");
    a.merge(b.takeDelta());
    expect(a.hasDelta()).toBe(true);
    a.replicaDown(ref("b"));
    a.removeDownReplica(ref("b"));
    expect(a.hasDelta()).toBe(false);
    expect(a.takeDelta().clouds).toEqual({});
    expect(c.merge(a.extract(c.clocks()))).toEqual(noChanges);
  });

  it("basic deltas", () => {
    const [a, b] = cluster("a", "b") as [TrackerState, TrackerState];
    a.join("alice", "lobby", "alice", {});
    b.join("bob", "lobby", "bob", {});

    expect(keys(b.merge(a.takeDelta()).joins)).toEqual(["alice"]);
    expect(b.clocks()).toEqual({ "a#1": 1, "b#1": 1 });

    a.leave("alice", "lobby", "alice");
    const leave = a.takeDelta();
    expect(leave).toEqual({
      kind: "delta",
      range: { start: { "a#1": 1 }, end: { "a#1": 2 } },
      clouds: { "a#1": [1, 2] },
      values: [],
    });
    expect(keys(b.merge(leave).leaves)).toEqual(["alice"]);
    expect(b.clocks()).toEqual({ "a#1": 2, "b#1": 1 });

    a.join("alice", "lobby", "alice", {});
    expect(keys(b.merge(a.takeDelta()).joins)).toEqual(["alice"]);
    expect(b.clocks()).toEqual({ "a#1": 3, "b#1": 1 });
    expect(b.extract(b.clocks()).clouds).toEqual({});
  });

  it("out-of-order deltas stay in the clouds until the gap is filled", () => {
    const [a, b] = cluster("a", "b") as [TrackerState, TrackerState];
    a.join("u1", "lobby", "u1", {});
    const d1 = a.takeDelta();
    a.join("u2", "lobby", "u2", {});
    const d2 = a.takeDelta();
    a.join("u3", "lobby", "u3", {});
    const d3 = a.takeDelta();

    b.merge(d1);
    expect(keys(b.merge(d3).joins)).toEqual(["u3"]);
    // the gap keeps the context at 1, so b does not dominate a and will ask for a transfer
    expect(b.clocks()).toEqual({ "a#1": 1, "b#1": 0 });
    expect(b.extract(b.clocks()).clouds).toEqual({ "a#1": [3] });
    expect(keys(b.merge(d2).joins)).toEqual(["u2"]);
    expect(b.clocks()).toEqual({ "a#1": 3, "b#1": 0 });
    expect(b.extract(b.clocks()).clouds).toEqual({});
  });

  it("deltas are not merged for non-contiguous ranges", () => {
    const a = new TrackerState(ref("a"));
    a.join("u1", "lobby", "u1", {});
    const d1 = a.takeDelta();
    a.join("u2", "lobby", "u2", {});
    const d2 = a.takeDelta();
    a.join("u3", "lobby", "u3", {});
    const d3 = a.takeDelta();

    expect(mergeDeltas(d1, d3)).toBe("not_contiguous");
    expect(mergeDeltas(d3, d1)).toBe("not_contiguous");
    const d12 = mergeDeltas(d1, d2);
    expect(d12).not.toBe("not_contiguous");
    const d123 = mergeDeltas(d12 as Delta, d3) as Delta;
    expect(d123.range).toEqual({ start: { "a#1": 0 }, end: { "a#1": 3 } });
    expect(keys(d123.values)).toEqual(["u1", "u2", "u3"]);
  });

  it("an extracted state's context contains only replicas known to the remote", () => {
    const [a, b, c] = cluster("a", "b", "c") as [TrackerState, TrackerState, TrackerState];
    a.join("alice", "lobby", "alice", {});
    b.join("bob", "lobby", "bob", {});
    c.join("carol", "lobby", "carol", {});
    a.merge(b.extract(a.clocks()));
    a.merge(c.extract(a.clocks()));
    // an out-of-order dot of c in a's clouds, which must be pruned too
    c.join("carol2", "lobby", "carol2", {});
    c.takeDelta();
    c.join("carol3", "lobby", "carol3", {});
    a.merge(c.takeDelta());

    // a newcomer that knows a and itself only (like a restarted c with a new vsn)
    const fresh = new TrackerState({ name: "c", vsn: 2 });
    fresh.replicaUp(ref("a"));
    const transfer = a.extract(fresh.clocks());
    expect(Object.keys(transfer.context).sort()).toEqual(["a#1"]);
    expect(transfer.clouds).toEqual({});
    expect(keys(transfer.values)).toEqual(["alice"]);

    const full = a.extract(a.clocks());
    expect(Object.keys(full.context).sort()).toEqual(["a#1", "b#1", "c#1"]);
    expect(full.clouds).toEqual({ "c#1": [3] });
    expect(keys(full.values)).toEqual(["alice", "bob", "carol", "carol3"]);
  });

  it("merging deltas", () => {
    const s1 = new TrackerState(ref("s1"));
    const s2 = new TrackerState(ref("s2"));
    s1.join("user1", "lobby", "user1", {});
    s1.join("user1", "private", "user1", {});
    s2.join("user2", "lobby", "user2", {});
    s2.join("user2", "private", "user2", {});
    const merged = mergeDeltas(s1.takeDelta(), s2.takeDelta()) as Delta;
    expect(merged.values.map((entry) => [entry.tag.replica, entry.tag.clock, entry.topic])).toEqual(
      [
        ["s1#1", 1, "lobby"],
        ["s1#1", 2, "private"],
        ["s2#1", 1, "lobby"],
        ["s2#1", 2, "private"],
      ],
    );
    expect(merged.clouds).toEqual({ "s1#1": [1, 2], "s2#1": [1, 2] });
    expect(merged.range).toEqual({
      start: { "s1#1": 0, "s2#1": 0 },
      end: { "s1#1": 2, "s2#1": 2 },
    });
    expect(deltaSize(merged)).toBe(8);
  });

  it("merging deltas with removes", () => {
    const [s1, s2] = cluster("s1", "s2") as [TrackerState, TrackerState];
    s1.join("user1", "lobby", "user1", {});
    s1.join("user1", "private", "user1", {});
    s2.join("user1", "lobby", "user1", {});
    s2.leave("user1", "lobby", "user1");
    const s1Delta = s1.takeDelta();
    const s2Delta = s2.takeDelta();

    // a join and remove within one delta leave only dots
    expect(s2Delta.values).toEqual([]);
    const delta1 = mergeDeltas(s1Delta, s2Delta) as Delta;
    expect(keys(delta1.values)).toEqual(["user1", "user1"]);
    expect(delta1.values.map((entry) => entry.topic)).toEqual(["lobby", "private"]);
    expect(delta1.clouds).toEqual({ "s1#1": [1, 2], "s2#1": [1, 2] });

    // merging duplicates maintains the delta
    expect(mergeDeltas(delta1, s2Delta)).toEqual(delta1);
    expect(mergeDeltas(delta1, delta1)).toEqual(delta1);

    // observed remove: the value goes, its dot stays as the tombstone
    s1.leave("user1", "private", "user1");
    const delta2 = mergeDeltas(delta1, s1.takeDelta()) as Delta;
    expect(delta2.values.map((entry) => entry.topic)).toEqual(["lobby"]);
    expect(delta2.clouds).toEqual({ "s1#1": [1, 2, 3], "s2#1": [1, 2] });
    expect(delta2.range.end).toEqual({ "s1#1": 3, "s2#1": 2 });

    // a state catching up from the merged delta ends where the others are
    const s3 = cluster("s1", "s2", "s3")[2] as TrackerState;
    expect(s3.merge(delta2).joins.map((entry) => entry.topic)).toEqual(["lobby"]);
    expect(s3.clocks()).toEqual({ "s1#1": 3, "s2#1": 2, "s3#1": 0 });
  });

  it("deltas and transfers are plain JSON", () => {
    const [a, b] = cluster("a", "b") as [TrackerState, TrackerState];
    a.join("pid", "lobby", "alice", { device: "web", tags: ["x"], n: 1, ok: true, no: null });
    a.join("pid", "lobby", "bob", {});
    a.leave("pid", "lobby", "bob");
    const delta = a.takeDelta();
    const wire = JSON.parse(JSON.stringify(delta)) as Delta;
    expect(wire).toEqual(delta);
    expect(deltaSize(delta)).toBe(1 + 3);
    expect(keys(b.merge(wire).joins)).toEqual(["alice"]);
    const transfer = a.extract(b.clocks());
    expect(JSON.parse(JSON.stringify(transfer))).toEqual(transfer);
    expect(b.merge(JSON.parse(JSON.stringify(transfer)) as Transfer)).toEqual(noChanges);
  });
});

describe("TrackerState at scale", () => {
  it("extracts and merges a replica with 200k entries, reading one topic cheaply", () => {
    const [a, b] = cluster("a", "b") as [TrackerState, TrackerState];
    for (let i = 0; i < 200_000; i++) a.join(`pid${i}`, `room:${i % 1000}`, `user${i}`, {});
    a.join("pid-x", "small", "x", {});
    const delta = a.takeDelta();
    expect(deltaSize(delta)).toBe(2 * 200_001);
    expect(b.merge(a.extract(b.clocks())).joins).toHaveLength(200_001);
    expect(b.merge(delta)).toEqual(noChanges);
    expect(b.topicSize("room:7")).toBe(200);
    expect(keys(b.byTopic("small"))).toEqual(["x"]);
    expect(b.clocks()).toEqual(a.clocks());
  });
});
