// Tandem's client against Tandem's server over real sockets: the behaviours
// packages/server/test/phoenix-client.test.ts checks with the official phoenix client,
// and more. Timeouts and backoffs are short real ones; waits poll with a deadline.
import { defineConnectionHandler } from "@tandem/server";
import {
  eventually,
  sleep,
  socketHandler,
  startServer,
  type TestAssigns,
  type TestServer,
} from "@tandem/test-support";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import {
  type Channel,
  type IncomingMessage,
  type Push,
  Socket,
  type SocketOptions,
} from "../src/index.js";

let server: TestServer;
const sockets: Socket[] = [];

beforeEach(async () => {
  server = await startServer(socketHandler);
});

afterEach(async () => {
  for (const s of sockets.splice(0)) s.disconnect();
  await server.close();
});

function open(params: object = { user: "alice" }, opts: SocketOptions = {}): Socket {
  const s = new Socket(server.url, {
    transport: WebSocket,
    params,
    rejoinAfterMs: () => 20,
    reconnectAfterMs: () => 20,
    ...opts,
  });
  sockets.push(s);
  s.connect();
  return s;
}

/** Every message the socket decodes, in order. */
function record(s: Socket): IncomingMessage[] {
  const messages: IncomingMessage[] = [];
  s.onMessage((msg) => messages.push(msg));
  return messages;
}

type Outcome = [status: "ok" | "error" | "timeout", response: unknown];

/** The first reply a push gets, whatever its status. */
function outcome(push: Push): Promise<Outcome> {
  return new Promise((resolve) => {
    for (const status of ["ok", "error", "timeout"] as const) {
      push.receive(status, (response: unknown) => resolve([status, response]));
    }
  });
}

async function ok<T = unknown>(push: Push): Promise<T> {
  const [status, response] = await outcome(push);
  if (status !== "ok") throw new Error(`expected ok, got ${status} ${JSON.stringify(response)}`);
  return response as T;
}

async function joined(s: Socket, topic = "room:a", params: object = {}): Promise<Channel> {
  const channel = s.channel(topic, params);
  await ok(channel.join());
  return channel;
}

/** Restarts the server on the same port, which clients reconnect to. */
async function restart(): Promise<void> {
  const port = server.port;
  await server.close();
  server = await startServer(socketHandler, {}, port);
}

describe("connecting", () => {
  it("connects with params and joins with a reply", async () => {
    const s = open({ user: "alice" });
    const channel = s.channel("room:lobby");
    expect(await outcome(channel.join())).toEqual(["ok", { user: "alice" }]);
    expect(s.isConnected()).toBe(true);
    expect(channel.state).toBe("joined");
    expect(server.endpoint.connectionCount).toBe(1);
  });

  it("sends vsn 2.0.0 and nested params in the query string", async () => {
    await server.close();
    const seen: Record<string, string>[] = [];
    server = await startServer(
      defineConnectionHandler<TestAssigns>({
        ...socketHandler,
        connect(params, info) {
          seen.push(params);
          return socketHandler.connect(params, info);
        },
      }),
    );
    const s = open({ user: "bob", meta: { tab: 2 } });
    await joined(s);
    expect(seen).toEqual([{ user: "bob", "meta[tab]": "2", vsn: "2.0.0" }]);
  });

  it("is refused for a vsn the server does not speak", async () => {
    const s = open({ user: "alice" }, { vsn: "3.0.0" });
    let opened = 0;
    let errors = 0;
    s.onOpen(() => opened++);
    s.onError(() => errors++);
    await eventually(() => errors >= 2);
    expect(opened).toBe(0);
  });

  it("sees a refused connect as errors, retries with backoff and never opens", async () => {
    const s = open({ user: "refused" });
    let opened = 0;
    let errors = 0;
    s.onOpen(() => opened++);
    s.onError(() => errors++);
    await eventually(() => errors >= 3);
    expect(opened).toBe(0);
    expect(s.isConnected()).toBe(false);
    expect(server.endpoint.connectionCount).toBe(0);
  });

  it("authenticates with authToken over Sec-WebSocket-Protocol, re-evaluated on reconnect", async () => {
    let n = 0;
    const s = open({}, { authToken: () => `token-${++n}` });
    const channel = s.channel("room:a");
    expect(await outcome(channel.join())).toEqual(["ok", { user: "token-1" }]);
    expect((s.conn as WebSocket).protocol).toBe("phoenix");
    server.endpoint.broadcast("users_socket:token-1", "disconnect", {});
    await eventually(() => s.establishedConnections === 2 && channel.state === "joined");
    expect(await ok(channel.push("whoami", {}))).toEqual({ user: "token-2" });
  });

  it("answers heartbeats on a short interval without reconnecting, and ping measures them", async () => {
    const s = open({ user: "alice" }, { heartbeatIntervalMs: 20 });
    const messages = record(s);
    let closes = 0;
    s.onClose(() => closes++);
    await eventually(() => s.isConnected());
    const rtt = await new Promise<number>((resolve) => s.ping(resolve));
    expect(rtt).toBeGreaterThanOrEqual(0);
    const beats = () =>
      messages.filter((m) => m.topic === "phoenix" && m.event === "phx_reply").length;
    await eventually(() => beats() >= 6);
    expect(messages.filter((m) => m.topic === "phoenix")).toEqual(
      messages
        .filter((m) => m.topic === "phoenix")
        .map((m) => ({
          join_ref: null,
          ref: m.ref,
          topic: "phoenix",
          event: "phx_reply",
          payload: { status: "ok", response: {} },
        })),
    );
    expect(closes).toBe(0);
    expect(s.establishedConnections).toBe(1);
  });
});

