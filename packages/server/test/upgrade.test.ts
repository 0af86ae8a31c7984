import { connect as tcpConnect } from "node:net";
import {
  RawClient,
  roomChannel,
  startServer,
  type TestAssigns,
  type TestServer,
} from "@tandem/test-support";
import { afterEach, describe, expect, it } from "vitest";
import { channel, defineSocket } from "../src/index.js";

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
  const handler = defineSocket<TestAssigns>({
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
