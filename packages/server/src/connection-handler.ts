import type { IncomingHttpHeaders } from "node:http";
import type { Assigns, ChannelDefinition } from "./channel.js";
import { type TopicPattern, topicPattern } from "./topic-pattern.js";

/** What the server knows about a connection attempt besides its params. */
export interface ConnectInfo {
  /**
   * The `authToken` client option: from the `Sec-WebSocket-Protocol` header over WebSocket,
   * the `X-Phoenix-AuthToken` header over long-poll.
   */
  readonly authToken: string | null;
  readonly headers: IncomingHttpHeaders;
  readonly origin: string | null;
  readonly remoteAddress: string | null;
  readonly url: URL;
}

/** A channel route: topics matching `pattern` are served by `channel`. */
export interface ChannelRoute<A extends Assigns = Assigns> {
  readonly pattern: TopicPattern;
  // Routes are stored together regardless of their assigns type.
  // biome-ignore lint/suspicious/noExplicitAny: variance escape hatch for heterogenous routes
  readonly channel: ChannelDefinition<any>;
  readonly assigns: Partial<A>;
}

/**
 * Who may connect and which channels they can join: the counterpart of a Phoenix
 * socket module.
 */
export interface ConnectionHandler<A extends Assigns = Assigns> {
  /**
   * Decides who the connection is. Return the assigns every channel will start with,
   * or `null` to refuse (HTTP 403).
   */
  connect(params: Record<string, string>, info: ConnectInfo): A | null | Promise<A | null>;
  /** Names the connection so `endpoint.broadcast(id, "disconnect", {})` can close it. */
  id?(assigns: A): string | null;
  /** Routes in order; the first matching pattern wins. */
  readonly channels: readonly ChannelRoute<A>[];
}

/**
 * Declares a channel route. `pattern` is an exact topic or a prefix ending in `*`;
 * `assigns` are merged over the connection's for channels of this route.
 */
export function channel<A extends Assigns>(
  pattern: string,
  definition: ChannelDefinition<A>,
  assigns: Partial<A> = {},
): ChannelRoute<A> {
  return { pattern: topicPattern(pattern), channel: definition, assigns };
}

/** Declares a connection handler with its assigns type inferred. */
export function defineConnectionHandler<A extends Assigns>(
  handler: ConnectionHandler<A>,
): ConnectionHandler<A> {
  return handler;
}
