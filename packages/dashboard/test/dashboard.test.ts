import { randomBytes } from "node:crypto";
import { Socket } from "@tandem/client";
import { NatsServer } from "@tandem/nats/testing";
import { eventually, recordingLogger } from "@tandem/test-support";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { buildUi } from "../scripts/build-ui.mjs";
import {
  DASHBOARD_TOPIC,
  type Dashboard,
  mountDashboard,
  SNAPSHOT_EVENT,
  type Snapshot,
  type Welcome,
} from "../src/index.js";
import { joinRoom, type Member, type Node, startNode } from "./fixture.js";

const token = randomBytes(24).toString("hex");

let node: Node | undefined;
let peer: Node | undefined;
let nats: NatsServer | undefined;
let dashboard: Dashboard | undefined;
const sockets: Socket[] = [];
const members: Member[] = [];

beforeAll(() => buildUi());

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.disconnect();
  await Promise.all(members.splice(0).map((m) => m.close()));
  dashboard?.close();
  dashboard = undefined;
  await node?.close();
  await peer?.close();
  await nats?.kill();
  node = peer = nats = undefined;
});

const page = (path: string, init?: RequestInit) =>
  fetch(`http://127.0.0.1:${node!.port}${path}`, init);

/**
 * A dashboard viewer: connects with `authToken`, joins the channel with `joinToken`, and
 * keeps every snapshot.
 */
