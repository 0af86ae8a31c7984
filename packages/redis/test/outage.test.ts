import { PubSub } from "@tandem/server";
import { eventually, type LogEntry, recordingLogger, sleep } from "@tandem/test-support";
import { afterEach, beforeEach, expect, it } from "vitest";
import { RedisAdapter, type RedisAdapterStatus } from "../src/index.js";
import { Collector, RedisServer, uniquePrefix } from "./support.js";

interface Node {
  adapter: RedisAdapter;
  pubsub: PubSub;
  logs: LogEntry[];
  statuses: RedisAdapterStatus[];
}

let redis: RedisServer;
let nodes: Node[] = [];

beforeEach(async () => {
  redis = await RedisServer.start();
});

afterEach(async () => {
  await Promise.all(nodes.map((node) => node.pubsub.close()));
  nodes = [];
  await redis.kill();
});

async function startNode(name: string, prefix: string): Promise<Node> {
  const logger = recordingLogger();
  const { entries } = logger;
  const adapter = new RedisAdapter({ url: redis.url, prefix, nodeName: name, logger });
  const node: Node = { adapter, pubsub: new PubSub({ adapter }), logs: entries, statuses: [] };
  nodes.push(node);
  await node.pubsub.start();
  adapter.onStatus((status) => node.statuses.push(status));
  return node;
}

it("drops messages while Redis is gone, then reconnects, resubscribes and carries them again", async () => {
  const prefix = uniquePrefix("outage");
  const a = await startNode("a", prefix);
  const b = await startNode("b", prefix);
  const onA = new Collector();
  const onB = new Collector();
  a.pubsub.subscribe("room:1", onA);
  b.pubsub.subscribe("room:1", onB);

  a.pubsub.broadcast("room:1", "before", {});
  await onB.waitFor("before");

  // Broadcast without pause across the kill and the restart: nothing may throw or
  // reject (an unhandled rejection fails the run).
  const thrown: unknown[] = [];
  let sent = 0;
  const ticker = setInterval(() => {
    try {
      a.pubsub.broadcast("room:1", "during", { n: sent++ });
      a.pubsub.directBroadcast("b", "room:1", "during_direct", {});
      b.pubsub.broadcast("room:1", "during", { n: sent++ });
    } catch (err) {
      thrown.push(err);
    }
  }, 1);
  try {
    await sleep(20);
    await redis.kill();
    await eventually(
      () => a.adapter.status === "down" && b.adapter.status === "down",
      2000,
      "status down",
    );
    const droppedBefore = a.adapter.stats.dropped;
    await sleep(100);
    expect(a.adapter.stats.dropped).toBeGreaterThan(droppedBefore);

    await redis.restart();
    await eventually(
      () => a.adapter.status === "ready" && b.adapter.status === "ready",
      5000,
      "status ready again",
    );
  } finally {
    clearInterval(ticker);
  }
  expect(thrown).toEqual([]);
  expect(sent).toBeGreaterThan(50);

  // The fresh Redis knows nothing of the old subscriptions: these arriving shows that
  // both subscribers subscribed again by themselves.
  a.pubsub.broadcast("room:1", "after_a", {});
  b.pubsub.broadcast("room:1", "after_b", {});
  await onB.waitFor("after_a");
  await onA.waitFor("after_b");

  for (const node of [a, b]) {
    expect(node.statuses).toEqual(["down", "ready"]);
    // One line per transition, however many messages were dropped meanwhile.
    const warnings = node.logs.filter((e) => e.level === "warn");
    expect(warnings.map((e) => e.msg)).toEqual([
      "redis bus down: cluster messages are dropped until it is back",
    ]);
    expect(node.logs.filter((e) => e.msg === "redis bus ready")).toHaveLength(2);
  }
});

it("closes cleanly while Redis is down", async () => {
  const a = await startNode("a", uniquePrefix("outage-close"));
  await redis.kill();
  await eventually(() => a.adapter.status === "down", 2000, "status down");
  const started = Date.now();
  await a.pubsub.close();
  expect(Date.now() - started).toBeLessThan(500);
  expect(a.adapter.status).toBe("down");
});

it("with requireReady false, starts while Redis is down and joins the cluster when it returns", async () => {
  const prefix = uniquePrefix("late");
  const a = await startNode("a", prefix);
  await redis.kill();
  const logger = recordingLogger();
  const { entries } = logger;
  const adapter = new RedisAdapter({
    url: redis.url,
    prefix,
    nodeName: "b",
    logger,
    readyTimeoutMs: 200,
    requireReady: false,
  });
  const b: Node = { adapter, pubsub: new PubSub({ adapter }), logs: entries, statuses: [] };
  nodes.push(b);
  await b.pubsub.start();
  expect(adapter.status).not.toBe("ready");
  expect(entries.some((e) => e.msg?.includes("serving local clients"))).toBe(true);

  await redis.restart();
  await eventually(() => adapter.status === "ready" && a.adapter.status === "ready", 10_000);
  const onB = new Collector();
  b.pubsub.subscribe("room:1", onB);
  await eventually(() => {
    a.pubsub.broadcast("room:1", "hello", { n: 1 });
    return onB.received.length > 0;
  }, 10_000);
});
