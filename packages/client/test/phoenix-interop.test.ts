// Opt-in: drives @tandem/client against a real Phoenix server, over WebSocket and
// long-poll, and the official phoenix client through the same steps as a control (if it
// fails too, the server or the test is wrong, not our client). Runs only when
// PHOENIX_URL is set, e.g. PHOENIX_URL=ws://127.0.0.1:46400.
//
// The server is a Phoenix app outside this repository; packages/client/README.md
// ("Verified against Phoenix") says which versions passed. Its contract:
// - `/socket`: websocket and longpoll; `/lponly`: longpoll only (upgrades get a 404).
// - connect/3 accepts only `token=s3cret`; `user` (default "anon") names the user and the
//   socket id `user_socket:<user>`.
// - channel `room:*`: joining `room:forbidden` is refused with `{reason: "forbidden"}`;
//   any other join replies `{topic, user, params, connect_params, transport}` (transport
//   "websocket" or "longpoll"), then tracks the user in Phoenix.Presence with meta
//   `{status: params.status ?? "here"}` and pushes `presence_state`.
// - events: `ping` replies ok with its payload (binary too); `bytes` (binary) replies
//   `{bytes: [...]}`; `fail` replies error `{reason: "failed"}`; `shout` broadcasts its
//   payload plus `from: <user>`; `status` `{status}` updates the user's presence meta and
//   replies ok; `drop` disconnects every socket of the user (a "disconnect" broadcast on
//   the socket id); `crash` raises in the channel process.
// - Phoenix's long-poll defaults: a 10 s poll window, a 2 s PubSub timeout.

import { eventually } from "@tandem/test-support";
import {
  LongPoll as PhoenixLongPoll,
  Presence as PhoenixPresence,
  Socket as PhoenixSocket,
} from "phoenix";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import {
  type Channel,
  LongPoll,
  Presence,
  type Push,
  Socket,
  type SocketOptions,
  type TransportCloseEvent,
  type TransportConstructor,
} from "../src/index.js";

const PHOENIX_URL = process.env.PHOENIX_URL;
const TOKEN = "s3cret";

/** A client library under test: ours, or phoenix's through the same (compatible) API. */
interface Client {
  name: string;
  Socket: typeof Socket;
  LongPoll: TransportConstructor;
  Presence: typeof Presence;
}

const clients: Client[] = [
  { name: "@tandem/client", Socket, LongPoll, Presence },
  {
    name: "phoenix 1.8.16 (control)",
    Socket: PhoenixSocket as unknown as typeof Socket,
    LongPoll: PhoenixLongPoll as unknown as TransportConstructor,
    Presence: PhoenixPresence as unknown as typeof Presence,
  },
];

const sockets: Socket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.disconnect();
});

let unique = 0;
/** A name no other test (or earlier run against the same server) uses. */
const fresh = (prefix: string): string => `${prefix}-${Date.now().toString(36)}-${unique++}`;

function reply<T = unknown>(push: Push, status = "ok"): Promise<T> {
  return new Promise((resolve, reject) => {
    for (const s of ["ok", "error", "timeout"]) {
      push.receive(s, (r: unknown) =>
        s === status ? resolve(r as T) : reject(new Error(`got ${s} ${JSON.stringify(r)}`)),
      );
    }
  });
}

/** Who is in `presence`, as "user:status" per meta, sorted. */
function who(presence: Presence): string[] {
  return presence
    .list((key, { metas }) => metas.map((meta) => `${key}:${String(meta.status)}`).join(","))
    .sort();
}

const transports = [
  { name: "WebSocket", phoenixName: "websocket" },
  { name: "LongPoll", phoenixName: "longpoll" },
] as const;

