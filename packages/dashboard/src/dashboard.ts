import type { IncomingMessage, ServerResponse } from "node:http";
import { isJsonObject } from "@tandem/protocol";
import {
  type BusStats,
  type BusStatus,
  type ChannelContext,
  channel,
  defineChannel,
  defineConnectionHandler,
  type Endpoint,
  error,
  ok,
  type Presence,
  SharedMessage,
} from "@tandem/server";
import { buildPage } from "./page.js";
import { readEndpoint } from "./reading.js";
import { Sampler } from "./sampler.js";
import { TokenCheck } from "./token.js";
import { busiestTopics } from "./topics.js";
import {
  DASHBOARD_TOPIC,
  type NodeRow,
  type Sample,
  SNAPSHOT_EVENT,
  type Snapshot,
  type Welcome,
} from "./wire.js";

/** A cluster bus adapter as the dashboard reads it: `RedisAdapter`, `NatsAdapter` and the like. */
export interface DashboardBus {
  readonly status: BusStatus;
  readonly stats: BusStats;
}

/** Options of {@link mountDashboard}. */
export interface DashboardOptions {
  /**
   * The secret that opens the page and joins its channel; at least 16 characters. Never
   * logged. Generate one, e.g. `openssl rand -hex 24`.
   */
  token: string;
  /** Where the page is served; its socket is at `<path>/socket`. Default `/dashboard`. */
  path?: string;
  /** Adds the cluster's nodes and each busy topic's presences. */
  presence?: Presence;
  /** Adds the bus status and message counts. */
  bus?: DashboardBus;
  /** How often a snapshot is taken and pushed (ms). Default 1000. */
  intervalMs?: number;
  /** How much history a page gets when it opens (ms). Default 300 000 (5 minutes). */
  historyMs?: number;
  /** How many of the busiest topics are listed. Default 10. */
  topTopics?: number;
}

/** A mounted dashboard. */
export interface Dashboard {
  /** Where the page is served. */
  readonly path: string;
  /** The samples kept, oldest first. */
  readonly history: readonly Sample[];
  /** Stops sampling, unmounts page and socket, and disconnects open pages. Idempotent. */
  close(): void;
}

let mounted = 0;

/**
 * Serves a live operator dashboard on `endpoint`: a page at `path` (default
 * `/dashboard`) and a channel of its own at `<path>/socket` that pushes a snapshot of
 * the node every `intervalMs`. Nothing is served until this is called. The page, the
 * socket and the channel all require `token`: a request without it gets 401, a socket
 * without it as its `authToken` 403, a join without it in its params an error. Open the
 * page as `<path>?token=<token>`.
 *
 * On an endpoint given an app's `server`, the app routes requests through
 * `endpoint.handleHttp` as it does for `/metrics`.
 */
