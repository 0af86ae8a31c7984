import type { IncomingMessage, ServerResponse } from "node:http";
import fastifyHelmet from "@fastify/helmet";
import fastifyRateLimit from "@fastify/rate-limit";
import type { Logger } from "@tandem/server";
import { type FastifyError, type FastifyInstance, type FastifyReply, fastify } from "fastify";
import helmet from "helmet";
import { type ApiContext, registerApi } from "./api.js";
import { errorBody, HttpError } from "./errors.js";
import { registerWebApp, sendClientRoute } from "./web.js";

/** What the HTTP side needs: the API's context, the web build, and the socket's state. */
export interface HttpAppOptions extends ApiContext {
  /** The built web app. */
  readonly webDir: string;
  readonly logger: Logger;
  /** Whether the socket endpoint accepts connections, for `/readyz`. */
  readonly ready: () => boolean;
  /**
   * Serves the socket's long-poll requests, returning whether the request was one
   * (`Endpoint.handleLongPoll`). It sees every request first, before Fastify reads a body.
   */
  readonly longPoll: (req: IncomingMessage, res: ServerResponse) => boolean;
  /**
   * The proxies (addresses or CIDRs) whose `X-Forwarded-For` names the client. Default:
   * none, so the peer address is the client and a forged header changes nothing.
   */
  readonly trustProxies?: readonly string[] | undefined;
}

/** Largest JSON body accepted; a challenge with its starter code fits easily. */
const MAX_BODY_BYTES = 256 * 1024;

/**
 * The browser may run only what this server sent: scripts, styles, images and fonts from
 * itself, connections (the API and the socket) to itself, and no framing. Styles also
 * allow inline: CodeMirror themes itself through `<style>` elements and y-codemirror
 * colours remote carets with `style` attributes.
 */
const SECURITY_HEADERS = {
  contentSecurityPolicy: {
    useDefaults: false as const,
    directives: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'", "'unsafe-inline'"],
      imgSrc: ["'self'", "data:"],
      fontSrc: ["'self'"],
      connectSrc: ["'self'"],
      // The test runner's worker, a script of this server with a policy of its own (web.ts).
      workerSrc: ["'self'"],
      objectSrc: ["'none'"],
      baseUri: ["'none'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
    },
  },
  frameguard: { action: "deny" as const },
  referrerPolicy: { policy: "no-referrer" as const },
  // Pair may be served over plain HTTP (a dev box, a LAN); HSTS belongs to whoever
  // terminates TLS in front of it.
  strictTransportSecurity: false,
};

/** The same headers for the few answers Fastify gives before any hook runs. */
const securityHeaders = helmet(SECURITY_HEADERS);

/**
 * The HTTP server: the JSON API under `/api`, `/healthz` and `/readyz`, and the web app,
 * with security headers on every response. The socket endpoint attaches to `app.server`
 * for its upgrades; Fastify leaves upgrade requests alone, and hands the socket's
 * long-poll requests over untouched.
 */
export async function createHttpApp(options: HttpAppOptions): Promise<FastifyInstance> {
  const { logger, webDir } = options;
  const app = fastify({
    bodyLimit: MAX_BODY_BYTES,
    trustProxy: options.trustProxies?.length ? [...options.trustProxies] : false,
    // Errors are logged below, once; request logging is a proxy's job.
    logger: false,
    // A malformed URL (`%zz`) is refused before routing, so before @fastify/helmet's
    // hook: it gets the same headers and `{error}` body as everything else here.
    frameworkErrors: (error, request, reply) => {
      securityHeaders(request.raw, reply.raw, () => sendError(reply, error));
    },
  });
  // First of all hooks: a long-poll request belongs to the endpoint, body and answer.
  app.addHook("onRequest", (request, reply, done) => {
    if (options.longPoll(request.raw, reply.raw)) reply.hijack();
    else done();
  });
  // JSON only: a browser may send `text/plain` or a form cross-site without a preflight.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    "application/json",
    { parseAs: "string" },
    app.getDefaultJsonParser("error", "error"),
  );

  await app.register(fastifyHelmet, SECURITY_HEADERS);
  await app.register(fastifyRateLimit, { global: false });

  app.setErrorHandler<FastifyError>((error, _request, reply) => {
    if (!(error instanceof HttpError) && !isClientError(error)) {
      logger.error({ err: error }, "request failed");
    }
    return sendError(reply, error);
  });

  app.get("/healthz", async (_request, reply) => reply.type("text/plain").send("ok\n"));
  app.get("/readyz", async (_request, reply) => {
    const ready = options.ready();
    return reply
      .code(ready ? 200 : 503)
      .type("text/plain")
      .send(ready ? "ready\n" : "draining\n");
  });
  registerApi(app, options);
  await registerWebApp(app, webDir);
  app.setNotFoundHandler(async (request, reply) => {
    const path = request.url.split("?")[0] ?? "/";
    if (path === "/api" || path.startsWith("/api/")) {
      return sendError(reply, new HttpError(404, "There is nothing at this address."));
    }
    return sendClientRoute(request, reply, webDir);
  });
  return app;
}

// The sentences for the errors Fastify raises itself, by code.
const FRAMEWORK_MESSAGES: Readonly<Record<string, string>> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: "Send the request body as JSON (Content-Type: application/json).",
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: "The request body is not the length it claims.",
  FST_ERR_CTP_BODY_TOO_LARGE: "The request body is too large.",
  FST_ERR_CTP_EMPTY_JSON_BODY: "The request body must be JSON.",
  FST_ERR_CTP_INVALID_JSON_BODY: "The request body must be JSON.",
  FST_ERR_BAD_URL: "The address is not valid.",
};

function isClientError(error: FastifyError): boolean {
  const status = error.statusCode ?? 500;
  return status >= 400 && status < 500;
}

/** Sends any error as CONTRACT.md's `{error, field?}`; a server fault shows no details. */
function sendError(reply: FastifyReply, error: FastifyError | HttpError): FastifyReply {
  reply.header("cache-control", "no-store");
  if (error instanceof HttpError) {
    if (error.retryAfterSeconds !== undefined) {
      reply.header("retry-after", String(error.retryAfterSeconds));
    }
    return reply.code(error.status).send(errorBody(error.message, error.field, error.errors));
  }
  if (isClientError(error)) {
    const status = error.statusCode ?? 400;
    // JSON.parse's own SyntaxError carries a 400 but no code.
    const message =
      FRAMEWORK_MESSAGES[error.code] ??
      (error instanceof SyntaxError ? "The request body must be JSON." : "The request is invalid.");
    return reply.code(status).send(errorBody(message));
  }
  return reply.code(500).send(errorBody("Something went wrong on our side. Please try again."));
}
