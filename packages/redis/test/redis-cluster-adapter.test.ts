import { randomUUID } from "node:crypto";
import type { BusMessage } from "@tandem/server";
import { describeAdapterConformance, eventually, silentLogger } from "@tandem/test-support";
import { Cluster } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RedisClusterAdapter } from "../src/index.js";
import { RedisCluster } from "../src/testing/index.js";

let cluster: RedisCluster | undefined;
beforeAll(async () => {
  cluster = await RedisCluster.start({ masters: 3 });
});
afterAll(() => cluster?.stop());

function running(): RedisCluster {
  if (!cluster) throw new Error("the cluster is not started yet");
  return cluster;
}

function adapters(prefix: string, size: number): RedisClusterAdapter[] {
  return Array.from(
    { length: size },
    (_, i) =>
      new RedisClusterAdapter({
        nodes: running().seeds,
        prefix,
        nodeName: `node-${i}`,
        logger: silentLogger,
      }),
  );
}

describeAdapterConformance("RedisClusterAdapter", () => ({
  async cluster(size) {
    const prefix = `test:${randomUUID().slice(0, 8)}`;
    const made = adapters(prefix, size);
    return {
      adapters: made,
      async sendRaw(bytes) {
        const client = new Cluster(running().seeds);
        try {
          await client.spublish(made[0]?.channels.broadcast ?? "", Buffer.from(bytes));
        } finally {
          await client.quit();
        }
      },
    };
  },
  restart: () => running().restart(),
}));

describe("RedisClusterAdapter spreads channels over the masters", () => {
  const started: RedisClusterAdapter[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((adapter) => adapter.close()));
  });

  it("each channel is subscribed on the master owning its slot, and every master carries some", async () => {
    const prefix = `spread:${randomUUID().slice(0, 8)}`;
    const [a, b] = adapters(prefix, 2) as [RedisClusterAdapter, RedisClusterAdapter];
    started.push(a, b);
    const received: BusMessage[] = [];
    await a.start(() => {});
    await b.start((m) => received.push(m));
    const channels = Array.from({ length: 24 }, (_, i) => `room:${i}`);
    await Promise.all(channels.map((channel) => b.subscribe(channel)));

    const masters = await running().masters();
    const carrying = new Set<number>();
    for (const channel of channels) {
      const name = `${prefix}:ch:${channel}`;
      const owner = await running().ownerOf(name);
      carrying.add(owner.port);
      // Sharded subscriptions are counted only on the shard that owns the channel.
      for (const master of masters) {
        const [, count] = (await master.cli("pubsub", "shardnumsub", name)).trim().split("\n");
        expect(Number(count), `${name} on ${master.port}`).toBe(master === owner ? 1 : 0);
      }
    }
    expect(carrying.size).toBe(3);

    for (const channel of channels) a.publish(channel, { topic: channel, event: "e", payload: {} });
    await eventually(() => received.length === channels.length, 5000, "every channel's message");
    expect(received.map((m) => m.topic).sort()).toEqual([...channels].sort());
  });
});
