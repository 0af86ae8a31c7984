import {
  eventually,
  RawClient,
  sleep,
  socketHandler,
  startServer,
  type TestServer,
} from "@tandem/test-support";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";

let server: TestServer;
const clients: RawClient[] = [];

async function connect(query = "vsn=2.0.0&user=alice", protocols?: string[]): Promise<RawClient> {
  const client = await RawClient.connect(server.url, query, { protocols });
  clients.push(client);
  return client;
}

async function joined(client: RawClient, topic: string, ref: string): Promise<void> {
  client.send([ref, ref, topic, "phx_join", {}]);
  const reply = await client.reply(ref);
  expect(reply[4]).toMatchObject({ status: "ok" });
}

beforeEach(async () => {
  server = await startServer(socketHandler, { maxChannelsPerConnection: 3 });
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await server.close();
});

describe("connecting", () => {
  it("refuses with 403 when connect returns null", async () => {
    await expect(connect("vsn=2.0.0&user=refused")).rejects.toThrow("HTTP 403");
  });

  it("refuses an unsupported vsn with 403", async () => {
    await expect(connect("vsn=3.0.0&user=a")).rejects.toThrow("HTTP 403");
  });

  it("refuses a foreign origin with 403 by default", async () => {
    const attempt = RawClient.connect(server.url, "vsn=2.0.0&user=a", {
      headers: { origin: "https://evil.example" },
    });
    await expect(attempt).rejects.toThrow("HTTP 403");
    const same = await RawClient.connect(server.url, "vsn=2.0.0&user=a", {
      headers: { origin: `http://127.0.0.1:${server.port}` },
    });
    same.close();
  });

  it("answers 404 for other paths", async () => {
    await expect(RawClient.connect(`ws://127.0.0.1:${server.port}/nope`)).rejects.toThrow(
      "HTTP 404",
    );
  });

  it("reads the auth token from Sec-WebSocket-Protocol and answers with phoenix", async () => {
    const token = Buffer.from("tok-bob", "latin1").toString("base64").replace(/=/g, "");
    const client = await connect("vsn=2.0.0", ["phoenix", `base64url.bearer.phx.${token}`]);
    expect(client.ws.protocol).toBe("phoenix");
    client.send(["1", "1", "room:a", "phx_join", {}]);
    expect((await client.reply("1"))[4]).toEqual({ status: "ok", response: { user: "tok-bob" } });
  });
});

describe("framing", () => {
  it("answers heartbeats with join_ref null", async () => {
    const client = await connect();
    client.send([null, "7", "phoenix", "heartbeat", {}]);
    expect(await client.reply("7")).toEqual([
      null,
      "7",
      "phoenix",
      "phx_reply",
      { status: "ok", response: {} },
    ]);
  });

  it("closes with 1007 on a malformed frame and keeps serving others", async () => {
    const bad = await connect();
    const good = await connect();
    bad.send("{not json");
    expect((await bad.closed).code).toBe(1007);
    good.send([null, "1", "phoenix", "heartbeat", {}]);
    await good.reply("1");
  });

  it("closes with 1009 on a frame above the size limit", async () => {
    await server.close();
    server = await startServer(socketHandler, { maxFrameSize: 1024 });
    const client = await connect();
    client.send(["1", "1", "room:a", "ping", { big: "x".repeat(2000) }]);
    expect((await client.closed).code).toBe(1009);
  });

  it("speaks V1 objects to legacy clients", async () => {
    const client = await connect("vsn=1.0.0&user=alice");
    client.send(JSON.stringify({ topic: "room:a", event: "phx_join", payload: {}, ref: "1" }));
    await eventually(() => client.frames.length > 0);
    expect(client.frames[0]).toEqual({
      topic: "room:a",
      event: "phx_reply",
      payload: { status: "ok", response: { user: "alice" } },
      ref: "1",
    });
  });

  it("replies to binary pushes with binary replies", async () => {
    const client = await connect();
    await joined(client, "room:a", "1");
    const payload = Buffer.from([9, 8, 7]);
    const header = Buffer.from([0, 1, 1, 6, 11]);
    client.send(Buffer.concat([header, Buffer.from("12room:aecho_binary"), payload]));
    await eventually(() => client.frames.some(Buffer.isBuffer));
    const reply = client.frames.find(Buffer.isBuffer)!;
    expect([...reply]).toEqual([1, 1, 1, 6, 2, ...Buffer.from("12room:aok"), 9, 8, 7]);
  });
});

