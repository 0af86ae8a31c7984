import { describe, expect, it } from "vitest";
import { clusterFromEnv, clusterSeeds, RedisAdapter, RedisClusterAdapter } from "../src/index.js";

describe("clusterFromEnv", () => {
  it("stays on one node without REDIS_URL, named by NODE_NAME if given", () => {
    const local = clusterFromEnv({});
    expect(local.pubsub.clustered).toBe(false);
    expect(local.adapter).toBeNull();
    expect(local.replication).toEqual({});
    expect(clusterFromEnv({ NODE_NAME: "solo" }).pubsub.nodeName).toBe("solo");
  });

  it("joins a cluster over Redis with REDIS_URL, without connecting yet", () => {
    const config = clusterFromEnv({
      REDIS_URL: "redis://127.0.0.1:6379",
      NODE_NAME: "a",
      REDIS_PREFIX: "p",
    });
    expect(config.pubsub.clustered).toBe(true);
    expect(config.pubsub.nodeName).toBe("a");
    expect(config.adapter).toBeInstanceOf(RedisAdapter);
    expect(config.adapter?.channels.direct).toBe("p:node:a");
  });

  it("joins a Redis Cluster with REDIS_CLUSTER_URLS, without connecting yet", async () => {
    const config = clusterFromEnv({
      REDIS_CLUSTER_URLS: "127.0.0.1:7000, redis://127.0.0.1:7001",
      NODE_NAME: "c",
      REDIS_PREFIX: "q",
    });
    expect(config.pubsub.clustered).toBe(true);
    expect(config.pubsub.nodeName).toBe("c");
    expect(config.adapter).toBeInstanceOf(RedisClusterAdapter);
    expect(config.adapter?.channels.direct).toBe("q:node:c");
    await config.pubsub.close();
  });

  it("reads seed nodes as host:port and refuses anything else", () => {
    expect(clusterSeeds("a:1,b.example:6379 , redis://[::1]:7000/")).toEqual([
      "a:1",
      "b.example:6379",
      "[::1]:7000",
    ]);
    for (const bad of ["a", "a:", "a:0", "a:70000", ":1", ","]) {
      expect(() => clusterSeeds(bad), bad).toThrow(/REDIS_CLUSTER_URLS/);
    }
  });

  it("refuses two engines at once, and leaves NATS_URL to @tandem/nats", () => {
    expect(() =>
      clusterFromEnv({ REDIS_URL: "redis://127.0.0.1:6379", REDIS_CLUSTER_URLS: "a:1" }),
    ).toThrow(/set one of REDIS_URL, REDIS_CLUSTER_URLS, not several/);
    expect(() => clusterFromEnv({ NATS_URL: "nats://127.0.0.1:4222" })).toThrow(
      /natsClusterFromEnv from @tandem\/nats/,
    );
  });

  it("reads tracker timings and refuses malformed ones", () => {
    expect(
      clusterFromEnv({
        TRACKER_BROADCAST_PERIOD_MS: "200",
        TRACKER_DOWN_PERIOD_MS: "5000",
        TRACKER_PERMDOWN_PERIOD_MS: "60000",
        TRACKER_MAX_TRANSFER_BYTES: "262144",
      }).replication,
    ).toEqual({
      broadcastPeriodMs: 200,
      downPeriodMs: 5000,
      permdownPeriodMs: 60000,
      maxTransferBytes: 262144,
    });
    for (const bad of ["-1", "1.5", "soon", "0"]) {
      expect(() => clusterFromEnv({ TRACKER_DOWN_PERIOD_MS: bad })).toThrow(
        /TRACKER_DOWN_PERIOD_MS/,
      );
    }
    expect(() => clusterFromEnv({ TRACKER_MAX_TRANSFER_BYTES: "1MB" })).toThrow(
      /TRACKER_MAX_TRANSFER_BYTES must be a positive whole number of bytes/,
    );
  });
});
