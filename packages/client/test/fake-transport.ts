import type { Transport, TransportCloseEvent, TransportMessageEvent } from "../src/index.js";

/**
 * A duck-typed WebSocket driven by the test: `open()`, `receive()`, `serverClose()` and
 * `fail()` play the server's part; `close()` from the socket settles on the next tick.
 */
export class FakeTransport implements Transport {
  static instances: FakeTransport[] = [];
  static get last(): FakeTransport {
    const t = FakeTransport.instances.at(-1);
    if (!t) throw new Error("no transport was created");
    return t;
  }

  readyState = 0;
  bufferedAmount = 0;
  binaryType = "blob";
  sent: (string | ArrayBuffer)[] = [];
  closeCalls: { code?: number; reason?: string }[] = [];
  onopen: ((event: unknown) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  onmessage: ((event: TransportMessageEvent) => void) | null = null;
  onclose: ((event: TransportCloseEvent) => void) | null = null;

  constructor(
    readonly url: string,
    readonly protocols?: string[],
  ) {
    FakeTransport.instances.push(this);
  }

  send(data: string | ArrayBuffer): void {
    this.sent.push(data);
  }

  close(code?: number, reason?: string): void {
    this.closeCalls.push({ code, reason });
    // Like a real WebSocket, closing a closed transport changes nothing.
    if (this.readyState === 3) return;
    this.readyState = 2;
    setTimeout(() => {
      this.readyState = 3;
      this.onclose?.({ code: code ?? 1005, reason, wasClean: true });
    }, 0);
  }

  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  receive(frame: unknown[] | ArrayBuffer): void {
    this.onmessage?.({ data: frame instanceof ArrayBuffer ? frame : JSON.stringify(frame) });
  }

  serverClose(code = 1000): void {
    this.readyState = 3;
    this.onclose?.({ code, reason: "", wasClean: code === 1000 });
  }

  fail(): void {
    this.onerror?.(new Error("connection failed"));
  }

  /** Text frames sent so far, parsed. */
  frames(): unknown[][] {
    return this.sent.filter((f) => typeof f === "string").map((f) => JSON.parse(f as string));
  }

  /** Sent text frames with this event. */
  framesOf(event: string): unknown[][] {
    return this.frames().filter((f) => f[3] === event);
  }
}

/** Replies to the last frame with `event` as the server would. */
export function reply(
  transport: FakeTransport,
  event: string,
  status = "ok",
  response: unknown = {},
): void {
  const frame = transport.framesOf(event).at(-1);
  if (!frame) throw new Error(`no ${event} frame was sent`);
  transport.receive([frame[0], frame[1], frame[2], "phx_reply", { status, response }]);
}
