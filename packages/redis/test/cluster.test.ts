import { encodeEnvelope, PubSub, shardChannel } from "@tandem/server";
import { eventually, type LogEntry, recordingLogger } from "@tandem/test-support";
import { Redis } from "ioredis";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RedisAdapter } from "../src/index.js";
import { Collector, redisForFile, sparePort, uniquePrefix } from "./support.js";

const redisUrl = redisForFile();

interface Node {
  name: string;
  adapter: RedisAdapter;
  pubsub: PubSub;
  logs: LogEntry[];
}

async function startNodes(prefix: string, names: string[]): Promise<Node[]> {
  const nodes = names.map((name) => {
    const logger = recordingLogger();
    const { entries } = logger;
    const adapter = new RedisAdapter({ url: redisUrl(), prefix, nodeName: name, logger });
    return { name, adapter, pubsub: new PubSub({ adapter }), logs: entries };
  });
  await Promise.all(nodes.map((node) => node.pubsub.start()));
  return nodes;
}

describe("RedisAdapter between PubSub nodes", () => {
  let nodes: Node[] = [];
  let a: Node;
  let b: Node;
  let c: Node;

  beforeEach(async () => {
    nodes = await startNodes(uniquePrefix("cluster"), ["a", "b", "c"]);
    [a, b, c] = nodes as [Node, Node, Node];
  });

  afterEach(async () => {
    await Promise.all(nodes.map((node) => node.pubsub.close()));
  });

  /** Waits until every node's subscription to `topic`'s shard is confirmed. */
  async function subscribed(topic: string): Promise<void> {
    await Promise.all(nodes.map((n) => n.pubsub.whenSubscribed(topic)));
  }

  /**
   * Waits until everything `from` published so far has reached every node: Redis
   * delivers one connection's publishes in order, so a fence broadcast that arrives
   * comes after all of them. A node's own echo would arrive before its fence from
   * another node, since that one is published after the first fence arrived.
   */
  async function fence(from: Node): Promise<void> {
    const topic = "fence";
    const others = nodes.filter((n) => n !== from);
    const collectors = nodes.map(() => new Collector());
    const unsubscribe = nodes.map((n, i) => n.pubsub.subscribe(topic, collectors[i]!));
    await subscribed(topic);
    from.pubsub.broadcast(topic, "one", {});
    await Promise.all(others.map((n) => collectors[nodes.indexOf(n)]!.waitFor("one")));
    others[0]!.pubsub.broadcast(topic, "two", {});
    await collectors[nodes.indexOf(from)]!.waitFor("two");
    for (const off of unsubscribe) off();
  }

  it("delivers a broadcast once to every subscriber on every node", async () => {
    const [onA, onB, onC, elsewhere] = [1, 2, 3, 4].map(() => new Collector()) as Collector[];
    a.pubsub.subscribe("room:1", onA!);
    b.pubsub.subscribe("room:1", onB!);
    c.pubsub.subscribe("room:1", onC!);
    b.pubsub.subscribe("room:2", elsewhere!);
    await subscribed("room:1");

    for (let i = 0; i < 5; i++) a.pubsub.broadcast("room:1", `m${i}`, { i });
    await fence(a);

    const expected = ["m0", "m1", "m2", "m3", "m4"];
    expect(onA!.events()).toEqual(expected);
    expect(onB!.events()).toEqual(expected);
    expect(onC!.events()).toEqual(expected);
    expect(onB!.received[3]).toEqual({ topic: "room:1", event: "m3", payload: { i: 3 } });
    expect(elsewhere!.received).toEqual([]);
    // PUBLISH replies come back on another socket than the fence: wait for them too.
    await eventually(() => a.adapter.stats.published === 6, 1000, "publish replies");
    expect(a.adapter.stats).toMatchObject({ published: 6, dropped: 0, invalid: 0 });
    expect(b.adapter.stats.received).toBe(6);
  });

  it("sends a shard's broadcasts only to nodes that serve a topic of it, until they stop", async () => {
    const onB = new Collector();
    const offB = b.pubsub.subscribe("room:1", onB);
    await subscribed("room:1");
    const channel = `${a.adapter.channels.broadcast.replace(/:bc$/, "")}:ch:${shardChannel(
      a.pubsub.shardOf("room:1"),
    )}`;
    expect(b.adapter.subscriptions).toEqual([channel]);
    expect(c.adapter.subscriptions).toEqual([]);
    const before = c.adapter.stats.received;
    for (let i = 0; i < 5; i++) a.pubsub.broadcast("room:1", `m${i}`, { i });
    await fence(a);
    expect(onB.events()).toEqual(["m0", "m1", "m2", "m3", "m4"]);
    // The fence's two messages reached c's receive; none of room:1's did.
    expect(c.adapter.stats.received - before).toBe(2);

    offB();
    expect(b.adapter.subscriptions).toEqual([]);
    const beforeB = b.adapter.stats.received;
    a.pubsub.broadcast("room:1", "gone", {});
    await fence(a);
    expect(onB.events()).not.toContain("gone");
    expect(b.adapter.stats.received - beforeB).toBe(1);
  });

  it("keeps localBroadcast on its own node", async () => {
    const onA = new Collector();
    const onB = new Collector();
    a.pubsub.subscribe("room:1", onA);
    b.pubsub.subscribe("room:1", onB);

    a.pubsub.localBroadcast("room:1", "local", {});
    await fence(a);

    expect(onA.events()).toEqual(["local"]);
    expect(onB.events()).toEqual([]);
  });

  it("sends a direct broadcast to the named node only", async () => {
    const collectors = nodes.map((n) => {
      const collector = new Collector();
      n.pubsub.subscribe("room:1", collector);
      return collector;
    });

    a.pubsub.directBroadcast("b", "room:1", "direct", { to: "b" });
    a.pubsub.directBroadcast("nobody", "room:1", "lost", {});
    await fence(a);

    expect(collectors.map((col) => col.events())).toEqual([[], ["direct"], []]);
    expect(collectors[1]!.received[0]!.payload).toEqual({ to: "b" });
  });

  it("carries binary payloads and Unicode topics intact", async () => {
    const topic = "ルーム:🎉";
    const onB = new Collector();
    const onC = new Collector();
    b.pubsub.subscribe(topic, onB);
    c.pubsub.subscribe(topic, onC);
    await subscribed(topic);
    const small = Uint8Array.of(0, 255, 1, 2);
    const big = Uint8Array.from({ length: 256 * 1024 }, (_, i) => (i * 31) % 256);

    a.pubsub.broadcast(topic, "small", small);
    a.pubsub.broadcast(topic, "big", big);
    a.pubsub.directBroadcast("c", topic, "direct", small);
    await fence(a);

    expect(onB.events()).toEqual(["small", "big"]);
    expect(onB.received[0]!.payload).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(onB.received[0]!.payload as Uint8Array)).toEqual(Buffer.from(small));
    // equals, not toEqual: a deep comparison of 256 KiB element by element takes seconds.
    expect(Buffer.from(onB.received[1]!.payload as Uint8Array).equals(big)).toBe(true);
    expect(onC.events()).toEqual(["small", "big", "direct"]);
    expect(Buffer.from(onC.received[2]!.payload as Uint8Array)).toEqual(Buffer.from(small));
  });

  it("drops, counts and logs (once) what is not an envelope, and keeps working", async () => {
    const onB = new Collector();
    b.pubsub.subscribe("room:1", onB);
    await subscribed("room:1");
    const intruder = new Redis(redisUrl());
    try {
      await intruder.publish(b.adapter.channels.broadcast, "hello");
      await intruder.publish(b.adapter.channels.broadcast, Buffer.from([1, 0, 0, 9]));
      await intruder.publish(b.adapter.channels.direct, Buffer.from([7, 7, 7, 7, 7, 7, 7, 7]));
    } finally {
      await intruder.quit();
    }
    a.pubsub.broadcast("room:1", "after", {});
    await fence(a);

    expect(onB.events()).toEqual(["after"]);
    expect(b.adapter.stats.invalid).toBe(3);
    expect(c.adapter.stats.invalid).toBe(2);
    const warnings = b.logs.filter((e) => e.msg?.includes("undecodable"));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.obj).toMatchObject({ kind: "truncated" });
  });

  it("ignores a message that carries its own node name", async () => {
    const onA = new Collector();
    a.pubsub.subscribe("room:1", onA);
    const replay = new Redis(redisUrl());
    try {
      const own = encodeEnvelope({ origin: "a", topic: "room:1", event: "echo", payload: {} });
      await replay.publish(a.adapter.channels.broadcast, own);
    } finally {
      await replay.quit();
    }
    await fence(b);
    expect(onA.events()).toEqual([]);
  });
});

