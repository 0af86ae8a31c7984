/**
 * Target (a)/(b): a Tandem presence room as in examples/room. Each join tracks
 * `{name, typing}` and pushes presence_state; `typing` sets a transient field; `shout`
 * broadcasts to the room. `--no-coalesce` sends one presence diff per change; `--counts`
 * turns on counts mode past 1000 entries (summaries once a second, typing highlighted).
 * With `REDIS_URL`, `REDIS_CLUSTER_URLS` or `NATS_URL` (and `NODE_NAME`, `TRACKER_*_MS`,
 * see `clusterFromEnv` and `natsClusterFromEnv`) the process is one node of a cluster,
 * as examples/room picks its bus. `TANDEM_DESIGN=everywhere` runs it as the design before
 * interest routing: one shard (every node hears and replicates every topic) and deltas
 * only with the periodic heartbeat. `/metrics` is the endpoint's Prometheus text; `/stats`
 * adds the bus adapter's counters.
 */
import { createRoomEndpoint } from "@tandem/example-room/room";
import { natsClusterFromEnv } from "@tandem/nats";
import { clusterFromEnv } from "@tandem/redis";
import {
  busVariable,
  type CoalesceOptions,
  type Endpoint,
  type EndpointOptions,
  type PresenceOptions,
  PubSub,
  silentLogger,
  Tracker,
} from "@tandem/server";
import { exitWithParent, listen, statsServer } from "./common.js";

exitWithParent();
const coalesce = !process.argv.includes("--no-coalesce");
const counts = process.argv.includes("--counts");
let endpoint: Endpoint | undefined;
const cluster =
  busVariable(process.env) === "NATS_URL"
    ? natsClusterFromEnv(process.env, silentLogger)
    : clusterFromEnv(process.env, silentLogger);
const design = process.env.TANDEM_DESIGN ?? "interest";
if (design !== "interest" && design !== "everywhere") {
  throw new Error(`TANDEM_DESIGN must be interest or everywhere, got "${design}"`);
}
const everywhere = design === "everywhere" && cluster.adapter !== null;
const pubsub = everywhere
  ? new PubSub({ adapter: cluster.adapter!, shards: 1, logger: silentLogger })
  : cluster.pubsub;
const server = statsServer(
  () => endpoint?.connectionCount ?? 0,
  (req, res) => endpoint?.handleHttp(req, res) ?? false,
  () => (cluster.adapter ? { bus: cluster.adapter.stats } : {}),
);
// TANDEM_COALESCE="minIntervalMs,perSubscriberMs,maxIntervalMs" tries other cooldowns.
const tuning = process.env.TANDEM_COALESCE?.split(",").map(Number);
const coalesceOptions: CoalesceOptions | undefined = tuning
  ? { minIntervalMs: tuning[0]!, perSubscriberMs: tuning[1]!, maxIntervalMs: tuning[2]! }
  : undefined;
const presenceOptions: PresenceOptions = {
  ...(coalesce ? (coalesceOptions ? { coalesce: coalesceOptions } : {}) : { coalesce: false }),
  ...(everywhere
    ? {
        tracker: new Tracker({
          ...cluster.replication,
          pubsub,
          logger: silentLogger,
          eager: false,
        }),
      }
    : { replication: cluster.replication }),
  ...(counts
    ? {
        largeRooms: {
          threshold: 1000,
          intervalMs: 1000,
          highlight: (meta: { typing?: unknown }) => meta.typing === true,
        },
      }
    : {}),
};
if (coalesce && coalesceOptions) {
  process.stderr.write(`coalesce options ${JSON.stringify(coalesceOptions)}\n`);
}

// The same room as examples/room: what a user of Tandem would run.
// TANDEM_MAX_FRAME_SIZE (bytes) tries another frame bound: it sets what one frame costs
// the server to decode, and so how long a large-frame flood can hold others up.
// TANDEM_CONNECT_RATE="limit,intervalMs" turns on the connect rate per client, keyed by
// X-Forwarded-For as behind a proxy (the abuse scenario's attacker sends one; clients
// without it are not budgeted).
const maxFrameSize = Number(process.env.TANDEM_MAX_FRAME_SIZE) || undefined;
const connectRate = process.env.TANDEM_CONNECT_RATE?.split(",").map(Number);
const endpointOptions: EndpointOptions = {
  server,
  logger: silentLogger,
  pubsub,
  ...(maxFrameSize ? { maxFrameSize } : {}),
  ...(connectRate
    ? {
        connectRate: { limit: connectRate[0]!, intervalMs: connectRate[1]! },
        clientKey: (req) => req.headers["x-forwarded-for"]?.toString() ?? null,
      }
    : {}),
};
endpoint = createRoomEndpoint(endpointOptions, presenceOptions).endpoint;
await endpoint.pubsub.start();
await listen(server);
