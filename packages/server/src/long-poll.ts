import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { CloseCode } from "@tandem/protocol";
import type { Connection } from "./connection.js";
import { idleClock } from "./connection.js";
import type { Logger } from "./logger.js";
import { LongPollSession, type PollResponder } from "./long-poll-session.js";
import {
  type PollAnswer,
  PollStatus,
  type PostedMessage,
  sessionTokenOf,
  splitBatch,
} from "./long-poll-wire.js";
import type { Metrics } from "./metrics.js";
import { type OriginCheck, originAllowed } from "./origin.js";

/** Why a poll that would open a session is refused: an HTTP status, maybe with Retry-After. */
export interface Refusal {
  readonly status: number;
  readonly retryAfterSeconds?: number;
}

/**
 * Runs the endpoint's checks and the handler's `connect` for a new session, and makes
 * its connection, or says why not.
 */
export type SessionOpener = (session: LongPollSession) => Promise<Refusal | Connection>;

interface Entry {
  readonly session: LongPollSession;
  readonly connection: Connection;
}

/** Bytes of session token: as unguessable as a signed token, and no key to keep. */
const TOKEN_BYTES = 24;

/** A session not polled for this many poll windows is dropped, as Phoenix does. */
const EXPIRY_WINDOWS = 1.5;

/** The header a cross-origin client's preflight may ask for. */
const CORS_HEADERS = "access-control-request-headers";

/**
 * Serves Phoenix's long-poll transport: a GET without a live session opens one and
 * answers `410` with its token, a GET with the token waits for messages, a POST with it
 * sends messages. Every session is a {@link Connection} over a {@link LongPollSession},
 * so channels, presence, limits and close codes are those of a WebSocket.
 */
export class LongPoll {
  readonly #sessions = new Map<string, Entry>();
  readonly #windowMs: number;
  readonly #maxFrameSize: number;
  readonly #maxBodyBytes: number;
  readonly #checkOrigin: OriginCheck;
  readonly #logger: Logger;
  readonly #metrics: Metrics;
  #draining = false;

  constructor(options: {
    /** How long a poll waits for messages. */
    windowMs: number;
    /** Largest message; a larger one closes the session with 1009. */
    maxFrameSize: number;
    /** Largest POST body; a larger one closes the session with 1009. */
    maxBodyBytes: number;
    checkOrigin: OriginCheck;
    logger: Logger;
    metrics: Metrics;
  }) {
    this.#windowMs = options.windowMs;
    this.#maxFrameSize = options.maxFrameSize;
    this.#maxBodyBytes = options.maxBodyBytes;
    this.#checkOrigin = options.checkOrigin;
    this.#logger = options.logger;
    this.#metrics = options.metrics;
  }

  /** Sessions kept, closed ones included until their close was told or they expired. */
  get sessionCount(): number {
    return this.#sessions.size;
  }

  /** Answers one long-poll request at the mount point; `open` makes new sessions. */
  handle(req: IncomingMessage, res: ServerResponse, url: URL, open: SessionOpener): void {
    res.setHeader("access-control-allow-origin", "*");
    // Every request, not only the first: each one acts as the session's client.
    if (!originAllowed(this.#checkOrigin, req)) {
      this.#logger.warn({ origin: req.headers.origin }, "origin refused");
      this.#answer(res, 403, { status: 403 });
      return;
    }
    const token = sessionTokenOf(req.headers["x-phoenix-longpoll-token"], url);
    const entry = token === null ? undefined : this.#sessions.get(token);
    switch (req.method) {
      case "OPTIONS":
        // The origin is checked on every request, so any origin may ask.
        res.writeHead(200, {
          "access-control-allow-headers": req.headers[CORS_HEADERS] ?? "",
          "access-control-allow-methods": "get, post, options",
          "access-control-max-age": "3600",
        });
        res.end();
        return;
      case "GET":
        if (entry) this.#poll(req, res, entry);
        else void this.#open(res, open);
        return;
      case "POST":
        if (entry && entry.session.readyState === 1) void this.#post(req, res, entry);
        else this.#answer(res, 200, gone(entry?.session));
        return;
      default:
        res.writeHead(400).end();
    }
  }

  /** Drops sessions that are done or no longer polled. `now` is an idle-clock reading. */
  sweep(now: number): void {
    const expiryMs = this.#windowMs * EXPIRY_WINDOWS;
    for (const [token, { session }] of this.#sessions) {
      if (session.finished) {
        this.#sessions.delete(token);
      } else if (now - session.lastPolled(now) > expiryMs) {
        this.#logger.debug({}, "long-poll session expired");
        session.terminate();
        this.#sessions.delete(token);
      }
    }
  }

  /**
   * From now on, every answer closes its HTTP connection: a client's next poll must not
   * hold the server open on a kept-alive connection while it stops.
   */
  drain(): void {
    this.#draining = true;
  }

  /** Ends every session and answers the polls still waiting, so the HTTP server can close. */
  close(): void {
    for (const { session } of this.#sessions.values()) session.release();
    this.#sessions.clear();
  }

  async #open(res: ServerResponse, open: SessionOpener): Promise<void> {
    const session = new LongPollSession(
      randomBytes(TOKEN_BYTES).toString("base64url"),
      this.#windowMs,
      idleClock(),
    );
    const result = await open(session);
    if (!("status" in result) && res.destroyed) {
      // The client left while `connect` ran: no one will ever learn the token.
      session.terminate();
      return;
    }
    if ("status" in result) {
      const headers: Record<string, string | number> = {};
      if (result.retryAfterSeconds !== undefined) headers["retry-after"] = result.retryAfterSeconds;
      this.#answer(res, result.status, { status: result.status }, headers);
      return;
    }
    this.#sessions.set(session.token, { session, connection: result });
    this.#answer(res, 200, { status: PollStatus.gone, token: session.token, messages: [] });
  }

  #poll(req: IncomingMessage, res: ServerResponse, entry: Entry): void {
    entry.connection.touch();
    const respond: PollResponder = (body) => {
      // A poll held for its whole window is the client's presence too, however long.
      entry.connection.touch();
      this.#answer(res, 200, body);
      // Told of its close: nothing is left to keep the session for.
      if (body.status === PollStatus.gone) this.#forget(entry.session);
    };
    res.on("close", () => {
      if (!res.writableFinished) entry.session.abandon(respond, idleClock());
    });
    req.resume();
    entry.session.poll(respond, idleClock());
  }

