import type { IncomingMessage } from "node:http";
import { AUTH_TOKEN_PREFIX } from "@tandem/protocol";

/**
 * Takes the auth token out of the `Sec-WebSocket-Protocol` header and removes it from
 * the header, so that the handshake only negotiates the `phoenix` subprotocol and the token is never
 * echoed back.
 */
export function takeAuthToken(req: IncomingMessage): string | null {
  const header = req.headers["sec-websocket-protocol"];
  if (!header) return null;
  const protocols = header.split(",").map((p) => p.trim());
  const entry = protocols.find((p) => p.startsWith(AUTH_TOKEN_PREFIX));
  if (entry === undefined) return null;
  const rest = protocols.filter((p) => p !== entry);
  if (rest.length > 0) req.headers["sec-websocket-protocol"] = rest.join(", ");
  else delete req.headers["sec-websocket-protocol"];
  // btoa encodes Latin-1 code units; decode them the same way.
  return Buffer.from(entry.slice(AUTH_TOKEN_PREFIX.length), "base64").toString("latin1");
}
