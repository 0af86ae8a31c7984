import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LongPoll, Socket, type SocketOptions } from "../src/index.js";
import { nextRef } from "../src/socket.js";
import { FakeTransport, reply } from "./fake-transport.js";

const URL = "ws://example.com/socket";

function makeSocket(opts: SocketOptions = {}): Socket {
  return new Socket(URL, { transport: FakeTransport, ...opts });
}

function connected(opts: SocketOptions = {}): { socket: Socket; conn: FakeTransport } {
  const socket = makeSocket(opts);
  socket.connect();
  const conn = FakeTransport.last;
  conn.open();
  return { socket, conn };
}

beforeEach(() => {
  vi.useFakeTimers();
  FakeTransport.instances = [];
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe("constructor", () => {
  it("sets phoenix's defaults", () => {
    const socket = makeSocket();
    expect(socket.channels).toEqual([]);
    expect(socket.makeRef()).toBe("1");
    expect(socket.endPoint).toBe(`${URL}/websocket`);
    expect(socket.endPointURL()).toBe(`${URL}/websocket?vsn=2.0.0`);
    expect(socket.timeout).toBe(10000);
    expect(socket.heartbeatIntervalMs).toBe(30000);
    expect(socket.binaryType).toBe("arraybuffer");
    expect(socket.vsn).toBe("2.0.0");
    expect(socket.hasLogger()).toBe(false);
    expect(socket.reconnectAfterMs(1)).toBe(10);
    expect(socket.reconnectAfterMs(10)).toBe(5000);
    expect(socket.rejoinAfterMs(1)).toBe(1000);
    expect(socket.rejoinAfterMs(4)).toBe(10000);
  });

  it("takes overrides and closure params", () => {
    const logger = vi.fn();
    const socket = makeSocket({
      timeout: 40000,
      heartbeatIntervalMs: 60000,
      logger,
      params: () => ({ one: "two" }),
      reconnectAfterMs: () => 7,
      rejoinAfterMs: () => 8,
      binaryType: "blob",
      vsn: "2.1.0",
    });
    expect(socket.timeout).toBe(40000);
    expect(socket.heartbeatIntervalMs).toBe(60000);
    expect(socket.endPointURL()).toBe(`${URL}/websocket?one=two&vsn=2.1.0`);
    expect(socket.reconnectAfterMs(1)).toBe(7);
    expect(socket.rejoinAfterMs(1)).toBe(8);
    expect(socket.hasLogger()).toBe(true);
    socket.log("kind", "msg", 1);
    expect(logger).toHaveBeenCalledWith("kind", "msg", 1);
  });

  it("applies reconnectJitter to the reconnect schedule only when asked", () => {
    vi.spyOn(Math, "random").mockReturnValue(0.5);
    expect(makeSocket({ reconnectJitter: 0.5 }).reconnectAfterMs(10)).toBe(3750);
    expect(makeSocket().reconnectAfterMs(10)).toBe(5000);
  });

  it("uses the global WebSocket by default", () => {
    vi.stubGlobal("WebSocket", FakeTransport);
    new Socket(URL).connect();
    expect(FakeTransport.instances).toHaveLength(1);
  });

  it("uses long-poll without a transport or global WebSocket, as phoenix", () => {
    vi.stubGlobal("WebSocket", undefined);
    const socket = new Socket(URL);
    socket.connect();
    expect(socket.conn).toBeInstanceOf(LongPoll);
    // Before its first poll, which runs in a later task.
    socket.disconnect();
  });
});

describe("endPointURL", () => {
  it("appends params and vsn", () => {
    expect(makeSocket().endPointURL()).toBe(`${URL}/websocket?vsn=2.0.0`);
    const socket = makeSocket({ params: { foo: "bar" } });
    expect(socket.endPointURL()).toBe(`${URL}/websocket?foo=bar&vsn=2.0.0`);
  });

  it("encodes nested params as bracketed keys, and values", () => {
    const socket = makeSocket({ params: { user: { id: 1, name: "a b" }, tags: ["x"], n: null } });
    expect(socket.endPointURL()).toBe(
      `${URL}/websocket?user%5Bid%5D=1&user%5Bname%5D=a%20b&tags%5B0%5D=x&vsn=2.0.0`,
    );
  });

  it("re-evaluates closure params on every call", () => {
    let token = "a";
    const socket = makeSocket({ params: () => ({ token }) });
    expect(socket.endPointURL()).toContain("token=a");
    token = "b";
    expect(socket.endPointURL()).toContain("token=b");
  });

  it("resolves relative endpoints against the page", () => {
    vi.stubGlobal("location", { protocol: "https:", host: "example.org" });
    expect(new Socket("/socket", { transport: FakeTransport }).endPointURL()).toBe(
      "wss://example.org/socket/websocket?vsn=2.0.0",
    );
    expect(new Socket("//other.org/socket", { transport: FakeTransport }).endPointURL()).toBe(
      "wss://other.org/socket/websocket?vsn=2.0.0",
    );
    vi.stubGlobal("location", { protocol: "http:", host: "example.org" });
    expect(new Socket("/socket", { transport: FakeTransport }).protocol()).toBe("ws");
  });
});

describe("connect", () => {
  it("creates the transport with the endpoint URL and binary type", () => {
    const socket = makeSocket({ params: { token: "t" } });
    socket.connect();
    expect(FakeTransport.last.url).toBe(`${URL}/websocket?token=t&vsn=2.0.0`);
    expect(FakeTransport.last.binaryType).toBe("arraybuffer");
    expect(FakeTransport.last.protocols).toBeUndefined();
  });

  it("is a no-op while a connection exists", () => {
    const socket = makeSocket();
    socket.connect();
    socket.connect();
    expect(FakeTransport.instances).toHaveLength(1);
  });

  it("sends the auth token as a subprotocol, re-evaluating a function per connect", () => {
    let token = "1234";
    const socket = makeSocket({ authToken: () => token });
    socket.connect();
    expect(FakeTransport.last.protocols).toEqual(["phoenix", "base64url.bearer.phx.MTIzNA"]);
    socket.disconnect();
    vi.runAllTimers();
    token = "abcde";
    socket.connect();
    expect(FakeTransport.last.protocols).toEqual(["phoenix", "base64url.bearer.phx.YWJjZGU"]);
    makeSocket({ authToken: "1234" }).connect();
    expect(FakeTransport.last.protocols).toEqual(["phoenix", "base64url.bearer.phx.MTIzNA"]);
  });

  it("reports connectionState and isConnected from readyState", () => {
    const socket = makeSocket();
    expect(socket.connectionState()).toBe("closed");
    socket.connect();
    expect(socket.connectionState()).toBe("connecting");
    FakeTransport.last.open();
    expect(socket.connectionState()).toBe("open");
    expect(socket.isConnected()).toBe(true);
    FakeTransport.last.readyState = 2;
    expect(socket.connectionState()).toBe("closing");
    expect(socket.isConnected()).toBe(false);
  });

  it("fires open callbacks and off() removes them", () => {
    const socket = makeSocket();
    const open = vi.fn();
    const other = vi.fn();
    socket.onOpen(open);
    const ref = socket.onOpen(other);
    socket.off([ref]);
    socket.connect();
    FakeTransport.last.open();
    expect(open).toHaveBeenCalledTimes(1);
    expect(other).not.toHaveBeenCalled();
  });
});

describe("disconnect", () => {
  it("closes with code and reason, calls back once closed, and does not reconnect", () => {
    const { socket, conn } = connected();
    const close = vi.fn();
    socket.onClose(close);
    const done = vi.fn();
    socket.disconnect(done, 1000, "bye");
    expect(conn.closeCalls).toEqual([{ code: 1000, reason: "bye" }]);
    vi.advanceTimersByTime(0);
    expect(close).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(150);
    expect(done).toHaveBeenCalledTimes(1);
    expect(socket.conn).toBeNull();
    vi.advanceTimersByTime(60_000);
    expect(FakeTransport.instances).toHaveLength(1);
  });

  it("waits for the send buffer to drain before closing", () => {
    const { socket, conn } = connected();
    conn.bufferedAmount = 10;
    socket.disconnect();
    expect(conn.closeCalls).toHaveLength(0);
    vi.advanceTimersByTime(150);
    conn.bufferedAmount = 0;
    vi.advanceTimersByTime(300);
    expect(conn.closeCalls).toHaveLength(1);
  });

  it("calls back without a connection", () => {
    const done = vi.fn();
    makeSocket().disconnect(done);
    expect(done).toHaveBeenCalled();
  });

  it("lets connect() open a new connection at once", () => {
    const { socket } = connected();
    socket.disconnect();
    socket.connect();
    expect(FakeTransport.instances).toHaveLength(2);
  });
});

describe("makeRef", () => {
  it("returns increasing string refs", () => {
    const socket = makeSocket();
    expect([socket.makeRef(), socket.makeRef()]).toEqual(["1", "2"]);
  });

  it("wraps to 0 when the counter can no longer grow", () => {
    expect(nextRef(41)).toBe(42);
    expect(nextRef(2 ** 53)).toBe(0);
  });
});

describe("push", () => {
  const data = { topic: "t", event: "e", payload: {}, ref: "1", join_ref: "2" };

  it("sends at once when connected", () => {
    const { socket, conn } = connected();
    socket.push(data);
    expect(conn.sent).toEqual(['["2","1","t","e",{}]']);
  });

  it("buffers while offline and flushes on open", () => {
    const socket = makeSocket();
    socket.push(data);
    socket.connect();
    FakeTransport.last.open();
    expect(FakeTransport.last.frames()).toEqual([["2", "1", "t", "e", {}]]);
    // Flushed once: the next connection does not send it again.
    socket.disconnect();
    vi.advanceTimersByTime(0);
    socket.connect();
    FakeTransport.last.open();
    expect(FakeTransport.last.frames()).toEqual([]);
  });
});

describe("heartbeat", () => {
  it("sends [null, ref, phoenix, heartbeat, {}] every interval", () => {
    const { conn } = connected();
    vi.advanceTimersByTime(30000);
    expect(conn.frames()).toEqual([[null, "1", "phoenix", "heartbeat", {}]]);
    conn.receive([null, "1", "phoenix", "phx_reply", { status: "ok", response: {} }]);
    vi.advanceTimersByTime(30000);
    expect(conn.frames()).toHaveLength(2);
  });

  it("closes with 1000 and reconnects when a heartbeat goes unanswered", () => {
    const { socket, conn } = connected();
    const channel = socket.channel("room:1");
    channel.join();
    reply(conn, "phx_join");
    const errors = vi.fn();
    channel.onError(errors);
    vi.advanceTimersByTime(30000 + 30000);
    expect(conn.closeCalls).toEqual([{ code: 1000, reason: "heartbeat timeout" }]);
    expect(errors).toHaveBeenCalledWith({ source: "transport", reason: "heartbeat_timeout" });
    vi.advanceTimersByTime(150 + 10);
    expect(FakeTransport.instances).toHaveLength(2);
  });

  it("stops while disconnected, and buffers no heartbeat for the next connection", () => {
    const { socket, conn } = connected();
    socket.disconnect();
    vi.advanceTimersByTime(60000);
    expect(conn.framesOf("heartbeat")).toHaveLength(0);
    socket.connect();
    FakeTransport.last.open();
    expect(FakeTransport.last.frames()).toEqual([]);
  });

  it("ping reports the round trip", () => {
    const { socket, conn } = connected();
    const rtt = vi.fn();
    expect(socket.ping(rtt)).toBe(true);
    const [frame] = conn.frames();
    vi.advanceTimersByTime(42);
    conn.receive([null, frame?.[1], "phoenix", "phx_reply", { status: "ok", response: {} }]);
    expect(rtt).toHaveBeenCalledWith(42);
    expect(makeSocket().ping(rtt)).toBe(false);
  });
});

describe("reconnect", () => {
  it("follows the reconnect schedule after server closes, whatever the code", () => {
    const socket = makeSocket();
    socket.connect();
    FakeTransport.last.open();
    const delays = [10, 50, 100, 150];
    for (const [i, delay] of delays.entries()) {
      FakeTransport.last.serverClose(i === 0 ? 1000 : 1006);
      vi.advanceTimersByTime(delay - 1);
      expect(FakeTransport.instances).toHaveLength(i + 1);
      vi.advanceTimersByTime(1);
      expect(FakeTransport.instances).toHaveLength(i + 2);
    }
    // An open connection starts the schedule over.
    FakeTransport.last.open();
    FakeTransport.last.serverClose(1006);
    vi.advanceTimersByTime(10);
    expect(FakeTransport.instances).toHaveLength(delays.length + 2);
    expect(socket.isConnected()).toBe(false);
  });

  it("fires close callbacks and errors joining and joined channels, not left ones", () => {
    const { socket, conn } = connected();
    const close = vi.fn();
    socket.onClose(close);
    const joined = socket.channel("a");
    joined.join();
    reply(conn, "phx_join");
    const joining = socket.channel("b");
    joining.join();
    const left = socket.channel("c");
    left.join();
    left.leave();
    const errors = [vi.fn(), vi.fn(), vi.fn()];
    for (const [i, c] of [joined, joining, left].entries()) c.onError(errors[i]!);
    conn.serverClose(1001);
    expect(close).toHaveBeenCalledWith(expect.objectContaining({ code: 1001 }));
    expect(errors[0]).toHaveBeenCalledWith({ source: "transport", reason: "connection_closed" });
    expect(errors[1]).toHaveBeenCalledTimes(1);
    expect(errors[2]).not.toHaveBeenCalled();
  });

  it("onConnError fires error callbacks and errors channels", () => {
    const socket = makeSocket();
    const onError = vi.fn();
    socket.onError(onError);
    const channel = socket.channel("a");
    channel.join();
    const chanError = vi.fn();
    channel.onError(chanError);
    socket.connect();
    const error = FakeTransport.last;
    error.fail();
    expect(onError).toHaveBeenCalledWith(expect.any(Error), FakeTransport, 0);
    expect(chanError).toHaveBeenCalledWith({ source: "transport", reason: "connection_error" });
  });

  it("ignores events from a replaced transport", () => {
    const { socket, conn } = connected();
    const message = vi.fn();
    socket.onMessage(message);
    socket.replaceTransport(FakeTransport);
    conn.receive([null, null, "t", "e", {}]);
    expect(message).not.toHaveBeenCalled();
    socket.connect();
    FakeTransport.last.open();
    FakeTransport.last.receive([null, null, "t", "e", {}]);
    expect(message).toHaveBeenCalledTimes(1);
  });
});

describe("channels and messages", () => {
  it("channel() registers and remove() forgets the channel and its callbacks", () => {
    const { socket, conn } = connected();
    const channel = socket.channel("topic", { one: "two" });
    expect(socket.channels).toEqual([channel]);
    channel.join();
    expect(conn.framesOf("phx_join")[0]?.[4]).toEqual({ one: "two" });
    conn.serverClose(1006);
    expect(channel.state).toBe("errored");
    socket.remove(channel);
    expect(socket.channels).toEqual([]);
    // Its open callback went with it: the errored channel does not rejoin on reconnect.
    vi.advanceTimersByTime(10);
    FakeTransport.last.open();
    expect(FakeTransport.instances).toHaveLength(2);
    expect(FakeTransport.last.framesOf("phx_join")).toHaveLength(0);
  });

  it("dispatches to channels of the topic and to message callbacks", () => {
    const { socket, conn } = connected();
    const a = socket.channel("a");
    const b = socket.channel("b");
    const onA = vi.fn();
    const onB = vi.fn();
    a.on("e", onA);
    b.on("e", onB);
    const message = vi.fn();
    socket.onMessage(message);
    conn.receive([null, null, "a", "e", { x: 1 }]);
    expect(onA).toHaveBeenCalledWith({ x: 1 }, null, null);
    expect(onB).not.toHaveBeenCalled();
    expect(message).toHaveBeenCalledWith({
      join_ref: null,
      ref: null,
      topic: "a",
      event: "e",
      payload: { x: 1 },
    });
  });

  it("drops undecodable frames with a log instead of throwing", () => {
    const logger = vi.fn();
    const { conn } = connected({ logger });
    expect(() => conn.onmessage?.({ data: "garbage" })).not.toThrow();
    expect(logger).toHaveBeenCalledWith(
      "transport",
      "dropping a frame that does not decode",
      expect.any(Error),
    );
  });

  it("does not swallow errors thrown by callbacks", () => {
    const { socket, conn } = connected();
    socket.onMessage(() => {
      throw new Error("app bug");
    });
    expect(() => conn.receive([null, null, "a", "e", {}])).toThrow("app bug");
  });

  it("uses custom encode and decode", () => {
    const encode = vi.fn((_msg: unknown, cb: (frame: string) => void) => cb("custom"));
    const decode = vi.fn((_raw: unknown, cb: (msg: never) => void) =>
      cb({ join_ref: null, ref: null, topic: "t", event: "e", payload: {} } as never),
    );
    const { socket, conn } = connected({ encode, decode });
    const message = vi.fn();
    socket.onMessage(message);
    socket.push({ topic: "t", event: "e", payload: {}, ref: "1" });
    conn.onmessage?.({ data: "anything" });
    expect(conn.sent).toEqual(["custom"]);
    expect(message).toHaveBeenCalledTimes(1);
  });
});
