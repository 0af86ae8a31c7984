import {
  busVariable,
  type Logger,
  PubSub,
  type ReplicationTimings,
  replicationFromEnv,
} from "@tandem/server";
import { RedisAdapter } from "./redis-adapter.js";
import { RedisClusterAdapter } from "./redis-cluster-adapter.js";

/** How a process joins (or does not join) a cluster, read from its environment. */
export interface ClusterConfig {
  /** A pubsub over Redis when `REDIS_URL` or `REDIS_CLUSTER_URLS` is set, else a local one. */
  readonly pubsub: PubSub;
  /**
   * Tracker timings from `TRACKER_*_MS` and the transfer bound from
   * `TRACKER_MAX_TRANSFER_BYTES`, the tracker's defaults where unset.
   */
  readonly replication: ReplicationTimings;
  /** The adapter, when clustered, for its status and stats. */
  readonly adapter: RedisAdapter | RedisClusterAdapter | null;
}

/**
 * The seed nodes in `REDIS_CLUSTER_URLS`: comma-separated `host:port` (a `redis://`
 * scheme is allowed). Throws on an entry without a valid port, or on no entry.
 */
export function clusterSeeds(value: string): string[] {
  const seeds = value
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part !== "")
    .map((part) => {
      const address = part.replace(/^redis:\/\//, "").replace(/\/$/, "");
      const match = /^(.+):(\d{1,5})$/.exec(address);
      const port = Number(match?.[2]);
      if (!match || port < 1 || port > 65_535) {
        throw new Error(`REDIS_CLUSTER_URLS entries must be host:port, got "${part}"`);
      }
      return `${match[1]}:${port}`;
    });
  if (seeds.length === 0) throw new Error("REDIS_CLUSTER_URLS names no node");
  return seeds;
}

/**
 * Reads `REDIS_URL` (join a cluster over one Redis) or `REDIS_CLUSTER_URLS` (over a Redis
 * Cluster, comma-separated seed nodes `host:port`), `NODE_NAME` (this node's name,
 * default unique per process), `REDIS_PREFIX` (channel prefix, default "tandem") and the
 * tracker's variables ({@link @tandem/server!replicationFromEnv}). Throws on malformed
 * values rather than running with a surprise, when both are set, and when `NATS_URL` is
 * set: that engine is `natsClusterFromEnv` in `@tandem/nats`.
 */
export function clusterFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  logger?: Logger,
): ClusterConfig {
  const replication = replicationFromEnv(env);
  const variable = busVariable(env);
  if (variable === "NATS_URL") {
    throw new Error("NATS_URL is set: join over NATS with natsClusterFromEnv from @tandem/nats");
  }
  if (variable === undefined) {
    const pubsub = env.NODE_NAME ? new PubSub({ nodeName: env.NODE_NAME }) : new PubSub();
    return { pubsub, replication, adapter: null };
  }
  const common = {
    // A node restarted during a Redis outage must still serve its own clients.
    requireReady: false,
    readyTimeoutMs: 3000,
    ...(env.NODE_NAME ? { nodeName: env.NODE_NAME } : {}),
    ...(env.REDIS_PREFIX ? { prefix: env.REDIS_PREFIX } : {}),
    ...(logger ? { logger } : {}),
  };
  const adapter =
    variable === "REDIS_URL"
      ? new RedisAdapter({ url: env.REDIS_URL, ...common })
      : new RedisClusterAdapter({ nodes: clusterSeeds(env.REDIS_CLUSTER_URLS ?? ""), ...common });
  return { pubsub: new PubSub({ adapter }), replication, adapter };
}
