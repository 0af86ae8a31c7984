import type { Socket as NetSocket } from "node:net";
import {
  eventually,
  RawClient,
  socketHandler,
  startPresenceServer,
  startServer,
  type TestServer,
} from "@tandem/test-support";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import type { EndpointOptions } from "../src/index.js";

let server: TestServer | undefined;
const clients: RawClient[] = [];

async function serve(options: EndpointOptions): Promise<TestServer> {
  server = await startServer(socketHandler, options);
  return server;
}

async function connect(user = "alice"): Promise<RawClient> {
  const client = await RawClient.connect(server!.url, `vsn=2.0.0&user=${user}`);
  clients.push(client);
  return client;
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await server?.close();
  server = undefined;
});

const refusal = (reason: string) => ({ status: "error", response: { reason } });

describe("per-connection limits", () => {
  it("refuses messages over the rate with a reply, keeps answering heartbeats and others", async () => {
    await serve({ messageRate: { limit: 5, intervalMs: 60_000 } });
    const greedy = await connect("greedy");
    const calm = await connect("calm");
    for (let i = 1; i <= 7; i++) greedy.send(["1", String(i), "room:a", "phx_join", {}]);
    expect((await greedy.reply("6"))[4]).toEqual(refusal("rate limited"));
    expect((await greedy.reply("7"))[4]).toEqual(refusal("rate limited"));
    greedy.send([null, "8", "phoenix", "heartbeat", {}]);
    expect((await greedy.reply("8"))[4]).toEqual({ status: "ok", response: {} });
    calm.send(["1", "1", "room:a", "phx_join", {}]);
    expect((await calm.reply("1"))[4]).toMatchObject({ status: "ok" });
  });

  it("limits joins separately", async () => {
    await serve({ joinRate: { limit: 2, intervalMs: 60_000 } });
    const client = await connect();
    for (const t of ["1", "2", "3"]) client.send([t, t, `room:${t}`, "phx_join", {}]);
    expect((await client.reply("3"))[4]).toEqual(refusal("join rate limited"));
    client.send(["1", "4", "room:1", "ping", { ok: true }]);
    expect((await client.reply("4"))[4]).toEqual({ status: "ok", response: { ok: true } });
  });

  it("refuses topics that are too long and payloads nested too deep", async () => {
    await serve({ maxTopicLength: 20, maxPayloadDepth: 4 });
    const client = await connect();
    client.send(["1", "1", `room:${"x".repeat(30)}`, "phx_join", {}]);
    expect((await client.reply("1"))[4]).toEqual(refusal("topic too long"));
    client.send(["2", "2", "room:a", "phx_join", {}]);
    await client.reply("2");
    client.send(["2", "3", "room:a", "ping", { a: { b: { c: { d: {} } } } }]);
    expect((await client.reply("3"))[4]).toEqual(refusal("payload too deep"));
    client.send(["2", "4", "room:a", "ping", { a: { b: { c: {} } } }]);
    expect((await client.reply("4"))[4]).toMatchObject({ status: "ok" });
  });

  it("survives a payload nested 100 000 levels deep", async () => {
    await serve({ maxFrameSize: 1024 * 1024 });
    const client = await connect();
    client.send(["1", "1", "room:a", "phx_join", {}]);
    await client.reply("1");
    const deep = `${"[".repeat(100_000)}${"]".repeat(100_000)}`;
    client.send(`["1","2","room:a","ping",${deep}]`);
    expect((await client.reply("2"))[4]).toEqual(refusal("payload too deep"));
  });

  it("cuts off a client that stops reading, and the room carries on", async () => {
    // Well above what one event-loop turn writes to a reading client, well below the burst.
    await serve({
      maxBufferedBytes: 2 * 1024 * 1024,
      byteRate: { limit: 64 * 1024 * 1024, intervalMs: 1000 },
    });
    const slow = await connect("slow");
    const sender = await connect("sender");
    const reader = await connect("reader");
    for (const c of [slow, sender, reader]) {
      c.send(["1", "1", "room:big", "phx_join", {}]);
      await c.reply("1");
    }
    (slow.ws as unknown as { _socket: NetSocket })._socket.pause();
    const body = "x".repeat(200_000);
    // Paced by replies, so that only the paused client falls behind.
    for (let i = 0; i < 100; i++) {
      sender.send(["1", `s${i}`, "room:big", "shout", { body, i }]);
      await sender.reply(`s${i}`);
    }
    await eventually(() => server!.endpoint.connectionCount === 2, 15_000);
    await eventually(
      () => reader.frames.filter((f) => !Buffer.isBuffer(f) && f[3] === "shout").length === 100,
      15_000,
    );
    expect(sender.ws.readyState).toBe(WebSocket.OPEN);
  }, 30_000);
});

const heartbeat = (ref: string) => JSON.stringify([null, ref, "phoenix", "heartbeat", {}]);