describe("joining", () => {
  it("gets a refused join's payload and retries it until left", async () => {
    const s = open();
    const channel = s.channel("room:forbidden");
    const refusals: unknown[] = [];
    const push = channel.join().receive("error", (r) => refusals.push(r));
    // Retried with the rejoin backoff, as phoenix does, each time refused again.
    await eventually(() => refusals.length >= 2);
    expect(refusals[0]).toEqual({ reason: "unauthorized" });
    // A callback registered now still sees the last reply.
    const late: unknown[] = [];
    push.receive("error", (r) => late.push(r));
    expect(late).toEqual([{ reason: "unauthorized" }]);
    channel.leave();
    const count = refusals.length;
    await sleep(80);
    expect(refusals.length).toBe(count);
    expect(channel.state).toBe("closed");
  });

  it("gets 'join crashed' when the server's join throws", async () => {
    const s = open();
    const channel = s.channel("room:crash");
    expect(await outcome(channel.join())).toEqual(["error", { reason: "join crashed" }]);
    channel.leave();
  });

  it("reports unmatched topics", async () => {
    const s = open();
    const channel = s.channel("nowhere:1");
    expect(await outcome(channel.join())).toEqual(["error", { reason: "unmatched topic" }]);
    channel.leave();
  });

  it("receives what the channel pushes right after the join, after the join reply", async () => {
    const s = open();
    const channel = s.channel("room:a", { after_join: true });
    const events: string[] = [];
    channel.on("welcome", (p) => events.push(`welcome ${JSON.stringify(p)}`));
    channel.join().receive("ok", () => events.push("joined"));
    await eventually(() => events.length === 2);
    expect(events).toEqual(["joined", 'welcome {"user":"alice"}']);
  });

  it("handles a duplicate join: the first object closes, the second works, the stale phx_close is ignored", async () => {
    const s = open();
    const messages = record(s);
    const first = await joined(s, "room:dup");
    const firstRef = first.joinRef();
    const firstCloses: unknown[] = [];
    first.onClose((p) => firstCloses.push(p));

    const second = s.channel("room:dup");
    const secondCloses: unknown[] = [];
    second.onClose((p) => secondCloses.push(p));
    await ok(second.join());
    expect(first.state).toBe("closed");
    expect(firstCloses).toEqual(["leave"]);
    expect(s.channels).toEqual([second]);

    // The server closes the old incarnation after replying to the new join.
    await eventually(() =>
      messages.some((m) => m.event === "phx_close" && m.join_ref === firstRef),
    );
    expect(second.state).toBe("joined");
    expect(secondCloses).toEqual([]);
    expect(await ok(second.push("ping", { still: 1 }))).toEqual({ still: 1 });
    expect(server.endpoint.pubsub.subscriberCount("room:dup")).toBe(1);
  });

  it("drops the late reply and close of a join that timed out, and rejoins", async () => {
    const s = open();
    await eventually(() => s.isConnected());
    const messages = record(s);
    // room:slow takes 100 ms to join: the first attempt times out at 30 ms, sends a
    // phx_leave for it and rejoins, this time with a timeout long enough.
    const channel = s.channel("room:slow");
    const closes: unknown[] = [];
    channel.onClose((p) => closes.push(p));
    const statuses: string[] = [];
    const push = channel.join(30);
    const staleRef = channel.joinRef();
    push
      .receive("timeout", () => {
        statuses.push("timeout");
        channel.timeout = 2000;
      })
      .receive("ok", () => statuses.push("ok"));
    await eventually(() => channel.state === "joined");
    expect(statuses).toEqual(["timeout", "ok"]);
    expect(channel.joinRef()).not.toBe(staleRef);
    // The server did complete the first join, then left it: both came back stale.
    const stale = messages.filter((m) => m.join_ref === staleRef).map((m) => m.event);
    expect(stale).toContain("phx_close");
    expect(stale.filter((e) => e === "phx_reply")).toHaveLength(2);
    expect(closes).toEqual([]);
    expect(await ok(channel.push("ping", { n: 1 }))).toEqual({ n: 1 });
    expect(server.endpoint.pubsub.subscriberCount("room:slow")).toBe(1);
  });
});

