import { eventually, socketHandler, startServer, type TestServer } from "@tandem/test-support";
import { Socket } from "phoenix";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";

// The official client, exactly as an app would use it in Node.
const transport = WebSocket as unknown as typeof globalThis.WebSocket;

let server: TestServer;
const sockets: Socket[] = [];

function socket(params: Record<string, string> = { user: "alice" }, opts = {}): Socket {
  const s = new Socket(server.url, {
    transport,
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

beforeEach(async () => {
  server = await startServer(socketHandler);
});

afterEach(async () => {
  for (const s of sockets.splice(0)) s.disconnect();
  await server.close();
});

describe("official phoenix client against Tandem", () => {
  it("connects with params and joins with a reply", async () => {
    const s = socket();
    const channel = s.channel("room:lobby", {});
    expect(await receive(channel.join())).toEqual({ user: "alice" });
    expect(s.isConnected()).toBe(true);
    expect(channel.state).toBe("joined");
  });

  it("sees a refused connect as an error and never opens", async () => {
    const errors: unknown[] = [];
    const s = socket({ user: "refused" });
    s.onError((e) => {
      errors.push(e);
    });
    await eventually(() => errors.length >= 1);
    expect(s.isConnected()).toBe(false);
  });

  it("gets a refused join's payload", async () => {
    const s = socket();
    const channel = s.channel("room:forbidden", {});
    expect(await receive(channel.join(), "error")).toEqual({ reason: "unauthorized" });
    channel.leave();
  });

  it("pushes and receives replies", async () => {
    const s = socket();
    const channel = s.channel("room:a", {});
    await receive(channel.join());
    expect(await receive(channel.push("ping", { n: 1 }))).toEqual({ n: 1 });
    expect(await receive(channel.push("nope", {}), "error")).toEqual({ reason: "unknown" });
  });

  it("delivers broadcasts to other clients", async () => {
    const a = socket({ user: "a" }).channel("room:a", {});
    const b = socket({ user: "b" }).channel("room:a", {});
    await receive(a.join());
    await receive(b.join());
    const got = new Promise((resolve) => b.on("shout", resolve));
    await receive(a.push("shout", { body: "hello" }));
    expect(await got).toEqual({ body: "hello" });
  });

  it("leaves: the channel closes and later pushes on a new object are unmatched", async () => {
    const s = socket();
    const channel = s.channel("room:a", {});
    await receive(channel.join());
    const closed = new Promise<void>((resolve) => channel.onClose(() => resolve()));
    channel.leave();
    await closed;
    expect(channel.state).toBe("closed");
  });

  it("reports unmatched topics", async () => {
    const s = socket();
    const channel = s.channel("nowhere:1", {});
    expect(await receive(channel.join(), "error")).toEqual({ reason: "unmatched topic" });
    channel.leave();
  });

  it("handles a duplicate join: the second object takes over the topic", async () => {
    const s = socket();
    const first = s.channel("room:dup", {});
    await receive(first.join());
    const second = s.channel("room:dup", {});
    await receive(second.join());
    expect(first.state).toBe("closed");
    expect(second.state).toBe("joined");
    expect(await receive(second.push("ping", { still: 1 }))).toEqual({ still: 1 });
  });

  it("answers heartbeats (ping)", async () => {
    const s = socket();
    await eventually(() => s.isConnected());
    const rtt = await new Promise<number>((resolve) => s.ping(resolve));
    expect(rtt).toBeGreaterThanOrEqual(0);
  });

  it("rejoins by itself after a handler throws", async () => {
    const s = socket();
    const channel = s.channel("room:a", {});
    let joins = 0;
    channel.join().receive("ok", () => {
      joins++;
    });
    await eventually(() => joins === 1);
    const errored = new Promise<void>((resolve) => channel.onError(() => resolve()));
    channel.push("boom", {});
    await errored;
    await eventually(() => joins === 2 && channel.state === "joined");
    expect(await receive(channel.push("ping", { after: "crash" }))).toEqual({ after: "crash" });
  });

  it("reconnects and rejoins after the server restarts", async () => {
    const s = socket();
    const channel = s.channel("room:a", {});
    let joins = 0;
    channel.join().receive("ok", () => {
      joins++;
    });
    await eventually(() => joins === 1);
    const port = server.port;
    await server.close();
    await eventually(() => !s.isConnected());
    server = await startServer(socketHandler, {}, port);
    await eventually(() => joins === 2, 5000);
    expect(await receive(channel.push("ping", { back: true }))).toEqual({ back: true });
  });

  it("authenticates with authToken over the subprotocol header", async () => {
    const s = socket({}, { authToken: "token-user" });
    const channel = s.channel("room:a", {});
    expect(await receive(channel.join())).toEqual({ user: "token-user" });
  });

  it("round-trips binary payloads", async () => {
    const s = socket();
    const channel = s.channel("room:a", {});
    await receive(channel.join());
    const reply = await receive<ArrayBuffer>(
      channel.push("echo_binary", Uint8Array.of(5, 6).buffer),
    );
    expect([...new Uint8Array(reply)]).toEqual([5, 6]);
  });
});
