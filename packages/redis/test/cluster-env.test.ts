import { describe, expect, it } from "vitest";
import { clusterFromEnv, RedisAdapter } from "../src/index.js";

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
