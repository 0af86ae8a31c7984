import { describe, expect, it } from "vitest";
import { NatsAdapter, natsClusterFromEnv } from "../src/index.js";

describe("natsClusterFromEnv", () => {
  it("stays on one node without NATS_URL", () => {
    const local = natsClusterFromEnv({ NODE_NAME: "solo" });
    expect(local.pubsub.clustered).toBe(false);
    expect(local.pubsub.nodeName).toBe("solo");
    expect(local.adapter).toBeNull();
  });

  it("joins a cluster over NATS with NATS_URL, without connecting yet", async () => {
    const config = natsClusterFromEnv({
      NATS_URL: "nats://127.0.0.1:4222, nats://127.0.0.1:4223",
      NODE_NAME: "n",
      NATS_PREFIX: "p",
      TRACKER_DOWN_PERIOD_MS: "5000",
    });
    expect(config.pubsub.clustered).toBe(true);
    expect(config.pubsub.nodeName).toBe("n");
    expect(config.adapter).toBeInstanceOf(NatsAdapter);
    expect(config.adapter?.subjects.direct("n")).toBe("p.node.n");
    expect(config.replication).toEqual({ downPeriodMs: 5000 });
    await config.pubsub.close();
  });

  it("refuses a Redis variable next to it, an empty list and malformed timings", () => {
    expect(() =>
      natsClusterFromEnv({ NATS_URL: "nats://a:1", REDIS_URL: "redis://127.0.0.1:6379" }),
    ).toThrow(/set one of REDIS_URL, NATS_URL, not several/);
    expect(() => natsClusterFromEnv({ REDIS_CLUSTER_URLS: "a:1" })).toThrow(
      /clusterFromEnv from @tandem\/redis/,
    );
    expect(() => natsClusterFromEnv({ NATS_URL: " , " })).toThrow(/NATS_URL names no server/);
    expect(() => natsClusterFromEnv({ TRACKER_BROADCAST_PERIOD_MS: "fast" })).toThrow(
      /TRACKER_BROADCAST_PERIOD_MS/,
    );
  });
});
