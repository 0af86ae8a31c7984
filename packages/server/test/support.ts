import type { AddressInfo } from "node:net";
import { WebSocket } from "ws";
import {
  type Assigns,
  Endpoint,
  type EndpointOptions,
  type SocketHandler,
  silentLogger,
} from "../src/index.js";

export { silentLogger };

export interface TestServer {
  endpoint: Endpoint;
  port: number;
  /** ws://127.0.0.1:<port>/socket */
  url: string;
  close(): Promise<void>;
}

export async function startServer<A extends Assigns>(
  handler: SocketHandler<A>,
  options: EndpointOptions = {},
  port = 0,
): Promise<TestServer> {
  const endpoint = new Endpoint({ logger: silentLogger, ...options }).socket("/socket", handler);
  const address: AddressInfo = await endpoint.listen(port);
  return {
    endpoint,
    port: address.port,
    url: `ws://127.0.0.1:${address.port}/socket`,
    close: () => endpoint.close({ timeoutMs: 500 }),
  };
}

export type Frame = [string | null, string | null, string, string, unknown];

/** A bare WebSocket speaking V2 frames, for checking exact wire behaviour. */
export class RawClient {
  readonly frames: (Frame | Buffer)[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  #waiters: (() => void)[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data, isBinary) => {
      const buffer = data as Buffer;
      this.frames.push(isBinary ? buffer : (JSON.parse(buffer.toString()) as Frame));
      for (const wake of this.#waiters.splice(0)) wake();
    });
    this.closed = new Promise((resolve) => {
      ws.on("close", (code, reason) => {
        resolve({ code, reason: reason.toString() });
        for (const wake of this.#waiters.splice(0)) wake();
      });
    });
  }

  static connect(
    url: string,
    query = "vsn=2.0.0",
    options: { protocols?: string[]; headers?: Record<string, string> } = {},
  ): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${url}/websocket?${query}`, options.protocols ?? [], {
        headers: options.headers,
      });
      ws.once("open", () => resolve(new RawClient(ws)));
      ws.once("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once("error", reject);
    });
  }

  send(frame: Frame | string | Buffer): void {
    this.ws.send(
      typeof frame === "string" || Buffer.isBuffer(frame) ? frame : JSON.stringify(frame),
    );
  }

  /** Waits for the first frame (from `from` on) that satisfies `match`. */
  async next(match: (f: Frame) => boolean, timeoutMs = 3000, from = 0): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.slice(from).find((f) => !Buffer.isBuffer(f) && match(f));
      if (found) return found as Frame;
      const left = deadline - Date.now();
      if (left <= 0 || this.ws.readyState === WebSocket.CLOSED) {
        throw new Error(`no matching frame; got ${JSON.stringify(this.frames)}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits for the reply to `ref`. */
  reply(ref: string, timeoutMs?: number): Promise<Frame> {
    return this.next((f) => f[3] === "phx_reply" && f[1] === ref, timeoutMs);
  }

  close(): void {
    this.ws.close();
  }
}

/** Resolves when `check` returns true, polling; fails after `timeoutMs`. */
export async function eventually(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
