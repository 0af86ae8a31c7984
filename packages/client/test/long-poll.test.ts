// Tandem's client over long-poll against Tandem's server, with real HTTP requests: the
// behaviours the WebSocket tests check, a fallback when upgrades are refused, and the
// close codes a long-poll session reports.
import { createServer } from "node:http";
import { Endpoint } from "@tandem/server";
import {
  eventually,
  recordingLogger,
  socketHandler,
  startPresenceServer,
  startServer,
  type TestServer,
} from "@tandem/test-support";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import {
  LongPoll,
  Presence,
  type Push,
  Socket,
  type SocketOptions,
  type TransportCloseEvent,
} from "../src/index.js";

const sockets: Socket[] = [];
const stops: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.disconnect();
  for (const stop of stops.splice(0).reverse()) await stop();
});

async function server(options = {}): Promise<TestServer> {
  const s = await startServer(socketHandler, options);
  stops.push(() => s.close());
  return s;
}

function open(url: string, params: object, opts: SocketOptions = {}): Socket {
  const s = new Socket(url, {
    transport: LongPoll,
    params,
    rejoinAfterMs: () => 20,
    reconnectAfterMs: () => 20,
    ...opts,
  });
  sockets.push(s);
  s.connect();
  return s;
}

function reply<T = unknown>(push: Push, status = "ok"): Promise<T> {
  return new Promise((resolve, reject) => {
    for (const s of ["ok", "error", "timeout"]) {
      push.receive(s, (r: unknown) =>
        s === status ? resolve(r as T) : reject(new Error(`got ${s} ${JSON.stringify(r)}`)),
      );
    }
  });
}

/** A server whose HTTP side serves long-poll and whose upgrades a proxy answers 400. */
async function serverRefusingUpgrades(): Promise<string> {
  const http = createServer();
  const endpoint = new Endpoint({ server: http, logger: recordingLogger() }).mount(
    "/socket",
    socketHandler,
  );
  http.on("request", (req, res) => {
    if (!endpoint.handleLongPoll(req, res)) res.writeHead(404).end();
  });
  http.removeAllListeners("upgrade");
  http.on("upgrade", (_req, stream) => {
    stream.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
  });
  const { port } = await endpoint.listen(0);
  stops.push(() => endpoint.close({ timeoutMs: 500 }));
  return `ws://127.0.0.1:${port}/socket`;
}

/** Remembers like sessionStorage, for one test. */
function memoryStorage(): Pick<Storage, "getItem" | "setItem"> & { items: Map<string, string> } {
  const items = new Map<string, string>();
  return {
    items,
    getItem: (key) => items.get(key) ?? null,
    setItem: (key, value) => {
      items.set(key, value);
    },
  };
}

