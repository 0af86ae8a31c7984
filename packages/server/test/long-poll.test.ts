import { createServer, type Server } from "node:http";
import { type AddressInfo, connect } from "node:net";
import { Endpoint } from "@tandem/server";
import {
  eventually,
  recordingLogger,
  socketHandler,
  startPresenceServer,
  startServer,
  type TestServer,
} from "@tandem/test-support";
import { LongPoll, Presence, Socket } from "phoenix";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";

// The official client in Node: its long-poll transport uses the global fetch.
const webSocket = WebSocket as unknown as typeof globalThis.WebSocket;

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

function socket(url: string, params: Record<string, string>, opts: object = {}): Socket {
  const s = new Socket(url, {
    transport: LongPoll,
    params,
    rejoinAfterMs: () => 30,
    reconnectAfterMs: () => 30,
    ...opts,
  });
  sockets.push(s);
  s.connect();
  return s;
}

function receive<T = unknown>(
  push: { receive(status: string, cb: (r: T) => void): unknown },
  status = "ok",
): Promise<T> {
  return new Promise((resolve, reject) => {
    push.receive(status, resolve);
    for (const other of ["ok", "error", "timeout"].filter((s) => s !== status)) {
      push.receive(other, (r: unknown) =>
        reject(new Error(`expected ${status}, got ${other} ${JSON.stringify(r)}`)),
      );
    }
  });
}

/** One long-poll request by hand: the JSON answer and the HTTP status. */
async function request(
  url: string,
  init: RequestInit = {},
): Promise<{ http: number; body: Record<string, unknown> }> {
  const res = await fetch(url, init);
  return { http: res.status, body: (await res.json()) as Record<string, unknown> };
}

function longPollUrl(s: TestServer, query: string): string {
  return `http://127.0.0.1:${s.port}/socket/longpoll?${query}`;
}

async function openSession(s: TestServer, query = "vsn=2.0.0&user=alice"): Promise<string> {
  const { body } = await request(longPollUrl(s, query));
  expect(body.status).toBe(410);
  expect(typeof body.token).toBe("string");
  return body.token as string;
}

function post(s: TestServer, token: string, lines: string[]) {
  return request(longPollUrl(s, `vsn=2.0.0&token=${encodeURIComponent(token)}`), {
    method: "POST",
    headers: { "content-type": "application/x-ndjson" },
    body: lines.join("\n"),
  });
}

/** Polls until a poll brings messages or the session's end; returns that answer. */
async function poll(s: TestServer, token: string): Promise<Record<string, unknown>> {
  for (;;) {
    const { body } = await request(longPollUrl(s, `vsn=2.0.0&token=${encodeURIComponent(token)}`));
    if (body.status !== 204) return body;
  }
}

describe("the official phoenix client over long-poll", () => {
  it("joins, pushes with a reply and receives a broadcast from a WebSocket client", async () => {
    const s = await server();
    const lp = socket(s.url, { user: "alice" });
    const ws = socket(s.url, { user: "bob" }, { transport: webSocket });
    const a = lp.channel("room:a", {});
    const b = ws.channel("room:a", {});
    expect(await receive(a.join())).toEqual({ user: "alice" });
    await receive(b.join());
    expect(lp.isConnected()).toBe(true);
    expect(await receive(a.push("ping", { n: 1 }))).toEqual({ n: 1 });
    const got = new Promise((resolve) => a.on("shout", resolve));
    await receive(b.push("shout", { body: "hello" }));
    expect(await got).toEqual({ body: "hello" });
    const back = new Promise((resolve) => b.on("shout", resolve));
    await receive(a.push("shout", { body: "back" }));
    expect(await back).toEqual({ body: "back" });
  });

  it("sends a burst of pushes, batched in POSTs, and gets every reply in order", async () => {
    const s = await server();
    const channel = socket(s.url, { user: "alice" }).channel("room:a", {});
    await receive(channel.join());
    const replies = await Promise.all(
      Array.from({ length: 150 }, (_, n) => receive(channel.push("ping", { n }))),
    );
    expect(replies).toEqual(Array.from({ length: 150 }, (_, n) => ({ n })));
  });

  it("sees presence: the state on join and the diff when another user joins", async () => {
    const ps = await startPresenceServer();
    stops.push(() => ps.close());
    const channel = socket(ps.url, { user: "alice" }).channel("room:p", {});
    const presence = new Presence(channel);
    await receive(channel.join());
    await eventually(() => presence.list().length === 1);
    socket(ps.url, { user: "bob" }, { transport: webSocket }).channel("room:p", {}).join();
    await eventually(
      () =>
        presence
          .list((key) => key)
          .sort()
          .join() === "alice,bob",
    );
  });

  it("reconnects and rejoins when the server drops the session", async () => {
    const s = await server();
    const lp = socket(s.url, { user: "carol" });
    const channel = lp.channel("room:r", {});
    await receive(channel.join());
    let opens = 0;
    lp.onOpen(() => {
      opens++;
    });
    s.endpoint.broadcast("users_socket:carol", "disconnect", {});
    await eventually(() => opens >= 1 && channel.state === "joined");
    expect(await receive(channel.push("ping", { after: "reconnect" }))).toEqual({
      after: "reconnect",
    });
  });

  it("falls back to long-poll by itself when WebSocket upgrades are refused", async () => {
    const http: Server = createServer();
    const endpoint = new Endpoint({ server: http, logger: recordingLogger() }).mount(
      "/socket",
      socketHandler,
    );
    http.on("request", (req, res) => {
      if (!endpoint.handleLongPoll(req, res)) res.writeHead(404).end();
    });
    // What a proxy that does not pass upgrades on does.
    http.removeAllListeners("upgrade");
    http.on("upgrade", (_req, stream) => {
      stream.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    });
    const { port } = await endpoint.listen(0);
    stops.push(() => endpoint.close({ timeoutMs: 500 }));
    const s = socket(
      `ws://127.0.0.1:${port}/socket`,
      { user: "dave" },
      { transport: webSocket, longPollFallbackMs: 5000 },
    );
    const channel = s.channel("room:f", {});
    expect(await receive(channel.join())).toEqual({ user: "dave" });
    expect((s as unknown as { transport: unknown }).transport).toBe(LongPoll);
  });
});

