import { randomUUID } from "node:crypto";
import type { BusMessage } from "@tandem/server";
import { eventually, silentLogger, sleep } from "@tandem/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisClusterAdapter } from "../src/index.js";
import { RedisCluster } from "../src/testing/index.js";

let cluster: RedisCluster;
beforeAll(async () => {
  cluster = await RedisCluster.start({ masters: 3, replicasPerMaster: 1 });
}, 60_000);
afterAll(() => cluster?.stop());

describe("RedisClusterAdapter through a master failover", () => {
  it("after kill -9 of a master and its replica's promotion, it resubscribes and messages flow again", async () => {
    const prefix = `failover:${randomUUID().slice(0, 8)}`;
    const made = (name: string) =>
      new RedisClusterAdapter({
        nodes: cluster.seeds,
        prefix,
        nodeName: name,
        logger: silentLogger,
      });
    const a = made("a");
    const b = made("b");
    const received: BusMessage[] = [];
    try {
      await a.start(() => {});
      await b.start((m) => received.push(m));
      const channels = Array.from({ length: 12 }, (_, i) => `room:${i}`);
      await Promise.all(channels.map((channel) => b.subscribe(channel)));

      // The master that owns the first channel dies; its replica must take over.
      const victim = await cluster.ownerOf(`${prefix}:ch:${channels[0]}`);
      const onVictim: string[] = [];
      for (const channel of channels) {
        if ((await cluster.ownerOf(`${prefix}:ch:${channel}`)) === victim) onVictim.push(channel);
      }
      const mastersBefore = await cluster.masters();
      await victim.kill();
      await cluster.healthy();
      const mastersAfter = await cluster.masters();
      expect(mastersAfter).not.toContain(victim);
      expect(mastersAfter).toHaveLength(mastersBefore.length);
      const promoted = await cluster.ownerOf(`${prefix}:ch:${channels[0]}`);
      expect(mastersBefore).not.toContain(promoted);

      // Every channel, those of the dead master included, delivers again.
      let round = 0;
      const arrivedEverywhere = () =>
        channels.every((channel) =>
          received.some((m) => m.topic === channel && m.event.startsWith("after-")),
        );
      const deadline = Date.now() + 30_000;
      while (!arrivedEverywhere()) {
        if (Date.now() > deadline) {
          const missing = channels.filter(
            (channel) => !received.some((m) => m.topic === channel && m.event.startsWith("after-")),
          );
          throw new Error(`no message after failover on ${missing.join(", ")}`);
        }
        round++;
        for (const channel of channels) {
          a.publish(channel, { topic: channel, event: `after-${round}`, payload: {} });
        }
        await sleep(100);
      }
      // The promoted replica now holds the sharded subscriptions of the dead master's channels.
      for (const channel of onVictim) {
        const [, count] = (await promoted.cli("pubsub", "shardnumsub", `${prefix}:ch:${channel}`))
          .trim()
          .split("\n");
        expect(Number(count)).toBe(1);
      }
      // Broadcast and direct work too.
      a.broadcast({ topic: "t", event: "bc", payload: {} });
      a.directBroadcast("b", { topic: "t", event: "direct", payload: {} });
      await eventually(
        () => ["bc", "direct"].every((e) => received.some((m) => m.event === e)),
        10_000,
        "broadcast and direct after failover",
      );
      expect(a.status).toBe("ready");
      expect(b.status).toBe("ready");
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  }, 90_000);
});