describe("@tandem/client over long-poll", () => {
  it("joins, pushes with a reply, and exchanges broadcasts with a WebSocket client", async () => {
    const s = await server();
    const lp = open(s.url, { user: "alice" });
    const ws = open(s.url, { user: "bob" }, { transport: WebSocket });
    const a = lp.channel("room:a");
    const b = ws.channel("room:a");
    expect(await reply(a.join())).toEqual({ user: "alice" });
    await reply(b.join());
    expect(lp.conn).toBeInstanceOf(LongPoll);
    expect(await reply(a.push("ping", { n: 1 }))).toEqual({ n: 1 });
    const got = new Promise((resolve) => a.on("shout", resolve));
    await reply(b.push("shout", { body: "hello" }));
    expect(await got).toEqual({ body: "hello" });
    const back = new Promise((resolve) => b.on("shout", resolve));
    await reply(a.push("shout", { body: "back" }));
    expect(await back).toEqual({ body: "back" });
  });

  it("carries binary payloads both ways, in base64", async () => {
    const s = await server();
    const channel = open(s.url, { user: "alice" }).channel("room:b");
    await reply(channel.join());
    const echoed = await reply<ArrayBuffer>(
      channel.push("echo_binary", Uint8Array.of(7, 8, 9).buffer),
    );
    expect([...new Uint8Array(echoed)]).toEqual([7, 8, 9]);
  });

  it("sends a burst of pushes in batched POSTs and gets every reply", async () => {
    const s = await server();
    const channel = open(s.url, { user: "alice" }).channel("room:a");
    await reply(channel.join());
    const replies = await Promise.all(
      Array.from({ length: 150 }, (_, n) => reply(channel.push("ping", { n }))),
    );
    expect(replies).toEqual(Array.from({ length: 150 }, (_, n) => ({ n })));
  });

  it("passes authToken in the X-Phoenix-AuthToken header", async () => {
    const s = await server();
    const channel = open(s.url, {}, { authToken: "frank" }).channel("room:t");
    expect(await reply(channel.join())).toEqual({ user: "frank" });
  });

  it("keeps presence in sync", async () => {
    const ps = await startPresenceServer();
    stops.push(() => ps.close());
    const channel = open(ps.url, { user: "alice" }).channel("room:p");
    const presence = new Presence(channel);
    await reply(channel.join());
    await eventually(() => presence.list().length === 1);
    open(ps.url, { user: "bob" }, { transport: WebSocket }).channel("room:p").join();
    await eventually(
      () =>
        presence
          .list((key) => key)
          .sort()
          .join() === "alice,bob",
    );
  });

  it("reports the server's close code and reason, then reconnects and rejoins", async () => {
    const s = await server();
    const lp = open(s.url, { user: "carol" });
    const channel = lp.channel("room:r");
    await reply(channel.join());
    const closes: TransportCloseEvent[] = [];
    lp.onClose((event) => closes.push(event));
    s.endpoint.broadcast("users_socket:carol", "disconnect", {});
    await eventually(() => closes.length === 1);
    expect(closes[0]).toMatchObject({ code: 1001, reason: "disconnected" });
    await eventually(() => channel.state === "joined" && lp.isConnected());
    expect(await reply(channel.push("ping", { again: true }))).toEqual({ again: true });
  });

  it("is closed with 1008 when it floods, as over WebSocket", async () => {
    const s = await server({ messageRate: { limit: 5, intervalMs: 60_000 } });
    const lp = open(s.url, { user: "dora" }, { reconnectAfterMs: () => 60_000 });
    const channel = lp.channel("room:f");
    await reply(channel.join(), "ok");
    const closes: TransportCloseEvent[] = [];
    lp.onClose((event) => closes.push(event));
    for (let n = 0; n < 30; n++) channel.push("ping", { n });
    await eventually(() => closes.length === 1);
    expect(closes[0]).toMatchObject({ code: 1008, reason: "rate limit exceeded" });
  });

  it("sends no heartbeats over long-poll: polls keep the session alive", async () => {
    const s = await server();
    const lp = open(s.url, { user: "ed" }, { heartbeatIntervalMs: 20 });
    const sent: string[] = [];
    lp.onMessage((msg) => sent.push(msg.topic));
    await eventually(() => lp.isConnected());
    expect(lp.ping(() => {})).toBe(true);
    await eventually(() => sent.includes("phoenix"));
    await new Promise((resolve) => setTimeout(resolve, 100));
    // Only the ping's reply: five heartbeat intervals went by without one.
    expect(sent.filter((topic) => topic === "phoenix")).toHaveLength(1);
  });
});

describe("longPollFallbackMs", () => {
  it("falls back to long-poll by itself when WebSocket upgrades are refused, and remembers it", async () => {
    const url = await serverRefusingUpgrades();
    const storage = memoryStorage();
    const s = open(
      url,
      { user: "gus" },
      { transport: WebSocket, longPollFallbackMs: 5000, sessionStorage: storage },
    );
    const channel = s.channel("room:f");
    expect(await reply(channel.join())).toEqual({ user: "gus" });
    expect(s.conn).toBeInstanceOf(LongPoll);
    await eventually(() => storage.items.get("phx:fallback:LongPoll") === "true");
    // The next socket of this browser session goes straight to long-poll.
    const next = open(
      url,
      { user: "gus" },
      { transport: WebSocket, longPollFallbackMs: 5000, sessionStorage: storage },
    );
    expect(next.conn).toBeInstanceOf(LongPoll);
  });

  it("stays on WebSocket when it works", async () => {
    const s = await server();
    const storage = memoryStorage();
    const socket = open(
      s.url,
      { user: "hana" },
      { transport: WebSocket, longPollFallbackMs: 5000, sessionStorage: storage },
    );
    const channel = socket.channel("room:w");
    await reply(channel.join());
    expect(socket.conn).toBeInstanceOf(WebSocket);
    expect(storage.items.size).toBe(0);
  });
});
