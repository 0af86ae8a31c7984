import {
  ChannelEvent,
  CloseCode,
  type Frame,
  type Message,
  PHOENIX_TOPIC,
  type Serializer,
} from "@tandem/protocol";
import { WebSocket } from "ws";
import type { Assigns } from "./channel.js";
import { type ChannelHost, ChannelServer } from "./channel-server.js";
import type { ConnectionHandler } from "./connection-handler.js";
import type { ConnectionSocket } from "./connection-socket.js";
import { nestingDepth } from "./json-depth.js";
import type { Logger } from "./logger.js";
import type { Metrics } from "./metrics.js";
import type { PubSub } from "./pubsub.js";
import { error, ok, type ReplyResult, type StopReason } from "./results.js";
import { type OutboundFrame, TextBytes } from "./text-bytes.js";
import { type Rate, TokenBucket } from "./token-bucket.js";

/** Limits that protect the server (and everyone else on it) from one connection. */
export interface ConnectionLimits {
  /** Close the connection when the client sends nothing for this long (ms). */
  idleTimeoutMs: number;
  /** Joins beyond this many live channels are refused. */
  maxChannels: number;
  /** Longest topic accepted, in characters. */
  maxTopicLength: number;
  /** Deepest nesting of arrays and objects accepted in a payload. */
  maxPayloadDepth: number;
  /** Longest event name accepted, in characters. */
  maxEventLength: number;
  /** Longest `ref` or `join_ref`: every reply echoes them, so longer ones close the connection. */
  maxRefLength: number;
  /** Messages a connection may send, heartbeats aside. */
  messageRate: Rate;
  /** Heartbeats a connection may send; a client sends one every 30 s. */
  heartbeatRate: Rate;
  /** Joins a connection may send; sized so a reconnect can rejoin every channel at once. */
  joinRate: Rate;
  /**
   * Bytes of frames a connection may send, charged before a frame is decoded, so that
   * decoding cannot be made the attack. Over it the connection closes with 1008.
   */
  byteRate: Rate;
  /** Messages held behind a pending join; later ones are refused until it is answered. */
  maxQueuedMessages: number;
  /** A client that lets this much pile up unread is cut off. */
  maxBufferedBytes: number;
}

let connectionSequence = 0;

/** Longest close reason a WebSocket close frame can carry, in bytes. */
const MAX_CLOSE_REASON = 123;

/** How long a connection closed for flooding has to take in its close frame. */
const POLICY_CLOSE_GRACE_MS = 500;

/** Longest part of a topic or event name a log line or a refusal carries. */
const MAX_ECHOED_NAME = 100;

/**
 * One client connection: decodes frames, answers heartbeats, routes each message to
 * the channel of its topic and serialises joins, as Phoenix's socket process does.
 */
export class Connection implements ChannelHost {
  readonly serializer: Serializer;
  readonly pubsub: PubSub;
  readonly socketId: string | null;
  readonly connectionId = `c${++connectionSequence}`;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly #ws: ConnectionSocket;
  readonly #handler: ConnectionHandler<Assigns>;
  readonly #assigns: Assigns;
  readonly #limits: ConnectionLimits;
  readonly #channels = new Map<string, ChannelServer>();
  readonly #onClosed: (connection: Connection) => void;
  readonly #onChannelExit: (ownerId: string) => void;
  // While a join is pending, later messages wait here (joins included), in order.
  #waiting: Message[] | undefined;
  #lastSeen = idleClock();
  #unsubscribeId: (() => void) | undefined;
  #closed = false;
  // Made on demand and dropped once full again: an idle connection holds no rate state.
  #messageBudget: TokenBucket | undefined;
  #heartbeatBudget: TokenBucket | undefined;
  #joinBudget: TokenBucket | undefined;
  #byteBudget: TokenBucket | undefined;
  // Refusals are answered only while this lasts: past it, a flood of refused messages
  // would cost as much as serving them, so the connection is closed instead.
  #refusalBudget: TokenBucket | undefined;
  // Each kind of refusal is logged once per connection, not once per offending frame.
  #loggedRefusals: Set<string> | undefined;

