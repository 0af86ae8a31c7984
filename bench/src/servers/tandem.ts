/**
 * Target (a)/(b): a Tandem presence room as in examples/room. Each join tracks
 * `{name, typing}` and pushes presence_state; `typing` sets a transient field; `shout`
 * broadcasts to the room. `--no-coalesce` sends one presence diff per change; `--counts`
 * turns on counts mode past 1000 entries (summaries once a second, typing highlighted).
 * With `REDIS_URL` (and `NODE_NAME`, `TRACKER_*_MS`, see `clusterFromEnv`) the process is
 * one node of a cluster. `/metrics` is the endpoint's Prometheus text.
 */
import { isJsonObject } from "@tandem/protocol";
import { clusterFromEnv } from "@tandem/redis";
import {
  type CoalesceOptions,
  channel,
  defineChannel,
  defineSocket,
  Endpoint,
  error,
  type Logger,
  ok,
  Presence,
} from "@tandem/server";
import { exitWithParent, listen, statsServer } from "./common.js";

interface Assigns extends Record<string, unknown> {
  name: string;
}

const TYPING_QUIET_MS = 3000;

const silent: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child: () => silent,
};

exitWithParent();
const coalesce = !process.argv.includes("--no-coalesce");
const counts = process.argv.includes("--counts");
let endpoint: Endpoint | undefined;
const server = statsServer(
  () => endpoint?.connectionCount ?? 0,
  (req, res) => endpoint?.handleHttp(req, res) ?? false,
);
const cluster = clusterFromEnv(process.env, silent);
endpoint = new Endpoint({ server, checkOrigin: false, logger: silent, pubsub: cluster.pubsub });
// TANDEM_COALESCE="minIntervalMs,perSubscriberMs,maxIntervalMs" tries other cooldowns.
const tuning = process.env.TANDEM_COALESCE?.split(",").map(Number);
const coalesceOptions: CoalesceOptions | undefined = tuning
  ? { minIntervalMs: tuning[0]!, perSubscriberMs: tuning[1]!, maxIntervalMs: tuning[2]! }
  : undefined;
const presence = new Presence(endpoint, {
  ...(coalesce ? (coalesceOptions ? { coalesce: coalesceOptions } : {}) : { coalesce: false }),
  replication: cluster.replication,
  ...(counts
    ? {
        largeRooms: {
          threshold: 1000,
          intervalMs: 1000,
          highlight: (meta: { typing?: unknown }) => meta.typing === true,
        },
      }
    : {}),
});
if (coalesce && coalesceOptions) {
  process.stderr.write(`coalesce options ${JSON.stringify(coalesceOptions)}\n`);
}

const room = defineChannel<Assigns>({
  join(_topic, _payload, socket) {
    socket.send("after_join");
    return ok();
  },
  async handleInfo(message, socket) {
    if (message === "after_join") {
      const { name } = socket.assigns;
      presence.track(socket, name, { name, typing: false });
      await presence.pushState(socket);
    }
    return undefined;
  },
  handleIn(event, payload, socket) {
    switch (event) {
      case "typing": {
        const typing = isJsonObject(payload) ? payload.typing : undefined;
        if (typeof typing !== "boolean") return error({ reason: "typing must be a boolean" });
        const { name } = socket.assigns;
        const result = typing
          ? presence.setTransient(
              socket,
              name,
              { typing: true },
              { afterMs: TYPING_QUIET_MS, revert: { typing: false } },
            )
          : presence.update(socket, name, (meta) => ({ ...meta, typing: false }));
        return result.ok ? ok() : error({ reason: result.reason });
      }
      case "shout": {
        const body = isJsonObject(payload) ? payload.body : undefined;
        if (typeof body !== "string") return error({ reason: "body must be a string" });
        socket.broadcast("shout", { from: socket.assigns.name, body });
        return ok();
      }
      default:
        return error({ reason: `unknown event "${event}"` });
    }
  },
});

endpoint.socket(
  "/socket",
  defineSocket<Assigns>({
    connect(params) {
      const name = params.name;
      return typeof name === "string" && name.length > 0 ? { name } : null;
    },
    channels: [channel("room:*", room)],
  }),
);
await endpoint.pubsub.start();
await listen(server);
