import { AUTH_TOKEN_PREFIX, LONGPOLL_PATH, WEBSOCKET_PATH } from "@tandem/protocol";
import { SOCKET_STATES } from "./constants.js";
import { appendParams } from "./params.js";
import type { TransportCloseEvent, TransportMessageEvent } from "./transport.js";

/** Most messages one POST carries, as the official client sends and servers accept. */
const MAX_BATCH_MESSAGES = 100;

/** What a long-poll server answers, every time as JSON. */
interface PollAnswer {
  status?: unknown;
  token?: unknown;
  messages?: unknown;
  /** Tandem's servers say why a session closed, on the 410 that ends it. */
  close?: { code?: unknown; reason?: unknown };
}

/**
 * The long-poll transport, for where WebSockets do not get through: the same interface
 * as a WebSocket, over HTTP requests (`fetch`). A GET opens a session and gets its token
 * (`410`), then GETs wait for messages (`200` with messages, `204` after the server's
 * window); messages sent within one turn go out together in one POST, one per line.
 * Binary messages travel in base64 both ways.
 *
 * Wire-compatible with the `phoenix` client's `LongPoll` (1.8): it works against Phoenix
 * servers and Tandem's. Pass it as the `transport` option, or let the socket fall back to
 * it (`longPollFallbackMs`).
 */
export class LongPoll {
  /** The WebSocket API's readyState: open from the session's start until it closes. */
  readyState: number = SOCKET_STATES.connecting;
  /** Binary messages arrive as `ArrayBuffer`s whatever it says; kept for the interface. */
  binaryType = "arraybuffer";
  /** How long a request may take before the transport gives up (ms); the socket sets it. */
  timeout = 20_000;
  /** Polls show the connection is alive: the socket sends no heartbeats over long-poll. */
  readonly skipHeartbeat = true;
  /** Always 0: a message is handed to an HTTP request at once. */
  readonly bufferedAmount = 0;
  /** Called once the server opened the session. */
  onopen: ((event: unknown) => void) | null = null;
  /** Called when a request fails or the server refuses; a close follows. */
  onerror: ((error: unknown) => void) | null = null;
  /** Called for every message, each in a task of its own. */
  onmessage: ((event: TransportMessageEvent) => void) | null = null;
  /** Called once the transport closed, with the server's code and reason if it told them. */
  onclose: ((event: TransportCloseEvent) => void) | null = null;
  readonly #pollUrl: string;
  readonly #authToken: string | undefined;
  #token: string | null = null;
  // Requests and message deliveries in flight: stopping cancels them all.
  #requests = new Set<AbortController>();
  #deliveries = new Set<ReturnType<typeof setTimeout>>();
  #outbox: string[] = [];
  #flushTimer: ReturnType<typeof setTimeout> | undefined;
  #posting = false;

  /**
   * @param endPoint - The socket's WebSocket URL (`ws://host/socket/websocket?...`); the
   *   scheme becomes http(s) and `/websocket` becomes `/longpoll`.
   * @param protocols - Only read for the auth token, which goes in `X-Phoenix-AuthToken`.
   */
  constructor(endPoint: string, protocols?: string[]) {
    const entry = protocols?.find((p) => p.startsWith(AUTH_TOKEN_PREFIX));
    if (entry) this.#authToken = atob(entry.slice(AUTH_TOKEN_PREFIX.length));
    this.#pollUrl = endPoint
      .replace(/^ws(s?):\/\//, "http$1://")
      .replace(new RegExp(`/${WEBSOCKET_PATH}(?=\\?|$)`), `/${LONGPOLL_PATH}`);
    // The caller sets the callbacks and the timeout after construction, and may close
    // the transport before this runs.
    setTimeout(() => this.#poll(), 0);
  }

  /** Queues a message; those of one turn go out in one POST. */
  send(data: string | ArrayBuffer): void {
    this.#outbox.push(typeof data === "string" ? data : toBase64(new Uint8Array(data)));
    if (!this.#posting && this.#flushTimer === undefined) {
      this.#flushTimer = setTimeout(() => this.#flush(), 0);
    }
  }

  /** Stops polling and reports the close, as a WebSocket does, in a later task. */
  close(code?: number, reason?: string): void {
    if (this.readyState === SOCKET_STATES.closed) return;
    this.#stop();
    // Without a code a WebSocket reports 1005 (no status), not 1000.
    setTimeout(() => this.#emitClose(code ?? 1005, reason ?? "", true), 0);
  }

  #url(): string {
    return this.#token === null
      ? this.#pollUrl
      : appendParams(this.#pollUrl, { token: this.#token });
  }

  #active(): boolean {
    return this.readyState === SOCKET_STATES.open || this.readyState === SOCKET_STATES.connecting;
  }

  #poll(): void {
    if (!this.#active()) return;
    const headers: Record<string, string> = { accept: "application/json" };
    if (this.#authToken !== undefined) headers["x-phoenix-authtoken"] = this.#authToken;
    this.#request("GET", headers, null, (answer) => {
      const status = answer?.status ?? 0;
      if (status === 410 && this.#token !== null) {
        // Our session is gone: close, so that the socket reconnects and channels rejoin.
        this.#closeForGone(answer, "session_gone");
        return;
      }
      if (typeof answer?.token === "string") this.#token = answer.token;
      switch (status) {
        case 200:
          this.#deliver(Array.isArray(answer?.messages) ? answer.messages : []);
          this.#poll();
          return;
        case 204:
          this.#poll();
          return;
        case 410:
          if (this.#token === null) {
            this.#fail(410, 1011, "no session token");
            return;
          }
          this.readyState = SOCKET_STATES.open;
          this.onopen?.({});
          this.#poll();
          return;
        case 403:
          this.#fail(403, 1008, "forbidden");
          return;
        default:
          this.#fail(status, 1011, "internal server error");
      }
    });
  }

  /**
   * Hands each message to `onmessage` in a task of its own, as a WebSocket delivers
   * each in its own event: promise callbacks of one run before the next message.
   */
  #deliver(messages: unknown[]): void {
    for (const message of messages) {
      if (typeof message !== "string") continue;
      const data = message.startsWith("[") ? message : fromBase64(message);
      // Not base64 either: nothing a decoder could read.
      if (data === null) continue;
      const delivery = setTimeout(() => {
        this.#deliveries.delete(delivery);
        this.onmessage?.({ data });
      }, 0);
      this.#deliveries.add(delivery);
    }
  }

