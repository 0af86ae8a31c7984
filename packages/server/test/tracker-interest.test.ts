import { prng, silentLogger } from "@tandem/test-support";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PubSub, type Subscriber, shardChannel, Tracker } from "../src/index.js";
import { replicaId } from "../src/tracker/replica.js";
import { trackerStateOf } from "../src/tracker/tracker.js";
import { SimNetwork } from "./sim-network.js";

const PERIOD = 100;
const timings = {
  broadcastPeriodMs: PERIOD,
  maxSilentPeriods: 2,
  downPeriodMs: 500,
  permdownPeriodMs: 3000,
  timers: false,
} as const;
/** Few shards for many topics: topics share shards, as they do in production. */
const SHARDS = 4;
const TOPICS = ["t0", "t1", "t2", "t3", "t4", "t5"];

interface Node {
  name: string;
  pubsub: PubSub;
  tracker: Tracker;
  /** The subscriptions this node holds, by topic. */
  served: Map<string, () => void>;
  alive: boolean;
}

class Cluster {
  readonly network = new SimNetwork();
  readonly nodes: Node[] = [];
  now = 0;

  async start(name: string): Promise<Node> {
    const pubsub = new PubSub({ adapter: this.network.adapter(name), shards: SHARDS });
    await pubsub.start();
    const tracker = new Tracker({ ...timings, pubsub, logger: silentLogger, now: () => this.now });
    const node = { name, pubsub, tracker, served: new Map(), alive: true };
    this.nodes.push(node);
    return node;
  }

  live(): Node[] {
    return this.nodes.filter((n) => n.alive);
  }

  kill(node: Node): void {
    node.alive = false;
    node.tracker.close({ permdown: false });
    this.network.kill(node.name);
  }

  step(random: () => number, chaos?: { drop: number; duplicate: number; shuffle: boolean }): void {
    this.now += PERIOD;
    for (const node of this.live()) node.tracker.tick();
    this.network.deliver(random, chaos);
  }
}

const subscriber: Subscriber = { deliver() {} };

function rows(node: Node, topic: string, replica?: string): string[] {
  return node.tracker
    .list(topic)
    .filter((e) => replica === undefined || e.tag.replica === replica)
    .map((e) => JSON.stringify([e.tag.replica, e.tag.clock, e.owner, e.key, e.meta]))
    .sort();
}

/**
 * A random run where nodes track, serve and stop serving topics, die and restart, over
 * a lossy bus; then a reliable bus long enough to forget the dead and to expire members
 * whose goodbye was lost. Then every live node holds exactly what it serves: for each
 * topic of a shard it is interested in, every live node's own entries; for other
 * topics, nothing, and it subscribes to exactly the channels of its shards.
 */
