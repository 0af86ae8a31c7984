import { connect as tcpConnect } from "node:net";
import {
  RawClient,
  roomChannel,
  socketHandler,
  startServer,
  type TestAssigns,
  type TestServer,
} from "@tandem/test-support";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { channel, defineConnectionHandler } from "../src/index.js";

let server: TestServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A socket handler whose `connect` waits until the test lets it go, as a database lookup would. */
function gatedHandler() {
  let pending: (() => void)[] = [];
  let arrived: () => void = () => {};
  let arrival = new Promise<void>((resolve) => {
    arrived = resolve;
  });
  const handler = defineConnectionHandler<TestAssigns>({
    async connect(params) {
      arrived();
      await new Promise<void>((resolve) => pending.push(resolve));
      return { user: params.user ?? "anon" };
    },
    channels: [channel("room:*", roomChannel)],
  });
  return {
    handler,
    /** Resolves once a `connect` call is waiting. */
    waitForConnect: () => arrival,
    release() {
      for (const resolve of pending) resolve();
      pending = [];
      arrival = new Promise<void>((resolve) => {
        arrived = resolve;
      });
    },
  };
}

describe("the upgrade while an async connect is pending", () => {
  it("survives a client that resets its TCP connection, and serves the next client", async () => {
    const gate = gatedHandler();
    server = await startServer(gate.handler);
    const raw = tcpConnect(server.port, "127.0.0.1");
    raw.on("error", () => {});
    await new Promise<void>((resolve) => raw.once("connect", () => resolve()));
    raw.write(
      [
        "GET /socket/websocket?vsn=2.0.0&user=mallory HTTP/1.1",
        `Host: 127.0.0.1:${server.port}`,
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version: 13",
        "",
        "",
      ].join("\r\n"),
    );
    await gate.waitForConnect();
    raw.resetAndDestroy();
    await new Promise<void>((resolve) => raw.once("close", () => resolve()));
    // Give the server's side of the socket time to see the reset before connect finishes.
    await new Promise((resolve) => setTimeout(resolve, 50));
    gate.release();

    const next = RawClient.connect(server.url, "vsn=2.0.0&user=alice");
    await gate.waitForConnect();
    gate.release();
    const client = await next;
    client.send(["1", "1", "room:a", "phx_join", {}]);
    expect((await client.reply("1"))[4]).toMatchObject({ status: "ok" });
    client.close();
    expect(server.endpoint.connectionCount).toBeLessThanOrEqual(1);
  });
});

/** Opens a socket from `localAddress`; resolves with the HTTP status it was refused with, or 101. */
function upgradeFrom(
  url: string,
  localAddress: string,
): Promise<{ status: number; retryAfter?: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url}/websocket?vsn=2.0.0&user=u`, { localAddress });
    ws.once("open", () => {
      ws.close();
      resolve({ status: 101 });
    });
    ws.once("unexpected-response", (_req, res) => {
      resolve({ status: res.statusCode ?? 0, retryAfter: res.headers["retry-after"] });
      res.resume();
    });
    ws.once("error", reject);
  });
}

describe("the connect rate per client", () => {
  it("refuses a client's upgrades over the rate with 429 and Retry-After, others unaffected", async () => {
    let connects = 0;
    const handler = defineConnectionHandler<TestAssigns>({
      connect(params) {
        connects++;
        return { user: params.user ?? "anon" };
      },
      channels: [channel("room:*", roomChannel)],
    });
    server = await startServer(handler, { connectRate: { limit: 2, intervalMs: 60_000 } });
    expect((await upgradeFrom(server.url, "127.0.0.1")).status).toBe(101);
    expect((await upgradeFrom(server.url, "127.0.0.1")).status).toBe(101);
    const refused = await upgradeFrom(server.url, "127.0.0.1");
    expect(refused.status).toBe(429);
    expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
    // Refused before the app's connect ran: a flood costs no authentication.
    expect(connects).toBe(2);
    expect((await upgradeFrom(server.url, "127.0.0.2")).status).toBe(101);
  });

  it("keys clients with clientKey, and skips the budget when it answers null", async () => {
    server = await startServer(socketHandler, {
      connectRate: { limit: 1, intervalMs: 60_000 },
      clientKey: (req) => (req.url?.includes("user=vip") ? null : "everyone"),
    });
    await (await RawClient.connect(server.url, "vsn=2.0.0&user=a")).close();
    await expect(RawClient.connect(server.url, "vsn=2.0.0&user=b")).rejects.toThrow("HTTP 429");
    const vip = await RawClient.connect(server.url, "vsn=2.0.0&user=vip");
    await vip.close();
  });
});
