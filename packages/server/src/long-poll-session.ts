import { EventEmitter } from "node:events";
import { idleClock } from "./connection.js";
import { type CloseNotice, type PollAnswer, PollStatus, pollMessage } from "./long-poll-wire.js";

/** The WebSocket API's readyState values, which a connection reads. */
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

/** Close code of a session dropped without a reason: a WebSocket's "abnormal closure". */
const ABNORMAL_CLOSURE = 1006;

/** Answers one poll; the session calls it once. */
export type PollResponder = (answer: PollAnswer) => void;

interface PendingPoll {
  readonly respond: PollResponder;
  readonly timer: ReturnType<typeof setTimeout>;
}

/**
 * One long-poll client, standing in for a WebSocket under a {@link Connection}: what the
 * connection sends queues here until a poll takes it, and what the client POSTs comes
 * out as `message` events. `bufferedAmount` is the queue's size, so the connection's
 * slow-consumer limit bounds it as it bounds a WebSocket's buffer.
 *
 * Closing keeps what is queued for the next poll, as a WebSocket sends what it has before
 * its close frame; the poll after that is answered `410` with the close's code and reason.
 */
export class LongPollSession extends EventEmitter {
  readonly token: string;
  readyState: number = OPEN;
  #queue: string[] = [];
  #queuedBytes = 0;
  #poll: PendingPoll | undefined;
  #flushScheduled = false;
  #paused = false;
  #notice: CloseNotice | undefined;
  #lastPolled: number;
  readonly #windowMs: number;

  /**
   * @param token - The session token, unguessable: it is all a request needs to act as the client.
   * @param windowMs - How long a poll waits for messages before it is answered `204`.
   * @param now - An idle-clock reading: the session counts as polled from its start.
   */
  constructor(token: string, windowMs: number, now: number) {
    super();
    this.token = token;
    this.#windowMs = windowMs;
    this.#lastPolled = now;
  }

  get bufferedAmount(): number {
    return this.#queuedBytes;
  }

  /** Whether the session is closed and nothing is left for a poll to take. */
  get finished(): boolean {
    return this.readyState === CLOSED && this.#queue.length === 0 && this.#poll === undefined;
  }

  /** Why the session closed, once it has. */
  get notice(): CloseNotice | undefined {
    return this.#notice;
  }

  /** When a poll last came or ended, as an idle-clock reading; a poll in progress counts as now. */
  lastPolled(now: number): number {
    return this.#poll ? now : this.#lastPolled;
  }

  send(data: string | Uint8Array, options?: { binary?: boolean }): void {
    if (this.readyState !== OPEN) return;
    // Bytes sent as text are UTF-8 text (a frame encoded once for many sockets).
    const text = typeof data !== "string" && options?.binary === false;
    const message = pollMessage(
      text ? Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("utf8") : data,
    );
    this.#queue.push(message);
    this.#queuedBytes += Buffer.byteLength(message);
    this.#scheduleFlush();
  }

  close(code: number, reason: string): void {
    if (this.readyState !== OPEN) return;
    this.#notice = { code, reason };
    this.readyState = CLOSING;
    // A connection reports its channels' exit when the close event comes, not inside
    // its own call to close, as with a WebSocket.
    queueMicrotask(() => this.#closed());
  }

  terminate(): void {
    this.#queue = [];
    this.#queuedBytes = 0;
    if (this.readyState === OPEN) {
      this.#notice = { code: ABNORMAL_CLOSURE, reason: "" };
      this.readyState = CLOSING;
      queueMicrotask(() => this.#closed());
    }
  }

  pause(): void {
    this.#paused = true;
  }

  /**
   * Hands messages POSTed by the client to the connection, in order; none once the
   * session is closing or paused. Returns whether the session took them.
   */
  receive(messages: readonly { binary: boolean; data: string | Buffer }[]): boolean {
    if (this.readyState !== OPEN) return false;
    for (const message of messages) {
      if (this.#paused || this.readyState !== OPEN) break;
      const bytes = typeof message.data === "string" ? Buffer.from(message.data) : message.data;
      this.emit("message", bytes, message.binary);
    }
    return true;
  }

  /**
   * Takes a poll: answered at once if messages are queued or the session has closed,
   * else when messages come, the session closes, or the window ends. A newer poll ends
   * an older one with `204`, as the client only listens to its latest.
   */
  poll(respond: PollResponder, now: number): void {
    this.#lastPolled = now;
    this.#endPoll({ status: PollStatus.noContent, token: this.token, messages: [] });
    if (this.#queue.length > 0) {
      respond(this.#take());
      return;
    }
    if (this.readyState !== OPEN) {
      respond(this.#goneAnswer());
      return;
    }
    const timer = setTimeout(() => {
      this.#endPoll({ status: PollStatus.noContent, token: this.token, messages: [] });
    }, this.#windowMs);
    timer.unref();
    this.#poll = { respond, timer };
  }

  /** Forgets the waiting poll when its client went away; its answer would go nowhere. */
  abandon(respond: PollResponder, now: number): void {
    if (this.#poll?.respond !== respond) return;
    clearTimeout(this.#poll.timer);
    this.#poll = undefined;
    this.#lastPolled = now;
  }

  /** Ends the waiting poll, if any, so that the HTTP server can close. */
  release(): void {
    if (this.readyState === OPEN) this.terminate();
    this.#endPoll(this.#queue.length > 0 ? this.#take() : this.#goneAnswer());
  }

  #closed(): void {
    this.readyState = CLOSED;
    this.emit("close");
    // A waiting poll learns of the close now, after whatever was queued before it.
    if (this.#poll && this.#queue.length === 0) this.#endPoll(this.#goneAnswer());
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled || !this.#poll) return;
    this.#flushScheduled = true;
    // What a connection writes in one turn (a reply and the pushes after it) goes out
    // in one answer, not one poll each.
    setImmediate(() => {
      this.#flushScheduled = false;
      if (this.#poll && this.#queue.length > 0) this.#endPoll(this.#take());
    });
  }

  #take(): PollAnswer {
    const messages = this.#queue;
    this.#queue = [];
    this.#queuedBytes = 0;
    return { status: PollStatus.ok, token: this.token, messages };
  }

  #goneAnswer(): PollAnswer {
    return {
      status: PollStatus.gone,
      token: null,
      messages: [],
      ...(this.#notice ? { close: this.#notice } : {}),
    };
  }

  #endPoll(answer: PollAnswer): void {
    const poll = this.#poll;
    if (!poll) return;
    clearTimeout(poll.timer);
    this.#poll = undefined;
    this.#lastPolled = idleClock();
    poll.respond(answer);
  }
}
