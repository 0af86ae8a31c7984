import { PubSub, Tracker, type TrackerOptions } from "@tandem/server";
import { eventually, type LogEntry, recordingLogger } from "@tandem/test-support";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { RedisAdapter, type RedisAdapterStatus } from "../src/index.js";
import { RedisServer, uniquePrefix } from "./support.js";

interface Node {
  adapter: RedisAdapter;
  pubsub: PubSub;
  tracker: Tracker;
  statuses: RedisAdapterStatus[];
  logs: LogEntry[];
}

let redis: RedisServer | undefined;
let nodes: Node[] = [];

afterEach(async () => {
  for (const node of nodes) node.tracker.close({ permdown: false });
  await Promise.all(nodes.map((node) => node.pubsub.close()));
  nodes = [];
  await redis?.kill();
  redis = undefined;
});

/**
 * A node as a server makes one: the tracker first, then the bus (so the tracker's first
 * tick, and its first announcement in the room's shard, may come before the bus is up).
 */
async function startNode(
  name: string,
  prefix: string,
  options: TrackerOptions,
  served: readonly string[] = ["room"],
): Promise<Node> {
  const logger = recordingLogger();
  const { entries } = logger;
  const adapter = new RedisAdapter({ url: redis!.url, prefix, nodeName: name, logger });
  const statuses: RedisAdapterStatus[] = [];
  adapter.onStatus((status) => statuses.push(status));
  const pubsub = new PubSub({ adapter });
  // It serves the room, as a node with a client in it does: it replicates the room.
  for (const topic of served) pubsub.subscribe(topic, { deliver() {} });
  const tracker = new Tracker({ ...options, pubsub, logger });
  const node = { adapter, pubsub, tracker, statuses, logs: entries };
  nodes.push(node);
  await pubsub.start();
  return node;
}

/** Resolves once `check` holds, looking after every diff the tracker reports. */
function untilListed(tracker: Tracker, check: () => boolean, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    if (check()) {
      resolve();
      return;
    }
    const timer = setTimeout(() => {
      off();
      reject(new Error(`not listed within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = tracker.onDiff(() => {
      if (!check()) return;
      clearTimeout(timer);
      off();
      resolve();
    });
  });
}

const keys = (tracker: Tracker) =>
  tracker
    .list("room")
    .map((e) => e.key)
    .sort()
    .join();

describe("tracker over Redis", () => {
  it("lists idle peers' presences within about a broadcast period of starting", async () => {
    redis = await RedisServer.start();
    const prefix = uniquePrefix("tracker-start");
    // Idle heartbeats only every 20 s: a new node must not wait for them.
    const options = { broadcastPeriodMs: 1000, maxSilentPeriods: 20, downPeriodMs: 60_000 };
    const a = await startNode("a", prefix, options);
    const b = await startNode("b", prefix, options);
    a.tracker.track("o", "room", "ada", {});
    b.tracker.track("o", "room", "bob", {});
    await untilListed(a.tracker, () => keys(a.tracker) === "ada,bob", 5000);
    await untilListed(b.tracker, () => keys(b.tracker) === "ada,bob", 5000);

    const c = await startNode("c", prefix, options);
    await untilListed(c.tracker, () => keys(c.tracker) === "ada,bob", 3000);
  }, 20_000);

  it("sends a state bigger than Redis lets one subscriber message be in parts, and the requester gets it without being cut off", async () => {
    redis = await RedisServer.start();
    const prefix = uniquePrefix("tracker-parts");
    const options = { broadcastPeriodMs: 100, downPeriodMs: 5000, maxTransferBytes: 64 * 1024 };
    const a = await startNode("a", prefix, options);
    const meta = { pad: "x".repeat(250) };
    for (let i = 0; i < 6000; i++) a.tracker.track(`o${i}`, "room", `u${i}`, meta);
    // The 2 MB delta that announced these goes out under Redis's default limits.
    const admin = new Redis(redis.url);
    try {
      await eventually(() => a.adapter.stats.published > 0, 5000, "a's first heartbeat");
      // Redis cuts off a subscriber whose pending output passes 1 MB.
      await admin.config("SET", "client-output-buffer-limit", "pubsub 1mb 512kb 60");

      const b = await startNode("b", prefix, options);
      await untilListed(b.tracker, () => b.tracker.list("room").length === 6000, 10_000);
      expect(b.statuses).toEqual(["ready"]);
      expect(a.logs.some((e) => e.msg === "tracker transfer in parts")).toBe(true);
    } finally {
      await admin.quit();
    }
  }, 30_000);

  it("sends nothing of a room's replication to a node that does not serve it", async () => {
    redis = await RedisServer.start();
    const prefix = uniquePrefix("tracker-interest");
    const options = { broadcastPeriodMs: 100, downPeriodMs: 2000 };
    const a = await startNode("a", prefix, options);
    const b = await startNode("b", prefix, options);
    const c = await startNode("c", prefix, options, []);
    const heard: string[] = [];
    c.pubsub.subscribe(
      "tandem:tracker",
      { deliver: (m) => heard.push(m.event) },
      { interest: false },
    );
    a.tracker.track("o", "room", "ada", { typing: false });
    await untilListed(b.tracker, () => keys(b.tracker) === "ada", 3000);
    const before = c.adapter.stats.received;
    for (let i = 1; i <= 20; i++) a.tracker.update("o", "room", "ada", { typing: i % 2 === 0, i });
    await untilListed(b.tracker, () => b.tracker.list("room")[0]?.meta.i === 20, 3000);
    await eventually(() => c.tracker.peers().length === 2, 3000, "c hears a and b");
    expect(new Set(heard)).toEqual(new Set(["alive"]));
    // What reached c's receive: only the node-wide heartbeats.
    expect(c.adapter.stats.received - before).toBeLessThanOrEqual(heard.length);
    expect(c.tracker.shards()).toEqual([]);
    expect(c.adapter.subscriptions).toEqual([]);
  }, 20_000);
});