  async #post(req: IncomingMessage, res: ServerResponse, entry: Entry): Promise<void> {
    const { session } = entry;
    const body = await readBody(req, this.#maxBodyBytes);
    // The client went away mid-body: there is no one to answer, and nothing to take.
    if (body === undefined) return;
    if (body === null) {
      this.#metrics.rejected.inc({ reason: "message too big" });
      session.close(CloseCode.messageTooBig, "message too big");
      // The rest of the body is not read: the HTTP connection cannot carry another request.
      this.#answer(res, 413, { status: 413 }, { connection: "close" });
      return;
    }
    const batch = splitBatch(body, req.headers["content-type"]);
    if (!batch.ok) {
      this.#metrics.rejected.inc({ reason: "malformed" });
      const code =
        batch.error === "invalid base64" ? CloseCode.invalidPayload : CloseCode.policyViolation;
      session.close(code, `malformed batch: ${batch.error}`);
      this.#answer(res, 400, { status: 400 });
      return;
    }
    if (batch.messages.some((message) => messageBytes(message) > this.#maxFrameSize)) {
      this.#metrics.rejected.inc({ reason: "message too big" });
      session.close(CloseCode.messageTooBig, "message too big");
      this.#answer(res, 413, { status: 413 });
      return;
    }
    const taken = session.receive(batch.messages);
    this.#answer(res, 200, { status: taken ? PollStatus.ok : PollStatus.gone });
  }

  #answer(
    res: ServerResponse,
    status: number,
    body: PollAnswer,
    headers: Record<string, string | number> = {},
  ): void {
    answer(res, status, body, this.#draining ? { ...headers, connection: "close" } : headers);
  }

  #forget(session: LongPollSession): void {
    if (this.#sessions.get(session.token)?.session === session) {
      this.#sessions.delete(session.token);
    }
  }
}

/** The answer to a POST for a session that is gone: with its close, if it is still known. */
function gone(session: LongPollSession | undefined): PollAnswer {
  const notice = session?.notice;
  return notice ? { status: PollStatus.gone, close: notice } : { status: PollStatus.gone };
}

function messageBytes(message: PostedMessage): number {
  return message.binary ? message.data.byteLength : Buffer.byteLength(message.data);
}

function answer(
  res: ServerResponse,
  status: number,
  body: PollAnswer,
  headers: Record<string, string | number>,
): void {
  if (res.writableEnded || res.destroyed) return;
  res.writeHead(status, {
    ...headers,
    "content-type": "application/json; charset=utf-8",
    // The poll URL of a session can be the same for every session (token in a header):
    // no cache may keep or share an answer.
    "cache-control": "no-store",
  });
  res.end(JSON.stringify(body));
}

/**
 * The body as text; null once it grows past `maxBytes` (the rest is not read); undefined
 * if the request ends before its body does.
 */
function readBody(req: IncomingMessage, maxBytes: number): Promise<string | null | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        req.removeAllListeners("data");
        req.pause();
        resolve(null);
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    // A promise settles once: after "end" or a refusal, these change nothing.
    req.on("error", () => resolve(undefined));
    req.on("close", () => resolve(undefined));
  });
}
