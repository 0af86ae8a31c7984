import { type Logger, PubSub, type ReplicationTimings } from "@tandem/server";
import { RedisAdapter } from "./redis-adapter.js";

/** How a process joins (or does not join) a cluster, read from its environment. */
export interface ClusterConfig {
  /** A pubsub over Redis when `REDIS_URL` is set, else a local one. */
  readonly pubsub: PubSub;
  /**
   * Tracker timings from `TRACKER_*_MS` and the transfer bound from
   * `TRACKER_MAX_TRANSFER_BYTES`, the tracker's defaults where unset.
   */
  readonly replication: ReplicationTimings;
  /** The Redis adapter, when clustered, for its status and stats. */
  readonly adapter: RedisAdapter | null;
}

function readWhole(env: NodeJS.ProcessEnv, name: string, unit: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === "") return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new Error(`${name} must be a positive whole number of ${unit}, got "${raw}"`);
  }
  return value;
}

function readMs(env: NodeJS.ProcessEnv, name: string): number | undefined {
  return readWhole(env, name, "milliseconds");
}

/**
 * Reads `REDIS_URL` (join a cluster over Redis), `NODE_NAME` (this node's name,
 * default unique per process), `REDIS_PREFIX` (channel prefix, default "tandem") and
 * `TRACKER_BROADCAST_PERIOD_MS`, `TRACKER_DOWN_PERIOD_MS`, `TRACKER_PERMDOWN_PERIOD_MS`,
 * `TRACKER_MAX_TRANSFER_BYTES` (keep it well under Redis's `client-output-buffer-limit
 * pubsub`, divided by the parts in flight).
 * Throws on malformed values rather than running with a surprise.
 */
export function clusterFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  logger?: Logger,
): ClusterConfig {
  const replication: ReplicationTimings = {};
  const broadcast = readMs(env, "TRACKER_BROADCAST_PERIOD_MS");
  const down = readMs(env, "TRACKER_DOWN_PERIOD_MS");
  const permdown = readMs(env, "TRACKER_PERMDOWN_PERIOD_MS");
  if (broadcast !== undefined) replication.broadcastPeriodMs = broadcast;
  if (down !== undefined) replication.downPeriodMs = down;
  if (permdown !== undefined) replication.permdownPeriodMs = permdown;
  const maxTransferBytes = readWhole(env, "TRACKER_MAX_TRANSFER_BYTES", "bytes");
  if (maxTransferBytes !== undefined) replication.maxTransferBytes = maxTransferBytes;

  const url = env.REDIS_URL;
  if (!url) {
    const pubsub = env.NODE_NAME ? new PubSub({ nodeName: env.NODE_NAME }) : new PubSub();
    return { pubsub, replication, adapter: null };
  }
  const adapter = new RedisAdapter({
    url,
    // A node restarted during a Redis outage must still serve its own clients.
    requireReady: false,
    readyTimeoutMs: 3000,
    ...(env.NODE_NAME ? { nodeName: env.NODE_NAME } : {}),
    ...(env.REDIS_PREFIX ? { prefix: env.REDIS_PREFIX } : {}),
    ...(logger ? { logger } : {}),
  });
  return { pubsub: new PubSub({ adapter }), replication, adapter };
}
