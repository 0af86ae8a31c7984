import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  channel,
  defineSocket,
  Endpoint,
  type Logger,
  type OriginCheck,
  Presence,
  PubSub,
  type ReplicationTimings,
} from "@tandem/server";
import { authenticate } from "./accounts/authenticate.js";
import { loadSecretKeyBase } from "./accounts/secret.js";
import { TokenSigner } from "./accounts/token.js";
import { challengeChannel, type UserAssigns } from "./channels/challenge-channel.js";
import { defaultWebDir } from "./config.js";
import { openDatabase, type PairDatabase } from "./db/database.js";
import { Rooms } from "./docs/documents.js";
import { DocumentStore } from "./docs/store.js";
import { createApi } from "./http/api.js";
import { serveStatic } from "./http/static.js";

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
  /** Quiet period before `typing` reverts to false (ms). Default 3000. */
  typingQuietMs?: number;
  /** Document updates stored before they are compacted into a snapshot. Default 200. */
  compactAfter?: number;
  /** Largest document update accepted (bytes). Default 256 KiB. */
  maxUpdateBytes?: number;
  /** Largest document, as its encoded state (bytes). Default 1 MiB. */
  maxDocumentBytes?: number;
}

/** A running Pair server. */
export interface PairServer {
  /** `http://host:port`. */
  readonly url: string;
  readonly port: number;
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

  const api = createApi({ db, tokens });
  const webDir = options.webDir ?? defaultWebDir;
  const onError = (err: unknown) => logger.error({ err }, "request failed");
  const httpServer = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    let handled: Promise<void>;
    // /healthz, /readyz and /metrics come from the endpoint.
    if (endpoint.handleHttp(req, res)) return;
    if (url.pathname === "/api" || url.pathname.startsWith("/api/")) {
      handled = api.handle(req, res, url, onError);
    } else {
      handled = serveStatic(req, res, url, webDir);
    }
    handled.catch((err: unknown) => {
      onError(err);
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  });

  const endpoint = new Endpoint({
    server: httpServer,
    logger,
    checkOrigin: originCheck(options.allowedOrigins ?? []),
    pubsub,
  });
  const presence = new Presence(endpoint, {
    ...(options.replication ? { replication: options.replication } : {}),
  });
  endpoint.socket(
    "/socket",
    defineSocket<UserAssigns>({
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
            logger,
            ...(options.typingQuietMs === undefined
              ? {}
              : { typingQuietMs: options.typingQuietMs }),
          }),
        ),
      ],
    }),
  );

  const host = options.host ?? "127.0.0.1";
  let address: AddressInfo;
  try {
    address = await endpoint.listen(options.port ?? 0, host);
  } catch (err) {
    await db.destroy();
    throw err;
  }
  const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${shownHost}:${address.port}`,
    port: address.port,
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
        await rooms.drain();
        presence.close();
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