describe("RedisAdapter lifecycle", () => {
  it("reports ready once started, and goes down on close", async () => {
    const adapter = new RedisAdapter({
      url: redisUrl(),
      prefix: uniquePrefix("life"),
      logger: silent(),
    });
    const seen: string[] = [];
    adapter.onStatus((status) => seen.push(status));
    expect(adapter.status).toBe("connecting");
    expect(adapter.nodeName).toMatch(new RegExp(`-${process.pid}-[0-9a-f]{6}$`));
    await adapter.start(() => {});
    expect(adapter.status).toBe("ready");
    await adapter.close();
    await adapter.close();
    expect(seen).toEqual(["ready", "down"]);
  });

  it("accepts any node name, spaces and all, and names its connections after it", async () => {
    const prefix = uniquePrefix("names");
    const [one, two] = ["nœud un", "nœud\tdeux"].map(
      (nodeName) => new RedisAdapter({ url: redisUrl(), prefix, nodeName, logger: silent() }),
    ) as [RedisAdapter, RedisAdapter];
    const received: string[] = [];
    try {
      await one.start(() => {});
      await two.start((message) => received.push(message.event));
      one.directBroadcast("nœud\tdeux", { topic: "t", event: "hi", payload: {} });
      await eventually(() => received.length > 0, 2000, "direct message");
      expect(received).toEqual(["hi"]);
      const admin = new Redis(redisUrl());
      const clients = String(await admin.client("LIST"));
      await admin.quit();
      expect(clients).toContain(` name=${prefix}:n_ud_un:pub `);
      expect(clients).toContain(` name=${prefix}:n_ud_deux:sub `);
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  });

  it("rejects start when Redis cannot be reached in time, and cleans up", async () => {
    const before = resourceCounts();
    const port = await sparePort();
    const adapter = new RedisAdapter({
      url: `redis://127.0.0.1:${port}`,
      readyTimeoutMs: 300,
      logger: silent(),
    });
    const started = Date.now();
    await expect(adapter.start(() => {})).rejects.toThrow(/not ready after 300 ms.*ECONNREFUSED/);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(adapter.status).toBe("down");
    expect(() => adapter.broadcast({ topic: "t", event: "e", payload: {} })).not.toThrow();
    await expectNoLeftovers(before);
  });

  it("leaves no sockets or timers behind after close", async () => {
    const before = resourceCounts();
    const pubsub = new PubSub({
      adapter: new RedisAdapter({
        url: redisUrl(),
        prefix: uniquePrefix("handles"),
        logger: silent(),
      }),
    });
    await pubsub.start();
    for (let i = 0; i < 100; i++) pubsub.broadcast("t", "e", { i });
    await pubsub.close();
    await expectNoLeftovers(before);
  });
});

function silent() {
  return recordingLogger();
}

/**
 * Every kind of resource (sockets, timers) is back to at most what there was before:
 * others may have finished meanwhile. They may take a tick or two to be released.
 */
async function expectNoLeftovers(before: Record<string, number>): Promise<void> {
  const extra = () =>
    Object.entries(resourceCounts()).filter(([kind, count]) => count > (before[kind] ?? 0));
  await eventually(() => extra().length === 0, 500).catch(() => {});
  expect(extra()).toEqual([]);
}

function resourceCounts(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}
