import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type Channel, Socket } from "../src/index.js";
import { FakeTransport, reply } from "./fake-transport.js";

let socket: Socket;

function conn(): FakeTransport {
  return FakeTransport.last;
}

function connect(): FakeTransport {
  socket.connect();
  conn().open();
  return conn();
}

function joined(topic = "topic", params: object = {}): Channel {
  const channel = socket.channel(topic, params);
  channel.join();
  reply(conn(), "phx_join");
  return channel;
}

beforeEach(() => {
  vi.useFakeTimers();
  FakeTransport.instances = [];
  socket = new Socket("ws://example.com/socket", { transport: FakeTransport, timeout: 1234 });
});
afterEach(() => vi.useRealTimers());

describe("constructor", () => {
  it("starts closed with a join push of the params", () => {
    const channel = socket.channel("topic", { one: "two" });
    expect(channel.state).toBe("closed");
    expect(channel.topic).toBe("topic");
    expect(channel.timeout).toBe(1234);
    expect(channel.joinedOnce).toBe(false);
    expect(channel.joinRef()).toBeNull();
  });

  it("evaluates closure params on every join, so rejoins carry updated params", () => {
    let counter = 1;
    const c = connect();
    const channel = socket.channel("topic", () => ({ counter }));
    channel.join();
    expect(c.framesOf("phx_join").at(-1)?.[4]).toEqual({ counter: 1 });
    counter = 2;
    c.receive([channel.joinRef(), channel.joinRef(), "topic", "phx_error", {}]);
    vi.advanceTimersByTime(1000);
    expect(c.framesOf("phx_join").at(-1)?.[4]).toEqual({ counter: 2 });
  });
});

describe("join", () => {
  it("sets joining, sends phx_join with join_ref == ref, and returns the join push", () => {
    const c = connect();
    const channel = socket.channel("topic", { p: 1 });
    const push = channel.join();
    expect(push.event).toBe("phx_join");
    expect(push.ref).toBe(channel.joinRef());
    expect(channel.state).toBe("joining");
    expect(channel.joinedOnce).toBe(true);
    const [frame] = c.framesOf("phx_join");
    expect(frame).toEqual([channel.joinRef(), channel.joinRef(), "topic", "phx_join", { p: 1 }]);
  });

  it("throws when joined twice", () => {
    const channel = socket.channel("topic");
    channel.join();
    expect(() => channel.join()).toThrow(/tried to join multiple times/);
  });

  it("overrides the timeout", () => {
    const channel = socket.channel("topic");
    const push = channel.join(42);
    expect(channel.timeout).toBe(42);
    expect(push.timeout).toBe(42);
  });

  it("leaves an open channel of the same topic first", () => {
    connect();
    const first = joined("dup");
    const closed = vi.fn();
    first.onClose(closed);
    const second = socket.channel("dup");
    second.join();
    expect(first.state).toBe("closed");
    expect(closed).toHaveBeenCalledWith("leave", undefined, expect.anything());
    expect(socket.channels).toEqual([second]);
    // The server's late phx_close for the old join carries the old join_ref: dropped.
    const oldRef = conn().framesOf("phx_join")[0]?.[0];
    const secondClosed = vi.fn();
    second.onClose(secondClosed);
    conn().receive([oldRef, oldRef, "dup", "phx_close", {}]);
    expect(secondClosed).not.toHaveBeenCalled();
    expect(second.state).toBe("joining");
  });

  it("buffers the join while offline, with its timeout already running", () => {
    const channel = socket.channel("topic");
    const timeout = vi.fn();
    channel.join().receive("timeout", timeout);
    vi.advanceTimersByTime(1000);
    // Sent on connect, yet timed from join().
    expect(connect().framesOf("phx_join")).toHaveLength(1);
    vi.advanceTimersByTime(234);
    expect(timeout).toHaveBeenCalled();
  });

  it("succeeds before the timeout when the server replies", () => {
    connect();
    const channel = socket.channel("topic");
    const ok = vi.fn();
    channel.join().receive("ok", ok);
    vi.advanceTimersByTime(1000);
    reply(conn(), "phx_join", "ok", { welcome: true });
    expect(ok).toHaveBeenCalledWith({ welcome: true });
    expect(channel.state).toBe("joined");
    vi.advanceTimersByTime(5000);
    expect(conn().framesOf("phx_leave")).toHaveLength(0);
  });
});