describe.skipIf(!PHOENIX_URL).each(clients)("$name against Phoenix", (client) => {
  function open(
    path: string,
    params: SocketOptions["params"],
    transport: TransportConstructor,
    opts: SocketOptions = {},
  ): Socket {
    const s = new client.Socket(`${PHOENIX_URL}${path}`, {
      transport,
      params,
      rejoinAfterMs: () => 50,
      reconnectAfterMs: () => 50,
      ...opts,
    });
    sockets.push(s);
    s.connect();
    return s;
  }

  describe.each(transports)("over $name", ({ name, phoenixName }) => {
    const transport = name === "WebSocket" ? (WebSocket as TransportConstructor) : client.LongPoll;
    const connect = (user: string, opts: SocketOptions = {}) =>
      open("/socket", { token: TOKEN, user }, transport, opts);

    it("connects with params and joins with the server's reply", async () => {
      const user = fresh("ada");
      const topic = fresh("room:join");
      const socket = connect(user);
      const channel = socket.channel(topic, { status: "typing", n: 1 });
      expect(await reply(channel.join())).toEqual({
        topic,
        user,
        params: { status: "typing", n: 1 },
        connect_params: expect.objectContaining({ token: TOKEN, user, vsn: "2.0.0" }),
        transport: phoenixName,
      });
      expect(channel.state).toBe("joined");
      expect(socket.conn).toBeInstanceOf(transport);
    });

    it("is refused by connect/3 without the right token and never opens", async () => {
      const errors: unknown[] = [];
      const socket = open("/socket", { token: "wrong", user: "x" }, transport, {
        reconnectAfterMs: () => 60_000,
      });
      socket.onError((error) => errors.push(error));
      await eventually(() => errors.length > 0, 5000, "a connection error");
      expect(socket.isConnected()).toBe(false);
      expect(socket.establishedConnections ?? 0).toBe(0);
    });

    it("reconnects with fresh params after connect/3 refused the first ones", async () => {
      const user = fresh("ray");
      let connects = 0;
      const socket = open(
        "/socket",
        () => ({ token: connects++ === 0 ? "expired" : TOKEN, user }),
        transport,
      );
      const channel = socket.channel(fresh("room:refresh"));
      expect(await reply(channel.join())).toMatchObject({ user, transport: phoenixName });
      expect(connects).toBeGreaterThanOrEqual(2);
    });

    it("gets the error reply of a refused join", async () => {
      const channel = connect(fresh("bea")).channel("room:forbidden");
      expect(await reply(channel.join(), "error")).toEqual({ reason: "forbidden" });
      channel.leave();
    });

    it("gets ok and error replies to pushes, JSON and binary", async () => {
      const channel = connect(fresh("cy")).channel(fresh("room:push"));
      await reply(channel.join());
      const payload = { n: 1, text: "héllo ✓", nested: { list: [1, null, true] } };
      expect(await reply(channel.push("ping", payload))).toEqual(payload);
      expect(await reply(channel.push("fail", {}), "error")).toEqual({ reason: "failed" });
      const bytes = Uint8Array.of(0, 1, 127, 128, 255).buffer;
      expect(await reply(channel.push("bytes", bytes))).toEqual({ bytes: [0, 1, 127, 128, 255] });
      // Phoenix 1.7's long-poll cannot send binary frames, so binary replies only here.
      if (name === "WebSocket") {
        const echoed = await reply<ArrayBuffer>(channel.push("ping", bytes));
        expect([...new Uint8Array(echoed)]).toEqual([0, 1, 127, 128, 255]);
      }
      expect(await reply(channel.push("ping", { after: "binary" }))).toEqual({ after: "binary" });
    });

    it("gets every reply to a burst of 250 pushes", async () => {
      const channel = connect(fresh("bo")).channel(fresh("room:burst"));
      await reply(channel.join());
      // Over long-poll these go out in POSTs of at most 100 lines, Phoenix's limit.
      const replies = await Promise.all(
        Array.from({ length: 250 }, (_, n) => reply(channel.push("ping", { n }))),
      );
      expect(replies).toEqual(Array.from({ length: 250 }, (_, n) => ({ n })));
    });

    it("receives broadcasts, its own and a WebSocket client's", async () => {
      const topic = fresh("room:shout");
      const ann = fresh("ann");
      const bob = fresh("bob");
      const a = connect(ann).channel(topic);
      const b = open("/socket", { token: TOKEN, user: bob }, WebSocket).channel(topic);
      await reply(a.join());
      await reply(b.join());
      const atA: unknown[] = [];
      const atB: unknown[] = [];
      a.on("shout", (msg) => atA.push(msg));
      b.on("shout", (msg) => atB.push(msg));
      a.push("shout", { body: "hi" });
      await eventually(() => atA.length === 1 && atB.length === 1, 5000, "the first shout");
      b.push("shout", { body: "back" });
      await eventually(() => atA.length === 2 && atB.length === 2, 5000, "the second shout");
      expect(atA).toEqual([
        { body: "hi", from: ann },
        { body: "back", from: bob },
      ]);
      expect(atB).toEqual(atA);
    });

    it("keeps Presence in sync from presence_state and presence_diff", async () => {
      const topic = fresh("room:presence");
      const ann = fresh("ann");
      const bob = fresh("bob");
      const aChannel = connect(ann).channel(topic);
      const presence = new client.Presence(aChannel);
      const joins: string[] = [];
      const leaves: string[] = [];
      presence.onJoin((key, current) => {
        if (!current) joins.push(key);
      });
      presence.onLeave((key, current) => {
        if (current.metas.length === 0) leaves.push(key);
      });
      await reply(aChannel.join());
      await eventually(() => who(presence).join() === `${ann}:here`, 5000, "ann alone");

      const bChannel = connect(bob).channel(topic, { status: "typing" });
      await reply(bChannel.join());
      await eventually(
        () => who(presence).join() === `${ann}:here,${bob}:typing`,
        5000,
        "bob typing",
      );

      await reply(bChannel.push("status", { status: "away" }));
      await eventually(() => who(presence).join() === `${ann}:here,${bob}:away`, 5000, "bob away");

      // A leave, not a disconnect: Phoenix sees a long-poll client gone only once its
      // session times out (15 to 30 s), as with the phoenix client.
      await reply(bChannel.leave());
      await eventually(() => who(presence).join() === `${ann}:here`, 5000, "bob gone");
      expect(joins).toEqual([ann, bob]);
      expect(leaves).toEqual([bob]);
    });

    it("shows two connections of one user as one presence with two metas", async () => {
      const topic = fresh("room:tabs");
      const ann = fresh("ann");
      const watcher = connect(fresh("wat")).channel(topic);
      const presence = new client.Presence(watcher);
      await reply(watcher.join());
      const tab1 = connect(ann).channel(topic, { status: "tab1" });
      const tab2 = connect(ann).channel(topic, { status: "tab2" });
      await reply(tab1.join());
      await reply(tab2.join());
      const metas = () => presence.list((key, entry) => (key === ann ? entry.metas : [])).flat();
      await eventually(() => metas().length === 2, 5000, "both tabs");
      expect(
        metas()
          .map((meta) => meta.status)
          .sort(),
      ).toEqual(["tab1", "tab2"]);
      await reply(tab1.leave());
      await eventually(() => metas().length === 1, 5000, "one tab left");
      expect(metas()[0]?.status).toBe("tab2");
    });

    it("reconnects and rejoins after the server drops the connection", async () => {
      const user = fresh("dee");
      const socket = connect(user);
      const channel = socket.channel(fresh("room:drop"));
      const presence = new client.Presence(channel);
      let joined = 0;
      channel.join().receive("ok", () => joined++);
      await eventually(() => joined === 1, 5000, "the first join");
      const closes: TransportCloseEvent[] = [];
      let opens = 0;
      socket.onClose((event) => closes.push(event));
      socket.onOpen(() => opens++);
      channel.push("drop", {});
      // Over long-poll Phoenix notices only at the next poll: up to its 10 s window.
      await eventually(() => closes.length > 0, 20_000, "the drop");
      await eventually(() => opens === 1 && joined === 2, 20_000, "the rejoin");
      expect(channel.state).toBe("joined");
      expect(await reply(channel.push("ping", { again: true }))).toEqual({ again: true });
      await eventually(() => who(presence).join() === `${user}:here`, 5000, "one presence");
    }, 45_000);

    it("reconnects after a drop whose session the next poll finds gone", async () => {
      // With the secret in `key`, a poll on the dead session is answered 410 with a new
      // token (over WebSocket: the same drop as above).
      const user = fresh("kay");
      const socket = open("/socket", { key: TOKEN, user }, transport);
      const channel = socket.channel(fresh("room:gone"));
      let joined = 0;
      channel.join().receive("ok", () => joined++);
      await eventually(() => joined === 1, 5000, "the first join");
      const closes: TransportCloseEvent[] = [];
      socket.onClose((event) => closes.push(event));
      channel.push("drop", {});
      await eventually(() => joined === 2, 30_000, "the rejoin");
      if (name === "LongPoll") expect(closes[0]).toMatchObject({ code: 3410 });
      expect(await reply(channel.push("ping", { n: 3 }))).toEqual({ n: 3 });
    }, 45_000);

    it("rejoins a channel whose server process crashed", async () => {
      const socket = connect(fresh("eve"));
      const channel = socket.channel(fresh("room:crash"));
      let joined = 0;
      let errored = 0;
      channel.join().receive("ok", () => joined++);
      channel.onError(() => errored++);
      await eventually(() => joined === 1, 5000, "the first join");
      channel.push("crash", {});
      await eventually(() => errored === 1 && joined === 2, 10_000, "the rejoin");
      expect(socket.isConnected()).toBe(true);
      expect(await reply(channel.push("ping", { n: 2 }))).toEqual({ n: 2 });
    });

    it("does not rejoin a channel the server stopped normally (phx_close)", async () => {
      const socket = connect(fresh("ned"));
      const channel = socket.channel(fresh("room:stop"));
      let joined = 0;
      let closed = 0;
      channel.join().receive("ok", () => joined++);
      channel.onClose(() => closed++);
      await eventually(() => joined === 1, 5000, "the join");
      channel.push("stop", {});
      await eventually(() => closed === 1, 5000, "phx_close");
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(channel.state).toBe("closed");
      expect(joined).toBe(1);
    });

    it("buffers pushes made before the join completes and sends them after it", async () => {
      const channel = connect(fresh("pat")).channel(fresh("room:early"));
      channel.join();
      const early = [reply(channel.push("ping", { n: 1 })), reply(channel.push("ping", { n: 2 }))];
      expect(await Promise.all(early)).toEqual([{ n: 1 }, { n: 2 }]);
    });

    it("carries a 200 kB payload both ways", async () => {
      const channel = connect(fresh("big")).channel(fresh("room:big"));
      await reply(channel.join());
      const text = "x".repeat(200_000);
      expect(await reply(channel.push("ping", { text }))).toEqual({ text });
    });

    it("closes the older channel when the same topic is joined again on the socket", async () => {
      const socket = connect(fresh("dup"));
      const topic = fresh("room:dup");
      const first = socket.channel(topic);
      await reply(first.join());
      const second = socket.channel(topic);
      await reply(second.join());
      expect(first.state).toBe("closed");
      expect(second.state).toBe("joined");
      const shouts: unknown[] = [];
      first.on("shout", (msg) => shouts.push(["first", msg]));
      second.on("shout", (msg) => shouts.push(["second", msg]));
      expect(await reply(second.push("ping", { n: 1 }))).toEqual({ n: 1 });
      second.push("shout", { body: "once" });
      await eventually(() => shouts.length > 0, 5000, "the shout");
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(shouts).toEqual([["second", { body: "once", from: expect.any(String) }]]);
    });

    it.runIf(name === "WebSocket")("receives binary pushes, broadcasts and replies", async () => {
      const channel = connect(fresh("bin")).channel(fresh("room:bin"));
      await reply(channel.join());
      const got: [string, number[]][] = [];
      for (const event of ["bytes_pushed", "bytes_broadcast"]) {
        channel.on(event, (payload) =>
          got.push([event, [...new Uint8Array(payload as ArrayBuffer)]]),
        );
      }
      const echoed = await reply<ArrayBuffer>(
        channel.push("bytes_back", Uint8Array.of(9, 0, 200).buffer),
      );
      expect([...new Uint8Array(echoed)]).toEqual([9, 0, 200]);
      await eventually(() => got.length === 2, 5000, "the push and the broadcast");
      expect(got.sort()).toEqual([
        ["bytes_broadcast", [9, 0, 200]],
        ["bytes_pushed", [9, 0, 200]],
      ]);
    });

    it.runIf(name === "WebSocket")("gets its heartbeats answered", async () => {
      const socket = connect(fresh("fay"), { heartbeatIntervalMs: 100 });
      const closes: TransportCloseEvent[] = [];
      let heartbeatReplies = 0;
      socket.onClose((event) => closes.push(event));
      socket.onMessage((msg) => {
        if (msg.topic === "phoenix" && msg.event === "phx_reply") heartbeatReplies++;
      });
      await eventually(() => heartbeatReplies >= 5, 5000, "five heartbeat replies");
      expect(closes).toEqual([]);
      expect(socket.isConnected()).toBe(true);
    });
  });

  describe("longPollFallbackMs", () => {
    function memoryStorage() {
      const items = new Map<string, string>();
      return {
        items,
        getItem: (key: string) => items.get(key) ?? null,
        setItem: (key: string, value: string) => void items.set(key, value),
      };
    }

    it("falls back to long-poll on an endpoint without WebSocket, and remembers it", async () => {
      const storage = memoryStorage();
      const user = fresh("gus");
      const socket = open("/lponly", { token: TOKEN, user }, WebSocket, {
        longPollFallbackMs: 2500,
        sessionStorage: storage,
      });
      const channel = socket.channel(fresh("room:fallback"));
      expect(await reply(channel.join())).toMatchObject({ user, transport: "longpoll" });
      expect(socket.conn).toBeInstanceOf(client.LongPoll);
      expect(storage.items.get("phx:fallback:LongPoll")).toBe("true");
      expect(await reply(channel.push("ping", { via: "fallback" }))).toEqual({ via: "fallback" });
    });

    it("stays on WebSocket where Phoenix offers it", async () => {
      const storage = memoryStorage();
      const socket = open("/socket", { token: TOKEN, user: fresh("hal") }, WebSocket, {
        longPollFallbackMs: 2500,
        sessionStorage: storage,
      });
      const channel: Channel = socket.channel(fresh("room:nofallback"));
      expect(await reply(channel.join())).toMatchObject({ transport: "websocket" });
      // Past the threshold: the health-check ping came back, nothing fell back.
      await new Promise((resolve) => setTimeout(resolve, 2800));
      expect(socket.conn).toBeInstanceOf(WebSocket);
      expect(storage.items.size).toBe(0);
    });
  });
});