async function simulate(seed: number, size: number): Promise<void> {
  const random = prng(seed);
  const cluster = new Cluster();
  for (let i = 0; i < size; i++) await cluster.start(`n${i}`);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const owners = ["o1", "o2"];
  const chaos = { drop: 0.15, duplicate: 0.1, shuffle: true };
  for (let step = 0; step < 100; step++) {
    const live = cluster.live();
    const node = pick(live);
    const topic = pick(TOPICS);
    const owner = pick(owners);
    const roll = random();
    if (roll < 0.25) node.tracker.track(owner, topic, pick(["k1", "k2"]), { n: step });
    else if (roll < 0.35) node.tracker.update(owner, topic, "k1", { n: step, up: true });
    else if (roll < 0.45) node.tracker.untrack(owner, topic, pick(["k1", "k2"]));
    else if (roll < 0.5) node.tracker.untrackOwner(owner);
    else if (roll < 0.65) {
      if (!node.served.has(topic)) node.served.set(topic, node.pubsub.subscribe(topic, subscriber));
    } else if (roll < 0.8) {
      node.served.get(topic)?.();
      node.served.delete(topic);
    } else if (roll < 0.83 && live.length > 2) cluster.kill(node);
    else if (roll < 0.86) {
      const dead = cluster.nodes.find(
        (n) => !n.alive && !cluster.live().some((l) => l.name === n.name),
      );
      if (dead) await cluster.start(dead.name);
    } else if (roll < 0.93) {
      // Eager sends, as timers would make them after a turn of the event loop.
      for (const n of live) n.tracker.flush();
    }
    cluster.step(random, chaos);
  }

  const rounds = Math.ceil((2 * timings.downPeriodMs) / PERIOD) + 12;
  for (let i = 0; i < rounds; i++) cluster.step(random);

  const live = cluster.live();
  for (const topic of TOPICS) {
    const expected = live.flatMap((n) => rows(n, topic, replicaId(n.tracker.replica))).sort();
    for (const node of live) {
      const shard = node.pubsub.shardOf(topic);
      const context = `${node.name} on ${topic} (seed ${seed})`;
      if (node.pubsub.interested(shard)) {
        expect(rows(node, topic), context).toEqual(expected);
      } else {
        expect(rows(node, topic), context).toEqual([]);
        expect(trackerStateOf(node.tracker, topic), context).toBeUndefined();
      }
    }
  }
  for (const node of live) {
    const channels = node.pubsub.interests().map(shardChannel).sort();
    expect([...cluster.network.channelsOf(node.name)].sort()).toEqual(channels);
    expect(node.tracker.shards().sort()).toEqual(node.pubsub.interests().sort());
  }
}