describe("pushing", () => {
  it("pushes and receives ok and error replies", async () => {
    const channel = await joined(open());
    expect(await outcome(channel.push("ping", { n: 1 }))).toEqual(["ok", { n: 1 }]);
    expect(await outcome(channel.push("nope", {}))).toEqual(["error", { reason: "unknown" }]);
  });

  it("times out a push the server never answers, and the channel stays usable", async () => {
    const channel = await joined(open());
    const started = Date.now();
    expect(await outcome(channel.push("noreply", {}, 50))).toEqual(["timeout", {}]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(channel.state).toBe("joined");
    expect(await ok(channel.push("ping", { after: "timeout" }))).toEqual({ after: "timeout" });
  });

  it("receives asynchronous replies, and replies in the order of the pushes", async () => {
    const channel = await joined(open());
    expect(await ok(channel.push("later", {}))).toEqual({ later: true });
    const order: string[] = [];
    const slow = ok(channel.push("slow_then_ok", {})).then(() => order.push("slow"));
    const fast = ok(channel.push("ping", {})).then(() => order.push("fast"));
    await Promise.all([slow, fast]);
    expect(order).toEqual(["slow", "fast"]);
  });

  it("gets server-sent messages from timers and from extra subscriptions", async () => {
    const channel = await joined(open());
    const got: string[] = [];
    channel.on("tock", () => got.push("tock"));
    channel.on("side:news", (p) => got.push(`news ${JSON.stringify(p)}`));
    await ok(channel.push("tick", {}));
    await ok(channel.push("subscribe", {}));
    server.endpoint.broadcast("side:news", "news", { n: 1 });
    await eventually(() => got.length === 2);
    expect(got.sort()).toEqual(['news {"n":1}', "tock"]);
  });
});

describe("broadcasts", () => {
  it("delivers broadcasts to every client, the sender included", async () => {
    const a = await joined(open({ user: "a" }), "room:b");
    const b = await joined(open({ user: "b" }), "room:b");
    const got: string[] = [];
    a.on("shout", (p) => got.push(`a ${JSON.stringify(p)}`));
    b.on("shout", (p) => got.push(`b ${JSON.stringify(p)}`));
    await ok(a.push("shout", { body: "hello" }));
    await eventually(() => got.length === 2);
    expect(got.sort()).toEqual(['a {"body":"hello"}', 'b {"body":"hello"}']);
  });

  it("broadcastFrom does not echo to the sender", async () => {
    const a = await joined(open({ user: "a" }), "room:b");
    const b = await joined(open({ user: "b" }), "room:b");
    const atA: unknown[] = [];
    const atB: unknown[] = [];
    a.on("shout", (p) => atA.push(p));
    b.on("shout", (p) => atB.push(p));
    await ok(a.push("shout_from", { body: "quiet" }));
    await eventually(() => atB.length === 1);
    // A broadcast to a would have been written before this reply.
    await ok(a.push("ping", {}));
    await sleep(30);
    expect(atB).toEqual([{ body: "quiet" }]);
    expect(atA).toEqual([]);
  });

  it("runs intercepted broadcasts through handleOut per subscriber", async () => {
    const a = await joined(open({ user: "a" }), "room:b");
    const m = await joined(open({ user: "mallory" }), "room:b");
    const atA: unknown[] = [];
    const atM: unknown[] = [];
    a.on("secret", (p) => atA.push(p));
    m.on("secret", (p) => atM.push(p));
    await ok(m.push("secret", { code: 7 }));
    await eventually(() => atA.length === 1);
    await ok(m.push("ping", {}));
    expect(atA).toEqual([{ code: 7, seen_by: "a" }]);
    expect(atM).toEqual([]);
  });
});

describe("binary", () => {
  it("pushes, gets replies and broadcasts as ArrayBuffer", async () => {
    // A non-ASCII topic checks the UTF-8 length prefixes of binary frames.
    const a = await joined(open({ user: "a" }), "room:café");
    const b = await joined(open({ user: "b" }), "room:café");
    const reply = await ok<ArrayBuffer>(a.push("echo_binary", Uint8Array.of(5, 6, 255).buffer));
    expect(reply).toBeInstanceOf(ArrayBuffer);
    expect([...new Uint8Array(reply)]).toEqual([5, 6, 255]);
    expect(await outcome(a.push("echo_binary", { not: "bytes" }))).toEqual([
      "error",
      { reason: "want bytes" },
    ]);

    const got: [string, ArrayBuffer][] = [];
    a.on<ArrayBuffer>("bytes", (p) => got.push(["a", p]));
    b.on<ArrayBuffer>("bytes", (p) => got.push(["b", p]));
    a.push("binary_broadcast", {});
    await eventually(() => got.length === 2);
    for (const [, payload] of got) {
      expect(payload).toBeInstanceOf(ArrayBuffer);
      expect([...new Uint8Array(payload)]).toEqual([1, 2, 3]);
    }
  });
});

describe("leaving and closing", () => {
  it("leaves: the channel closes at once and the server unsubscribes it", async () => {
    const s = open();
    const channel = await joined(s, "room:leave");
    expect(server.endpoint.pubsub.subscriberCount("room:leave")).toBe(1);
    const closes: unknown[] = [];
    channel.onClose((p) => closes.push(p));
    channel.leave();
    expect(closes).toEqual(["leave"]);
    expect(channel.state).toBe("closed");
    expect(s.channels).toEqual([]);
    await eventually(() => server.endpoint.pubsub.subscriberCount("room:leave") === 0);
    // The topic can be joined again with a new object.
    expect(await outcome(s.channel("room:leave").join())).toEqual(["ok", { user: "alice" }]);
  });

  it("closes without rejoining when the server stops the channel", async () => {
    const s = open();
    const channel = await joined(s);
    const closes: unknown[] = [];
    channel.onClose((p) => closes.push(p));
    expect(await ok(channel.push("stop", {}))).toEqual({ bye: true });
    await eventually(() => channel.state === "closed");
    expect(closes).toEqual([{}]);
    await sleep(80);
    expect(channel.state).toBe("closed");
    expect(s.channels).toEqual([]);
    expect(server.endpoint.pubsub.subscriberCount("room:a")).toBe(0);
  });

  it("disconnect() closes the connection for good; connect() rejoins", async () => {
    const s = open();
    const channel = await joined(s);
    const firstRef = channel.joinRef();
    await new Promise<void>((resolve) => s.disconnect(resolve));
    await eventually(() => server.endpoint.connectionCount === 0);
    expect(channel.state).toBe("errored");
    await sleep(80);
    expect(server.endpoint.connectionCount).toBe(0);
    s.connect();
    await eventually(() => channel.state === "joined");
    expect(channel.joinRef()).not.toBe(firstRef);
    expect(await ok(channel.push("ping", { back: 1 }))).toEqual({ back: 1 });
  });
});

describe("errors and recovery", () => {
  for (const event of ["boom", "reject", "stop_crash"]) {
    it(`rejoins with a new join_ref after phx_error (${event}), sending pushes made meanwhile`, async () => {
      const s = open();
      const messages = record(s);
      const channel = await joined(s);
      const firstRef = channel.joinRef();
      const errors: unknown[] = [];
      let buffered: Promise<Outcome> | undefined;
      channel.onError((reason) => {
        errors.push(reason);
        // Errored now: this push waits for the rejoin.
        buffered ??= outcome(channel.push("ping", { buffered: true }));
      });
      // Its reply would come 20 ms later, from the incarnation that is about to crash.
      const late = outcome(channel.push("later", {}, 300));
      channel.push(event, {});
      await eventually(() => errors.length === 1);
      expect(errors).toEqual([{ reason: "channel_crash" }]);
      expect(await buffered).toEqual(["ok", { buffered: true }]);
      expect(channel.state).toBe("joined");
      const secondRef = channel.joinRef();
      expect(secondRef).not.toBe(firstRef);
      const reply = messages.find(
        (m) => m.event === "phx_reply" && JSON.stringify(m.payload).includes('"buffered"'),
      );
      expect(reply?.join_ref).toBe(secondRef);
      expect(await late).toEqual(["timeout", {}]);
      expect(errors).toHaveLength(1);
    });
  }

  it("reconnects and rejoins after a graceful server close (1012) and a restart on the same port", async () => {
    const s = open();
    const codes: number[] = [];
    s.onClose((e) => codes.push(e.code ?? 0));
    const channel = s.channel("room:a");
    let joins = 0;
    channel.join().receive("ok", () => joins++);
    await eventually(() => joins === 1);
    const firstRef = channel.joinRef();
    await restart();
    expect(codes[0]).toBe(1012);
    await eventually(() => joins === 2 && channel.state === "joined", 5000);
    expect(channel.joinRef()).not.toBe(firstRef);
    expect(await ok(channel.push("ping", { back: true }))).toEqual({ back: true });
  });

  it("buffers pushes made while disconnected and delivers them after reconnect and rejoin", async () => {
    const s = open();
    const channel = await joined(s);
    const port = server.port;
    await server.close();
    await eventually(() => !s.isConnected() && channel.state === "errored");
    const first = outcome(channel.push("ping", { offline: 1 }));
    const second = outcome(channel.push("ping", { offline: 2 }));
    await sleep(60);
    server = await startServer(socketHandler, {}, port);
    expect(await first).toEqual(["ok", { offline: 1 }]);
    expect(await second).toEqual(["ok", { offline: 2 }]);
  });

  it("does not rejoin a channel left while offline, and keeps the others", async () => {
    const s = open();
    const kept = await joined(s, "room:kept");
    const left = await joined(s, "room:left");
    const port = server.port;
    await server.close();
    await eventually(() => !s.isConnected());
    left.leave();
    expect(left.state).toBe("closed");
    server = await startServer(socketHandler, {}, port);
    await eventually(() => kept.state === "joined");
    expect(await ok(kept.push("ping", {}))).toEqual({});
    expect(server.endpoint.pubsub.subscriberCount("room:kept")).toBe(1);
    expect(server.endpoint.pubsub.subscriberCount("room:left")).toBe(0);
    expect(s.channels).toEqual([kept]);
  });

  it("reconnects and rejoins after a server-forced disconnect (1001)", async () => {
    const s = open();
    const codes: number[] = [];
    s.onClose((e) => codes.push(e.code ?? 0));
    const channel = await joined(s);
    const firstRef = channel.joinRef();
    server.endpoint.broadcast("users_socket:alice", "disconnect", {});
    await eventually(() => codes.length === 1);
    expect(codes).toEqual([1001]);
    await eventually(() => s.establishedConnections === 2 && channel.state === "joined");
    expect(channel.joinRef()).not.toBe(firstRef);
    expect(await ok(channel.push("ping", { again: 1 }))).toEqual({ again: 1 });
    expect(server.endpoint.connectionCount).toBe(1);
  });

  it("keeps an idle-timeout server happy with heartbeats, and reconnects when it is not", async () => {
    await server.close();
    server = await startServer(socketHandler, { idleTimeoutMs: 150 });
    const lively = open({ user: "lively" }, { heartbeatIntervalMs: 30 });
    const sleepy = open({ user: "sleepy" });
    const sleepyCodes: number[] = [];
    sleepy.onClose((e) => sleepyCodes.push(e.code ?? 0));
    const a = await joined(lively);
    const b = await joined(sleepy);
    await eventually(() => sleepyCodes.length >= 1 && b.state === "joined");
    expect(sleepyCodes[0]).toBe(1001);
    expect(lively.establishedConnections).toBe(1);
    expect(await ok(a.push("ping", { alive: 1 }))).toEqual({ alive: 1 });
    expect(await ok(b.push("ping", { back: 1 }))).toEqual({ back: 1 });
  });
});

describe("joins and params", () => {
  it("joins before the socket is connected once it connects", async () => {
    const s = new Socket(server.url, { transport: WebSocket, params: { user: "early" } });
    sockets.push(s);
    const channel = s.channel("room:a");
    const reply = outcome(channel.join());
    s.connect();
    expect(await reply).toEqual(["ok", { user: "early" }]);
  });

  it("re-evaluates join params on every rejoin", async () => {
    const s = open();
    let joins = 0;
    const channel = s.channel("room:a", () => ({ after_join: joins > 0 }));
    const welcomes: unknown[] = [];
    channel.on("welcome", (p) => welcomes.push(p));
    channel.join().receive("ok", () => joins++);
    await eventually(() => joins === 1);
    channel.push("boom", {});
    await eventually(() => joins === 2 && welcomes.length === 1);
    expect(welcomes).toEqual([{ user: "alice" }]);
  });

  it("is refused joins beyond the server's channel limit", async () => {
    await server.close();
    server = await startServer(socketHandler, { maxChannelsPerConnection: 2 });
    const s = open();
    await joined(s, "room:1");
    await joined(s, "room:2");
    const third = s.channel("room:3");
    expect(await outcome(third.join())).toEqual(["error", { reason: "too many channels joined" }]);
    third.leave();
  });
});
