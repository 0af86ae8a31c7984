import { WebSocket } from "ws";

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

  /** Closes the socket; resolves once it is closed. */
  close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    const closed = this.closed.then(() => {});
    this.ws.close();
    return closed;
  }
}
