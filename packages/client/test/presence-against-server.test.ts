// Tandem's Presence and the official phoenix Presence, on channels of different sockets
// joined to the same topic of a Tandem server (the server's presence fixture), must end
// in exactly the state the server lists, through joins, updates, transient flags,
// leaves, crashes and reconnects; Tandem's onChange must report updates as updates.
import type { JsonObject, PresenceState } from "@tandem/protocol";
import { eventually, type PresenceServer, sleep, startPresenceServer } from "@tandem/test-support";
import { Presence as PhoenixPresence, Socket as PhoenixSocket } from "phoenix";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { type IncomingMessage, Presence, type PresenceChange, Socket } from "../src/index.js";

const TOPIC = "room:1";
let server: PresenceServer;
const cleanups: (() => void)[] = [];

beforeEach(async () => {
  server = await startPresenceServer();
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) cleanup();
  await server.close();
});

/** The part of a channel both clients share and the tests drive. */
interface AnyChannel {
  push(
    event: string,
    payload: object,
  ): { receive(status: string, cb: (response: unknown) => void): unknown };
  leave(): unknown;
  joinRef(): string | null | undefined;
}

interface Member {
  user: string;
  channel: AnyChannel;
  /** Each key with its sorted phx_refs, as this client sees it. */
  refs(): [string, string[]][];
  /** The first meta's field of `key`, as this client sees it. */
  field(key: string, field: string): unknown;
  joined: Promise<void>;
  /** Join oks so far. */
  joins(): number;
  /** Drops the connection as a network failure would: the client reconnects. */
  drop(): void;
  disconnect(): void;
  connect(): void;
}

interface OurMember extends Member {
  changes: [string, PresenceChange<JsonObject>][];
  /** Every message the socket received. */
  messages: IncomingMessage[];
}

const fast = { rejoinAfterMs: () => 20, reconnectAfterMs: () => 20 };

function refsOf(list: (chooser: (key: string, p: PresenceLike) => unknown) => unknown[]) {
  return list((key, p) => [key, p.metas.map((m) => m.phx_ref).sort()]) as [string, string[]][];
}

interface PresenceLike {
  metas: { phx_ref: string; [field: string]: unknown }[];
}

function ours(user: string): OurMember {
  const socket = new Socket(server.url, { transport: WebSocket, params: { user }, ...fast });
  cleanups.push(() => socket.disconnect());
  const messages: IncomingMessage[] = [];
  socket.onMessage((msg) => messages.push(msg));
  socket.connect();
  const channel = socket.channel(TOPIC);
  const presence = new Presence(channel);
  const changes: [string, PresenceChange<JsonObject>][] = [];
  presence.onChange((key, change) => changes.push([key, change]));
  let joins = 0;
  const joined = new Promise<void>((resolve) =>
    channel.join().receive("ok", () => {
      joins++;
      resolve();
    }),
  );
  return {
    user,
    channel,
    changes,
    messages,
    joined,
    joins: () => joins,
    refs: () => refsOf((chooser) => presence.list(chooser)),
    field: (key, field) => presence.state[key]?.metas[0]?.[field],
    drop: () => (socket.conn as WebSocket).close(),
    disconnect: () => socket.disconnect(),
    connect: () => socket.connect(),
  };
}

function theirs(user: string): Member {
  const socket = new PhoenixSocket(server.url, {
    transport: WebSocket as unknown as typeof globalThis.WebSocket,
    params: { user },
    ...fast,
  });
  cleanups.push(() => socket.disconnect());
  socket.connect();
  const channel = socket.channel(TOPIC, {});
  const presence = new PhoenixPresence(channel);
  let joins = 0;
  const joined = new Promise<void>((resolve) =>
    channel.join().receive("ok", () => {
      joins++;
      resolve();
    }),
  );
  return {
    user,
    // @types/phoenix omits joinRef(), which the channel has.
    channel: channel as unknown as AnyChannel,
    joined,
    joins: () => joins,
    refs: () => refsOf((chooser) => presence.list(chooser)),
    field: (key, field) =>
      presence
        .list((k, p: PresenceLike) => (k === key ? p.metas[0]?.[field] : undefined))
        .find((v) => v !== undefined),
    drop: () => (socket as unknown as { conn: WebSocket }).conn.close(),
    disconnect: () => socket.disconnect(),
    connect: () => socket.connect(),
  };
}