  #flush(): void {
    this.#flushTimer = undefined;
    if (!this.#active() || this.#outbox.length === 0) {
      this.#posting = false;
      return;
    }
    this.#posting = true;
    const batch = this.#outbox.splice(0, MAX_BATCH_MESSAGES);
    const headers = { "content-type": "application/x-ndjson" };
    this.#request("POST", headers, batch.join("\n"), (answer) => {
      if (answer?.status === 200) {
        this.#flush();
      } else if (answer?.status === 410) {
        this.#closeForGone(answer, "session_gone");
      } else {
        this.#fail(answer?.status, 1011, "internal server error");
      }
    });
  }

  /** Closes for a session the server no longer has, with its close if it told it. */
  #closeForGone(answer: PollAnswer | null, reason: string): void {
    const close = answer?.close;
    if (close && typeof close.code === "number") {
      if (!this.#active()) return;
      this.#stop();
      this.#emitClose(close.code, typeof close.reason === "string" ? close.reason : "", true);
    } else {
      this.#fail(410, 3410, reason);
    }
  }

  /** Like a WebSocket that fails: an error, then an unclean close, unless the error's callbacks closed it. */
  #fail(error: unknown, code: number, reason: string): void {
    if (!this.#active()) return;
    this.#stop();
    this.onerror?.(error);
    this.#emitClose(code, reason, false);
  }

  #stop(): void {
    this.readyState = SOCKET_STATES.closed;
    const requests = this.#requests;
    this.#requests = new Set();
    for (const controller of requests) controller.abort();
    for (const delivery of this.#deliveries) clearTimeout(delivery);
    this.#deliveries.clear();
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    this.#outbox = [];
    this.#posting = false;
  }

  #emitClose(code: number, reason: string, wasClean: boolean): void {
    this.onclose?.({ code, reason, wasClean });
  }

  /** One request; `onAnswer` gets the parsed answer, or null if none came. */
  #request(
    method: "GET" | "POST",
    headers: Record<string, string>,
    body: string | null,
    onAnswer: (answer: PollAnswer | null) => void,
  ): void {
    const controller = new AbortController();
    this.#requests.add(controller);
    const timer = setTimeout(() => {
      if (!this.#requests.delete(controller)) return;
      controller.abort();
      this.#fail("timeout", 1005, "timeout");
    }, this.timeout);
    fetch(this.#url(), { method, headers, body, signal: controller.signal, cache: "no-store" })
      .then((res) => res.text())
      .then(parseAnswer, () => null)
      .then((answer) => {
        clearTimeout(timer);
        // Not ours any more once stopped or timed out.
        if (this.#requests.delete(controller)) onAnswer(answer);
      })
      .catch((err: unknown) => {
        // An error from a callback (onopen, onclose) belongs to the app: report it as
        // an event handler's would be, not as a rejected promise.
        setTimeout(() => {
          throw err;
        }, 0);
      });
  }
}

function parseAnswer(text: string): PollAnswer | null {
  try {
    const answer: unknown = JSON.parse(text);
    return typeof answer === "object" && answer !== null ? (answer as PollAnswer) : null;
  } catch {
    return null;
  }
}

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function fromBase64(text: string): ArrayBuffer | null {
  let binary: string;
  try {
    binary = atob(text);
  } catch {
    return null;
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes.buffer;
}
