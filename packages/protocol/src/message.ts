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
  /** The join ref of the channel incarnation, or null outside a channel (heartbeats). */
  join_ref: string | null;
  /** Pairs a request with its reply; null on server pushes and broadcasts. */
  ref: string | null;
  /** The channel's topic, e.g. `room:42`, or `phoenix` for the transport itself. */
  topic: string;
  /** The event name, e.g. `phx_join` or an application event. */
  event: string;
  /** The event's payload. */
  payload: P;
}

/** The server's answer to a client message with a `ref`. */
export interface Reply {
  /** The join ref of the channel incarnation the request belonged to. */
  join_ref: string | null;
  /** The ref of the request being answered. */
  ref: string;
  /** The request's topic. */
  topic: string;
  /** `ok`, `error`, or another status the handler chose. */
  status: string;
  /** The reply body. */
  response: JsonObject | Uint8Array;
}

/** A message for every subscriber of a topic: it carries no refs. */
export interface Broadcast {
  /** The topic every subscriber receives it on. */
  topic: string;
  /** The event name. */
  event: string;
  /** The payload, encoded once for all subscribers of one wire format. */
  payload: JsonObject | Uint8Array;
}

/** The `phx_reply` payload as a text frame carries it. */
export interface ReplyPayload<R = JsonObject> {
  /** `ok`, `error`, or another status the handler chose. */
  status: string;
  /** The reply body. */
  response: R;
}
