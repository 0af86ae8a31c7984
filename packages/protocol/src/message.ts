import type { JsonObject, JsonValue } from "./json.js";

/**
 * A payload: a JSON value for text frames, raw bytes for binary frames.
 * Bytes are a `Uint8Array` view; Node's `Buffer` is one too.
 */
export type Payload = JsonValue | Uint8Array;

/**
 * One protocol message, with the wire's field names. `join_ref` names the channel
 * incarnation it belongs to; `ref` pairs a request with its reply.
 */
export interface Message<P = Payload> {
  join_ref: string | null;
  ref: string | null;
  topic: string;
  event: string;
  payload: P;
}

/** The server's answer to a client message with a `ref`. */
export interface Reply {
  join_ref: string | null;
  ref: string;
  topic: string;
  status: string;
  response: JsonObject | Uint8Array;
}

/** A message for every subscriber of a topic: it carries no refs. */
export interface Broadcast {
  topic: string;
  event: string;
  payload: JsonObject | Uint8Array;
}

/** The `phx_reply` payload as a text frame carries it. */
export interface ReplyPayload<R = JsonObject> {
  status: string;
  response: R;
}