describe("joinPush replies", () => {
  it("on ok: joined, hooks fire (also late ones), bindings and timer cleared", () => {
    const c = connect();
    const channel = socket.channel("topic");
    const ok = vi.fn();
    const error = vi.fn();
    const join = channel.join().receive("ok", ok).receive("error", error);
    const bindingsBefore = channel.bindings.length;
    reply(c, "phx_join", "ok", { a: 1 });
    expect(channel.state).toBe("joined");
    expect(ok).toHaveBeenCalledTimes(1);
    expect(error).not.toHaveBeenCalled();
    expect(channel.bindings).toHaveLength(bindingsBefore - 1);
    const late = vi.fn();
    join.receive("ok", late);
    expect(late).toHaveBeenCalledWith({ a: 1 });
    vi.advanceTimersByTime(10_000);
    expect(channel.state).toBe("joined");
  });

  it("on ok: sends the pushes buffered before the join", () => {
    const c = connect();
    const channel = socket.channel("topic");
    channel.join();
    channel.push("one", { n: 1 });
    expect(c.framesOf("one")).toHaveLength(0);
    reply(c, "phx_join");
    expect(c.framesOf("one")).toHaveLength(1);
  });

  it("on timeout: sends a leave, errors, and rejoins with the rejoin backoff", () => {
    const c = connect();
    const channel = socket.channel("topic");
    const timeout = vi.fn();
    channel.join().receive("timeout", timeout);
    vi.advanceTimersByTime(1234);
    expect(timeout).toHaveBeenCalledTimes(1);
    expect(channel.state).toBe("errored");
    expect(channel.joinRef()).toBeNull();
    expect(c.framesOf("phx_leave")).toHaveLength(1);
    vi.advanceTimersByTime(999);
    expect(c.framesOf("phx_join")).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(c.framesOf("phx_join")).toHaveLength(2);
    expect(channel.state).toBe("joining");
    vi.advanceTimersByTime(1234 + 2000);
    expect(c.framesOf("phx_join")).toHaveLength(3);
    vi.advanceTimersByTime(1234 + 5000);
    expect(c.framesOf("phx_join")).toHaveLength(4);
    vi.advanceTimersByTime(1234 + 10000);
    expect(c.framesOf("phx_join")).toHaveLength(5);
  });

  it("on error: errored, not joined, buffered pushes kept, rejoin scheduled", () => {
    const c = connect();
    const channel = socket.channel("topic");
    const error = vi.fn();
    const join = channel.join().receive("error", error);
    channel.push("later", {});
    reply(c, "phx_join", "error", { reason: "unauthorized" });
    expect(error).toHaveBeenCalledWith({ reason: "unauthorized" });
    expect(channel.state).toBe("errored");
    expect(c.framesOf("later")).toHaveLength(0);
    const late = vi.fn();
    join.receive("error", late);
    expect(late).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(1000);
    expect(c.framesOf("phx_join")).toHaveLength(2);
  });
});

describe("onError", () => {
  it("errors the channel and rejoins, without piling up rejoins during backoff", () => {
    const c = connect();
    const channel = joined();
    const errors = vi.fn();
    channel.onError(errors);
    const ref = channel.joinRef();
    c.receive([ref, ref, "topic", "phx_error", { reason: "channel_crash" }]);
    expect(channel.state).toBe("errored");
    expect(errors).toHaveBeenCalledWith({ reason: "channel_crash" });
    c.receive([null, null, "topic", "phx_error", {}]);
    c.receive([null, null, "topic", "phx_error", {}]);
    vi.advanceTimersByTime(1000);
    expect(c.framesOf("phx_join")).toHaveLength(2);
    expect(channel.state).toBe("joining");
  });

  it("does not rejoin once left, even if the connection drops", () => {
    const c = connect();
    const channel = joined();
    const joinRef = channel.joinRef();
    const errors = vi.fn();
    channel.onError(errors);
    channel.leave();
    c.receive([joinRef, joinRef, "topic", "phx_error", {}]);
    c.serverClose(1006);
    vi.advanceTimersByTime(10);
    conn().open();
    vi.advanceTimersByTime(20_000);
    expect(errors).not.toHaveBeenCalled();
    expect(conn().framesOf("phx_join")).toHaveLength(0);
    expect(c.framesOf("phx_join")).toHaveLength(1);
  });

  it("rejoins at once when the socket reopens", () => {
    const c = connect();
    const channel = joined();
    c.serverClose(1006);
    expect(channel.state).toBe("errored");
    vi.advanceTimersByTime(10);
    conn().open();
    expect(conn().framesOf("phx_join")).toHaveLength(1);
    expect(channel.state).toBe("joining");
  });
});