function view(joinToken: unknown, authToken = token) {
  const socket = new Socket(`ws://127.0.0.1:${node!.port}/dashboard/socket`, {
    transport: WebSocket,
    authToken,
    reconnectAfterMs: () => 60_000,
  });
  sockets.push(socket);
  socket.connect();
  const channel = socket.channel(DASHBOARD_TOPIC, { token: joinToken } as Record<string, unknown>);
  const snapshots: Snapshot[] = [];
  channel.on<Snapshot>(SNAPSHOT_EVENT, (snapshot) => snapshots.push(snapshot));
  const joined = new Promise<{ ok: Welcome } | { error: unknown }>((resolve) => {
    channel
      .join<Welcome>()
      .receive("ok", (welcome) => resolve({ ok: welcome }))
      .receive("error", (reason) => {
        channel.leave();
        resolve({ error: reason });
      });
  });
  /** Resolves with the first snapshot (from now on) that passes `check`. */
  const until = async (check: (s: Snapshot) => boolean, timeoutMs = 5000) => {
    const from = snapshots.length;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = snapshots.slice(from).find(check);
      if (found) return found;
      if (Date.now() > deadline) {
        throw new Error(`no such snapshot; last: ${JSON.stringify(snapshots.at(-1))}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return { socket, joined, snapshots, until };
}

describe("mountDashboard", () => {
  it("serves nothing until it is mounted, and nothing once closed", async () => {
    node = await startNode();
    expect((await page("/dashboard")).status).toBe(404);
    expect((await page(`/dashboard?token=${token}`)).status).toBe(404);
    dashboard = mountDashboard(node.endpoint, { token });
    expect((await page(`/dashboard?token=${token}`)).status).toBe(200);
    dashboard.close();
    expect((await page(`/dashboard?token=${token}`)).status).toBe(404);
    // The socket went with the page: a client cannot even connect.
    const refused = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${node!.port}/dashboard/socket/websocket?vsn=2.0.0`);
      ws.once("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
    });
    expect(refused).toBe(404);
  });

  it("asks HTTP clients for the token: 401 without it or with a wrong one", async () => {
    const logger = recordingLogger();
    node = await startNode({ logger });
    dashboard = mountDashboard(node.endpoint, { token, path: "/ops/dash/" });
    expect(dashboard.path).toBe("/ops/dash");
    for (const refused of [
      page("/ops/dash"),
      page("/ops/dash?token="),
      page(`/ops/dash?token=${token.slice(1)}`),
      page(`/ops/dash?token=${token}x`),
      page("/ops/dash", { headers: { authorization: `Bearer ${token.toUpperCase()}` } }),
    ]) {
      const response = await refused;
      expect(response.status).toBe(401);
      expect(response.headers.get("www-authenticate")).toBe('Bearer realm="tandem-dashboard"');
      expect(await response.text()).not.toContain(token);
    }
    expect((await page("/ops/dash", { method: "POST" })).status).toBe(405);

    const byQuery = await page(`/ops/dash/?token=${token}`);
    expect(byQuery.status).toBe(200);
    const html = await byQuery.text();
    expect(html).toContain('<meta name="tandem-dashboard-socket" content="/ops/dash/socket">');
    expect(html).not.toContain(token);
    const csp = byQuery.headers.get("content-security-policy")!;
    expect(csp).toMatch(/^default-src 'none'; script-src 'sha256-[A-Za-z0-9+/=]+'; style-src/);
    expect(csp).not.toContain("unsafe");
    expect(byQuery.headers.get("referrer-policy")).toBe("no-referrer");
    expect(byQuery.headers.get("cache-control")).toBe("no-store");
    const byHeader = await page("/ops/dash", { headers: { authorization: `Bearer ${token}` } });
    expect(byHeader.status).toBe(200);
    // Other paths are still the endpoint's.
    expect((await page("/healthz")).status).toBe(200);
    expect(JSON.stringify(logger.entries)).not.toContain(token);
  });

  it("refuses a socket without the token, and a join without it", async () => {
    node = await startNode();
    dashboard = mountDashboard(node.endpoint, { token, intervalMs: 50 });
    for (const protocols of [["phoenix"], ["phoenix", "base64url.bearer.phx.bm9wZQ"]]) {
      const status = await new Promise<number>((resolve) => {
        const url = `ws://127.0.0.1:${node!.port}/dashboard/socket/websocket?vsn=2.0.0`;
        const ws = new WebSocket(url, protocols);
        ws.once("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
      });
      expect(status).toBe(403);
    }
    for (const wrong of [undefined, "", token.slice(0, -1), 42, { token }]) {
      const { joined, snapshots } = view(wrong);
      expect(await joined).toEqual({ error: { reason: "unauthorized" } });
      await new Promise((r) => setTimeout(r, 120));
      expect(snapshots).toEqual([]);
    }
  });

  it("pushes snapshots that reflect the traffic clients make, with history on join", async () => {
    node = await startNode();
    dashboard = mountDashboard(node.endpoint, {
      token,
      presence: node.presence,
      intervalMs: 100,
      historyMs: 1000,
      topTopics: 2,
    });
    const first = view(token);
    const welcome = await first.joined;
    if (!("ok" in welcome)) throw new Error("not joined");
    expect(welcome.ok.node).toBe(node.endpoint.pubsub.nodeName);
    expect(welcome.ok.intervalMs).toBe(100);
    expect(welcome.ok.startedAt).toBeLessThanOrEqual(Date.now());
    const quiet = await first.until((s) => s.sample.connections === 1);
    expect(quiet.nodes).toEqual([
      { name: node.endpoint.pubsub.nodeName, self: true, up: true, silentMs: 0 },
    ]);
    expect(quiet.bus).toBeNull();

    const url = node.url;
    for (const [i, topic] of [
      "room:big",
      "room:big",
      "room:big",
      "room:mid",
      "room:mid",
      "room:one",
    ].entries()) {
      members.push(await joinRoom(url, `user-${i}`, topic));
    }
    const shouting = (async () => {
      for (let round = 0; round < 10; round++) {
        await Promise.all(members.map((m) => m.shout(`round ${round}`)));
        await new Promise((r) => setTimeout(r, 30));
      }
    })();
    const busy = await first.until(
      (s) => s.sample.messagesIn > 0 && s.sample.fanouts > 0 && s.sample.connections === 7,
    );
    await shouting;
    expect(busy.sample.channels).toBe(7);
    expect(busy.sample.messagesOut).toBeGreaterThan(busy.sample.messagesIn);
    expect(busy.sample.bytesIn).toBeGreaterThan(0);
    expect(busy.sample.fanoutP50Ms).toBeGreaterThan(0);
    expect(busy.sample.fanoutP99Ms).toBeGreaterThanOrEqual(busy.sample.fanoutP50Ms!);
    // No cluster: no heartbeats, no lag to report.
    expect(busy.sample.busLagP99Ms).toBeNull();
    const settled = await first.until((s) => s.sample.presences === 6);
    expect(settled.topics).toEqual([
      { topic: "room:big", subscribers: 3, presences: 3 },
      { topic: "room:mid", subscribers: 2, presences: 2 },
    ]);
    // Traffic over, rates fall back to nothing.
    const calm = await first.until((s) => s.sample.messagesIn === 0);
    expect(calm.sample.fanoutP50Ms).toBeNull();

    // A page opened later starts with the history, bounded to historyMs.
    await eventually(() => dashboard!.history.length === 10, 3000, "a full history");
    await new Promise((r) => setTimeout(r, 250));
    const second = view(token);
    const later = await second.joined;
    if (!("ok" in later)) throw new Error("not joined");
    expect(later.ok.history.length).toBe(10);
    expect(later.ok.history.some((s) => s.messagesIn > 0)).toBe(true);
    expect(later.ok.snapshot?.sample).toEqual(later.ok.history.at(-1));
    const ats = later.ok.history.map((s) => s.at);
    expect([...ats].sort((a, b) => a - b)).toEqual(ats);
  });

  it("shows the cluster: the bus, each node up, its lag, and a node that goes silent as down", async () => {
    nats = await NatsServer.start();
    const prefix = `dash${randomBytes(4).toString("hex")}`;
    node = await startNode({ natsUrl: nats.url, nodeName: "node-a", prefix });
    peer = await startNode({ natsUrl: nats.url, nodeName: "node-b", prefix });
    dashboard = mountDashboard(node.endpoint, {
      token,
      presence: node.presence,
      bus: node.adapter,
      intervalMs: 100,
    });
    const viewer = view(token);
    await viewer.joined;
    const clustered = await viewer.until(
      (s) => s.nodes.length === 2 && s.sample.busLagP50Ms !== null,
    );
    expect(clustered.nodes[0]).toEqual({ name: "node-a", self: true, up: true, silentMs: 0 });
    expect(clustered.nodes[1]).toMatchObject({ name: "node-b", self: false, up: true });
    expect(clustered.nodes[1]!.silentMs).toBeLessThan(1000);
    expect(clustered.bus).toMatchObject({ status: "ready", invalid: 0 });
    expect(clustered.bus!.received).toBeGreaterThan(0);

    // node-b's bus goes away without a goodbye: its heartbeats stop.
    await peer.adapter!.close();
    const down = await viewer.until((s) => s.nodes[1]?.up === false, 5000);
    expect(down.nodes[1]!.name).toBe("node-b");
    expect(down.nodes[1]!.silentMs).toBeGreaterThan(1000);
  });

  it("leaves Prometheus scrapes whole: every frame it saw is still counted at /metrics", async () => {
    node = await startNode();
    dashboard = mountDashboard(node.endpoint, { token, intervalMs: 20 });
    const member = await joinRoom(node.url, "ada", "room:a");
    members.push(member);
    for (let i = 0; i < 5; i++) await member.shout(`${i}`);
    await new Promise((r) => setTimeout(r, 100));
    const text = await (await page("/metrics")).text();
    const scraped = Number(/^tandem_messages_in_total (\d+)$/m.exec(text)?.[1]);
    expect(scraped).toBe(node.endpoint.metrics.totals().messagesIn);
    expect(scraped).toBeGreaterThanOrEqual(6);
  });

  it("disconnects open pages when closed", async () => {
    node = await startNode();
    dashboard = mountDashboard(node.endpoint, { token, intervalMs: 50 });
    const viewer = view(token);
    await viewer.joined;
    const closed = new Promise<void>((resolve) => viewer.socket.onClose(() => resolve()));
    dashboard.close();
    await closed;
    await eventually(() => node!.endpoint.connectionCount === 0, 3000, "the page's socket gone");
  });

  it("refuses a weak token and a bad path at mount", async () => {
    node = await startNode();
    expect(() => mountDashboard(node!.endpoint, { token: "short" })).toThrow(/at least 16/);
    expect(() => mountDashboard(node!.endpoint, { token, path: "/a b" })).toThrow(/path/);
    expect(() => mountDashboard(node!.endpoint, { token, intervalMs: 0 })).toThrow(/intervalMs/);
  });
});
