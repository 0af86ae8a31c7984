import type { PresenceState } from "@tandem/protocol";
import {
  eventually,
  type PresenceServer,
  RawClient,
  sleep,
  startPresenceServer,
} from "@tandem/test-support";
import { Presence as PhoenixPresence, Socket } from "phoenix";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";

const transport = WebSocket as unknown as typeof globalThis.WebSocket;
let server: PresenceServer;
const sockets: Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.disconnect();
  await server.close();
});

function join(user: string, topic = "room:1") {
  const socket = new Socket(server.url, { transport, params: { user }, rejoinAfterMs: () => 20 });
  sockets.push(socket);
  socket.connect();
  const channel = socket.channel(topic, {});
  const presence = new PhoenixPresence(channel);
  const joined = new Promise<void>((resolve) => channel.join().receive("ok", () => resolve()));
  return { socket, channel, presence, joined };
}

function call(channel: ReturnType<Socket["channel"]>, event: string, payload = {}) {
  return new Promise<[string, unknown]>((resolve) => {
    const push = channel.push(event, payload);
    for (const status of ["ok", "error", "timeout"] as const) {
      push.receive(status, (r: unknown) => resolve([status, r]));
    }
  });
}

/** A client's view reduced to what must match the server: keys and their metas. */
function view(presence: PhoenixPresence): PresenceState {
  const out: PresenceState = {};
  presence.list((key, p) => {
    out[key] = { metas: [...p.metas].sort((a, b) => (a.phx_ref < b.phx_ref ? -1 : 1)) };
  });
  return out;
}

/**
 * Follows `key`'s typing flag at an observer through every sync, so that a flag lit for
 * only 80 ms cannot be missed by polling. The returned check is true once it was seen lit
 * and then unlit.
 */
function watchTyping(observer: PhoenixPresence, key: string): () => boolean {
  const seen: unknown[] = [];
  observer.onSync(() => {
    const [now] = observer.list((k, p) => (k === key ? p.metas[0].typing : null));
    if (seen.at(-1) !== now) seen.push(now);
  });
  return () => {
    const lit = seen.indexOf(true);
    return lit >= 0 && seen.slice(lit + 1).includes(false);
  };
}

async function serverView(topic = "room:1"): Promise<PresenceState> {
  const state = await server.presence.list(topic);
  const out: PresenceState = {};
  for (const [key, p] of Object.entries(state)) {
    out[key] = { metas: [...p.metas].sort((a, b) => (a.phx_ref < b.phx_ref ? -1 : 1)) };
  }
  return out;
}

async function converged(...presences: PhoenixPresence[]): Promise<void> {
  await eventually(() => presences.every((p) => p.list().length > 0));
  const expected = await serverView();
  // Key order may differ (an update moves a key on the server); compare as sets.
  const canonical = (state: PresenceState) => JSON.stringify(Object.entries(state).sort());
  await eventually(() => presences.every((p) => canonical(view(p)) === canonical(expected))).catch(
    (e) => {
      console.log(
        canonical(expected),
        presences.map((p) => canonical(view(p))),
      );
      throw e;
    },
  );
}