describe("joining and routing", () => {
  it("replies unmatched topic with join_ref null", async () => {
    const client = await connect();
    client.send(["1", "1", "nowhere:1", "phx_join", {}]);
    expect(await client.reply("1")).toEqual([
      null,
      "1",
      "nowhere:1",
      "phx_reply",
      { status: "error", response: { reason: "unmatched topic" } },
    ]);
    client.send(["1", "2", "room:unjoined", "ping", {}]);
    expect((await client.reply("2"))[0]).toBeNull();
  });

  it("matches exact topics and prefixes", async () => {
    const client = await connect();
    await joined(client, "exact", "1");
    client.send(["2", "2", "exactly", "phx_join", {}]);
    expect((await client.reply("2"))[4]).toMatchObject({ status: "error" });
    await joined(client, "room:", "3");
  });

  it("refuses a join with the channel's payload, and a crashed join with join crashed", async () => {
    const client = await connect();
    client.send(["1", "1", "room:forbidden", "phx_join", {}]);
    expect((await client.reply("1"))[4]).toEqual({
      status: "error",
      response: { reason: "unauthorized" },
    });
    client.send(["2", "2", "room:crash", "phx_join", {}]);
    expect((await client.reply("2"))[4]).toEqual({
      status: "error",
      response: { reason: "join crashed" },
    });
    await joined(client, "room:a", "3");
  });

  it("limits channels per connection", async () => {
    const client = await connect();
    await joined(client, "room:1", "1");
    await joined(client, "room:2", "2");
    await joined(client, "room:3", "3");
    client.send(["4", "4", "room:4", "phx_join", {}]);
    expect((await client.reply("4"))[4]).toEqual({
      status: "error",
      response: { reason: "too many channels joined" },
    });
  });

  it("closes the old incarnation after the new join reply on a duplicate join", async () => {
    const client = await connect();
    await joined(client, "room:a", "1");
    client.send(["5", "5", "room:a", "phx_join", {}]);
    await client.next((f) => f[3] === "phx_close");
    const frames = client.frames.slice(1) as unknown[][];
    expect(frames[0]).toEqual([
      "5",
      "5",
      "room:a",
      "phx_reply",
      { status: "ok", response: { user: "alice" } },
    ]);
    expect(frames[1]).toEqual(["1", "1", "room:a", "phx_close", {}]);
  });

  it("drops messages carrying a stale join_ref", async () => {
    const client = await connect();
    await joined(client, "room:a", "1");
    await joined(client, "room:a", "2");
    client.send(["1", "3", "room:a", "ping", {}]);
    client.send(["2", "4", "room:a", "ping", {}]);
    await client.reply("4");
    expect(client.frames.some((f) => !Buffer.isBuffer(f) && f[1] === "3")).toBe(false);
  });

  it("serialises joins: a slow join holds back later messages", async () => {
    const client = await connect();
    client.send(["1", "1", "room:slow", "phx_join", {}]);
    client.send(["1", "2", "room:slow", "ping", { n: 1 }]);
    const reply = await client.reply("2");
    expect(reply[4]).toEqual({ status: "ok", response: { n: 1 } });
    const refs = client.frames.map((f) => (f as unknown[])[1]);
    expect(refs).toEqual(["1", "2"]);
  });

  it("keeps order across several slow joins with messages between them", async () => {
    const client = await connect();
    client.send(["1", "1", "room:slow", "phx_join", {}]);
    client.send(["1", "2", "room:slow", "ping", { n: 1 }]);
    client.send(["3", "3", "room:slow2", "phx_join", {}]);
    client.send([null, "4", "phoenix", "heartbeat", {}]);
    client.send(["3", "5", "room:slow2", "ping", { n: 2 }]);
    await client.reply("5");
    const refs = client.frames.map((f) => (f as unknown[])[1]);
    expect(refs).toEqual(["1", "2", "3", "4", "5"]);
  });

  it("leaves: ok reply then phx_close with the join_ref; later pushes are unmatched", async () => {
    const client = await connect();
    await joined(client, "room:a", "1");
    client.send(["1", "2", "room:a", "phx_leave", {}]);
    await client.next((f) => f[3] === "phx_close");
    expect(client.frames.slice(1)).toEqual([
      ["1", "2", "room:a", "phx_reply", { status: "ok", response: {} }],
      ["1", "1", "room:a", "phx_close", {}],
    ]);
    client.send(["9", "9", "room:nothing", "phx_leave", {}]);
    expect(await client.reply("9")).toEqual([
      "9",
      "9",
      "room:nothing",
      "phx_reply",
      { status: "ok", response: {} },
    ]);
  });
});

