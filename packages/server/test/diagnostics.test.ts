import {
  eventually,
  prng,
  RawClient,
  silentLogger,
  socketHandler,
  startServer,
  type TestServer,
} from "@tandem/test-support";
import { afterEach, describe, expect, it } from "vitest";
import { Metrics, PubSub, Tracker } from "../src/index.js";
import { SimNetwork } from "./sim-network.js";

// The read-only accessors an operator's view (the dashboard) is built on.

let server: TestServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

const http = (path: string) => fetch(`http://127.0.0.1:${server!.port}${path}`);

describe("Metrics.totals", () => {
  it("reads the traffic counts without taking them from the next scrape", async () => {
    const metrics = new Metrics({ processMetrics: false });
    metrics.received(7);
    metrics.wrote(11);
    metrics.wrote(5);
    expect(metrics.totals()).toEqual({ messagesIn: 1, messagesOut: 2, bytesIn: 7, bytesOut: 16 });
    expect(await metrics.registry.metrics()).toMatch(/^tandem_bytes_out_total 16$/m);
    metrics.wrote(4);
    expect(metrics.totals().bytesOut).toBe(20);
    expect(await metrics.registry.metrics()).toMatch(/^tandem_bytes_out_total 20$/m);
  });
});

describe("Endpoint.addHttpHandler and unmount", () => {
  it("asks added handlers after its own paths, until they are removed", async () => {
    server = await startServer(socketHandler);
    const remove = server.endpoint.addHttpHandler((req, res) => {
      if (req.url !== "/extra" && req.url !== "/healthz") return false;
      res.writeHead(200).end("extra");
      return true;
    });
    expect(await (await http("/extra")).text()).toBe("extra");
    expect(await (await http("/healthz")).text()).toBe("ok\n");
    expect((await http("/other")).status).toBe(404);
    remove();
    expect((await http("/extra")).status).toBe(404);
  });

  it("refuses new connections at an unmounted path and leaves open ones be", async () => {
    server = await startServer(socketHandler);
    const open = await RawClient.connect(server.url, "vsn=2.0.0&user=ada");
    expect(server.endpoint.unmount("/socket/")).toBe(true);
    expect(server.endpoint.unmount("/socket")).toBe(false);
    await expect(RawClient.connect(server.url, "vsn=2.0.0&user=bob")).rejects.toThrow("HTTP 404");
    open.send(["1", "1", "room:a", "phx_join", {}]);
    expect((await open.reply("1"))[4]).toMatchObject({ status: "ok" });
    await open.close();
  });
});

describe("PubSub.topicSizes", () => {
  it("lists each topic with subscribers and how many it has", () => {
    const pubsub = new PubSub();
    const a = { deliver() {} };
    const b = { deliver() {} };
    pubsub.subscribe("room:1", a);
    pubsub.subscribe("room:1", b);
    const unsubscribe = pubsub.subscribe("room:2", a);
    expect([...pubsub.topicSizes()]).toEqual([
      ["room:1", 2],
      ["room:2", 1],
    ]);
    unsubscribe();
    expect([...pubsub.topicSizes()]).toEqual([["room:1", 2]]);
  });
});

describe("Tracker.peerSilences", () => {
  it("says how long ago each peer was heard from, and when it went down", async () => {
    const network = new SimNetwork();
    let now = 0;
    const start = async (name: string) => {
      const pubsub = new PubSub({ adapter: network.adapter(name) });
      await pubsub.start();
      return new Tracker({
        pubsub,
        logger: silentLogger,
        now: () => now,
        broadcastPeriodMs: 100,
        maxSilentPeriods: 1,
        downPeriodMs: 500,
        permdownPeriodMs: 5000,
        timers: false,
      });
    };
    const a = await start("a");
    const b = await start("b");
    const random = prng(1);
    const step = () => {
      now += 100;
      a.tick();
      b.tick();
      network.deliver(random);
    };
    await eventually(() => {
      step();
      return a.peerSilences().length === 1;
    });
    expect(a.peerSilences()).toEqual([{ name: "b", up: true, silentMs: expect.any(Number) }]);
    expect(a.peerSilences()[0]!.silentMs).toBeLessThanOrEqual(200);
    network.kill("b");
    b.close({ permdown: false });
    const killedAt = now;
    for (let i = 0; i < 3; i++) step();
    expect(a.peerSilences()[0]!.silentMs).toBeGreaterThanOrEqual(now - killedAt);
    while (a.peerSilences()[0]?.up) step();
    expect(a.peerSilences()[0]!.silentMs).toBeGreaterThan(500);
    a.close();
  });
});
