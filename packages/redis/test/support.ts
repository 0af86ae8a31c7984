import { randomUUID } from "node:crypto";
import type { Broadcast } from "@tandem/protocol";
import type { Logger, Subscriber } from "@tandem/server";
import { afterAll, beforeAll } from "vitest";
import { WebSocket } from "ws";
import { RedisServer } from "../src/testing/redis-server.js";

export { RedisServer, sparePort } from "../src/testing/redis-server.js";

/**
 * A redis-server of the calling test file's own, started before its tests and killed
 * after them; returns the function that gives its URL once started. Tests never depend
 * on a shared Redis being up on 6379.
 */
export function redisForFile(): () => string {
  let server: RedisServer | undefined;
  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterAll(() => server?.kill());
  return () => {
    if (!server) throw new Error("redis-server is not started yet: call this inside a test");
    return server.url;
  };
}

/** A channel prefix no other test (or test run) shares on the same Redis. */
export function uniquePrefix(name: string): string {
  return `test:${name}:${randomUUID().slice(0, 8)}`;
}

export interface LogEntry {
  level: "debug" | "info" | "warn" | "error";
  msg: string | undefined;
  obj: object;
}

/** A logger that keeps what it is told, so tests can count log lines. */
export function recordingLogger(): { logger: Logger; entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const logger: Logger = {
    debug: (obj, msg) => entries.push({ level: "debug", msg, obj }),
    info: (obj, msg) => entries.push({ level: "info", msg, obj }),
    warn: (obj, msg) => entries.push({ level: "warn", msg, obj }),
    error: (obj, msg) => entries.push({ level: "error", msg, obj }),
    child: () => logger,
  };
  return { logger, entries };
}

/** Resolves when `check` returns true, polling; fails after `timeoutMs`. */
export async function eventually(
  check: () => boolean,
  timeoutMs = 3000,
  what = "condition",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await sleep(5);
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A PubSub subscriber that records what it is given. */
export class Collector implements Subscriber {
  readonly received: Broadcast[] = [];

  deliver(broadcast: Broadcast): void {
    this.received.push(broadcast);
  }

  events(): string[] {
    return this.received.map((b) => b.event);
  }

  /** Waits until a broadcast with `event` has arrived. */
  waitFor(event: string, timeoutMs = 3000): Promise<void> {
    return eventually(() => this.events().includes(event), timeoutMs, `event ${event}`);
  }
}

type Frame = [string | null, string | null, string, string, unknown];

/** A bare WebSocket speaking Phoenix V2 JSON frames. */
export class RawClient {
  readonly frames: Frame[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data, isBinary) => {
      if (!isBinary) this.frames.push(JSON.parse((data as Buffer).toString()) as Frame);
    });
  }

  static connect(url: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${url}/websocket?vsn=2.0.0`);
      ws.once("open", () => resolve(new RawClient(ws)));
      ws.once("error", reject);
    });
  }

  send(frame: Frame): void {
    this.ws.send(JSON.stringify(frame));
  }

  /** Waits for a frame that satisfies `match` and returns it. */
  async next(match: (frame: Frame) => boolean, timeoutMs = 3000): Promise<Frame> {
    let found: Frame | undefined;
    await eventually(
      () => {
        found = this.frames.find(match);
        return found !== undefined;
      },
      timeoutMs,
      "matching frame",
    );
    return found as Frame;
  }

  close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    const closed = new Promise<void>((resolve) => this.ws.once("close", () => resolve()));
    this.ws.close();
    return closed;
  }
}