describe("onClose", () => {
  it("closes without rejoining, runs callbacks and removes the channel", () => {
    const c = connect();
    const channel = joined();
    const closed = vi.fn();
    channel.onClose(closed);
    const ref = channel.joinRef();
    c.receive([ref, ref, "topic", "phx_close", {}]);
    expect(channel.state).toBe("closed");
    expect(closed).toHaveBeenCalledTimes(1);
    expect(socket.channels).not.toContain(channel);
    vi.advanceTimersByTime(20_000);
    expect(c.framesOf("phx_join")).toHaveLength(1);
  });
});

describe("message filtering", () => {
  it("drops messages of an earlier join, and delivers broadcasts", () => {
    const c = connect();
    const channel = joined();
    const old = channel.joinRef();
    c.receive([old, old, "topic", "phx_error", { reason: "channel_crash" }]);
    vi.advanceTimersByTime(1000);
    reply(c, "phx_join");
    expect(channel.joinRef()).not.toBe(old);
    const events = vi.fn();
    channel.on("evt", events);
    c.receive([old, null, "topic", "evt", { stale: true }]);
    c.receive([channel.joinRef(), null, "topic", "evt", { fresh: true }]);
    c.receive([null, null, "topic", "evt", { broadcast: true }]);
    expect(events.mock.calls.map((call) => call[0])).toEqual([
      { fresh: true },
      { broadcast: true },
    ]);
  });

  it("onMessage must return the payload and can transform it", () => {
    const channel = socket.channel("topic");
    expect(channel.onMessage("e", { a: 1 })).toEqual({ a: 1 });
    const seen = vi.fn();
    channel.on("e", seen);
    channel.onMessage = (_e, payload) => ({ wrapped: payload });
    channel.trigger("e", 1);
    expect(seen).toHaveBeenCalledWith({ wrapped: 1 }, undefined, null);
    channel.onMessage = () => undefined;
    expect(() => channel.trigger("e", { a: 1 })).toThrow(/must return the payload/);
  });
});

describe("on / off", () => {
  it("returns unique refs and removes by ref or all for the event", () => {
    const channel = socket.channel("topic");
    const a = vi.fn();
    const b = vi.fn();
    const c = vi.fn();
    const refA = channel.on("e", a);
    const refB = channel.on("e", b);
    channel.on("other", c);
    expect(refA).not.toBe(refB);
    channel.off("e", refA);
    channel.trigger("e", {});
    expect(a).not.toHaveBeenCalled();
    expect(b).toHaveBeenCalledTimes(1);
    channel.off("e");
    channel.trigger("e", {});
    channel.trigger("other", {});
    expect(b).toHaveBeenCalledTimes(1);
    expect(c).toHaveBeenCalledTimes(1);
  });

  it("does not call bindings added while dispatching the same event", () => {
    const channel = socket.channel("topic");
    const added = vi.fn();
    channel.on("e", () => channel.on("e", added));
    channel.trigger("e", {});
    expect(added).not.toHaveBeenCalled();
    channel.trigger("e", {});
    expect(added).toHaveBeenCalledTimes(1);
  });

  it("types payloads through generics", () => {
    const channel = socket.channel("topic");
    const bodies: string[] = [];
    channel.on<{ body: string }>("msg", (payload) => bodies.push(payload.body));
    channel.trigger("msg", { body: "hi" });
    expect(bodies).toEqual(["hi"]);
  });
});

describe("canPush", () => {
  it("is true only when connected and joined", () => {
    const channel = socket.channel("topic");
    expect(channel.canPush()).toBe(false);
    connect();
    channel.join();
    expect(channel.canPush()).toBe(false);
    reply(conn(), "phx_join");
    expect(channel.canPush()).toBe(true);
    conn().readyState = 3;
    expect(channel.canPush()).toBe(false);
  });
});