describe("channel callbacks", () => {
  it("runs handlers in order even when an earlier one is slow", async () => {
    const client = await connect();
    await joined(client, "room:a", "1");
    client.send(["1", "2", "room:a", "slow_then_ok", {}]);
    client.send(["1", "3", "room:a", "ping", {}]);
    await client.reply("3");
    expect(client.frames.slice(1).map((f) => (f as unknown[])[1])).toEqual(["2", "3"]);
  });

  it("isolates a crash: phx_error for that channel only", async () => {
    const client = await connect();
    await joined(client, "room:a", "1");
    await joined(client, "room:b", "2");
    client.send(["1", "3", "room:a", "boom", {}]);
    expect(await client.next((f) => f[3] === "phx_error")).toEqual([
      "1",
      "1",
      "room:a",
      "phx_error",
      { reason: "channel_crash" },
    ]);
    client.send(["2", "4", "room:b", "ping", { still: "here" }]);
    expect((await client.reply("4"))[4]).toEqual({ status: "ok", response: { still: "here" } });
    client.send(["1", "5", "room:a", "ping", {}]);
    expect((await client.reply("5"))[4]).toMatchObject({ response: { reason: "unmatched topic" } });
    client.send(["2", "6", "room:b", "reject", {}]);
    await client.next((f) => f[3] === "phx_error" && f[2] === "room:b");
  });

  it("pushes after join from handleInfo, in order after the join reply", async () => {
    const client = await connect();
    client.send(["1", "1", "room:a", "phx_join", { after_join: true }]);
    const welcome = await client.next((f) => f[3] === "welcome");
    expect(welcome).toEqual(["1", null, "room:a", "welcome", { user: "alice" }]);
    expect((client.frames[0] as unknown[])[3]).toBe("phx_reply");
  });

  it("broadcasts to all subscribers, broadcastFrom skips the sender", async () => {
    const alice = await connect("vsn=2.0.0&user=alice");
    const bob = await connect("vsn=2.0.0&user=bob");
    await joined(alice, "room:a", "1");
    await joined(bob, "room:a", "1");
    alice.send(["1", "2", "room:a", "shout", { body: "hi" }]);
    const expected = [null, null, "room:a", "shout", { body: "hi" }];
    expect(await alice.next((f) => f[3] === "shout")).toEqual(expected);
    expect(await bob.next((f) => f[3] === "shout")).toEqual(expected);
    const mark = alice.frames.length;
    alice.send(["1", "3", "room:a", "shout_from", { body: "quiet" }]);
    await bob.next((f) => f[3] === "shout" && (f[4] as { body: string }).body === "quiet");
    await alice.reply("3");
    await sleep(20);
    expect(alice.frames.slice(mark).filter((f) => (f as unknown[])[3] === "shout")).toEqual([]);
  });

  it("routes intercepted events through handleOut per subscriber", async () => {
    const alice = await connect("vsn=2.0.0&user=alice");
    const mallory = await connect("vsn=2.0.0&user=mallory");
    await joined(alice, "room:a", "1");
    await joined(mallory, "room:a", "1");
    alice.send(["1", "2", "room:a", "secret", { x: 1 }]);
    expect(await alice.next((f) => f[3] === "secret")).toEqual([
      "1",
      null,
      "room:a",
      "secret",
      { x: 1, seen_by: "alice" },
    ]);
    await mallory.next((f) => f[3] === "phx_reply");
    await sleep(30);
    expect(mallory.frames.some((f) => (f as unknown[])[3] === "secret")).toBe(false);
  });

  it("writes one encoded broadcast frame to every subscriber (binary too)", async () => {
    const a = await connect("vsn=2.0.0&user=a");
    const b = await connect("vsn=2.0.0&user=b");
    await joined(a, "room:a", "1");
    await joined(b, "room:a", "1");
    a.send(["1", "2", "room:a", "binary_broadcast", {}]);
    await eventually(() => a.frames.some(Buffer.isBuffer) && b.frames.some(Buffer.isBuffer));
    const expected = [2, 6, 5, ...Buffer.from("room:abytes"), 1, 2, 3];
    expect([...(a.frames.find(Buffer.isBuffer) as Buffer)]).toEqual(expected);
    expect([...(b.frames.find(Buffer.isBuffer) as Buffer)]).toEqual(expected);
  });

  it("replies asynchronously through socketRef", async () => {
    const client = await connect();
    await joined(client, "room:a", "1");
    client.send(["1", "2", "room:a", "later", {}]);
    expect(await client.reply("2")).toEqual([
      "1",
      "2",
      "room:a",
      "phx_reply",
      { status: "ok", response: { later: true } },
    ]);
  });

  it("stops cleanly with a reply then phx_close, or crashes with phx_error", async () => {
    const client = await connect();
    await joined(client, "room:a", "1");
    client.send(["1", "2", "room:a", "stop", {}]);
    await client.next((f) => f[3] === "phx_close");
    expect(client.frames.slice(1)).toEqual([
      ["1", "2", "room:a", "phx_reply", { status: "ok", response: { bye: true } }],
      ["1", "1", "room:a", "phx_close", {}],
    ]);
    await joined(client, "room:b", "3");
    client.send(["3", "4", "room:b", "stop_crash", {}]);
    await client.next((f) => f[3] === "phx_error" && f[2] === "room:b");
  });

  it("delivers timers and extra subscriptions through handleInfo", async () => {
    const client = await connect();
    await joined(client, "room:a", "1");
    client.send(["1", "2", "room:a", "tick", {}]);
    await client.next((f) => f[3] === "tock");
    client.send(["1", "3", "room:a", "subscribe", {}]);
    await client.reply("3");
    server.endpoint.broadcast("side:news", "headline", { text: "hello" });
    expect(await client.next((f) => f[3] === "side:headline")).toEqual([
      "1",
      null,
      "room:a",
      "side:headline",
      { text: "hello" },
    ]);
  });

  it("keeps assigns per channel", async () => {
    const client = await connect();
    await joined(client, "room:a", "1");
    await joined(client, "room:b", "2");
    client.send(["1", "3", "room:a", "assign", { user: "changed" }]);
    await client.reply("3");
    client.send(["2", "4", "room:b", "whoami", {}]);
    expect((await client.reply("4"))[4]).toEqual({ status: "ok", response: { user: "alice" } });
  });
});

