import { Socket as PhoenixSocket } from "phoenix";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { Socket } from "../src/index.js";
import { V2Server, waitUntil } from "./v2-server.js";

/** The parts of a socket the scenario drives; both clients have them. */
interface ClientSocket {
  connect(): void;
  disconnect(): void;
  channel(
    topic: string,
    params?: object,
  ): {
    join(): { receive(status: string, cb: (response?: unknown) => void): unknown };
    push(
      event: string,
      payload: object,
    ): { receive(status: string, cb: (response?: unknown) => void): unknown };
    leave(): unknown;
  };
}

const servers: V2Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

/**
 * Connect, join, push and wait for the reply, push again, leave: returns the URL and
 * every frame the server received.
 */
async function scenario(make: (url: string) => ClientSocket) {
  const server = await V2Server.start();
  servers.push(server);
  const socket = make(server.url);
  socket.connect();
  const channel = socket.channel("room:lobby", { token: "t" });
  await new Promise((resolve) => channel.join().receive("ok", resolve));
  await new Promise((resolve) => channel.push("echo", { body: "hi" }).receive("ok", resolve));
  channel.push("echo", { n: 2 });
  channel.leave();
  await waitUntil(() => server.textFrames().some((f) => f[3] === "phx_leave"));
  socket.disconnect();
  return { url: server.conns[0]?.url, frames: server.textFrames() };
}

describe("side by side with phoenix 1.8.16", () => {
  it("sends identical frames for connect, join, push and leave", async () => {
    const opts = { transport: WebSocket, params: { user: { id: 1 }, v: "a b" } };
    const ours = await scenario((url) => new Socket(url, opts));
    const theirs = await scenario((url) => new PhoenixSocket(url, opts) as unknown as ClientSocket);
    expect(theirs.frames.length).toBeGreaterThan(3);
    expect(ours).toEqual(theirs);
  });

  it("sends the same auth subprotocol", async () => {
    const protocols: (string[] | undefined)[] = [];
    class Recorder extends WebSocket {
      constructor(url: string, p?: string[]) {
        super(url, p);
        protocols.push(p);
      }
    }
    const server = await V2Server.start();
    servers.push(server);
    const opts = { transport: Recorder, authToken: "user:42" };
    const ours = new Socket(server.url, opts);
    const theirs = new PhoenixSocket(server.url, opts);
    ours.connect();
    theirs.connect();
    await waitUntil(() => ours.isConnected() && theirs.isConnected());
    ours.disconnect();
    theirs.disconnect();
    expect(protocols[0]).toEqual(protocols[1]);
    expect(protocols[0]).toEqual(["phoenix", "base64url.bearer.phx.dXNlcjo0Mg"]);
  });
});
