import type { IncomingMessage, ServerResponse } from "node:http";
import type { z } from "zod";

/** A failure the client caused or must hear about, sent as `{error, field?}`. */
export class HttpError extends Error {
  readonly status: number;
  readonly field: string | undefined;

  constructor(status: number, message: string, field?: string) {
    super(message);
    this.status = status;
    this.field = field;
  }
}

/** What a route gets: the request, its URL, and the `:params` of its path. */
export interface RouteRequest {
  readonly req: IncomingMessage;
  readonly url: URL;
  readonly params: Readonly<Record<string, string>>;
}

/** What a route answers: a status and a JSON body. */
export interface RouteResponse {
  readonly status: number;
  readonly body: unknown;
}

type Handler = (request: RouteRequest) => Promise<RouteResponse>;

interface Route {
  readonly method: string;
  readonly pattern: RegExp;
  readonly names: readonly string[];
  readonly handler: Handler;
}

/** Largest JSON body accepted; a challenge with its starter code fits easily. */
const MAX_BODY_BYTES = 256 * 1024;

/**
 * A minimal JSON router: routes match a method and a path such as `/api/challenges/:id`;
 * a handler throws {@link HttpError} to fail. Enough for a handful of endpoints without
 * a framework between node:http and the Tandem endpoint sharing its server.
 */
export class Router {
  readonly #routes: Route[] = [];

  /** Adds a route; `:name` segments match one non-empty path segment. */
  add(method: string, path: string, handler: Handler): this {
    const names: string[] = [];
    const source = path
      .split("/")
      .map((segment) => {
        if (!segment.startsWith(":")) return segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
        names.push(segment.slice(1));
        return "([^/]+)";
      })
      .join("/");
    this.#routes.push({ method, pattern: new RegExp(`^${source}$`), names, handler });
    return this;
  }

  /**
   * Answers a request whose path this router owns. Unknown paths get 404, known paths
   * with another method 405, and unexpected errors 500 (logged, never shown).
   */
  async handle(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    onError: (err: unknown) => void,
  ): Promise<void> {
    let pathMatched = false;
    for (const route of this.#routes) {
      const match = route.pattern.exec(url.pathname);
      if (!match) continue;
      pathMatched = true;
      if (route.method !== req.method) continue;
      const params: Record<string, string> = {};
      try {
        route.names.forEach((name, i) => {
          params[name] = decodeURIComponent(match[i + 1] ?? "");
        });
        const { status, body } = await route.handler({ req, url, params });
        sendJson(res, status, body);
      } catch (err) {
        if (err instanceof URIError) {
          sendJson(res, 400, errorBody("The address is not valid."));
        } else if (err instanceof HttpError) {
          sendJson(res, err.status, errorBody(err.message, err.field));
        } else {
          onError(err);
          sendJson(res, 500, errorBody("Something went wrong on our side. Please try again."));
        }
      }
      return;
    }
    if (pathMatched) sendJson(res, 405, errorBody("This method is not allowed here."));
    else sendJson(res, 404, errorBody("There is nothing at this address."));
  }
}

/** Sends `body` as JSON with `status`. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
  });
  res.end(text);
}

/**
 * Reads a JSON body and validates it with `schema`. The first problem becomes a 400
 * naming the field, with the schema's message as the sentence the user reads.
 */
export async function readBody<T>(req: IncomingMessage, schema: z.ZodType<T>): Promise<T> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, "The request body is too large.");
    chunks.push(buffer);
  }
  let json: unknown;
  try {
    json = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new HttpError(400, "The request body must be JSON.");
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = typeof issue?.path[0] === "string" ? issue.path[0] : undefined;
  throw new HttpError(400, issue?.message ?? "The request is invalid.", field);
}

/** The bearer token of the Authorization header, if any. */
export function bearerToken(req: IncomingMessage): string | null {
  const header = req.headers.authorization;
  const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  return match?.[1] ?? null;
}

function errorBody(message: string, field?: string): { error: string; field?: string } {
  return field === undefined ? { error: message } : { error: message, field };
}