  constructor(options: {
    /** A WebSocket, or a long-poll session that stands in for one. */
    ws: ConnectionSocket;
    serializer: Serializer;
    pubsub: PubSub;
    handler: ConnectionHandler<Assigns>;
    assigns: Assigns;
    socketId: string | null;
    limits: ConnectionLimits;
    logger: Logger;
    metrics: Metrics;
    /** Called once the WebSocket has closed and the channels have exited. */
    onClosed: (connection: Connection) => void;
    /** Called with the owner id of each channel that exits. */
    onChannelExit: (ownerId: string) => void;
  }) {
    this.#ws = options.ws;
    this.serializer = options.serializer;
    this.pubsub = options.pubsub;
    this.#handler = options.handler;
    this.#assigns = options.assigns;
    this.socketId = options.socketId;
    this.#limits = options.limits;
    this.logger = options.logger;
    this.metrics = options.metrics;
    this.#onClosed = options.onClosed;
    this.#onChannelExit = options.onChannelExit;

    if (this.socketId !== null) {
      this.#unsubscribeId = this.pubsub.subscribe(this.socketId, {
        deliver: (b) => {
          if (b.event === "disconnect") this.close(CloseCode.goingAway, "disconnected");
        },
      });
    }
    this.#ws.on("message", (data, isBinary) => this.#receive(data, isBinary));
    this.#ws.on("close", () => {
      this.#closeChannels({ shutdown: "closed" });
      this.#onClosed(this);
    });
    this.#ws.on("error", (err) => this.logger.debug({ err }, "websocket error"));
  }

  /**
   * Closes the connection when the client has sent nothing for the idle timeout, and
   * forgets rate budgets that are full again. The endpoint sweeps every connection with
   * this instead of keeping a timer for each. `now` is an {@link idleClock} reading.
   */
  sweep(now: number): void {
    if (this.#closed) return;
    if (now - this.#lastSeen >= this.#limits.idleTimeoutMs) {
      this.logger.info({}, "closing an idle connection");
      this.close(CloseCode.goingAway, "idle timeout");
      return;
    }
    if (this.#messageBudget?.isFull(now)) this.#messageBudget = undefined;
    if (this.#heartbeatBudget?.isFull(now)) this.#heartbeatBudget = undefined;
    if (this.#joinBudget?.isFull(now)) this.#joinBudget = undefined;
    if (this.#byteBudget?.isFull(now)) this.#byteBudget = undefined;
    if (this.#refusalBudget?.isFull(now)) this.#refusalBudget = undefined;
  }

  /**
   * Counts as hearing from the client without a message: a long-poll client sends no
   * heartbeats, its polls keep the connection alive.
   */
  touch(): void {
    this.#lastSeen = idleClock();
  }

  /** Number of live channels. */
  get channelCount(): number {
    return this.#channels.size;
  }

  /** Whether the WebSocket has finished closing. */
  get isClosed(): boolean {
    return this.#ws.readyState === WebSocket.CLOSED;
  }

  write(frame: OutboundFrame): void {
    if (this.#ws.readyState !== WebSocket.OPEN) return;
    if (this.#ws.bufferedAmount > this.#limits.maxBufferedBytes) {
      // A close frame would queue behind the same backlog: cut the connection instead.
      this.logger.warn({ buffered: this.#ws.bufferedAmount }, "slow consumer disconnected");
      this.metrics.rejected.inc({ reason: "slow consumer" });
      this.terminate();
      return;
    }
    if (frame instanceof TextBytes) {
      this.#ws.send(frame.bytes, { binary: false });
      this.metrics.wrote(frame.bytes.length);
    } else {
      this.#ws.send(frame);
      this.metrics.wrote(frameBytes(frame));
    }
  }

  channelExited(channel: ChannelServer): void {
    if (this.#channels.get(channel.topic) === channel) this.#channels.delete(channel.topic);
    this.#onChannelExit(channel.context.ownerId);
  }

  /** Closes the connection; its channels exit as if the transport went away. */
  close(code: number, reason: string): void {
    this.#closeChannels({ shutdown: "closed" });
    if (this.#ws.readyState === WebSocket.OPEN || this.#ws.readyState === WebSocket.CONNECTING) {
      this.#ws.close(code, truncate(reason));
    }
  }

  /** Kills the TCP connection without a close handshake. */
  terminate(): void {
    this.#closeChannels({ shutdown: "closed" });
    this.#ws.terminate();
  }

  #receive(data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void {
    // Frames already in flight when the connection was closed are not worth decoding.
    if (this.#closed) return;
    const now = idleClock();
    this.#lastSeen = now;
    const raw = Buffer.isBuffer(data)
      ? data
      : Array.isArray(data)
        ? Buffer.concat(data)
        : Buffer.from(data);
    this.metrics.received(raw.length);
    this.#byteBudget ??= new TokenBucket(this.#limits.byteRate, now);
    if (!this.#byteBudget.take(now, raw.length)) {
      this.#closeForPolicy("byte rate", "byte rate exceeded");
      return;
    }
    const text = isBinary ? null : raw.toString("utf8");
    const result = this.serializer.decode(text ?? raw);
    if (!result.ok) {
      this.logger.warn({ err: result.error }, "malformed frame; closing the connection");
      this.metrics.rejected.inc({ reason: "malformed" });
      this.close(CloseCode.invalidPayload, `malformed frame: ${result.error.message}`);
      return;
    }
    const message = result.value;
    const maxRef = this.#limits.maxRefLength;
    if (isTooLong(message.ref, maxRef) || isTooLong(message.join_ref, maxRef)) {
      this.#closeForPolicy("ref too long", "ref too long");
      return;
    }
    // A text frame's own array or object is one level: the payload is one deeper.
    const payloadDepth = text === null ? 0 : nestingDepth(text) - 1;
    const refusal = this.#refusal(message, payloadDepth, now);
    if (refusal) {
      this.#refuse(message, refusal, now);
      return;
    }
    if (this.#waiting) this.#waiting.push(message);
    else this.#dispatch(message);
  }

  /**
   * Routes one message. A join holds back the messages after it until it has been
   * answered; returns whether this one did.
   */
  #dispatch(message: Message): boolean {
    let pending: Promise<void> | undefined;
    try {
      pending = this.#route(message);
    } catch (err) {
      this.logger.error({ err }, "routing failed");
    }
    if (!pending) return false;
    this.#waiting = [];
    pending
      .catch((err: unknown) => this.logger.error({ err }, "routing failed"))
      .then(() => this.#resume(this.#waiting ?? []));
    return true;
  }

  #resume(waiting: Message[]): void {
    this.#waiting = undefined;
    while (waiting.length > 0) {
      if (this.#dispatch(waiting.shift()!)) {
        // Another join is pending: what is left waits behind it.
        this.#waiting!.push(...waiting);
        return;
      }
    }
  }

  /** Why a decoded message must not be processed, if it must not. */
  #refusal(msg: Message, payloadDepth: number, now: number): string | null {
    if (msg.topic === PHOENIX_TOPIC && msg.event === ChannelEvent.heartbeat) {
      this.#heartbeatBudget ??= new TokenBucket(this.#limits.heartbeatRate, now);
      return this.#heartbeatBudget.take(now) ? null : "rate limited";
    }
    this.#messageBudget ??= new TokenBucket(this.#limits.messageRate, now);
    if (!this.#messageBudget.take(now)) return "rate limited";
    if (msg.topic.length > this.#limits.maxTopicLength) return "topic too long";
    if (msg.event.length > this.#limits.maxEventLength) return "event too long";
    if (this.#waiting && this.#waiting.length >= this.#limits.maxQueuedMessages) {
      return "too many pending messages";
    }
    if (payloadDepth > this.#limits.maxPayloadDepth) return "payload too deep";
    if (msg.event === ChannelEvent.join) {
      this.#joinBudget ??= new TokenBucket(this.#limits.joinRate, now);
      if (!this.#joinBudget.take(now)) return "join rate limited";
    }
    return null;
  }

  #refuse(msg: Message, reason: string, now: number): void {
    this.#refusalBudget ??= new TokenBucket(this.#limits.messageRate, now);
    if (!this.#refusalBudget.take(now)) {
      this.#closeForPolicy("refusal flood", "rate limit exceeded");
      return;
    }
    this.metrics.rejected.inc({ reason });
    this.#logOnce(reason, {
      topic: msg.topic.slice(0, MAX_ECHOED_NAME),
      event: msg.event.slice(0, MAX_ECHOED_NAME),
    });
    if (msg.ref !== null) {
      this.#reply(
        msg.join_ref,
        msg.ref,
        msg.topic.slice(0, this.#limits.maxTopicLength),
        error({ reason }),
      );
    }
  }

  /**
   * Closes with 1008 (policy violation): for limits a reply cannot answer. The client is
   * flooding, so what it still has in flight is not read (ws would unmask and validate
   * megabytes of it), nor its close reply: the socket is cut after a short grace.
   */
  #closeForPolicy(metric: string, reason: string): void {
    this.metrics.rejected.inc({ reason: metric });
    this.#logOnce(reason, {});
    this.close(CloseCode.policyViolation, reason);
    this.#ws.pause();
    setTimeout(() => this.#ws.terminate(), POLICY_CLOSE_GRACE_MS).unref();
  }

  #logOnce(reason: string, details: object): void {
    this.#loggedRefusals ??= new Set();
    if (this.#loggedRefusals.has(reason)) return;
    this.#loggedRefusals.add(reason);
    this.logger.warn({ reason, ...details }, "message refused");
  }

  #route(msg: Message): Promise<void> | undefined {
    if (this.#closed) return;
    if (msg.topic === PHOENIX_TOPIC && msg.event === ChannelEvent.heartbeat) {
      if (msg.ref !== null) this.#reply(null, msg.ref, msg.topic, ok());
      return;
    }
    if (msg.event === ChannelEvent.join) return this.#join(msg);

    const channel = this.#channels.get(msg.topic);
    if (!channel) {
      if (msg.event === ChannelEvent.leave) {
        if (msg.ref !== null) this.#reply(msg.join_ref, msg.ref, msg.topic, ok());
      } else if (msg.ref !== null) {
        this.#reply(null, msg.ref, msg.topic, error({ reason: "unmatched topic" }));
      }
      return;
    }
    // A message for an earlier incarnation of this topic raced its close: drop it.
    if (msg.join_ref !== null && msg.join_ref !== channel.joinRef) return;
    if (msg.event === ChannelEvent.leave) {
      this.#channels.delete(msg.topic);
      channel.leave(msg.ref);
    } else {
      channel.handleIn(msg);
    }
  }

  async #join(msg: Message): Promise<void> {
    const joinRef = msg.join_ref ?? msg.ref;
    if (joinRef === null) {
      this.logger.warn({ topic: msg.topic }, "join without a ref ignored");
      return;
    }
    const route = this.#handler.channels.find((r) => r.pattern.matches(msg.topic));
    if (!route) {
      this.logger.debug({ topic: msg.topic }, "join for an unmatched topic");
      this.#reply(null, joinRef, msg.topic, error({ reason: "unmatched topic" }));
      return;
    }

    const previous = this.#channels.get(msg.topic);
    if (previous) {
      this.logger.debug({ topic: msg.topic }, "duplicate join; closing the existing channel");
      this.#channels.delete(msg.topic);
      previous.close({ shutdown: "duplicate_join" });
    } else if (this.#channels.size >= this.#limits.maxChannels) {
      this.#reply(joinRef, joinRef, msg.topic, error({ reason: "too many channels joined" }));
      return;
    }

    const channel = new ChannelServer(route.channel, this, msg.topic, joinRef, {
      ...this.#assigns,
      ...route.assigns,
    });
    this.#channels.set(msg.topic, channel);
    const result = await channel.join(msg.payload instanceof Uint8Array ? null : msg.payload);
    if (this.#closed) return;
    this.#reply(joinRef, joinRef, msg.topic, result);
    // The old incarnation's close goes out after the new reply; its join_ref lets the
    // client recognise it as stale.
    if (previous) {
      this.write(
        this.serializer.encodeMessage({
          join_ref: previous.joinRef,
          ref: previous.joinRef,
          topic: previous.topic,
          event: ChannelEvent.close,
          payload: {},
        }),
      );
    }
    if (channel.state === "joined") {
      this.logger.info({ topic: msg.topic }, "joined");
      channel.start();
    } else if (this.#channels.get(msg.topic) === channel) {
      this.#channels.delete(msg.topic);
    }
  }

  #reply(joinRef: string | null, ref: string, topic: string, result: ReplyResult): void {
    this.write(
      this.serializer.encodeReply({
        join_ref: joinRef,
        ref,
        topic,
        status: result.status,
        response: result.response,
      }),
    );
  }

  #closeChannels(reason: StopReason): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribeId?.();
    const channels = [...this.#channels.values()];
    this.#channels.clear();
    for (const channel of channels) channel.close(reason);
  }
}

/**
 * Whole milliseconds since the process started: a small integer, which V8 keeps inside the
 * connection object (a `Date.now()` there would be a boxed double per connection).
 */
export function idleClock(): number {
  return Math.floor(performance.now());
}

function isTooLong(value: string | null, max: number): boolean {
  return value !== null && value.length > max;
}

function frameBytes(frame: Frame): number {
  return typeof frame === "string" ? Buffer.byteLength(frame) : frame.byteLength;
}

function truncate(reason: string): string {
  const bytes = Buffer.from(reason, "utf8");
  if (bytes.length <= MAX_CLOSE_REASON) return reason;
  return bytes
    .subarray(0, MAX_CLOSE_REASON)
    .toString("utf8")
    .replace(/\uFFFD$/, "");
}
