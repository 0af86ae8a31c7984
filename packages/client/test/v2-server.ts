import type { AddressInfo } from "node:net";
import { decodeClientFrame, encodeServerPush, encodeServerReply } from "@tandem/protocol";
import { type WebSocket, WebSocketServer } from "ws";

/** What the server received: parsed text frames, or decoded binary pushes. */
export type Received =
  | { kind: "text"; frame: unknown[] }
  | {
      kind: "binary";
      joinRef: string | null;
      ref: string | null;
      topic: string;
      event: string;
      payload: number[];
    };

/** One accepted connection. */
export interface ServerConn {
  ws: WebSocket;
  url: string;
  protocol: string | undefined;
  received: Received[];
}

/**
 * A minimal V2 server for tests: acknowledges heartbeats, joins and leaves, replies to
 * "echo" with its payload (binary pushes get a binary reply with the same bytes), and
 * answers "shout" with a server push in the channel.
 */
export class V2Server {
  readonly conns: ServerConn[] = [];
  private constructor(readonly wss: WebSocketServer) {
    wss.on("connection", (ws, req) => {
      const conn: ServerConn = {
        ws,
        url: req.url ?? "",
        protocol: ws.protocol || undefined,
        received: [],
      };
      this.conns.push(conn);
      ws.on("message", (data, isBinary) => this.handle(conn, data as Buffer, isBinary));
    });
  }

  static async start(): Promise<V2Server> {
    const wss = new WebSocketServer({
      host: "127.0.0.1",
      port: 0,
      handleProtocols: (protocols) => (protocols.has("phoenix") ? "phoenix" : false),
    });
    await new Promise<void>((resolve) => wss.once("listening", () => resolve()));
    return new V2Server(wss);
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.wss.address() as AddressInfo).port}/socket`;
  }

  /** Every text frame received, over all connections, in order. */
  textFrames(): unknown[][] {
    return this.conns.flatMap((c) =>
      c.received.flatMap((r) => (r.kind === "text" ? [r.frame] : [])),
    );
  }

  async close(): Promise<void> {
    for (const c of this.conns) c.ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private handle(conn: ServerConn, data: Buffer, isBinary: boolean): void {
    if (isBinary) {
      const result = decodeClientFrame(new Uint8Array(data));
      if (!result.ok) throw result.error;
      const msg = result.value;
      conn.received.push({
        kind: "binary",
        joinRef: msg.join_ref,
        ref: msg.ref,
        topic: msg.topic,
        event: msg.event,
        payload: [...msg.payload],
      });
      conn.ws.send(
        encodeServerReply({
          join_ref: msg.join_ref,
          ref: msg.ref ?? "",
          topic: msg.topic,
          status: "ok",
          response: msg.payload,
        }),
      );
      return;
    }
    const frame = JSON.parse(data.toString()) as [string | null, string, string, string, unknown];
    conn.received.push({ kind: "text", frame });
    const [joinRef, ref, topic, event, payload] = frame;
    const send = (f: unknown[]) => conn.ws.send(JSON.stringify(f));
    const replyOk = (response: unknown) =>
      send([joinRef, ref, topic, "phx_reply", { status: "ok", response }]);
    switch (event) {
      case "heartbeat":
      case "phx_join":
        replyOk({});
        break;
      case "phx_leave":
        replyOk({});
        send([joinRef, joinRef, topic, "phx_close", {}]);
        break;
      case "echo":
        replyOk(payload);
        break;
      case "shout":
        send([joinRef, null, topic, "shouted", payload]);
        conn.ws.send(
          encodeServerPush({
            join_ref: joinRef,
            ref: null,
            topic,
            event: "shouted_bin",
            payload: Uint8Array.of(9, 8),
          }),
        );
        replyOk({});
        break;
    }
  }
}

/** Polls until `condition` holds; fails the test after `timeoutMs`. */
export async function waitUntil(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
