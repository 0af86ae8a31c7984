import type { AddressInfo } from "node:net";
import {
  channel,
  defineConnectionHandler,
  Endpoint,
  type Logger,
  type OriginCheck,
  Presence,
  PubSub,
  type ReplicationTimings,
  Tracker,
} from "@tandem/server";
import { authenticate } from "./accounts/authenticate.js";
import { HashQueue, type HashQueueLimits } from "./accounts/hash-queue.js";
import { loadSecretKeyBase } from "./accounts/secret.js";
import { TokenSigner } from "./accounts/token.js";
import { challengeChannel, type UserAssigns } from "./channels/challenge-channel.js";
import { LOBBY_TOPIC, lobbyChannel } from "./channels/lobby-channel.js";
import { defaultWebDir } from "./config.js";
import { openDatabase, type PairDatabase } from "./db/database.js";
import { Rooms } from "./docs/documents.js";
import { DocumentStore } from "./docs/store.js";
import { createHttpApp } from "./http/app.js";
import { type MetricsServer, serveMetrics } from "./http/metrics.js";
import { DEFAULT_RATE_LIMITS, type RateLimits } from "./http/rate-limits.js";
import { Occupancy } from "./lobby/occupancy.js";

/** How to start a Pair server. Only `dataDir` and `logger` are required. */
export interface PairServerOptions {
  /** Port to listen on; 0 picks a free one. Default 0. */
  port?: number;
  /** Interface to bind. Default `127.0.0.1`. */
  host?: string;
  /** Folder for the SQLite file and the generated secret. */
  dataDir: string;
  /** PostgreSQL instead of SQLite. */
  databaseUrl?: string | undefined;
  /** Token secret; generated into `dataDir` when absent. */
  secretKeyBase?: string | undefined;
  logger: Logger;
  /** Shared subscriptions, e.g. from `clusterFromEnv` for a cluster. Default: local only. */
  pubsub?: PubSub;
  /** Presence replication timings across the cluster. Default: Phoenix's. */
  replication?: ReplicationTimings;
  /** The built web app. Default `apps/pair/web/dist`. */
  webDir?: string;
  /** Browser origins allowed to open the socket besides the server's own host. */
  allowedOrigins?: readonly string[];
  /** Quiet period before `typing` and `writing` revert to false (ms). Default 3000. */
  typingQuietMs?: number;
  /** Document updates stored before they are compacted into a snapshot. Default 200. */
  compactAfter?: number;
  /** Rate limits of the API; each one given replaces its default. */
  rateLimits?: Partial<RateLimits>;
  /** Password hashes at once and waiting. Default 2 running (64 MiB), 32 waiting. */
  passwordHashing?: HashQueueLimits;
  /** Proxies (addresses or CIDRs) trusted to name the client in `X-Forwarded-For`. Default none. */
  trustProxies?: readonly string[];
  /** Serve `/metrics` on this port (0 picks one). Default: no metrics listener. */
  metricsPort?: number | undefined;
  /** Interface for the metrics port. Default `127.0.0.1`. */
  metricsHost?: string;
  /** Largest document update accepted (bytes). Default 256 KiB. */
  maxUpdateBytes?: number;
  /** Largest document, as its encoded state (bytes). Default 1 MiB. */
  maxDocumentBytes?: number;
  /** How fast a member whose connection went quiet is marked away, then dropped. */
  liveness?: Partial<Liveness>;
  /** How often the lobby hears of changed room occupancy (ms). Default 1000. */
  occupancyIntervalMs?: number;
}

/**
 * Pair's liveness timings. The web client sends a heartbeat and a `here` every 3 s, so a
 * healthy member misses two before being marked away and six before being dropped.
 */
export interface Liveness {
  /** Quiet time on a room's channel before the member is marked `away` (ms). Default 8000. */
  awayAfterMs: number;
  /**
   * Quiet time on a connection before the server closes it, so its presences leave (ms).
   * Default 20 000; with the endpoint's sweep (a quarter of it) a member leaves within 25 s.
   */
  idleTimeoutMs: number;
}

/** Pair's defaults: away within 10 s, gone within 30 s (the Endpoint's own default is 60 s). */
export const DEFAULT_LIVENESS: Liveness = { awayAfterMs: 8000, idleTimeoutMs: 20_000 };

/** A running Pair server. */
export interface PairServer {
  /** `http://host:port`. */
  readonly url: string;
  readonly port: number;
  /** Where `/metrics` is served, if a metrics port was asked for. */
  readonly metricsUrl: string | undefined;
  readonly database: PairDatabase;
  readonly rooms: Rooms;
  /**
   * Stops gracefully: sockets close (so presences leave and rooms compact), then the
   * HTTP server, presence, the PubSub and the database.
   */
  close(): Promise<void>;
}

