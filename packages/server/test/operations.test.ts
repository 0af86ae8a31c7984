import {
  eventually,
  RawClient,
  socketHandler,
  startPresenceServer,
  startServer,
  type TestServer,
} from "@tandem/test-support";
import { afterEach, describe, expect, it } from "vitest";

let server: TestServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

const http = (port: number, path: string) => fetch(`http://127.0.0.1:${port}${path}`);

function metric(text: string, name: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  if (!line) throw new Error(`no metric ${name}`);
  return Number(line.slice(line.lastIndexOf(" ") + 1));
}

describe("operations endpoints", () => {
  it("reports health, readiness and Prometheus metrics", async () => {
    server = await startServer(socketHandler);
    expect((await http(server.port, "/healthz")).status).toBe(200);
    expect((await http(server.port, "/readyz")).status).toBe(200);
    expect((await http(server.port, "/nope")).status).toBe(404);

    const client = await RawClient.connect(server.url, "vsn=2.0.0&user=ada");
    client.send(["1", "1", "room:a", "phx_join", {}]);
    await client.reply("1");
    client.send(["1", "2", "room:a", "ping", { x: 1 }]);
    await client.reply("2");
    const bad = await RawClient.connect(server.url, "vsn=2.0.0&user=bob");
    bad.send("garbage");
    await bad.closed;

    const text = await (await http(server.port, "/metrics")).text();
    expect(metric(text, "tandem_connections")).toBe(1);
    expect(metric(text, "tandem_channels_joined")).toBe(1);
    expect(metric(text, "tandem_messages_in_total")).toBeGreaterThanOrEqual(3);
    expect(metric(text, "tandem_messages_out_total")).toBeGreaterThanOrEqual(2);
    expect(metric(text, "tandem_bytes_in_total")).toBeGreaterThan(0);
    expect(text).toContain('tandem_rejected_frames_total{reason="malformed"} 1');
    expect(text).toContain("process_cpu_seconds_total");

    // Frame counts are handed over at each scrape: they add up, never restart.
    client.send(["1", "3", "room:a", "ping", { x: 2 }]);
    await client.reply("3");
    const again = await (await http(server.port, "/metrics")).text();
    expect(metric(again, "tandem_messages_in_total")).toBe(
      metric(text, "tandem_messages_in_total") + 1,
    );
    expect(metric(again, "tandem_messages_out_total")).toBe(
      metric(text, "tandem_messages_out_total") + 1,
    );
    client.close();
    await eventually(() => server!.endpoint.connectionCount === 0);
  });

  it("is not ready while draining", async () => {
    server = await startServer(socketHandler);
    const client = await RawClient.connect(server.url, "vsn=2.0.0&user=ada");
    const closing = server.endpoint.close({ timeoutMs: 2000, batchIntervalMs: 200, batchSize: 1 });
    expect((await client.closed).code).toBe(1012);
    await closing;
    expect(server.endpoint.ready).toBe(false);
    server = undefined;
  });

  it("counts presences and fan-out", async () => {
    const presenceServer = await startPresenceServer();
    try {
      const a = await RawClient.connect(presenceServer.url, "vsn=2.0.0&user=ada");
      const b = await RawClient.connect(presenceServer.url, "vsn=2.0.0&user=bob");
      for (const c of [a, b]) c.send(["1", "1", "room:1", "phx_join", {}]);
      await a.next((f) => f[3] === "presence_diff" && JSON.stringify(f[4]).includes("bob"));
      const text = await presenceServer.endpoint.metrics.registry.metrics();
      expect(metric(text, "tandem_presences")).toBe(2);
      expect(metric(text, "tandem_fanout_seconds_count")).toBeGreaterThan(0);
      b.close();
      await eventually(() => presenceServer.endpoint.connectionCount === 1);
      await a.next(
        (f) => f[3] === "presence_diff" && JSON.stringify(f[4]).includes('"leaves":{"bob"'),
      );
      expect(
        metric(await presenceServer.endpoint.metrics.registry.metrics(), "tandem_presences"),
      ).toBe(1);
      a.close();
    } finally {
      await presenceServer.close();
    }
  });
});
