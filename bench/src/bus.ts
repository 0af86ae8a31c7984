/**
 * A throwaway cluster bus for the cluster benchmarks: one redis-server, a Redis Cluster
 * of three masters or a nats-server, on spare ports (within `TANDEM_PORTS` when set),
 * and the variable that makes a node join it.
 */
import { NatsServer } from "@tandem/nats/testing";
import { RedisCluster, RedisServer } from "@tandem/redis/testing";
import type { Engine } from "./types.js";

/** A running bus. */
export interface Bus {
  engine: Engine;
  /** `REDIS_URL`, `REDIS_CLUSTER_URLS` or `NATS_URL`: what a node needs to join it. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** Starts a bus of `engine` and resolves once nodes can join it. */
export async function startBus(engine: Engine): Promise<Bus> {
  switch (engine) {
    case "redis": {
      const redis = await RedisServer.start();
      return { engine, env: { REDIS_URL: redis.url }, stop: () => redis.kill() };
    }
    case "redis-cluster": {
      const cluster = await RedisCluster.start({ masters: 3 });
      return {
        engine,
        env: { REDIS_CLUSTER_URLS: cluster.seeds.join(",") },
        stop: () => cluster.stop(),
      };
    }
    case "nats": {
      const nats = await NatsServer.start();
      return { engine, env: { NATS_URL: nats.url }, stop: () => nats.kill() };
    }
  }
}
