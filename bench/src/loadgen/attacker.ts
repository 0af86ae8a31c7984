/**
 * One hostile client of the abuse scenario, in a process of its own so that its sending
 * loop does not slow the probes that measure everyone else. The load generator forks it
 * with an {@link AttackerRequest}, waits for "started", and sends "stop"; it answers with
 * an {@link AttackerReport}. Whenever the server cuts it, it reconnects and carries on,
 * as a determined attacker would.
 */
import { WebSocket } from "ws";
import type { Attack, AttackerReport } from "../types.js";

export interface AttackerRequest {
  /** ws:// URL of the socket endpoint, without `/websocket`. */
  url: string;
  attack: Attack;
  largeFrameBytes: number;
  topic: string;
}

/** Unsent bytes the loop lets pile up in the socket before it waits for the kernel. */
const HIGH_WATER = 1024 * 1024;
/** Bytes sent in one turn of the event loop. */
const BATCH_BYTES = 256 * 1024;

/** The frames an attack sends, made once: the loop only numbers the refs. */
function frameMaker(request: AttackerRequest): (ref: number) => string {
  const topic = JSON.stringify(request.topic);
  switch (request.attack) {
    case "heartbeats":
      return (ref) => `[null,"${ref}","phoenix","heartbeat",{}]`;
    case "messages":
      return (ref) => `["1","${ref}",${topic},"ping",{}]`;
    case "large-frames": {
      // Cheap to send, dear to decode: an array of many empty arrays.
      const payload = `[${"[],".repeat(Math.floor(request.largeFrameBytes / 3) - 1)}[]]`;
      return (ref) => `["1","${ref}",${topic},"ping",${payload}]`;
    }
    case "long-events": {
      const event = "e".repeat(request.largeFrameBytes);
      return (ref) => `["1","${ref}",${topic},"${event}",{}]`;
    }
  }
}

function attack(request: AttackerRequest, started: () => void): () => AttackerReport {
  const report: AttackerReport = {
    framesSent: 0,
    bytesSent: 0,
    connections: 0,
    framesReceived: 0,
    closes: {},
  };
  const frame = frameMaker(request);
  let ref = 0;
  let stopped = false;
  let ws: WebSocket | undefined;

  const flood = (socket: WebSocket): void => {
    if (stopped || socket.readyState !== WebSocket.OPEN) return;
    // Small writes go straight to the kernel and never show in bufferedAmount: yield
    // after a batch, or the loop would never see the server's replies or its close.
    for (let batch = 0; batch < BATCH_BYTES && socket.bufferedAmount < HIGH_WATER; ) {
      const text = frame(++ref);
      socket.send(text);
      report.framesSent++;
      report.bytesSent += text.length;
      batch += text.length;
    }
    if (socket.bufferedAmount < HIGH_WATER) setImmediate(() => flood(socket));
    else setTimeout(() => flood(socket), 1);
  };

  const connect = (): void => {
    if (stopped) return;
    report.connections++;
    // One client behind a proxy, for a server that budgets connects by X-Forwarded-For.
    const socket = new WebSocket(`${request.url}/websocket?vsn=2.0.0&name=mallory`, {
      headers: { "x-forwarded-for": "198.51.100.7" },
    });
    ws = socket;
    socket.on("open", () => {
      started();
      if (request.attack === "heartbeats") {
        flood(socket);
        return;
      }
      socket.send(`["1","1",${JSON.stringify(request.topic)},"phx_join",{}]`);
      socket.once("message", () => flood(socket));
    });
    socket.on("message", () => {
      report.framesReceived++;
    });
    socket.on("error", () => {});
    socket.on("close", (code) => {
      report.closes[String(code)] = (report.closes[String(code)] ?? 0) + 1;
      setTimeout(connect, 10);
    });
  };

  connect();
  return () => {
    stopped = true;
    ws?.terminate();
    return report;
  };
}

process.on("disconnect", () => process.exit(0));
process.once("message", (request: AttackerRequest) => {
  let announced = false;
  const stop = attack(request, () => {
    if (announced) return;
    announced = true;
    process.send?.("started");
  });
  process.once("message", () => {
    process.send?.(stop(), () => process.exit(0));
  });
});
