import type { BusMessage } from "@tandem/server";
import { eventually, silentLogger } from "@tandem/test-support";
import { afterAll, describe, expect, it } from "vitest";
import { NatsAdapter } from "../src/index.js";
import { NatsServer } from "../src/testing/nats-server.js";

const servers: NatsServer[] = [];
afterAll(async () => {
  for (const server of servers) await server.kill();
});

const credentials = (pass: string) => ["--user", "tandem", "--pass", pass];

describe("NatsAdapter with credentials", () => {
  it("connects with them, and connects anew after the server refused them for a while", async () => {
    const server = await NatsServer.start(credentials("right"));
    servers.push(server);
    const made = (name: string) =>
      new NatsAdapter({
        servers: server.url,
        nodeName: name,
        logger: silentLogger,
        client: { user: "tandem", pass: "right" },
      });
    const a = made("a");
    const b = made("b");
    const received: BusMessage[] = [];
    try {
      await a.start(() => {});
      await b.start((m) => received.push(m));
      a.broadcast({ topic: "t", event: "first", payload: {} });
      await eventually(() => received.length === 1, 5000, "first broadcast");

      // A server that refuses the credentials makes the client give its connection up.
      await server.kill();
      await server.restart(credentials("wrong"));
      await eventually(() => a.status === "down" && b.status === "down", 10_000, "both down");
      // Long enough for several refused reconnects (250 ms apart): the second ends it.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await server.kill();
      await server.restart(credentials("right"));
      await eventually(() => a.status === "ready" && b.status === "ready", 15_000, "both back");
      a.broadcast({ topic: "t", event: "again", payload: {} });
      await eventually(() => received.some((m) => m.event === "again"), 5000, "broadcast again");
      expect(received.map((m) => m.event)).toEqual(["first", "again"]);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  }, 40_000);

  it("without them, never gets ready", async () => {
    const server = await NatsServer.start(credentials("right"));
    servers.push(server);
    const a = new NatsAdapter({ servers: server.url, readyTimeoutMs: 500, logger: silentLogger });
    await expect(a.start(() => {})).rejects.toThrow(/Authorization Violation/);
  });
});
