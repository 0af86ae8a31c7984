import type { ReplicationTimings } from "./tracker/tracker.js";

/** The variables that each choose a cluster bus engine; a process may set one at most. */
export const BUS_VARIABLES = ["REDIS_URL", "REDIS_CLUSTER_URLS", "NATS_URL"] as const;

/** One of {@link BUS_VARIABLES}. */
export type BusVariable = (typeof BUS_VARIABLES)[number];

/**
 * Which of {@link BUS_VARIABLES} is set (non-empty), or `undefined` for none. Throws when
 * several are: a node on two buses would split the cluster in two without saying so.
 */
export function busVariable(env: NodeJS.ProcessEnv): BusVariable | undefined {
  const set = BUS_VARIABLES.filter((name) => env[name]);
  if (set.length > 1) throw new Error(`set one of ${set.join(", ")}, not several`);
  return set[0];
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

/**
 * Tracker timings from `TRACKER_BROADCAST_PERIOD_MS`, `TRACKER_DOWN_PERIOD_MS`,
 * `TRACKER_PERMDOWN_PERIOD_MS` and the transfer bound from `TRACKER_MAX_TRANSFER_BYTES`
 * (keep it well under what the bus carries in one message), the tracker's defaults where
 * unset. The same on every engine. Throws on malformed values rather than running with
 * a surprise.
 */
export function replicationFromEnv(env: NodeJS.ProcessEnv): ReplicationTimings {
  const replication: ReplicationTimings = {};
  const broadcast = readWhole(env, "TRACKER_BROADCAST_PERIOD_MS", "milliseconds");
  const down = readWhole(env, "TRACKER_DOWN_PERIOD_MS", "milliseconds");
  const permdown = readWhole(env, "TRACKER_PERMDOWN_PERIOD_MS", "milliseconds");
  if (broadcast !== undefined) replication.broadcastPeriodMs = broadcast;
  if (down !== undefined) replication.downPeriodMs = down;
  if (permdown !== undefined) replication.permdownPeriodMs = permdown;
  const maxTransferBytes = readWhole(env, "TRACKER_MAX_TRANSFER_BYTES", "bytes");
  if (maxTransferBytes !== undefined) replication.maxTransferBytes = maxTransferBytes;
  return replication;
}
