import type { BusMessage, BusStatus } from "@tandem/server";
import { eventually, silentLogger, sleep } from "@tandem/test-support";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { NatsAdapter, type NatsAdapterOptions } from "../src/index.js";
import { NatsServer } from "../src/testing/nats-server.js";

let server: NatsServer;
beforeAll(async () => {
  server = await NatsServer.start();
});
afterAll(() => server.kill());

const adapters: NatsAdapter[] = [];
afterEach(async () => {
  await Promise.all(adapters.splice(0).map((adapter) => adapter.close()));
});

function adapter(options: NatsAdapterOptions = {}): NatsAdapter {
  const made = new NatsAdapter({
    servers: server.url,
    prefix: "outage",
    logger: silentLogger,
    ...options,
  });
  adapters.push(made);
  return made;
}

const ping = (event: string): BusMessage => ({ topic: "room:1", event, payload: {} });

describe("NatsAdapter through a nats-server restart", () => {
  it("goes down, counts what it drops meanwhile, and comes back with its subscriptions", async () => {
    const a = adapter({ nodeName: "a" });
    const b = adapter({ nodeName: "b" });
    const received: string[] = [];
    const statuses: BusStatus[] = [];
    b.onStatus((status) => statuses.push(status));
    await a.start(() => {});
    await b.start((m) => received.push(m.event));
    await b.subscribe("room.1");

    // Traffic keeps flowing from a while the server goes away and comes back.
    let sent = 0;
    let running = true;
    const traffic = (async () => {
      while (running) {
        a.publish("room.1", ping(`m${sent++}`));
        await sleep(10);
      }
    })();
    await eventually(() => received.length > 5, 5000, "traffic before the restart");
    await server.kill();
    await eventually(() => a.status === "down" && b.status === "down", 5000, "both down");
    await eventually(() => a.stats.dropped > 0, 5000, "drops while down");
    await server.restart();
    await eventually(() => a.status === "ready" && b.status === "ready", 10_000, "both ready");
    const before = received.length;
    await eventually(() => received.length > before + 5, 5000, "traffic after the restart");
    running = false;
    await traffic;

    expect(statuses.slice(0, 3)).toEqual(["ready", "down", "ready"]);
    const { published, dropped } = a.stats;
    expect(published + dropped).toBe(sent);
    // At most once: nothing arrives twice, nothing arrives that was not sent.
    expect(new Set(received).size).toBe(received.length);
    expect(received.length).toBeLessThanOrEqual(published);
  }, 60_000);

  it("with requireReady false starts while NATS is down and joins when it is up", async () => {
    await server.kill();
    try {
      const a = adapter({ nodeName: "late-a", requireReady: false, readyTimeoutMs: 300 });
      await a.start(() => {});
      expect(a.status).toBe("connecting");
      a.broadcast(ping("while-down"));
      expect(a.stats.dropped).toBe(1);
      await server.restart();
      await eventually(() => a.status === "ready", 10_000, "ready once NATS is up");
      const b = adapter({ nodeName: "late-b" });
      const received: string[] = [];
      await b.start((m) => received.push(m.event));
      a.broadcast(ping("joined"));
      await eventually(() => received.includes("joined"), 5000, "broadcast after joining");
    } finally {
      await server.restart().catch(() => {});
    }
  }, 30_000);

  it("rejects start when NATS cannot be reached in time, and stops trying", async () => {
    await server.kill();
    try {
      const a = adapter({ nodeName: "never", readyTimeoutMs: 300 });
      await expect(a.start(() => {})).rejects.toThrow(/NatsAdapter not ready after 300 ms/);
      expect(a.status).toBe("down");
      a.broadcast(ping("after"));
      expect(a.stats).toMatchObject({ published: 0, dropped: 1 });
    } finally {
      await server.restart();
    }
  });
});