function call(member: Member, event: string, payload: object = {}): Promise<[string, unknown]> {
  return new Promise((resolve) => {
    const push = member.channel.push(event, payload);
    for (const status of ["ok", "error", "timeout"]) {
      push.receive(status, (r) => resolve([status, r]));
    }
  });
}

const canonical = (refs: [string, string[]][]) => JSON.stringify([...refs].sort());

function serverRefs(state: PresenceState): [string, string[]][] {
  return Object.entries(state).map(([key, p]) => [key, p.metas.map((m) => m.phx_ref).sort()]);
}

/**
 * Waits until the server lists exactly the keys of `counts`, each with that many metas,
 * and every member sees exactly the keys and phx_refs the server lists; returns that state.
 */
async function converged(
  members: Member[],
  counts: Record<string, number>,
  timeoutMs = 3000,
): Promise<PresenceState> {
  const deadline = Date.now() + timeoutMs;
  const shape = JSON.stringify(Object.entries(counts).sort());
  for (;;) {
    const state = await server.presence.list(TOPIC);
    const expected = canonical(serverRefs(state));
    const views = members.map((m) => canonical(m.refs()));
    const serverShape = JSON.stringify(
      Object.entries(state)
        .map(([key, p]) => [key, p.metas.length])
        .sort(),
    );
    if (serverShape === shape && views.every((v) => v === expected)) return state;
    if (Date.now() > deadline) {
      throw new Error(`not converged: server ${expected}, clients ${views.join(" | ")}`);
    }
    await sleep(10);
  }
}

/** The phx_ref of the single meta the server lists for `key`. */
async function onlyRef(key: string): Promise<string> {
  const entry = await server.presence.get(TOPIC, key);
  expect(entry?.metas).toHaveLength(1);
  return entry!.metas[0]!.phx_ref;
}

/** Whether `member` sees `key` tracked again, under a ref other than `old`. */
function seesNewRef(member: Member, key: string, old: string): boolean {
  return member.refs().some(([k, refs]) => k === key && refs.length > 0 && !refs.includes(old));
}

/** The changes of `key` an OurMember saw from index `from` on. */
function changesOf(member: OurMember, key: string, from = 0): PresenceChange<JsonObject>[] {
  return member.changes.slice(from).flatMap(([k, c]) => (k === key ? [c] : []));
}