describe("connection lifecycle", () => {
  it("closes every connection of a socket id on a disconnect broadcast with 1001", async () => {
    const one = await connect("vsn=2.0.0&user=carol");
    const two = await connect("vsn=2.0.0&user=carol");
    const other = await connect("vsn=2.0.0&user=dave");
    server.endpoint.broadcast("users_socket:carol", "disconnect", {});
    expect((await one.closed).code).toBe(1001);
    expect((await two.closed).code).toBe(1001);
    expect(other.ws.readyState).toBe(WebSocket.OPEN);
  });

  it("tells exit listeners of every channel that goes, even when one listener throws", async () => {
    const exited: string[] = [];
    server.endpoint.onChannelExit(() => {
      throw new Error("a broken listener");
    });
    const stop = server.endpoint.onChannelExit((owner) => exited.push(owner));
    const client = await connect();
    await joined(client, "room:a", "1");
    await joined(client, "room:b", "2");
    await joined(client, "room:c", "3");
    client.send(["1", "4", "room:a", "phx_leave", {}]);
    await client.next((f) => f[3] === "phx_close" && f[2] === "room:a");
    client.send(["2", "5", "room:b", "boom", {}]);
    await client.next((f) => f[3] === "phx_error" && f[2] === "room:b");
    expect(exited).toHaveLength(2);
    client.close();
    await eventually(() => exited.length === 3);
    expect(new Set(exited).size).toBe(3);
    stop();
  });

  it("closes idle connections", async () => {
    await server.close();
    server = await startServer(socketHandler, { idleTimeoutMs: 100 });
    const client = await connect();
    expect((await client.closed).code).toBe(1001);
  });

  it("drains on close with 1012 and refuses new connections meanwhile", async () => {
    const clientsBefore = await Promise.all([connect(), connect(), connect()]);
    await joined(clientsBefore[0]!, "room:a", "1");
    const closing = server.close();
    for (const c of clientsBefore) expect((await c.closed).code).toBe(1012);
    await closing;
    expect(server.endpoint.connectionCount).toBe(0);
    expect(server.endpoint.pubsub.subscriberCount("room:a")).toBe(0);
    server = await startServer(socketHandler);
  });
});
