import type { IncomingMessage } from "node:http";

/**
 * Which browser origins may open a socket. `true` accepts an origin whose host equals
 * the request's Host header; a list accepts those origins (`"https://app.example"`, or
 * `"//app.example"` for any scheme); a function decides itself; `false` accepts all.
 * Requests without an Origin header (non-browser clients) are always accepted.
 */
export type OriginCheck =
  | boolean
  | readonly string[]
  | ((origin: string, req: IncomingMessage) => boolean);

/** Applies an {@link OriginCheck} to an upgrade request. */
export function originAllowed(check: OriginCheck, req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (!origin || check === false) return true;
  if (typeof check === "function") return check(origin, req);
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (check === true) return url.host === req.headers.host;
  return check.some((allowed) =>
    allowed.startsWith("//") ? url.host === allowed.slice(2) : url.origin === allowed,
  );
}