describe("Tandem and phoenix Presence against the Tandem server", () => {
  it("list joins, updates and leaves exactly as the server does", async () => {
    const ada = ours("ada");
    const bob = theirs("bob");
    await Promise.all([ada.joined, bob.joined]);
    const state = await converged([ada, bob], { ada: 1, bob: 1 });
    expect(Object.keys(state).sort()).toEqual(["ada", "bob"]);

    const cy = ours("cy");
    await cy.joined;
    await converged([ada, bob, cy], { ada: 1, bob: 1, cy: 1 });
    expect(changesOf(ada, "cy")).toMatchObject([{ before: undefined, left: [], updated: [] }]);

    // An update from our client, seen as an update by our other client.
    const before = (await server.presence.get(TOPIC, "ada"))!.metas[0]!;
    const mark = cy.changes.length;
    expect(await call(ada, "status", { status: "away" })).toEqual(["ok", { changed: true }]);
    const after = await converged([ada, bob, cy], { ada: 1, bob: 1, cy: 1 });
    const next = after.ada!.metas[0]!;
    expect(next).toMatchObject({ status: "away" });
    for (const member of [ada, bob, cy]) expect(member.field("ada", "status")).toBe("away");
    expect(changesOf(cy, "ada", mark)).toEqual([
      {
        before: { metas: [before] },
        after: { metas: [{ ...next, phx_ref_prev: before.phx_ref }] },
        joined: [],
        left: [],
        updated: [{ prev: before, next: { ...next, phx_ref_prev: before.phx_ref } }],
      },
    ]);

    // An update from the phoenix client, seen as an update by ours.
    const adaMark = ada.changes.length;
    expect(await call(bob, "status", { status: "busy" })).toEqual(["ok", { changed: true }]);
    await converged([ada, bob, cy], { ada: 1, bob: 1, cy: 1 });
    await eventually(() => changesOf(ada, "bob", adaMark).length === 1);
    const [bobChange] = changesOf(ada, "bob", adaMark);
    expect(bobChange).toMatchObject({ joined: [], left: [] });
    expect(bobChange!.updated).toHaveLength(1);
    expect(bobChange!.updated[0]!.next).toMatchObject({ status: "busy" });
    for (const member of [ada, bob, cy]) expect(member.field("bob", "status")).toBe("busy");

    // A leave.
    const leaveMark = ada.changes.length;
    cy.channel.leave();
    await eventually(() => !ada.refs().some(([k]) => k === "cy"));
    await converged([ada, bob], { ada: 1, bob: 1 });
    expect(changesOf(ada, "cy", leaveMark)).toMatchObject([
      { after: undefined, joined: [], updated: [] },
    ]);
    expect(changesOf(ada, "cy", leaveMark)[0]!.left).toHaveLength(1);
  });

  it("tracks two tabs of one user as two metas, one per client library", async () => {
    const tab1 = ours("ada");
    const tab2 = theirs("ada");
    const bob = ours("bob");
    await Promise.all([tab1.joined, tab2.joined, bob.joined]);
    const state = await converged([tab1, tab2, bob], { ada: 2, bob: 1 });
    expect(state.ada!.metas).toHaveLength(2);
    const mark = bob.changes.length;
    await call(tab2, "status", { status: "away" });
    await converged([tab1, tab2, bob], { ada: 2, bob: 1 });
    await eventually(() => changesOf(bob, "ada", mark).length === 1);
    const [change] = changesOf(bob, "ada", mark);
    expect(change!.updated).toHaveLength(1);
    expect(change!.after!.metas).toHaveLength(2);
    tab1.channel.leave();
    await eventually(() => bob.refs().find(([k]) => k === "ada")?.[1].length === 1);
    const after = await converged([tab2, bob], { ada: 1, bob: 1 });
    expect(after.ada!.metas).toHaveLength(1);
  });

  it("reverts a transient typing flag, reported as two updates", async () => {
    const ada = ours("ada");
    const bob = theirs("bob");
    await Promise.all([ada.joined, bob.joined]);
    await converged([ada, bob], { ada: 1, bob: 1 });
    const mark = ada.changes.length;
    await call(bob, "typing");
    await eventually(
      () => ada.field("bob", "typing") === true && bob.field("bob", "typing") === true,
    );
    await eventually(
      () => ada.field("bob", "typing") === false && bob.field("bob", "typing") === false,
    );
    await converged([ada, bob], { ada: 1, bob: 1 });
    const changes = changesOf(ada, "bob", mark);
    expect(changes.map((c) => [c.joined.length, c.left.length, c.updated.length])).toEqual([
      [0, 0, 1],
      [0, 0, 1],
    ]);
    expect(changes.map((c) => c.updated[0]!.next.typing)).toEqual([true, false]);
  });

  it("converges after members crash and rejoin by themselves", async () => {
    const ada = ours("ada");
    const bob = theirs("bob");
    const cy = ours("cy");
    await Promise.all([ada.joined, bob.joined, cy.joined]);
    await converged([ada, bob, cy], { ada: 1, bob: 1, cy: 1 });

    for (const crasher of [ada, bob]) {
      const mark = cy.changes.length;
      const before = crasher.joins();
      const old = await onlyRef(crasher.user);
      crasher.channel.push("boom", {});
      await eventually(() => crasher.joins() === before + 1);
      await eventually(() => seesNewRef(cy, crasher.user, old));
      await converged([ada, bob, cy], { ada: 1, bob: 1, cy: 1 });
      // The rejoined channel tracks a new meta, not an update of the old one.
      const changes = changesOf(cy, crasher.user, mark);
      expect(changes.flatMap((c) => c.updated)).toEqual([]);
      expect(changes.flatMap((c) => c.left)).toHaveLength(1);
      expect(changes.flatMap((c) => c.joined)).toHaveLength(1);
    }
  });

  it("converges after dropped connections reconnect, with what changed meanwhile", async () => {
    const ada = ours("ada");
    const bob = theirs("bob");
    const cy = ours("cy");
    await Promise.all([ada.joined, bob.joined, cy.joined]);
    await converged([ada, bob, cy], { ada: 1, bob: 1, cy: 1 });

    // Network drops: both clients reconnect and rejoin by themselves.
    for (const member of [ada, bob]) {
      const before = member.joins();
      const old = await onlyRef(member.user);
      member.drop();
      await eventually(() => member.joins() === before + 1);
      await eventually(() => seesNewRef(cy, member.user, old));
      await converged([ada, bob, cy], { ada: 1, bob: 1, cy: 1 });
    }

    // While ada is away, bob updates, cy leaves and dan arrives; her next state tells.
    ada.disconnect();
    await eventually(() => !bob.refs().some(([k]) => k === "ada"));
    const bobBefore = (await server.presence.get(TOPIC, "bob"))!.metas[0]!;
    await call(bob, "status", { status: "away" });
    cy.channel.leave();
    const dan = theirs("dan");
    await dan.joined;
    await converged([bob, dan], { bob: 1, dan: 1 });
    const mark = ada.changes.length;
    ada.connect();
    await converged([ada, bob, dan], { ada: 1, bob: 1, dan: 1 });
    const changes = new Map(ada.changes.slice(mark));
    expect([...changes.keys()].sort()).toEqual(["ada", "bob", "cy", "dan"]);
    expect(changes.get("bob")).toMatchObject({ joined: [], left: [] });
    expect(changes.get("bob")!.updated.map((u) => [u.prev.phx_ref, u.next.status])).toEqual([
      [bobBefore.phx_ref, "away"],
    ]);
    expect(changes.get("cy")).toMatchObject({ after: undefined, joined: [], updated: [] });
    expect(changes.get("dan")).toMatchObject({ before: undefined, left: [], updated: [] });
  });

  it("applies diffs that arrive before presence_state after it", async () => {
    // A slow fetch for one full list lets diffs overtake the state being prepared.
    await server.close();
    let slowNext = false;
    server = await startPresenceServer({
      fetch: async (_topic, presences) => {
        if (slowNext) {
          slowNext = false;
          await sleep(150);
        }
        return presences;
      },
    });
    const bob = ours("bob");
    const cy = theirs("cy");
    await Promise.all([bob.joined, cy.joined]);
    await converged([bob, cy], { bob: 1, cy: 1 });
    // The next fetch is the list for ada's presence_state.
    slowNext = true;
    const ada = ours("ada");
    await ada.joined;
    expect(await call(bob, "status", { status: "away" })).toEqual(["ok", { changed: true }]);
    await converged([ada, bob, cy], { ada: 1, bob: 1, cy: 1 });
    for (const member of [ada, bob, cy]) expect(member.field("bob", "status")).toBe("away");
    // The scenario did happen: bob's update reached ada before her state did.
    const events = ada.messages
      .filter((m) => m.topic === TOPIC && m.event.startsWith("presence_"))
      .map((m) =>
        m.event === "presence_diff" && "bob" in (m.payload as { joins: object }).joins
          ? "bob_diff"
          : m.event,
      );
    expect(events.indexOf("bob_diff")).toBeGreaterThanOrEqual(0);
    expect(events.indexOf("bob_diff")).toBeLessThan(events.indexOf("presence_state"));
  });
});
