import {
  busVariable,
  type Logger,
  PubSub,
  type ReplicationTimings,
  replicationFromEnv,
} from "@tandem/server";
import { NatsAdapter } from "./nats-adapter.js";

/** How a process joins (or does not join) a cluster over NATS, read from its environment. */
export interface NatsClusterConfig {
  /** A pubsub over NATS when `NATS_URL` is set, else a local one. */
  readonly pubsub: PubSub;
  /** Tracker timings and transfer bound from `TRACKER_*`, the tracker's defaults where unset. */
  readonly replication: ReplicationTimings;
  /** The adapter, when clustered, for its status and stats. */
  readonly adapter: NatsAdapter | null;
}

/**
 * Reads `NATS_URL` (join a cluster over NATS: one URL or several comma-separated),
 * `NODE_NAME` (this node's name, default unique per process), `NATS_PREFIX` (first
 * subject token, default "tandem") and the tracker's variables
 * ({@link @tandem/server!replicationFromEnv}). Throws on malformed values rather than
 * running with a surprise, and when `REDIS_URL` or `REDIS_CLUSTER_URLS` is set too.
 */
export function natsClusterFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  logger?: Logger,
): NatsClusterConfig {
  const replication = replicationFromEnv(env);
  const variable = busVariable(env);
  if (variable === undefined) {
    const pubsub = env.NODE_NAME ? new PubSub({ nodeName: env.NODE_NAME }) : new PubSub();
    return { pubsub, replication, adapter: null };
  }
  if (variable !== "NATS_URL") {
    throw new Error(`${variable} is set: join over Redis with clusterFromEnv from @tandem/redis`);
  }
  const servers = (env.NATS_URL ?? "")
    .split(",")
    .map((url) => url.trim())
    .filter((url) => url !== "");
  if (servers.length === 0) throw new Error("NATS_URL names no server");
  const adapter = new NatsAdapter({
    servers,
    // A node restarted during a NATS outage must still serve its own clients.
    requireReady: false,
    readyTimeoutMs: 3000,
    ...(env.NODE_NAME ? { nodeName: env.NODE_NAME } : {}),
    ...(env.NATS_PREFIX ? { prefix: env.NATS_PREFIX } : {}),
    ...(logger ? { logger } : {}),
  });
  return { pubsub: new PubSub({ adapter }), replication, adapter };
}