describe("floods", () => {
  it("gives heartbeats a budget of their own and closes a connection that floods them", async () => {
    await serve({ heartbeatRate: { limit: 3, intervalMs: 60_000 } });
    const flooder = await connect("flooder");
    const calm = await connect("calm");
    for (const ref of ["1", "2", "3"]) flooder.send(heartbeat(ref));
    expect((await flooder.reply("3"))[4]).toEqual({ status: "ok", response: {} });
    flooder.send(heartbeat("4"));
    expect((await flooder.reply("4"))[4]).toEqual(refusal("rate limited"));
    for (let i = 5; i < 5000; i++) flooder.send(heartbeat(String(i)));
    expect(await flooder.closed).toEqual({ code: 1008, reason: "rate limit exceeded" });
    const replies = flooder.frames.filter((f) => !Buffer.isBuffer(f) && f[3] === "phx_reply");
    // The default message budget (200) bounds the refusals written before the close.
    expect(replies.length).toBeLessThan(300);
    calm.send(heartbeat("1"));
    expect((await calm.reply("1"))[4]).toEqual({ status: "ok", response: {} });
  });

  it("charges bytes before decoding and closes a connection over its byte budget with 1008", async () => {
    await serve({ maxFrameSize: 40_000, byteRate: { limit: 100_000, intervalMs: 60_000 } });
    const flooder = await connect("flooder");
    const calm = await connect("calm");
    // Not even valid JSON: over the budget it must not be decoded (that would be 1007).
    const junk = "[".repeat(30_000);
    flooder.send(["1", "1", "room:a", "phx_join", {}]);
    await flooder.reply("1");
    for (let i = 0; i < 3; i++) {
      flooder.send(["1", `p${i}`, "room:a", "ping", { body: "x".repeat(30_000) }]);
      await flooder.reply(`p${i}`);
    }
    flooder.send(junk);
    expect(await flooder.closed).toEqual({ code: 1008, reason: "byte rate exceeded" });
    calm.send(["1", "1", "room:a", "phx_join", {}]);
    expect((await calm.reply("1"))[4]).toMatchObject({ status: "ok" });
  });

  it("refuses an Endpoint whose byte budget cannot pass one frame of the largest size", async () => {
    await expect(() =>
      serve({ maxFrameSize: 1024 * 1024, byteRate: { limit: 1000, intervalMs: 1000 } }),
    ).rejects.toThrow(/byteRate/);
  });

  it("bounds the messages held behind a pending join", async () => {
    await serve({ maxQueuedMessages: 3 });
    const client = await connect();
    client.send(["1", "1", "room:slow", "phx_join", {}]);
    for (let i = 0; i < 5; i++) client.send(["1", `q${i}`, "room:slow", "ping", { i }]);
    for (const ref of ["q0", "q1", "q2"]) {
      expect((await client.reply(ref))[4]).toMatchObject({ status: "ok" });
    }
    for (const ref of ["q3", "q4"]) {
      expect((await client.reply(ref))[4]).toEqual(refusal("too many pending messages"));
    }
    expect((await client.reply("1"))[4]).toMatchObject({ status: "ok" });
  });

  it("refuses event names that are too long without echoing them", async () => {
    await serve({ maxEventLength: 32 });
    const client = await connect();
    client.send(["1", "1", "room:a", "phx_join", {}]);
    await client.reply("1");
    client.send(["1", "2", "room:a", "e".repeat(100_000), {}]);
    const reply = await client.reply("2");
    expect(reply[4]).toEqual(refusal("event too long"));
    expect(JSON.stringify(reply).length).toBeLessThan(200);
  });

  it("closes a connection that sends a ref too long to echo", async () => {
    await serve({});
    const client = await connect();
    client.send([null, "r".repeat(10_000), "phoenix", "heartbeat", {}]);
    expect(await client.closed).toEqual({ code: 1008, reason: "ref too long" });
  });
});

describe("prototype-shaped keys", () => {
  it("cannot pollute prototypes through payloads, presence keys or metas", async () => {
    const presenceServer = await startPresenceServer();
    try {
      const client = await RawClient.connect(presenceServer.url, "vsn=2.0.0&user=__proto__");
      clients.push(client);
      client.send(["1", "1", "room:1", "phx_join", { __proto__: { polluted: true } }]);
      await client.next((f) => f[3] === "presence_state");
      client.send([
        "1",
        "2",
        "room:1",
        "status",
        { status: { constructor: { prototype: { x: 1 } } } },
      ]);
      await client.reply("2");
      const state = await presenceServer.presence.list("room:1");
      expect(Object.keys(state)).toEqual(["__proto__"]);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(({} as Record<string, unknown>).x).toBeUndefined();
      const pushed = client.frames.find((f) => !Buffer.isBuffer(f) && f[3] === "presence_state");
      expect(Object.keys((pushed as unknown[])[4] as object)).toEqual(["__proto__"]);
    } finally {
      await presenceServer.close();
    }
  });

  it("refuses oversized metas", async () => {
    const presenceServer = await startPresenceServer({ maxMetaBytes: 100 });
    try {
      const client = await RawClient.connect(presenceServer.url, "vsn=2.0.0&user=ada");
      clients.push(client);
      client.send(["1", "1", "room:1", "phx_join", {}]);
      await client.next((f) => f[3] === "presence_state");
      client.send(["1", "2", "room:1", "status", { status: "y".repeat(200) }]);
      expect((await client.reply("2"))[4]).toEqual(refusal("meta_too_large"));
    } finally {
      await presenceServer.close();
    }
  });
});