describe("the long-poll wire", () => {
  it("opens a session, takes a POST batch and answers with the replies", async () => {
    const s = await server();
    const token = await openSession(s);
    expect(s.endpoint.connectionCount).toBe(1);
    const sent = await post(s, token, [
      '["1","1","room:a","phx_join",{}]',
      '["1","2","room:a","ping",{"n":2}]',
    ]);
    expect(sent).toEqual({ http: 200, body: { status: 200 } });
    const messages: unknown[] = [];
    while (messages.length < 2) {
      const answer = await poll(s, token);
      expect(answer.status).toBe(200);
      expect(answer.token).toBe(token);
      messages.push(...(answer.messages as string[]).map((m) => JSON.parse(m)));
    }
    expect(messages).toEqual([
      ["1", "1", "room:a", "phx_reply", { status: "ok", response: { user: "alice" } }],
      ["1", "2", "room:a", "phx_reply", { status: "ok", response: { n: 2 } }],
    ]);
  });

  it("answers a poll that waited its window with 204", async () => {
    const s = await server({ longPollWindowMs: 50 });
    const token = await openSession(s);
    const { http, body } = await request(longPollUrl(s, `vsn=2.0.0&token=${token}`));
    expect(http).toBe(200);
    expect(body).toEqual({ status: 204, token, messages: [] });
  });

  it("takes the session token from the x-phoenix-longpoll-token header too", async () => {
    const s = await server();
    const token = await openSession(s);
    const sent = await request(longPollUrl(s, "vsn=2.0.0"), {
      method: "POST",
      headers: { "content-type": "application/x-ndjson", "x-phoenix-longpoll-token": token },
      body: '[null,"1","phoenix","heartbeat",{}]',
    });
    expect(sent.body).toEqual({ status: 200 });
    const answer = await poll(s, token);
    expect(answer.messages).toEqual([
      '[null,"1","phoenix","phx_reply",{"status":"ok","response":{}}]',
    ]);
  });

  it("refuses a connect, a bad vsn and a foreign origin with 403, and POSTs to no session with 410", async () => {
    const s = await server();
    expect((await request(longPollUrl(s, "vsn=2.0.0&user=refused"))).body).toEqual({
      status: 403,
    });
    expect((await request(longPollUrl(s, "vsn=9.9.9&user=alice"))).body).toEqual({
      status: 403,
    });
    const foreign = await request(longPollUrl(s, "vsn=2.0.0&user=alice"), {
      headers: { origin: "https://evil.example" },
    });
    expect(foreign).toEqual({ http: 403, body: { status: 403 } });
    expect((await post(s, "no-such-session", ["[]"])).body).toEqual({ status: 410 });
    expect(s.endpoint.connectionCount).toBe(0);
  });

  it("passes the X-Phoenix-AuthToken header to connect as the auth token", async () => {
    const s = await server();
    const { body } = await request(longPollUrl(s, "vsn=2.0.0"), {
      headers: { "x-phoenix-authtoken": "erin" },
    });
    const token = body.token as string;
    await post(s, token, ['["1","1","room:a","phx_join",{}]']);
    const answer = await poll(s, token);
    expect(JSON.parse((answer.messages as string[])[0]!)[4]).toEqual({
      status: "ok",
      response: { user: "erin" },
    });
  });

  it("closes a flooding session with 1008 and tells the next poll why", async () => {
    const s = await server({ messageRate: { limit: 5, intervalMs: 60_000 } });
    const token = await openSession(s);
    const flood = Array.from({ length: 20 }, (_, n) => `[null,"${n}","room:a","ping",{}]`);
    await post(s, token, flood);
    let answer = await poll(s, token);
    while (answer.status === 200) answer = await poll(s, token);
    expect(answer).toEqual({
      status: 410,
      token: null,
      messages: [],
      close: { code: 1008, reason: "rate limit exceeded" },
    });
    await eventually(() => s.endpoint.connectionCount === 0);
    // Told once: the session is gone now.
    const { body } = await request(longPollUrl(s, `vsn=2.0.0&user=alice&token=${token}`));
    expect(body.status).toBe(410);
    expect(body.token).not.toBe(token);
  });

  it("closes a session that posts a message over maxFrameSize with 1009", async () => {
    const s = await server({ maxFrameSize: 1000 });
    const token = await openSession(s);
    const big = `[null,"1","room:a","ping",{"pad":"${"x".repeat(2000)}"}]`;
    expect((await post(s, token, [big])).body).toEqual({ status: 413 });
    expect(await poll(s, token)).toMatchObject({
      status: 410,
      close: { code: 1009, reason: "message too big" },
    });
  });

  it("closes a session that posts a batch that does not split with 1007", async () => {
    const s = await server();
    const token = await openSession(s);
    expect((await post(s, token, ["not base64!"])).body).toEqual({ status: 400 });
    expect(await poll(s, token)).toMatchObject({ status: 410, close: { code: 1007 } });
  });

  it("takes nothing from a POST whose client leaves mid-body, and keeps the session", async () => {
    const s = await server();
    const token = await openSession(s);
    const partial = '["1","1","room:a","phx_join",{}]';
    await new Promise<void>((resolve, reject) => {
      const raw = connect(s.port, "127.0.0.1", () => {
        raw.write(
          `POST /socket/longpoll?vsn=2.0.0&token=${encodeURIComponent(token)} HTTP/1.1\r\n` +
            "Host: 127.0.0.1\r\nContent-Type: application/x-ndjson\r\n" +
            `Content-Length: ${partial.length + 100}\r\n\r\n${partial}`,
          () => {
            raw.destroy();
            resolve();
          },
        );
      });
      raw.on("error", reject);
    });
    const sent = await post(s, token, ['["2","2","room:a","phx_join",{}]']);
    expect(sent.body).toEqual({ status: 200 });
    const answer = await poll(s, token);
    // Only the join that arrived whole is answered.
    expect((answer.messages as string[]).map((m) => JSON.parse(m)[1])).toEqual(["2"]);
  });

  it("expires a session that is not polled, and its connection with it", async () => {
    // Sessions are swept with idle connections, every quarter of the idle timeout.
    const s = await server({ longPollWindowMs: 40, idleTimeoutMs: 1000 });
    const token = await openSession(s);
    expect(s.endpoint.connectionCount).toBe(1);
    await eventually(() => s.endpoint.connectionCount === 0);
    // Forgotten, not closed for idleness: the poll opens a new session.
    const { body } = await request(longPollUrl(s, `vsn=2.0.0&user=alice&token=${token}`));
    expect(body.status).toBe(410);
    expect(body.close).toBeUndefined();
    expect(body.token).not.toBe(token);
  });

  it("never logs the connect params' token nor the session token", async () => {
    const logger = recordingLogger();
    const s = await server({ logger, messageRate: { limit: 2, intervalMs: 60_000 } });
    const secret = "s3cret-user-token";
    const token = await openSession(s, `vsn=2.0.0&user=alice&token=${secret}`);
    await post(
      s,
      token,
      Array.from({ length: 8 }, (_, n) => `[null,"${n}","room:a","ping",{}]`),
    );
    await poll(s, token);
    await request(longPollUrl(s, `vsn=2.0.0&user=alice&token=${secret}`), {
      headers: { origin: "https://evil.example" },
    });
    expect(logger.entries.length).toBeGreaterThan(0);
    const logged = JSON.stringify(logger.entries);
    expect(logged).not.toContain(secret);
    expect(logged).not.toContain(token);
  });

  it("ends waiting polls with 410 and code 1012 when the endpoint closes", async () => {
    const s = await startServer(socketHandler);
    const token = await openSession(s);
    const waiting = request(longPollUrl(s, `vsn=2.0.0&token=${token}`));
    await eventually(() => s.endpoint.connectionCount === 1);
    await s.close();
    expect((await waiting).body).toMatchObject({ status: 410, close: { code: 1012 } });
  });

  it("serves only under a mount point: other paths are not taken", async () => {
    const endpoint = new Endpoint({ logger: recordingLogger() }).mount("/socket", socketHandler);
    const { port } = (await endpoint.listen(0)) as AddressInfo;
    stops.push(() => endpoint.close({ timeoutMs: 500 }));
    const res = await fetch(`http://127.0.0.1:${port}/elsewhere/longpoll?vsn=2.0.0`);
    expect(res.status).toBe(404);
  });
});