/** Starts the HTTP API, the web app and the Tandem socket on one port. */
export async function createPairServer(options: PairServerOptions): Promise<PairServer> {
  const { logger } = options;
  const liveness = { ...DEFAULT_LIVENESS, ...options.liveness };
  const secret = await loadSecretKeyBase(options.secretKeyBase, options.dataDir);
  const tokens = new TokenSigner(secret);
  const database = await openDatabase(options);
  const { db } = database;
  const pubsub = options.pubsub ?? new PubSub();
  const rooms = new Rooms(new DocumentStore(db), {
    logger,
    follow: (challengeId, apply) =>
      pubsub.subscribe(`challenges:${challengeId}`, {
        deliver(broadcast) {
          if (broadcast.event === "doc:update" && broadcast.payload instanceof Uint8Array) {
            apply(broadcast.payload);
          }
        },
      }),
    ...(options.compactAfter === undefined ? {} : { compactAfter: options.compactAfter }),
    ...(options.maxUpdateBytes === undefined ? {} : { maxUpdateBytes: options.maxUpdateBytes }),
    ...(options.maxDocumentBytes === undefined
      ? {}
      : { maxDocumentBytes: options.maxDocumentBytes }),
  });

  const app = await createHttpApp({
    db,
    tokens,
    limits: { ...DEFAULT_RATE_LIMITS, ...options.rateLimits },
    hashes: new HashQueue(options.passwordHashing ?? { concurrency: 2, maxWaiting: 32 }),
    webDir: options.webDir ?? defaultWebDir,
    logger,
    ready: () => endpoint.ready,
    longPoll: (req, res) => endpoint.handleLongPoll(req, res),
    trustProxies: options.trustProxies,
  });
  const httpServer = app.server;

  // The endpoint takes the upgrades of Fastify's server; Fastify never listens for them.
  const endpoint = new Endpoint({
    server: httpServer,
    logger,
    checkOrigin: originCheck(options.allowedOrigins ?? []),
    pubsub,
    idleTimeoutMs: liveness.idleTimeoutMs,
  });
  // Made here rather than by Presence: the room channel reads it to pick colours, and the
  // lobby's occupancy listens to its changes.
  const tracker = new Tracker({
    ...options.replication,
    pubsub,
    logger,
    metrics: endpoint.metrics,
  });
  const presence = new Presence(endpoint, { tracker });
  const occupancy = new Occupancy(
    tracker,
    (rooms) => pubsub.localBroadcast(LOBBY_TOPIC, "occupancy", { rooms }),
    {
      prefix: "challenges:",
      ...(options.occupancyIntervalMs === undefined
        ? {}
        : { intervalMs: options.occupancyIntervalMs }),
    },
  );
  endpoint.mount(
    "/socket",
    defineConnectionHandler<UserAssigns>({
      // The token comes from the Sec-WebSocket-Protocol header (`authToken`), or a
      // `token` param for clients that cannot set it. Identity never comes from a payload.
      async connect(params, info) {
        const auth = await authenticate(db, tokens, info.authToken ?? params.token);
        if (!auth) return null;
        return {
          userId: auth.user.id,
          firstName: auth.user.first_name,
          tokenExpiresAt: auth.claims.expiresAt,
        };
      },
      channels: [
        channel(
          "challenges:*",
          challengeChannel({
            db,
            rooms,
            presence,
            tracker,
            logger,
            awayAfterMs: liveness.awayAfterMs,
            ...(options.typingQuietMs === undefined
              ? {}
              : { typingQuietMs: options.typingQuietMs }),
          }),
        ),
        channel(LOBBY_TOPIC, lobbyChannel(occupancy)),
      ],
    }),
  );

  const host = options.host ?? "127.0.0.1";
  let address: AddressInfo;
  let metrics: MetricsServer | undefined;
  try {
    await app.ready();
    address = await endpoint.listen(options.port ?? 0, host);
    if (options.metricsPort !== undefined) {
      metrics = await serveMetrics(
        endpoint,
        options.metricsPort,
        options.metricsHost ?? "127.0.0.1",
      );
    }
  } catch (err) {
    await endpoint.close({ timeoutMs: 0 });
    await app.close();
    occupancy.close();
    presence.close();
    tracker.close();
    await db.destroy();
    throw err;
  }
  const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${shownHost}:${address.port}`,
    port: address.port,
    metricsUrl: metrics?.url,
    database,
    rooms,
    close() {
      closing ??= (async () => {
        // Stop taking requests first, then drain the sockets: channels exit, presences
        // leave, and the last one out of each room compacts its document.
        const httpClosed = new Promise<void>((resolve) => httpServer.close(() => resolve()));
        await endpoint.close({ timeoutMs: 2000 });
        httpServer.closeAllConnections();
        await httpClosed;
        await app.close();
        await metrics?.close();
        await rooms.drain();
        occupancy.close();
        presence.close();
        tracker.close();
        await pubsub.close();
        await db.destroy();
      })();
      return closing;
    },
  };
}

/** The server's own host is always allowed; `extra` adds origins such as a dev server's. */
function originCheck(extra: readonly string[]): OriginCheck {
  if (extra.length === 0) return true;
  return (origin, req) => {
    try {
      if (new URL(origin).host === req.headers.host) return true;
    } catch {
      return false;
    }
    return extra.includes(origin);
  };
}