export function mountDashboard(endpoint: Endpoint, options: DashboardOptions): Dashboard {
  const check = new TokenCheck(options.token);
  const path = normalizePath(options.path ?? "/dashboard");
  const socketPath = `${path}/socket`;
  const intervalMs = positiveInteger(options.intervalMs ?? 1000, "intervalMs");
  const historyMs = positiveInteger(options.historyMs ?? 300_000, "historyMs");
  const topTopics = positiveInteger(options.topTopics ?? 10, "topTopics");
  const page = buildPage(socketPath);
  const sampler = new Sampler(Math.max(1, Math.ceil(historyMs / intervalMs)));
  // A `tandem:` topic, so the busiest topics leave the dashboard's own sockets out.
  const socketId = `tandem:dashboard-socket:${++mounted}`;
  const viewers = new Set<ChannelContext>();
  const node = endpoint.pubsub.nodeName;
  const startedAt = Math.round(Date.now() - process.uptime() * 1000);
  let latest: Snapshot | null = null;
  let closed = false;

  const dashboardChannel = defineChannel({
    join(_topic, payload, socket) {
      if (!isJsonObject(payload) || !check.matches(payload.token)) {
        return error({ reason: "unauthorized" });
      }
      socket.send("watch");
      const welcome: Welcome = {
        node,
        startedAt,
        intervalMs,
        historyMs,
        history: [...sampler.history],
        snapshot: latest,
      };
      return ok(welcome);
    },
    // Queued by `join`, so it runs once the join reply is out.
    handleInfo(message, socket) {
      if (message === "watch") {
        viewers.add(socket);
        socket.onExit(() => viewers.delete(socket));
      }
      return undefined;
    },
  });
  endpoint.mount(
    socketPath,
    defineConnectionHandler({
      // The token twice: as the socket's authToken (a header, never in a URL), so no
      // connection exists without it, and in the join's params, which the channel checks.
      connect: (_params, info) => (check.matches(info.authToken) ? {} : null),
      id: () => socketId,
      channels: [channel(DASHBOARD_TOPIC, dashboardChannel)],
    }),
  );

  const removeHttp = endpoint.addHttpHandler((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (url.pathname !== path && url.pathname !== `${path}/`) return false;
    servePage(req, res, url, check, page);
    return true;
  });

  let sampling = false;
  const tick = async () => {
    if (sampling) return;
    sampling = true;
    try {
      const sample = sampler.add(await readEndpoint(endpoint, Date.now()));
      if (closed || !sample) return;
      latest = {
        sample,
        nodes: nodesOf(node, options.presence),
        topics: busiestTopics(endpoint.pubsub, options.presence, topTopics),
        bus: options.bus ? { status: options.bus.status, ...options.bus.stats } : null,
      };
      const message = new SharedMessage(DASHBOARD_TOPIC, SNAPSHOT_EVENT, latest);
      for (const viewer of viewers) viewer.pushShared(message);
    } catch (err) {
      endpoint.logger.error({ err }, "dashboard sample failed");
    } finally {
      sampling = false;
    }
  };
  const timer = setInterval(() => void tick(), intervalMs);
  timer.unref();
  void tick();

  return {
    path,
    get history() {
      return sampler.history;
    },
    close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      removeHttp();
      endpoint.unmount(socketPath);
      viewers.clear();
      endpoint.pubsub.localBroadcast(socketId, "disconnect", {});
    },
  };
}

function servePage(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  check: TokenCheck,
  page: { html: string; csp: string },
): void {
  if (req.method !== "GET" && req.method !== "HEAD") {
    res
      .writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain" })
      .end("method not allowed\n");
    return;
  }
  const header = req.headers.authorization;
  const bearer = header?.startsWith("Bearer ") ? header.slice(7) : null;
  if (!check.matches(bearer ?? url.searchParams.get("token"))) {
    res
      .writeHead(401, {
        "content-type": "text/plain",
        "www-authenticate": 'Bearer realm="tandem-dashboard"',
        "cache-control": "no-store",
      })
      .end("a valid dashboard token is required\n");
    return;
  }
  res.writeHead(200, {
    "content-type": "text/html; charset=utf-8",
    "content-security-policy": page.csp,
    "cache-control": "no-store",
    // The token is in the page's URL: it must not leave in a Referer header.
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
  });
  res.end(req.method === "HEAD" ? undefined : page.html);
}

function nodesOf(self: string, presence: Presence | undefined): NodeRow[] {
  const peers = (presence?.peers() ?? [])
    .map(({ name, up, silentMs }) => ({ name, self: false, up, silentMs }))
    .sort((a, b) => a.name.localeCompare(b.name));
  return [{ name: self, self: true, up: true, silentMs: 0 }, ...peers];
}

function normalizePath(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  if (!/^(\/[A-Za-z0-9._~-]+)+$/.test(trimmed)) {
    throw new RangeError(`dashboard path must look like /dashboard, got ${JSON.stringify(path)}`);
  }
  return trimmed;
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer`);
  }
  return value;
}