describe("interest-routed replication over a simulated bus", () => {
  it("converges to what each node serves while nodes gain and lose interest, die and restart", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer(), fc.integer({ min: 3, max: 5 }), async (seed, size) => {
        await simulate(seed, size);
      }),
      { numRuns: 120 },
    );
  }, 120_000);

  it("gives a node that starts serving a room the room's full state, and drops it when it stops", async () => {
    const cluster = new Cluster();
    const a = await cluster.start("a");
    const b = await cluster.start("b");
    const random = prng(1);
    for (let i = 0; i < 20; i++) a.tracker.track(`o${i}`, "t0", `u${i}`, { i });
    for (let i = 0; i < 3; i++) cluster.step(random);
    expect(b.tracker.list("t0")).toEqual([]);
    expect(b.tracker.shards()).toEqual([]);

    const off = b.pubsub.subscribe("t0", subscriber);
    cluster.network.deliver(random);
    cluster.step(random);
    expect(b.tracker.list("t0")).toHaveLength(20);

    off();
    expect(b.tracker.list("t0")).toEqual([]);
    expect(b.tracker.shards()).toEqual([]);
    expect([...cluster.network.channelsOf("b")]).toEqual([]);
    // Once b said goodbye, a's changes in the shard no longer reach it.
    cluster.network.deliver(random);
    let toB = 0;
    cluster.network.filter = ({ to, message }) => {
      if (to === "b" && message.event !== "alive") toB++;
      return true;
    };
    a.tracker.track("late", "t0", "late", {});
    a.tracker.flush();
    cluster.step(random);
    expect(toB).toBe(0);
  });

  it("gives a node taking a room up each peer's entries from the peers' answers, one copy each, without a transfer", async () => {
    const cluster = new Cluster();
    const peers = [await cluster.start("a"), await cluster.start("b"), await cluster.start("c")];
    const d = await cluster.start("d");
    const random = prng(3);
    for (const node of peers) {
      node.pubsub.subscribe("t0", subscriber);
      for (let i = 0; i < 2; i++) node.tracker.track(`${node.name}${i}`, "t0", `u${i}`, {});
    }
    for (let i = 0; i < 4; i++) cluster.step(random);

    const events: string[] = [];
    let entriesToD = 0;
    cluster.network.filter = ({ to, message }) => {
      if (message.event === "alive") return true;
      events.push(message.event);
      const payload = message.payload as { state?: { values: unknown[] } };
      if (to === "d") entriesToD += payload.state?.values.length ?? 0;
      return true;
    };
    d.pubsub.subscribe("t0", subscriber);
    d.tracker.flush();
    cluster.network.deliver(random);
    expect(d.tracker.list("t0")).toHaveLength(6);
    expect(entriesToD).toBe(6);
    expect(events.filter((e) => e !== "heartbeat")).toEqual([]);
    // The announcement to the three peers, and one answer from each.
    expect(events).toHaveLength(6);
    for (const node of peers) expect(rows(node, "t0")).toEqual(rows(d, "t0"));
  });

  it("converges when a peer dies before answering a node taking its room up, or its answer is lost", async () => {
    for (const lose of ["death", "answer"] as const) {
      const cluster = new Cluster();
      const [a, b, c] = [
        await cluster.start("a"),
        await cluster.start("b"),
        await cluster.start("c"),
      ];
      const d = await cluster.start("d");
      const random = prng(4);
      for (const node of [a, b, c]) {
        node.pubsub.subscribe("t0", subscriber);
        node.tracker.track(node.name, "t0", node.name, {});
      }
      for (let i = 0; i < 4; i++) cluster.step(random);
      d.pubsub.subscribe("t0", subscriber);
      d.tracker.flush();
      if (lose === "death") cluster.kill(c);
      else cluster.network.filter = ({ from, to }) => !(from === "c" && to === "d");
      cluster.network.deliver(random);
      expect(rows(d, "t0").length, lose).toBe(2);
      cluster.network.filter = undefined;
      // Within the down period c leaves everywhere, or its next heartbeat brings it to d.
      const rounds = Math.ceil(timings.downPeriodMs / PERIOD) + 2;
      for (let i = 0; i < rounds; i++) cluster.step(random);
      const expected = lose === "death" ? ["a", "b"] : ["a", "b", "c"];
      for (const node of cluster.live()) {
        expect(
          node.tracker
            .list("t0")
            .map((e) => e.key)
            .sort(),
          `${lose}: ${node.name}`,
        ).toEqual(expected);
      }
    }
  });

  it("repairs a lost change when the sender's next one arrives, without waiting for a heartbeat", async () => {
    const cluster = new Cluster();
    const a = await cluster.start("a");
    const b = await cluster.start("b");
    const random = prng(5);
    for (const node of [a, b]) node.pubsub.subscribe("t0", subscriber);
    for (let i = 0; i < 4; i++) cluster.step(random);
    cluster.network.filter = ({ to, message }) => !(to === "b" && message.event === "heartbeat");
    a.tracker.track("o1", "t0", "lost", {});
    a.tracker.flush();
    cluster.network.deliver(random);
    cluster.network.filter = undefined;
    a.tracker.track("o2", "t0", "next", {});
    a.tracker.flush();
    cluster.network.deliver(random);
    expect(
      b.tracker
        .list("t0")
        .map((e) => e.key)
        .sort(),
    ).toEqual(["lost", "next"]);
    const ada = replicaId(a.tracker.replica);
    expect(b.tracker.clocks("t0")[ada]).toBe(a.tracker.clocks("t0")[ada]);
  });

  it("repairs a lost last change within the shard's clock interval and a sampling", async () => {
    let slowest = 0;
    // Whatever the phase of the sender's clock heartbeats when the change is lost.
    for (let offset = 0; offset < 6; offset++) {
      const cluster = new Cluster();
      const a = await cluster.start("a");
      const b = await cluster.start("b");
      const random = prng(6);
      for (const node of [a, b]) node.pubsub.subscribe("t0", subscriber);
      for (let i = 0; i < 4 + offset; i++) cluster.step(random);
      cluster.network.filter = ({ to, message }) => !(to === "b" && message.event === "heartbeat");
      a.tracker.track("o1", "t0", "lost", {});
      a.tracker.flush();
      cluster.network.deliver(random);
      cluster.network.filter = undefined;
      let periods = 0;
      while (b.tracker.list("t0").length === 0 && periods < 20) {
        cluster.step(random);
        periods++;
      }
      expect(b.tracker.list("t0").map((e) => e.key)).toEqual(["lost"]);
      slowest = Math.max(slowest, periods);
    }
    // At these timings an idle shard's clocks go every 2 periods, and sampling every 2.
    expect(slowest).toBeLessThanOrEqual(2 + 2);
  });

  it("sends a busy shard's clocks with its changes, not in heartbeats of their own", async () => {
    const cluster = new Cluster();
    const a = await cluster.start("a");
    const b = await cluster.start("b");
    const random = prng(7);
    for (const node of [a, b]) node.pubsub.subscribe("t0", subscriber);
    a.tracker.track("o", "t0", "ada", { i: 0 });
    for (let i = 0; i < 8; i++) cluster.step(random);
    const fromA = { idle: 0, changes: 0, changesWithClocks: 0 };
    cluster.network.filter = ({ from, message }) => {
      const payload = message.payload as { clocks?: unknown; delta?: unknown };
      if (from !== "a" || message.event !== "heartbeat") return true;
      if (payload.delta === undefined) fromA.idle++;
      else fromA.changes++;
      if (payload.delta !== undefined && payload.clocks !== undefined) fromA.changesWithClocks++;
      return true;
    };
    for (let i = 1; i <= 20; i++) {
      a.tracker.update("o", "t0", "ada", { i });
      a.tracker.flush();
      cluster.step(random);
    }
    expect(fromA.idle).toBe(0);
    expect(fromA.changes).toBe(20);
    expect(fromA.changesWithClocks).toBeGreaterThan(0);
    expect(b.tracker.list("t0").map((e) => e.meta)).toEqual([{ i: 20 }]);
  });

  it("asks a peer for no transfer over a replica it knows and we have forgotten", async () => {
    const cluster = new Cluster();
    const [a, b, c] = [
      await cluster.start("a"),
      await cluster.start("b"),
      await cluster.start("c"),
    ];
    const random = prng(8);
    const offC = c.pubsub.subscribe("t0", subscriber);
    for (const node of [a, b]) node.pubsub.subscribe("t0", subscriber);
    a.tracker.track("o", "t0", "ada", {});
    for (let i = 0; i < 6; i++) cluster.step(random);
    // c's goodbye reaches a, not b: b still counts c a member for a while.
    cluster.network.filter = ({ from, to, message }) =>
      !(from === "c" && to === "b" && message.event === "leave");
    offC();
    cluster.network.deliver(random);
    let asked = 0;
    cluster.network.filter = ({ from, message }) => {
      if (from === "a" && message.event === "transfer_req") asked++;
      return true;
    };
    for (let i = 0; i < 8; i++) cluster.step(random);
    expect(asked).toBe(0);
    expect(b.tracker.list("t0").map((e) => e.key)).toEqual(["ada"]);
  });

  it("sends a local change at once, before the next period, when flushed", async () => {
    const cluster = new Cluster();
    const a = await cluster.start("a");
    const b = await cluster.start("b");
    a.pubsub.subscribe("t0", subscriber);
    b.pubsub.subscribe("t0", subscriber);
    const random = prng(2);
    for (let i = 0; i < 3; i++) cluster.step(random);
    a.tracker.track("o", "t0", "ada", { typing: false });
    a.tracker.update("o", "t0", "ada", { typing: true });
    let sent = 0;
    cluster.network.filter = ({ message }) => {
      if (message.event === "heartbeat") sent++;
      return true;
    };
    a.tracker.flush();
    cluster.network.deliver(random);
    // One message for the burst, and b sees its end without a tick.
    expect(sent).toBe(1);
    expect(b.tracker.list("t0").map((e) => e.meta)).toEqual([{ typing: true }]);
  });
});