describe("Presence with the official phoenix client", () => {
  it("lists who is present, with two tabs of one user as two metas", async () => {
    server = await startPresenceServer();
    const ada = join("ada");
    const tab1 = join("bob");
    const tab2 = join("bob");
    await Promise.all([ada.joined, tab1.joined, tab2.joined]);
    await eventually(() => ada.presence.list().length === 2);
    await converged(ada.presence, tab1.presence, tab2.presence);
    const state = await server.presence.list("room:1");
    expect(Object.keys(state).sort()).toEqual(["ada", "bob"]);
    expect(state.bob!.metas).toHaveLength(2);
    expect(state.ada!.metas[0]).toMatchObject({ status: "online", typing: false });
    expect(typeof state.ada!.metas[0]!.phx_ref).toBe("string");
  });

  it("broadcasts updates with phx_ref_prev and skips updates that change nothing", async () => {
    server = await startPresenceServer();
    const ada = join("ada");
    const bob = join("bob");
    await Promise.all([ada.joined, bob.joined]);
    await converged(ada.presence, bob.presence);
    const before = (await server.presence.get("room:1", "ada"))!.metas[0]!.phx_ref;
    // Only diffs that leave one of ada's metas: under load, a diff of the joins may still
    // be on its way to bob once both lists have converged.
    const updates: { joins: PresenceState; leaves: PresenceState }[] = [];
    bob.channel.on("presence_diff", (d: { joins: PresenceState; leaves: PresenceState }) => {
      if (d.leaves.ada) updates.push(d);
    });
    expect(await call(ada.channel, "status", { status: "away" })).toEqual([
      "ok",
      { changed: true },
    ]);
    await eventually(() => updates.length === 1);
    const diff = updates[0]!;
    expect(diff.joins.ada!.metas[0]).toMatchObject({ status: "away", phx_ref_prev: before });
    expect(diff.leaves.ada!.metas[0]).toMatchObject({ status: "online", phx_ref: before });
    expect(await call(ada.channel, "status", { status: "away" })).toEqual([
      "ok",
      { changed: false },
    ]);
    await sleep(60);
    expect(updates).toHaveLength(1);
    await converged(ada.presence, bob.presence);
  });

  it("removes a user's entries when the channel leaves, crashes or the socket drops", async () => {
    server = await startPresenceServer();
    const watcher = join("watcher");
    const leaver = join("leaver");
    const crasher = join("crasher");
    const dropper = join("dropper");
    await Promise.all([watcher, leaver, crasher, dropper].map((c) => c.joined));
    await eventually(() => watcher.presence.list().length === 4);

    leaver.channel.leave();
    await eventually(() => !keys(watcher.presence).includes("leaver"));

    crasher.channel.push("boom", {});
    await eventually(() => !keys(watcher.presence).includes("crasher"));
    // The phoenix client rejoins the crashed channel by itself, and is tracked anew.
    await eventually(() => keys(watcher.presence).includes("crasher"));

    dropper.socket.disconnect();
    await eventually(() => !keys(watcher.presence).includes("dropper"));
    await converged(watcher.presence);
  });

  it("reverts a transient typing flag after the quiet period", async () => {
    server = await startPresenceServer();
    const ada = join("ada");
    const bob = join("bob");
    await Promise.all([ada.joined, bob.joined]);
    await converged(ada.presence, bob.presence);
    const litThenUnlit = watchTyping(bob.presence, "ada");
    await call(ada.channel, "typing");
    await eventually(litThenUnlit);
    await converged(ada.presence, bob.presence);
  });

  it("keeps other members' revert timers when a typing member leaves", async () => {
    server = await startPresenceServer();
    const ada = join("ada");
    const bob = join("bob");
    const carol = join("carol");
    await Promise.all([ada.joined, bob.joined, carol.joined]);
    await converged(ada.presence, bob.presence, carol.presence);
    const bobLitThenUnlit = watchTyping(carol.presence, "bob");
    await call(bob.channel, "typing");
    await call(ada.channel, "typing");
    ada.channel.leave();
    await eventually(() => !keys(carol.presence).includes("ada"));
    // bob's flag still reverts: ada's exit took only her own timer.
    await eventually(bobLitThenUnlit);
    await converged(bob.presence, carol.presence);
  });

  it("refuses updates over the per-connection rate limit with a clear error", async () => {
    server = await startPresenceServer({ rateLimit: { limit: 3, intervalMs: 60_000 } });
    const ada = join("ada");
    const bob = join("bob");
    await Promise.all([ada.joined, bob.joined]);
    // The track at join spent one token; two more updates fit.
    expect(await call(ada.channel, "status", { status: "1" })).toEqual(["ok", { changed: true }]);
    expect(await call(ada.channel, "status", { status: "2" })).toEqual(["ok", { changed: true }]);
    expect(await call(ada.channel, "status", { status: "3" })).toEqual([
      "error",
      { reason: "rate_limited" },
    ]);
    expect(await call(bob.channel, "status", { status: "fine" })).toEqual([
      "ok",
      { changed: true },
    ]);
    await converged(ada.presence, bob.presence);
    expect((await server.presence.get("room:1", "ada"))!.metas[0]!.status).toBe("2");
  });

  it("cannot change another user's presence: identity comes from the socket", async () => {
    server = await startPresenceServer();
    const ada = join("ada");
    const bob = join("bob");
    await Promise.all([ada.joined, bob.joined]);
    await converged(ada.presence, bob.presence);
    await call(ada.channel, "status", { user: "bob", key: "bob", status: "hijacked" });
    await converged(ada.presence, bob.presence);
    const state = await server.presence.list("room:1");
    expect(state.bob!.metas[0]!.status).toBe("online");
    expect(state.ada!.metas[0]!.status).toBe("hijacked");
  });

  it("refuses to track the same key twice from one channel", async () => {
    server = await startPresenceServer();
    const ada = join("ada");
    await ada.joined;
    expect(await call(ada.channel, "track_again")).toEqual([
      "error",
      { reason: "already_tracked" },
    ]);
    expect(await call(ada.channel, "untrack")).toEqual(["ok", {}]);
    await eventually(() => ada.presence.list().length === 0);
  });

  it("enriches lists and diffs with an async fetch, keeping diffs in order", async () => {
    let calls = 0;
    server = await startPresenceServer({
      fetch: async (_topic, presences) => {
        // Later calls finish sooner: order must come from the queue, not from timing.
        const delay = Math.max(0, 40 - 10 * calls++);
        await sleep(delay);
        const out: PresenceState = {};
        for (const [key, p] of Object.entries(presences)) {
          out[key] = { ...p, user: { name: key.toUpperCase() } };
        }
        return out;
      },
    });
    const ada = join("ada");
    await ada.joined;
    await eventually(() => ada.presence.list().length === 1);
    for (const status of ["a", "b", "c", "d"]) void call(ada.channel, "status", { status });
    await eventually(
      () =>
        ada.presence
          .list((_k, p) => p.metas.map((m: { status: string }) => m.status).join())
          .join() === "d",
    );
    expect(ada.presence.list((_k, p) => p.user)).toEqual([{ name: "ADA" }]);
  });
});

