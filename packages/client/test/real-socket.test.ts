import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { Socket } from "../src/index.js";
import { V2Server, waitUntil } from "./v2-server.js";

let server: V2Server;
let socket: Socket | undefined;

beforeEach(async () => {
  server = await V2Server.start();
});
afterEach(async () => {
  socket?.disconnect();
  socket = undefined;
  await server.close();
});

function open(opts: ConstructorParameters<typeof Socket>[1] = {}): Socket {
  socket = new Socket(server.url, { transport: WebSocket, ...opts });
  socket.connect();
  return socket;
}

function joinOk(s: Socket, topic: string, params: object = {}) {
  const channel = s.channel(topic, params);
  const joined = new Promise<unknown>((resolve, reject) => {
    channel.join().receive("ok", resolve).receive("error", reject).receive("timeout", reject);
  });
  return { channel, joined };
}

describe("against a ws server", () => {
  it("connects with params and vsn in the URL, and joins", async () => {
    const s = open({ params: { token: "abc", user: { id: 7 } } });
    const { channel, joined } = joinOk(s, "room:1", { p: 1 });
    await expect(joined).resolves.toEqual({});
    expect(channel.state).toBe("joined");
    expect(server.conns[0]?.url).toBe("/socket/websocket?token=abc&user%5Bid%5D=7&vsn=2.0.0");
    expect(server.textFrames()).toEqual([["3", "3", "room:1", "phx_join", { p: 1 }]]);
  });

  it("negotiates the phoenix subprotocol with an auth token", async () => {
    const s = open({ authToken: "secret" });
    await joinOk(s, "room:1").joined;
    expect(server.conns[0]?.protocol).toBe("phoenix");
  });

  it("round-trips a push and its reply", async () => {
    const s = open();
    const { channel, joined } = joinOk(s, "room:1");
    await joined;
    const response = await new Promise<{ body: string }>((resolve) => {
      channel
        .push<{ body: string }, { body: string }>("echo", { body: "hi" })
        .receive("ok", resolve);
    });
    expect(response).toEqual({ body: "hi" });
  });

  it("round-trips a binary push and receives binary server pushes", async () => {
    const s = open();
    const { channel, joined } = joinOk(s, "room:1");
    await joined;
    const response = await new Promise<ArrayBuffer>((resolve) => {
      channel
        .push<ArrayBuffer, ArrayBuffer>("echo", Uint8Array.of(1, 2, 255).buffer)
        .receive("ok", resolve);
    });
    expect(response).toBeInstanceOf(ArrayBuffer);
    expect([...new Uint8Array(response)]).toEqual([1, 2, 255]);
    expect(server.conns[0]?.received.at(-1)).toMatchObject({
      kind: "binary",
      topic: "room:1",
      event: "echo",
      payload: [1, 2, 255],
    });

    const texts: unknown[] = [];
    const binaries: ArrayBuffer[] = [];
    channel.on("shouted", (p) => texts.push(p));
    channel.on<ArrayBuffer>("shouted_bin", (p) => binaries.push(p));
    channel.push("shout", { loud: true });
    await waitUntil(() => binaries.length === 1);
    expect(texts).toEqual([{ loud: true }]);
    expect([...new Uint8Array(binaries[0]!)]).toEqual([9, 8]);
  });

  it("reconnects and rejoins after the server closes the connection", async () => {
    const s = open();
    const { channel, joined } = joinOk(s, "room:1");
    await joined;
    const firstJoinRef = channel.joinRef();
    server.conns[0]?.ws.close(1001);
    await waitUntil(() => server.conns.length === 2 && channel.state === "joined");
    expect(channel.joinRef()).not.toBe(firstJoinRef);
    const rejoin = server.conns[1]?.received[0];
    expect(rejoin).toEqual({
      kind: "text",
      frame: [channel.joinRef(), channel.joinRef(), "room:1", "phx_join", {}],
    });
  });

  it("measures a ping against the heartbeat reply", async () => {
    const s = open();
    await waitUntil(() => s.isConnected());
    const rtt = await new Promise<number>((resolve) => s.ping(resolve));
    expect(rtt).toBeGreaterThanOrEqual(0);
  });
});
