/**
 * A handler type checked bivariantly, so that transports whose handlers expect richer
 * event types (the DOM's `MessageEvent`, `ws`'s own classes) still fit {@link Transport}.
 */
type Handler<E> = { bivarianceHack(event: E): void }["bivarianceHack"];

/** What the socket reads from a message event. */
export interface TransportMessageEvent {
  data: unknown;
}

/** What the socket reads from a close event. */
export interface TransportCloseEvent {
  code?: number;
  reason?: string;
  wasClean?: boolean;
}

/**
 * The part of the WebSocket API the socket uses. The browser's `WebSocket` and the
 * `WebSocket` class of the `ws` package both satisfy it.
 */
export interface Transport {
  readonly readyState: number;
  /** Bytes queued but not yet sent; the socket waits for it to drain before closing. */
  readonly bufferedAmount?: number;
  binaryType: string;
  /** Longest request in milliseconds, for transports made of requests (long-poll). */
  timeout?: number;
  /** Set by transports whose own traffic shows the connection alive: no heartbeats then. */
  readonly skipHeartbeat?: boolean;
  /** Sends a text or binary frame. */
  send(data: string | ArrayBuffer): void;
  /** Starts the closing handshake. */
  close(code?: number, reason?: string): void;
  /** Called once the connection is open. */
  onopen: Handler<unknown> | null;
  /** Called on a transport error; a close follows. */
  onerror: Handler<unknown> | null;
  /** Called for every frame received. */
  onmessage: Handler<TransportMessageEvent> | null;
  /** Called once the connection is closed, cleanly or not. */
  onclose: Handler<TransportCloseEvent> | null;
}

/** A transport class: `new transport(url, protocols)`. */
export type TransportConstructor = new (url: string, protocols?: string[]) => Transport;
