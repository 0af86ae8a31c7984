import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createServer } from "node:net";
import type { Broadcast } from "@tandem/protocol";
import type { Logger, Subscriber } from "@tandem/server";
import { WebSocket } from "ws";

/** A channel prefix no other test (or test run) shares on the common Redis. */
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

/** A port nothing listens on right now. */
export async function sparePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

/** A throwaway redis-server of the test's own, which it may kill and restart. */
export class RedisServer {
  #process: ChildProcess | undefined;

  private constructor(readonly port: number) {}

  static async start(): Promise<RedisServer> {
    const server = new RedisServer(await sparePort());
    await server.restart();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts redis-server on the same port; resolves once it accepts connections. */
  async restart(): Promise<void> {
    if (this.#process) throw new Error("redis-server is already running");
    const child = spawn(
      "redis-server",
      ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    this.#process = child;
    await new Promise<void>((resolve, reject) => {
      let output = "";
      const timer = setTimeout(
        () => fail(new Error(`redis-server did not start: ${output}`)),
        5000,
      );
      const fail = (err: Error) => {
        clearTimeout(timer);
        this.#process = undefined;
        child.kill("SIGKILL");
        reject(err);
      };
      child.once("error", fail);
      child.once("exit", (code) => fail(new Error(`redis-server exited ${code}: ${output}`)));
      child.stdout?.on("data", (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes("Ready to accept connections")) {
          clearTimeout(timer);
          child.removeAllListeners("exit");
          resolve();
        }
      });
    });
  }

  /** SIGKILLs the server (no goodbye to clients) and waits for it to be gone. */
  async kill(): Promise<void> {
    const child = this.#process;
    if (!child) return;
    this.#process = undefined;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGKILL");
    await exited;
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