describe("push", () => {
  it("sends at once when joined, carrying the join_ref, and resolves replies", () => {
    const c = connect();
    const channel = joined();
    const ok = vi.fn();
    const push = channel.push<{ body: string }, { id: number }>("msg", { body: "x" });
    push.receive("ok", (res) => ok(res.id));
    const frame = c.framesOf("msg")[0];
    expect(frame).toEqual([channel.joinRef(), push.ref, "topic", "msg", { body: "x" }]);
    reply(c, "msg", "ok", { id: 7 });
    expect(ok).toHaveBeenCalledWith(7);
    vi.advanceTimersByTime(5000);
    expect(push.hasReceived("timeout")).toBe(false);
  });

  it("throws before join", () => {
    const channel = socket.channel("topic");
    expect(() => channel.push("e", {})).toThrow(/before joining/);
  });

  it("times out after the channel's or the given timeout", () => {
    connect();
    const channel = joined();
    const byDefault = vi.fn();
    const custom = vi.fn();
    channel.push("a", {}).receive("timeout", byDefault);
    channel.push("b", {}, 5000).receive("timeout", custom);
    vi.advanceTimersByTime(1234);
    expect(byDefault).toHaveBeenCalledTimes(1);
    expect(custom).not.toHaveBeenCalled();
    vi.advanceTimersByTime(5000 - 1234);
    expect(custom).toHaveBeenCalledTimes(1);
  });

  it("buffered pushes get a new ref when flushed and their timeout runs from push()", () => {
    const c = connect();
    const channel = socket.channel("topic");
    channel.join();
    const push = channel.push("msg", { n: 1 });
    const firstRef = push.ref;
    reply(c, "phx_join");
    const frame = c.framesOf("msg")[0];
    expect(frame?.[1]).toBe(push.ref);
    expect(push.ref).not.toBe(firstRef);
    expect(channel.bindings.filter((b) => b.event.startsWith("chan_reply_"))).toHaveLength(1);
  });

  it("never sends a buffered push that timed out", () => {
    const c = connect();
    const channel = socket.channel("topic");
    const joinPush = channel.join(5000);
    const timeout = vi.fn();
    channel.push("msg", {}, 100).receive("timeout", timeout);
    vi.advanceTimersByTime(100);
    expect(timeout).toHaveBeenCalled();
    joinPush.trigger("ok", {});
    expect(c.framesOf("msg")).toHaveLength(0);
  });

  it("drops messages buffered by the socket for an outdated join at flush", () => {
    const channel = socket.channel("topic");
    channel.join();
    vi.advanceTimersByTime(1234);
    // The offline join timed out: its join and its clean-up leave are both outdated.
    expect(channel.state).toBe("errored");
    const c = connect();
    const joins = c.framesOf("phx_join");
    expect(joins).toHaveLength(1);
    expect(joins[0]?.[0]).toBe(channel.joinRef());
    expect(c.framesOf("phx_leave")).toHaveLength(0);
  });

  it("sends ArrayBuffer payloads as binary frames", () => {
    const c = connect();
    const channel = joined();
    channel.push("bin", Uint8Array.of(1, 2).buffer);
    const frame = c.sent.at(-1);
    expect(frame).toBeInstanceOf(ArrayBuffer);
    expect(new Uint8Array(frame as ArrayBuffer)[0]).toBe(0);
  });
});

describe("leave", () => {
  it("sends phx_leave with the join_ref and closes locally at once", () => {
    const c = connect();
    const channel = joined();
    const joinRef = channel.joinRef();
    const closed = vi.fn();
    channel.onClose(closed);
    const ok = vi.fn();
    channel.leave().receive("ok", ok);
    const [frame] = c.framesOf("phx_leave");
    expect(frame?.[0]).toBe(joinRef);
    expect(frame?.[4]).toEqual({});
    expect(ok).toHaveBeenCalled();
    expect(closed).toHaveBeenCalledTimes(1);
    expect(channel.state).toBe("closed");
    expect(socket.channels).not.toContain(channel);
  });

  it("closes at once offline; the buffered join and leave are then both dropped", () => {
    const channel = socket.channel("topic");
    channel.join();
    channel.leave();
    expect(channel.state).toBe("closed");
    const c = connect();
    expect(c.frames()).toEqual([]);
  });

  it("still sends the leave of a channel removed while connected", () => {
    const c = connect();
    joined().leave();
    expect(c.framesOf("phx_leave")).toHaveLength(1);
  });
});