describe("diff storms", () => {
  async function storm(n: number): Promise<{ diffs: number; clients: RawClient[] }> {
    const clients = await Promise.all(
      Array.from({ length: n }, (_, i) => RawClient.connect(server.url, `vsn=2.0.0&user=u${i}`)),
    );
    for (const c of clients) c.send(["1", "1", "room:storm", "phx_join", {}]);
    await eventually(() => server.endpoint.pubsub.subscriberCount("room:storm") === n, 20_000);
    // Wait until the last join is on every client: each has seen every user.
    const seen = clients.map(() => new Set<string>());
    await eventually(() => {
      clients.forEach((c, i) => {
        for (const f of c.frames) {
          if (Buffer.isBuffer(f)) continue;
          const [, , , event, payload] = f;
          const p = payload as Record<string, unknown>;
          const added = event === "presence_state" ? p : event === "presence_diff" ? p.joins : {};
          for (const key of Object.keys(added as object)) seen[i]!.add(key);
        }
      });
      return seen.every((s) => s.size === n);
    }, 20_000);
    const diffs = clients.reduce(
      (sum, c) =>
        sum + c.frames.filter((f) => !Buffer.isBuffer(f) && f[3] === "presence_diff").length,
      0,
    );
    return { diffs, clients };
  }

  it("keeps presence_diff frames near linear in the crowd size", async () => {
    server = await startPresenceServer({ rateLimit: false });
    const small = await storm(100);
    for (const c of small.clients) c.close();
    await eventually(() => server.endpoint.pubsub.subscriberCount("room:storm") === 0);
    await server.close();
    server = await startPresenceServer({ rateLimit: false });
    const large = await storm(300);
    for (const c of large.clients) c.close();
    // Without coalescing this is n(n+1)/2: 5 050 and 45 150 frames.
    expect(small.diffs).toBeLessThan(100 * 25);
    expect(large.diffs).toBeLessThan(300 * 25);
  }, 60_000);

  it("shares one encoded presence_state among members who join together", async () => {
    server = await startPresenceServer({ rateLimit: false });
    const n = 60;
    const { clients } = await storm(n);
    const states = clients.map((c) => {
      const frame = c.frames.find((f) => !Buffer.isBuffer(f) && f[3] === "presence_state");
      return JSON.stringify(frame);
    });
    for (const c of clients) c.close();
    // Same bytes for everyone served by one list: far fewer lists than members.
    expect(new Set(states).size).toBeLessThanOrEqual(n / 2);
  }, 60_000);

  it("sends one diff per change with coalescing off, as Phoenix does", async () => {
    server = await startPresenceServer({ rateLimit: false, coalesce: false });
    const { diffs, clients } = await storm(60);
    for (const c of clients) c.close();
    // Client i hears the joins of everyone after it: at least n(n-1)/2 frames in total.
    expect(diffs).toBeGreaterThanOrEqual((60 * 59) / 2);
  }, 60_000);
});

function keys(presence: PhoenixPresence): string[] {
  return presence.list((key) => key);
}
