import { randomBytes } from "node:crypto";
import { type Channel, Presence, Socket } from "@tandem/client";
import { RedisAdapter } from "@tandem/redis";
import { RedisServer } from "@tandem/redis/testing";
import { PubSub } from "@tandem/server";
import { silentLogger } from "@tandem/test-support";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import * as Y from "yjs";
import { TokenSigner } from "../src/accounts/token.js";
import { SEED_TEST_CASES } from "../src/challenges/seed.js";
import { SOLUTION_TEXT } from "../src/docs/documents.js";
import { createPairServer } from "../src/index.js";
import { allowInserts, failInserts, postgresBackend } from "./databases.js";
import { signUp, startTestServer, type TestServer } from "./server-fixture.js";
import { THROWING_UPDATE } from "./updates.js";

const SECRET = "channel-test-secret-long-enough-for-hmac-signing";

let t: TestServer;
const sockets: Socket[] = [];

beforeEach(async () => {
  t = await startTestServer({ secretKeyBase: SECRET });
});
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.disconnect();
  await t.cleanup();
});

function socketUrl(): string {
  return `${t.server.url.replace("http", "ws")}/socket`;
}

/** A connected client socket authenticated with `token` (in the subprotocol header). */
function connect(token: string, url = socketUrl()): Socket {
  const socket = new Socket(url, {
    transport: WebSocket,
    authToken: token,
    timeout: 5000,
    reconnectAfterMs: () => 50,
    rejoinAfterMs: () => 50,
  });
  sockets.push(socket);
  socket.connect();
  return socket;
}

interface JoinReply {
  status: "ok" | "error" | "timeout";
  response: Record<string, unknown>;
}

function join(channel: Channel): Promise<JoinReply> {
  return new Promise((resolve) => {
    channel
      .join()
      .receive("ok", (response) =>
        resolve({ status: "ok", response: response as Record<string, unknown> }),
      )
      .receive("error", (response) =>
        resolve({ status: "error", response: response as Record<string, unknown> }),
      )
      .receive("timeout", () => resolve({ status: "timeout", response: {} }));
  });
}

function pushReply(
  channel: Channel,
  event: string,
  payload: object | ArrayBuffer,
): Promise<JoinReply> {
  return new Promise((resolve) => {
    channel
      .push(event, payload)
      .receive("ok", (response) =>
        resolve({ status: "ok", response: response as Record<string, unknown> }),
      )
      .receive("error", (response) =>
        resolve({ status: "error", response: response as Record<string, unknown> }),
      )
      .receive("timeout", () => resolve({ status: "timeout", response: {} }));
  });
}

async function waitFor(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.slice().buffer;
}

/** A caret at `index` of the tab's text, as the web app sets it in presence. */
function caretAt(tab: Tab, index: number): { anchor: object; head: object } {
  const at = Y.createRelativePositionFromTypeIndex(tab.doc.getText(SOLUTION_TEXT), index);
  const json = Y.relativePositionToJSON(at) as object;
  return { anchor: json, head: json };
}

type Meta = {
  first_name: string;
  user_id: number;
  typing: boolean;
  writing: boolean;
  away: boolean;
  color: string;
  caret: { anchor: unknown; head: unknown } | null;
};

/** A browser tab in a challenge room: a socket, the channel, presence and a Y.Doc. */
class Tab {
  readonly channel: Channel;
  readonly presence: Presence;
  readonly doc = new Y.Doc();
  synced = false;
  readonly received: string[] = [];
  readonly replies: Promise<JoinReply>[] = [];
  /** The state vectors the server sent in `doc:sync`. */
  readonly serverStates: Uint8Array[] = [];
  /** What the server answered to our state vector: what we lacked. */
  readonly syncUpdates: Uint8Array[] = [];
  /** Replies to the `doc:update` sending the server what it lacked. */
  readonly syncReplies: Promise<JoinReply>[] = [];

  constructor(token: string, challengeId: number, url?: string) {
    const socket = connect(token, url);
    this.channel = socket.channel(`challenges:${challengeId}`);
    this.presence = new Presence(this.channel);
    // The client's side of the sync: send what the server lacks, ask for what we lack.
    this.channel.on<ArrayBuffer>("doc:sync", (payload) => {
      this.received.push("doc:sync");
      const serverState = new Uint8Array(payload);
      this.serverStates.push(serverState);
      const missing = Y.encodeStateAsUpdate(this.doc, serverState);
      if (missing.byteLength > 2) {
        this.syncReplies.push(pushReply(this.channel, "doc:update", toArrayBuffer(missing)));
      }
      this.channel
        .push("doc:sync", toArrayBuffer(Y.encodeStateVector(this.doc)))
        .receive("ok", (reply) => {
          const update = new Uint8Array(reply as ArrayBuffer);
          this.syncUpdates.push(update);
          Y.applyUpdate(this.doc, update, "server");
          this.synced = true;
        });
    });
    this.channel.on<ArrayBuffer>("doc:update", (payload) => {
      this.received.push("doc:update");
      Y.applyUpdate(this.doc, new Uint8Array(payload), "server");
    });
    this.doc.on("update", (update: Uint8Array, origin: unknown) => {
      if (origin !== "server") {
        this.replies.push(pushReply(this.channel, "doc:update", toArrayBuffer(update)));
      }
    });
  }

  async open(): Promise<JoinReply> {
    this.synced = false;
    const reply = await join(this.channel);
    if (reply.status === "ok") await waitFor(() => this.synced, "doc:sync");
    return reply;
  }

  get text(): string {
    return this.doc.getText(SOLUTION_TEXT).toString();
  }

  edit(change: (text: Y.Text) => void): void {
    change(this.doc.getText(SOLUTION_TEXT));
  }

  metas(): Record<string, Meta[]> {
    const out: Record<string, Meta[]> = {};
    this.presence.list((key, entry) => {
      out[key] = entry.metas as unknown as Meta[];
    });
    return out;
  }
}

/** Opens a raw WebSocket and resolves with the HTTP status of a refused upgrade, or 101. */
function handshakeStatus(query: string, protocols: string[], origin?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${socketUrl()}/websocket?vsn=2.0.0${query}`, protocols, {
      ...(origin ? { origin } : {}),
    });
    ws.on("open", () => {
      ws.close();
      resolve(101);
    });
    ws.on("unexpected-response", (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on("error", (err) => {
      if (!err.message.includes("Unexpected server response")) reject(err);
    });
  });
}

const bearer = (token: string) => `base64url.bearer.phx.${btoa(token).replace(/=+$/, "")}`;

describe("socket authentication", () => {
  it("refuses a connection without a valid token with 403", async () => {
    const { token } = await signUp(t.server.url, "Ada");
    expect(await handshakeStatus("", ["phoenix"])).toBe(403);
    expect(await handshakeStatus("", ["phoenix", bearer("not-a-token")])).toBe(403);
    const forged = new TokenSigner("a-different-secret-that-is-long-enough").sign(1);
    expect(await handshakeStatus("", ["phoenix", bearer(forged)])).toBe(403);
    const expired = new TokenSigner(SECRET).sign(1, Date.now() - 15 * 86_400_000);
    expect(await handshakeStatus("", ["phoenix", bearer(expired)])).toBe(403);
    const otherAudience = new TokenSigner(SECRET, { audience: "other" }).sign(1);
    expect(await handshakeStatus("", ["phoenix", bearer(otherAudience)])).toBe(403);
    // A genuine token for a user that does not exist.
    expect(await handshakeStatus("", ["phoenix", bearer(new TokenSigner(SECRET).sign(999))])).toBe(
      403,
    );

    expect(await handshakeStatus("", ["phoenix", bearer(token)])).toBe(101);
    expect(await handshakeStatus(`&token=${encodeURIComponent(token)}`, ["phoenix"])).toBe(101);
  });

  it("accepts browsers from its own host or an allowed origin only", async () => {
    const { token } = await signUp(t.server.url, "Ada");
    const protocols = ["phoenix", bearer(token)];
    expect(await handshakeStatus("", protocols, t.server.url)).toBe(101);
    expect(await handshakeStatus("", protocols, "http://evil.example")).toBe(403);

    await t.cleanup();
    t = await startTestServer({ allowedOrigins: ["http://localhost:5173"] });
    const other = await signUp(t.server.url, "Ada");
    const allowed = ["phoenix", bearer(other.token)];
    expect(await handshakeStatus("", allowed, "http://localhost:5173")).toBe(101);
    expect(await handshakeStatus("", allowed, t.server.url)).toBe(101);
    expect(await handshakeStatus("", allowed, "http://evil.example")).toBe(403);
  });

  it("never opens a client socket with a bad token", async () => {
    const socket = connect("bad");
    let errors = 0;
    socket.onError(() => {
      errors += 1;
    });
    let opened = false;
    socket.onOpen(() => {
      opened = true;
    });
    await waitFor(() => errors >= 2, "connection errors");
    expect(opened).toBe(false);
  });

  it("refuses joins once the token has expired, even on an open socket", async () => {
    const { user } = await signUp(t.server.url, "Brief");
    const shortLived = new TokenSigner(SECRET, { ttlSeconds: 1 }).sign(user.id);
    const socket = connect(shortLived);
    await waitFor(() => socket.isConnected(), "open");
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const reply = await join(socket.channel("challenges:1"));
    expect(reply).toEqual({ status: "error", response: { reason: "unauthorized" } });
  });
});

describe("challenge channel", () => {
  it("refuses unknown challenges with not found", async () => {
    const { token } = await signUp(t.server.url, "Ada");
    const socket = connect(token);
    for (const topic of ["challenges:999999", "challenges:abc", "challenges:", "challenges:01"]) {
      expect(await join(socket.channel(topic))).toEqual({
        status: "error",
        response: { reason: "not found" },
      });
    }
  });

  it("replies with the challenge, then pushes presence_state and doc:sync", async () => {
    // presence_state is shared by everyone joining within one cooldown, so it may come
    // before or after doc:sync.
    const { token, user } = await signUp(t.server.url, "Ada");
    const tab = new Tab(token, 2);
    const order: string[] = [];
    tab.channel.on("presence_state", () => order.push("presence_state"));
    tab.channel.on("doc:sync", () => order.push("doc:sync"));
    const reply = await tab.open();
    const expected = await (await fetch(`${t.server.url}/api/challenges/2`)).json();
    expect(reply).toEqual({ status: "ok", response: { challenge: expected.challenge } });
    await waitFor(() => order.length === 2, "presence_state and doc:sync");
    expect(order.sort()).toEqual(["doc:sync", "presence_state"]);
    expect(tab.text).toBe(expected.challenge.starter_code);
    expect(tab.metas()).toEqual({
      [String(user.id)]: [
        {
          first_name: "Ada",
          user_id: user.id,
          away: false,
          // Chosen by the server: the client draws them, never picks them.
          color: expect.stringMatching(/^#[0-9a-f]{6}$/),
          color_light: expect.stringMatching(/^#[0-9a-f]{8}$/),
          // Set by the member with presence_update.
          typing: false,
          writing: false,
          caret: null,
          member: expect.any(String),
          phx_ref: expect.any(String),
        },
      ],
    });
  });

  it("lists a user once with one meta per tab, and drops a tab that leaves", async () => {
    const ada = await signUp(t.server.url, "Ada");
    const bob = await signUp(t.server.url, "Bob");
    const tab1 = new Tab(ada.token, 1);
    const tab2 = new Tab(ada.token, 1);
    const bobTab = new Tab(bob.token, 1);
    await Promise.all([tab1.open(), tab2.open(), bobTab.open()]);
    const adaKey = String(ada.user.id);
    await waitFor(() => bobTab.metas()[adaKey]?.length === 2, "two metas for Ada");
    const metas = bobTab.metas();
    expect(Object.keys(metas).sort()).toEqual([adaKey, String(bob.user.id)].sort());
    expect(metas[adaKey]?.map((m) => m.first_name)).toEqual(["Ada", "Ada"]);

    tab2.channel.leave();
    await waitFor(() => bobTab.metas()[adaKey]?.length === 1, "one meta after a tab leaves");
    sockets[0]?.disconnect();
    await waitFor(() => bobTab.metas()[adaKey] === undefined, "Ada gone after disconnect");
  });

  it("marks a typing user and reverts after the quiet period", async () => {
    const ada = await signUp(t.server.url, "Ada");
    const bob = await signUp(t.server.url, "Bob");
    const adaTab = new Tab(ada.token, 1);
    const bobTab = new Tab(bob.token, 1);
    await Promise.all([adaTab.open(), bobTab.open()]);
    const key = String(ada.user.id);
    await waitFor(() => bobTab.metas()[key] !== undefined, "Ada present");

    expect(await pushReply(adaTab.channel, "presence_update", { typing: true })).toEqual({
      status: "ok",
      response: { changed: true },
    });
    await waitFor(() => bobTab.metas()[key]?.[0]?.typing === true, "typing true");
    const startedAt = Date.now();
    await waitFor(() => bobTab.metas()[key]?.[0]?.typing === false, "typing false", 2000);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(50);
    expect(bobTab.metas()[key]).toHaveLength(1);
  });

  it("gives each user a colour unique in the room, the same in every tab and on the caret", async () => {
    const users = await Promise.all(["Ada", "Bob", "Cy"].map((name) => signUp(t.server.url, name)));
    const tabs = users.map((u) => new Tab(u.token, 1));
    const second = new Tab(users[0]!.token, 1);
    for (const tab of [...tabs, second]) await tab.open();
    const keys = users.map((u) => String(u.user.id));
    await waitFor(() => second.metas()[keys[0]!]?.length === 2, "both of Ada's tabs");
    await waitFor(() => keys.every((k) => tabs[0]!.metas()[k]), "everyone listed");
    const metas = tabs[0]!.metas();
    const colors = keys.map((k) => metas[k]![0]!.color);
    expect(new Set(colors).size).toBe(3);
    expect(metas[keys[0]!]!.map((m) => m.color)).toEqual([colors[0], colors[0]]);
    // The lowest free slot: after Bob leaves, the next newcomer gets Bob's colour.
    sockets[1]?.disconnect();
    await waitFor(() => tabs[0]!.metas()[keys[1]!] === undefined, "Bob gone");
    const dee = await signUp(t.server.url, "Dee");
    const deeTab = new Tab(dee.token, 1);
    await deeTab.open();
    await waitFor(() => tabs[0]!.metas()[String(dee.user.id)] !== undefined, "Dee listed");
    expect(tabs[0]!.metas()[String(dee.user.id)]![0]!.color).toBe(colors[1]);

    // Dee's caret travels in Dee's presence, beside the colour the server gave Dee.
    const caret = caretAt(deeTab, 0);
    expect((await pushReply(deeTab.channel, "presence_update", { caret })).status).toBe("ok");
    const deeMeta = () => tabs[0]!.metas()[String(dee.user.id)]?.[0];
    await waitFor(() => deeMeta()?.caret !== null, "Dee's caret");
    expect(deeMeta()).toMatchObject({ caret, color: colors[1] });
  });

  it("marks a member away when their channel goes quiet, and back when heard again", async () => {
    const quick = await startTestServer({
      secretKeyBase: SECRET,
      liveness: { awayAfterMs: 300, idleTimeoutMs: 60_000 },
    });
    try {
      const url = `${quick.server.url.replace("http", "ws")}/socket`;
      const ada = await signUp(quick.server.url, "Ada");
      const bob = await signUp(quick.server.url, "Bob");
      const adaTab = new Tab(ada.token, 1, url);
      const bobTab = new Tab(bob.token, 1, url);
      await Promise.all([adaTab.open(), bobTab.open()]);
      const key = String(ada.user.id);
      await waitFor(() => bobTab.metas()[key] !== undefined, "Ada present");
      expect(bobTab.metas()[key]![0]!.away).toBe(false);
      // Nobody sends `here` in this test: the quiet period passes.
      await waitFor(() => bobTab.metas()[key]?.[0]?.away === true, "Ada away");
      expect(await pushReply(adaTab.channel, "here", {})).toEqual({ status: "ok", response: {} });
      await waitFor(() => bobTab.metas()[key]?.[0]?.away === false, "Ada back");
    } finally {
      for (const socket of sockets.splice(0)) socket.disconnect();
      await quick.cleanup();
    }
  });

  it("tells the lobby who is in each room, one change at a time", async () => {
    const ada = await signUp(t.server.url, "Ada");
    const lobby = connect(ada.token).channel("lobby");
    const changes: Record<string, unknown>[] = [];
    lobby.on<{ rooms: Record<string, unknown> }>("occupancy", ({ rooms }) => changes.push(rooms));
    const joined = await join(lobby);
    expect(joined).toEqual({ status: "ok", response: { rooms: {} } });
    expect(await pushReply(lobby, "anything", {})).toEqual({
      status: "error",
      response: { reason: "unknown event" },
    });

    const tab = new Tab(ada.token, 2);
    await tab.open();
    await waitFor(() => changes.length === 1, "occupancy of room 2");
    const color = tab.metas()[String(ada.user.id)]?.[0]?.color;
    expect(changes[0]).toEqual({ "2": { count: 1, members: [{ first_name: "Ada", color }] } });
    // A typing change leaves the occupancy alone, so the lobby hears nothing of it.
    await pushReply(tab.channel, "presence_update", { typing: true });
    tab.channel.leave();
    await waitFor(() => changes.length === 2, "room 2 empty");
    expect(changes[1]).toEqual({ "2": null });
    const late = connect(ada.token).channel("lobby");
    expect(await join(late)).toEqual({ status: "ok", response: { rooms: {} } });
  });

  it("converges concurrent edits from two clients, keeping every keystroke", async () => {
    const ada = await signUp(t.server.url, "Ada");
    const bob = await signUp(t.server.url, "Bob");
    const a = new Tab(ada.token, 3);
    const b = new Tab(bob.token, 3);
    await Promise.all([a.open(), b.open()]);
    const starter = a.text;
    expect(b.text).toBe(starter);

    // Interleaved, unacknowledged edits at the same places, as two people typing at once.
    for (let i = 0; i < 20; i++) {
      a.edit((text) => text.insert(0, `a${i};`));
      b.edit((text) => text.insert(0, `b${i};`));
      a.edit((text) => text.insert(text.length, `A${i}`));
      b.edit((text) => text.insert(text.length, `B${i}`));
    }
    await waitFor(() => a.replies.length === 40 && b.replies.length === 40, "every edit pushed");
    const replies = await Promise.all([...a.replies, ...b.replies]);
    expect(replies.every((r) => r.status === "ok")).toBe(true);
    await waitFor(() => a.text === b.text && a.text.length > starter.length + 200, "convergence");
    for (let i = 0; i < 20; i++) {
      for (const piece of [`a${i};`, `b${i};`, `A${i}`, `B${i}`]) expect(a.text).toContain(piece);
    }
    expect(a.text).toContain(starter);
    const room = await t.server.rooms.acquire(3, "unused");
    expect(room.text()).toBe(a.text);
    t.server.rooms.release(room);
  });

  it("gives a late joiner the current document, and keeps it across a restart", async () => {
    const ada = await signUp(t.server.url, "Ada");
    const a = new Tab(ada.token, 4);
    await a.open();
    a.edit((text) => text.insert(0, "// Ada was here\n"));
    await waitFor(() => a.replies.length === 1, "push");
    expect((await a.replies[0])?.status).toBe("ok");

    const late = new Tab((await signUp(t.server.url, "Late")).token, 4);
    await late.open();
    expect(late.text).toBe(a.text);
    expect(late.text.startsWith("// Ada was here\n")).toBe(true);
    const before = late.text;

    for (const socket of sockets.splice(0)) socket.disconnect();
    await t.server.close();
    const restarted = await t.restart();
    // Tabs connect to t.server, which is now the restarted server.
    const again = new Tab((await signUp(restarted.url, "Again")).token, 4);
    await again.open();
    expect(again.text).toBe(before);
  });

  it("replies save failed and relays nothing when the update cannot be stored", async () => {
    const ada = await signUp(t.server.url, "Ada");
    const bob = await signUp(t.server.url, "Bob");
    const a = new Tab(ada.token, 5);
    const b = new Tab(bob.token, 5);
    await Promise.all([a.open(), b.open()]);
    a.edit((text) => text.insert(0, "saved;"));
    await waitFor(() => b.text.startsWith("saved;"), "first edit relayed");

    const { db, dialect } = t.server.database;
    await failInserts(db, dialect, "challenge_document_updates");
    a.edit((text) => text.insert(0, "lost?"));
    await waitFor(() => a.replies.length === 2, "second push");
    expect(await a.replies[1]).toEqual({ status: "error", response: { reason: "save failed" } });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(b.text.startsWith("saved;")).toBe(true);
    expect(b.text).not.toContain("lost?");
    expect(b.received.filter((e) => e === "doc:update")).toHaveLength(1);

    // What was saved is still there, and the client's resend succeeds once storage is back.
    await allowInserts(db, dialect, "challenge_document_updates");
    const resend = await pushReply(
      a.channel,
      "doc:update",
      toArrayBuffer(Y.encodeStateAsUpdate(a.doc)),
    );
    expect(resend.status).toBe("ok");
    await waitFor(() => b.text === a.text, "resend relayed");
    expect(b.text.startsWith("lost?saved;")).toBe(true);
  });

  it("refuses an update that throws when applied, and the room stays joinable after a restart", async () => {
    const ada = await signUp(t.server.url, "Ada");
    const a = new Tab(ada.token, 7);
    await a.open();
    const bad = await pushReply(a.channel, "doc:update", toArrayBuffer(THROWING_UPDATE));
    expect(bad).toEqual({ status: "error", response: { reason: "invalid update" } });
    a.edit((text) => text.insert(0, "// still works\n"));
    await waitFor(() => a.replies.length === 1, "push");
    expect((await a.replies[0])?.status).toBe("ok");

    const late = new Tab((await signUp(t.server.url, "Late")).token, 7);
    expect((await late.open()).status).toBe("ok");
    expect(late.text).toBe(a.text);
    for (const socket of sockets.splice(0)) socket.disconnect();
    await t.server.close();
    const restarted = await t.restart();
    const again = new Tab((await signUp(restarted.url, "Again")).token, 7);
    expect((await again.open()).status).toBe("ok");
    expect(again.text).toBe(a.text);
  });

  it("binds Yjs client ids to the user who used them first", async () => {
    const ada = await signUp(t.server.url, "Ada");
    const bob = await signUp(t.server.url, "Bob");
    const a = new Tab(ada.token, 6);
    const b = new Tab(bob.token, 6);
    await Promise.all([a.open(), b.open()]);
    a.edit((text) => text.insert(0, "// ada\n"));

    await waitFor(() => b.text.startsWith("// ada\n"), "Ada's edit relayed");
    expect((await a.replies[0])?.status).toBe("ok");

    // Bob writes under Ada's client id, at the clocks her next edits would take.
    b.doc.clientID = a.doc.clientID;
    b.edit((text) => text.insert(text.length, "// forged"));
    await waitFor(() => b.replies.length === 1, "forged push");
    expect(await b.replies[0]).toEqual({
      status: "error",
      response: { reason: "client id belongs to another user" },
    });

    // Ada's next edit is neither lost nor shadowed, and deleting her text is a normal edit.
    a.edit((text) => text.insert(0, "// ada again\n"));
    await waitFor(() => a.replies.length === 2, "Ada's second push");
    expect((await a.replies[1])?.status).toBe("ok");
    const c = new Tab(bob.token, 6);
    await c.open();
    expect(c.text.startsWith("// ada again\n// ada\n")).toBe(true);
    expect(c.text).not.toContain("forged");
    c.edit((text) => text.delete(0, "// ada again\n".length));
    await waitFor(() => c.replies.length === 1, "delete pushed");
    expect((await c.replies[0])?.status).toBe("ok");

    // Ada's tab keeps its client id across a reconnect (a new connection).
    sockets[0]?.disconnect();
    const again = connect(ada.token);
    const channel = again.channel("challenges:6");
    expect((await join(channel)).status).toBe("ok");
    const before = Y.encodeStateVector(a.doc);
    a.doc.getText(SOLUTION_TEXT).insert(0, "x");
    const update = Y.encodeStateAsUpdate(a.doc, before);
    expect(await pushReply(channel, "doc:update", toArrayBuffer(update))).toEqual({
      status: "ok",
      response: {},
    });
  });

  it("syncs with state vectors: a joiner gets only what it lacks, and only news is stored", async () => {
    const ada = await signUp(t.server.url, "Ada");
    const a = new Tab(ada.token, 4);
    await a.open();
    for (let i = 0; i < 20; i++) a.edit((text) => text.insert(text.length, `line ${i}\n`));
    await waitFor(() => a.replies.length === 20, "edits pushed");
    expect((await Promise.all(a.replies)).every((r) => r.status === "ok")).toBe(true);
    const { db } = t.server.database;
    const storedRows = async () =>
      (await db.selectFrom("challenge_document_updates").select("id").execute()).length;
    const rows = await storedRows();

    // A tab that has everything (a reconnect) is sent no structs, and sends nothing.
    const again = new Tab(ada.token, 4);
    Y.applyUpdate(again.doc, Y.encodeStateAsUpdate(a.doc), "server");
    await again.open();
    // Sync step 1 from the server is its state vector.
    expect(Y.decodeStateVector(again.serverStates[0]!)).toEqual(
      Y.decodeStateVector(Y.encodeStateVector(a.doc)),
    );
    expect(Y.decodeUpdate(again.syncUpdates[0]!).structs).toEqual([]);
    expect(again.syncReplies).toEqual([]);
    // A tab that has nothing gets everything.
    const fresh = new Tab((await signUp(t.server.url, "Fresh")).token, 4);
    await fresh.open();
    expect(fresh.text).toBe(a.text);
    // An update that adds nothing is acknowledged, not stored and not relayed.
    const repeat = await pushReply(
      a.channel,
      "doc:update",
      toArrayBuffer(Y.encodeStateAsUpdate(a.doc)),
    );
    expect(repeat).toEqual({ status: "ok", response: {} });
    expect(await storedRows()).toBe(rows);
    expect(fresh.received.filter((e) => e === "doc:update")).toHaveLength(0);
    expect(await pushReply(a.channel, "doc:sync", { sv: 1 })).toEqual({
      status: "error",
      response: { reason: "binary payload expected" },
    });
  });

  it("bounds update and document size with precise errors", async () => {
    await t.cleanup();
    t = await startTestServer({
      secretKeyBase: SECRET,
      maxUpdateBytes: 4096,
      maxDocumentBytes: 16_384,
    });
    const ada = await signUp(t.server.url, "Ada");
    const a = new Tab(ada.token, 1);
    await a.open();
    a.edit((text) => text.insert(0, "x".repeat(5000)));
    await waitFor(() => a.replies.length === 1, "big push");
    expect(await a.replies[0]).toEqual({
      status: "error",
      response: { reason: "update too large" },
    });

    // Another tab, whose document does not hold the refused edit its next edits would need.
    const b = new Tab(ada.token, 1);
    await b.open();
    const reasons: string[] = [];
    for (let i = 0; i < 8 && !reasons.includes("document too large"); i++) {
      const before = Y.encodeStateVector(b.doc);
      b.doc.getText(SOLUTION_TEXT).insert(0, `${i}`.repeat(3000));
      const chunk = Y.encodeStateAsUpdate(b.doc, before);
      const reply = await pushReply(b.channel, "doc:update", toArrayBuffer(chunk));
      reasons.push(reply.status === "ok" ? "ok" : String(reply.response.reason));
    }
    expect(reasons.at(-1)).toBe("document too large");
    expect(reasons.slice(0, -1).every((r) => r === "ok")).toBe(true);

    // The room stays joinable, within the bound, also after a restart.
    const late = new Tab((await signUp(t.server.url, "Late")).token, 1);
    await late.open();
    expect(late.syncUpdates[0]!.byteLength).toBeLessThanOrEqual(16_384);
    expect(late.text.length).toBeGreaterThan(3000 * (reasons.length - 2));
    for (const socket of sockets.splice(0)) socket.disconnect();
    await t.server.close();
    const restarted = await t.restart();
    const after = new Tab((await signUp(restarted.url, "After")).token, 1);
    await after.open();
    expect(after.text).toBe(late.text);
  });

  it("refuses malformed document updates and events it does not know", async () => {
    const ada = await signUp(t.server.url, "Ada");
    const a = new Tab(ada.token, 6);
    await a.open();
    expect(await pushReply(a.channel, "doc:update", { text: "hi" })).toEqual({
      status: "error",
      response: { reason: "binary payload expected" },
    });
    expect(
      await pushReply(a.channel, "doc:update", toArrayBuffer(new TextEncoder().encode("junk!"))),
    ).toEqual({
      status: "error",
      response: { reason: "invalid update" },
    });
    // Typing, carets and chat writing are presence now: the old events are gone.
    for (const event of ["nonsense", "typing", "awareness", "chat:typing"]) {
      expect(await pushReply(a.channel, event, {})).toEqual({
        status: "error",
        response: { reason: "unknown event" },
      });
    }
  });

  it("relays a member's caret and flags in their presence, and nothing for a no-op", async () => {
    const ada = await signUp(t.server.url, "Ada");
    const bob = await signUp(t.server.url, "Bob");
    const a = new Tab(ada.token, 6);
    const b = new Tab(bob.token, 6);
    await Promise.all([a.open(), b.open()]);
    const key = String(ada.user.id);
    const adaOnBob = () => b.metas()[key]?.[0];
    await waitFor(() => adaOnBob() !== undefined, "Ada present");
    const caret = { anchor: caretAt(a, 0).anchor, head: caretAt(a, 5).head };
    expect(await pushReply(a.channel, "presence_update", { caret, typing: true })).toEqual({
      status: "ok",
      response: { changed: true },
    });
    await waitFor(() => adaOnBob()?.caret !== null, "Ada's caret");
    expect(adaOnBob()).toMatchObject({ caret, typing: true, writing: false, away: false });
    // The same values again change nothing and broadcast nothing.
    expect(await pushReply(a.channel, "presence_update", { caret })).toEqual({
      status: "ok",
      response: { changed: false },
    });
    expect(await pushReply(a.channel, "presence_update", { caret: null })).toEqual({
      status: "ok",
      response: { changed: true },
    });
    await waitFor(() => adaOnBob()?.caret === null, "Ada's caret gone");
  });

  it("refuses presence updates naming the server's fields, off the schema, or too large", async () => {
    const ada = await signUp(t.server.url, "Ada");
    const bob = await signUp(t.server.url, "Bob");
    const a = new Tab(ada.token, 6);
    const b = new Tab(bob.token, 6);
    await Promise.all([a.open(), b.open()]);
    const key = String(ada.user.id);
    await waitFor(() => b.metas()[key] !== undefined, "Ada present");
    const before = b.metas()[key]?.[0];
    const update = (payload: object) => pushReply(a.channel, "presence_update", payload);

    // Ada poses as Bob, picks a colour meant for a style attribute, or says she is here.
    for (const [field, value] of [
      ["user_id", bob.user.id],
      ["first_name", "Bob"],
      ["color", "red;background:url(//evil.example/t.png)"],
      ["color_light", "red"],
      ["away", false],
      ["member", "someone-else"],
      ["phx_ref", "x"],
    ] as const) {
      expect(await update({ typing: true, [field]: value })).toEqual({
        status: "error",
        response: { reason: "server_owned", field },
      });
    }
    const invalid = (path: string[]) => ({
      status: "error",
      response: { reason: "invalid", issues: [{ path, message: expect.any(String) }] },
    });
    expect(await update({ cursor: { x: 1, y: 2 } })).toEqual(invalid([]));
    expect(await update({ typing: "yes" })).toEqual(invalid(["typing"]));
    const at = caretAt(a, 0).anchor;
    expect(await update({ caret: { anchor: at } })).toEqual(invalid(["caret", "head"]));
    expect(
      await update({ caret: { anchor: at, head: { ...at, item: { client: -1, clock: 0 } } } }),
    ).toEqual(invalid(["caret", "head", "item", "client"]));
    expect(
      await update({ caret: { anchor: { tname: "x".repeat(65), assoc: 0 }, head: at } }),
    ).toEqual(invalid(["caret", "anchor", "tname"]));
    expect(await update({ caret: { anchor: { assoc: 0, style: "x" }, head: at } })).toEqual(
      invalid(["caret", "anchor"]),
    );
    // A caret padded past the size limit is refused before the schema reads it.
    expect(
      await update({ caret: { anchor: { tname: "x".repeat(600), assoc: 0 }, head: at } }),
    ).toEqual({
      status: "error",
      response: { reason: "update_too_large", max_bytes: 512 },
    });
    expect(await pushReply(a.channel, "presence_update", [1, 2])).toEqual({
      status: "error",
      response: { reason: "invalid_payload" },
    });
    // Nothing refused reached Bob.
    expect(b.metas()[key]?.[0]).toEqual(before);

    // A flood is cut short, with the time to wait.
    const replies = await Promise.all(
      Array.from({ length: 40 }, (_, i) => update({ typing: i % 2 === 0 })),
    );
    const limited = replies.filter((r) => r.response.reason === "rate_limited");
    expect(limited.length).toBeGreaterThan(0);
    expect(limited[0]?.response.retry_after_ms).toEqual(expect.any(Number));
  });

  it("unloads a room's document when the last person leaves", async () => {
    const ada = await signUp(t.server.url, "Ada");
    const a = new Tab(ada.token, 1);
    await a.open();
    expect(t.server.rooms.size).toBe(1);
    a.channel.leave();
    await waitFor(() => t.server.rooms.size === 0, "room unloaded");
  });

  it("keeps each node's room current with edits made through another node", async () => {
    // Two servers over the same data and one PubSub: a cluster in one process.
    const pubsub = new PubSub();
    await t.cleanup();
    t = await startTestServer({ secretKeyBase: SECRET, pubsub });
    const second = await createPairServer({
      dataDir: t.dataDir,
      secretKeyBase: SECRET,
      logger: silentLogger,
      pubsub,
    });
    try {
      const secondUrl = `${second.url.replace("http", "ws")}/socket`;
      const ada = await signUp(t.server.url, "Ada");
      const bob = await signUp(second.url, "Bob");
      const a = new Tab(ada.token, 1);
      const b = new Tab(bob.token, 1, secondUrl);
      await Promise.all([a.open(), b.open()]);
      a.edit((text) => text.insert(0, "// from node one\n"));
      await waitFor(() => b.text === a.text, "relay across nodes");

      const late = new Tab((await signUp(second.url, "Late")).token, 1, secondUrl);
      await late.open();
      expect(late.text).toBe(a.text);
    } finally {
      for (const socket of sockets.splice(0)) socket.disconnect();
      await second.close();
    }
  });
});

describe("two Pair servers clustered over Redis and PostgreSQL", () => {
  it("share presence, typing and the document", async () => {
    const redis = await RedisServer.start();
    const store = await postgresBackend.create();
    const prefix = `pair-cluster-${randomBytes(4).toString("hex")}`;
    const replication = { broadcastPeriodMs: 100, downPeriodMs: 1000, permdownPeriodMs: 10_000 };
    const node = (name: string) =>
      createPairServer({
        dataDir: store.dataDir,
        databaseUrl: store.databaseUrl,
        secretKeyBase: SECRET,
        logger: silentLogger,
        typingQuietMs: 300,
        pubsub: new PubSub({
          adapter: new RedisAdapter({ url: redis.url, prefix, nodeName: name }),
        }),
        replication,
      });
    const one = await node("one");
    const two = await node("two");
    try {
      const ada = await signUp(one.url, "Ada");
      const bob = await signUp(two.url, "Bob");
      const a = new Tab(ada.token, 1, `${one.url.replace("http", "ws")}/socket`);
      const b = new Tab(bob.token, 1, `${two.url.replace("http", "ws")}/socket`);
      await Promise.all([a.open(), b.open()]);
      const names = (tab: Tab) =>
        Object.values(tab.metas())
          .map((metas) => metas[0]?.first_name)
          .sort();
      await waitFor(
        () => names(a).join() === "Ada,Bob" && names(b).join() === "Ada,Bob",
        "presence across nodes",
      );

      await pushReply(b.channel, "presence_update", { typing: true });
      const bobTyping = () => a.metas()[String(bob.user.id)]?.[0]?.typing;
      await waitFor(() => bobTyping() === true, "typing across nodes");
      await waitFor(() => bobTyping() === false, "typing reverts across nodes");

      a.edit((text) => text.insert(0, "// ada\n"));
      b.edit((text) => text.insert(0, "// bob\n"));
      await waitFor(
        () => a.text === b.text && a.text.includes("// ada") && a.text.includes("// bob"),
        "one text",
      );

      b.channel.leave();
      await waitFor(() => names(a).join() === "Ada", "leave across nodes");
    } finally {
      for (const socket of sockets.splice(0)) socket.disconnect();
      await Promise.all([one.close(), two.close()]);
      await store.cleanup();
      await redis.kill();
    }
  }, 30_000);
});

type ChatMessage = {
  id: number;
  user_id: number;
  first_name: string;
  body: string;
  inserted_at: string;
};

describe("room chat", () => {
  it("stores a message, relays the stored copy to everyone, and gives joiners the history", async () => {
    const ada = await signUp(t.server.url, "Ada");
    const bob = await signUp(t.server.url, "Bob");
    const adaTab = new Tab(ada.token, 1);
    const bobTab = new Tab(bob.token, 1);
    const seen: { ada: ChatMessage[]; bob: ChatMessage[] } = { ada: [], bob: [] };
    adaTab.channel.on<ChatMessage>("chat:message", (m) => seen.ada.push(m));
    bobTab.channel.on<ChatMessage>("chat:message", (m) => seen.bob.push(m));
    await Promise.all([adaTab.open(), bobTab.open()]);

    const reply = await pushReply(adaTab.channel, "chat:send", { body: "  hello **Bob**\n" });
    expect(reply.status).toBe("ok");
    const message = (reply.response as { message: ChatMessage }).message;
    expect(message).toEqual({
      id: expect.any(Number),
      user_id: ada.user.id,
      first_name: "Ada",
      body: "hello **Bob**",
      inserted_at: expect.any(String),
    });
    await waitFor(() => seen.bob.length === 1 && seen.ada.length === 1, "the message relayed");
    expect(seen.bob).toEqual([message]);

    // Kept with the room: a joiner after a restart gets it as history, other rooms do not.
    await t.server.close();
    await t.restart();
    const histories: { room1: ChatMessage[][]; room2: ChatMessage[][] } = { room1: [], room2: [] };
    const later = new Tab(bob.token, 1);
    const elsewhere = new Tab(bob.token, 2);
    later.channel.on<{ messages: ChatMessage[] }>("chat:history", (h) =>
      histories.room1.push(h.messages),
    );
    elsewhere.channel.on<{ messages: ChatMessage[] }>("chat:history", (h) =>
      histories.room2.push(h.messages),
    );
    await Promise.all([later.open(), elsewhere.open()]);
    await waitFor(() => histories.room1.length === 1 && histories.room2.length === 1, "history");
    expect(histories.room1).toEqual([[message]]);
    expect(histories.room2).toEqual([[]]);
  });

  it("refuses messages that are empty, too long, not text or hidden characters, and floods", async () => {
    const ada = await signUp(t.server.url, "Ada");
    const bob = await signUp(t.server.url, "Bob");
    const adaTab = new Tab(ada.token, 1);
    const bobTab = new Tab(bob.token, 1);
    const relayed: ChatMessage[] = [];
    bobTab.channel.on<ChatMessage>("chat:message", (m) => relayed.push(m));
    await Promise.all([adaTab.open(), bobTab.open()]);
    const refusal = async (payload: object | ArrayBuffer) =>
      (await pushReply(adaTab.channel, "chat:send", payload)).response;

    expect(await refusal({ body: "   " })).toEqual({ reason: "empty message" });
    expect(await refusal({ body: "x".repeat(2001) })).toEqual({ reason: "message too long" });
    expect(await refusal({ body: 42 })).toEqual({ reason: "invalid message" });
    expect(await refusal({})).toEqual({ reason: "invalid message" });
    expect(await refusal(new Uint8Array([1, 2]).buffer)).toEqual({ reason: "invalid message" });
    expect(await refusal({ body: "abc\u202Edef" })).toEqual({ reason: "invalid message" });
    expect(await refusal({ body: "bell\u0007" })).toEqual({ reason: "invalid message" });

    // Five in a burst pass, the sixth is refused and not stored.
    const replies = [];
    for (let i = 0; i < 6; i++) {
      replies.push(await pushReply(adaTab.channel, "chat:send", { body: `line ${i}` }));
    }
    expect(replies.map((r) => r.status)).toEqual(["ok", "ok", "ok", "ok", "ok", "error"]);
    expect(replies[5]?.response).toEqual({ reason: "rate_limited" });
    await waitFor(() => relayed.length === 5, "five messages relayed");
    expect(relayed.map((m) => m.body)).toEqual(["line 0", "line 1", "line 2", "line 3", "line 4"]);

    const histories: ChatMessage[][] = [];
    const later = new Tab(bob.token, 1);
    later.channel.on<{ messages: ChatMessage[] }>("chat:history", (h) =>
      histories.push(h.messages),
    );
    await later.open();
    await waitFor(() => histories.length === 1, "history");
    expect(histories[0]?.map((m) => m.body)).toEqual(relayed.map((m) => m.body));
  });

  it("tells the others who is writing a message in presence, apart from editor typing", async () => {
    const ada = await signUp(t.server.url, "Ada");
    const bob = await signUp(t.server.url, "Bob");
    const adaTab = new Tab(ada.token, 1);
    const bobTab = new Tab(bob.token, 1);
    await Promise.all([adaTab.open(), bobTab.open()]);
    const key = String(ada.user.id);
    await waitFor(() => bobTab.metas()[key] !== undefined, "Ada present");
    const reply = await pushReply(adaTab.channel, "presence_update", { writing: true });
    expect(reply).toEqual({ status: "ok", response: { changed: true } });
    await waitFor(() => bobTab.metas()[key]?.[0]?.writing === true, "Ada writing");
    expect(bobTab.metas()[key]?.[0]).toMatchObject({ first_name: "Ada", typing: false });
    // It reverts by itself after the quiet period (100 ms in these tests).
    await waitFor(() => bobTab.metas()[key]?.[0]?.writing === false, "Ada no longer writing");
  });
});

describe("test runs", () => {
  const TESTS = SEED_TEST_CASES["Balanced Brackets"]?.length ?? 0;
  const result = (status: string, output = "true") => ({ status, output, logs: "" });

  it("relays a member's validated report to the whole room, named from the token", async () => {
    const ada = await signUp(t.server.url, "Ada");
    const bob = await signUp(t.server.url, "Bob");
    const adaTab = new Tab(ada.token, 1);
    const bobTab = new Tab(bob.token, 1);
    const onBob: Record<string, unknown>[] = [];
    const onAda: Record<string, unknown>[] = [];
    bobTab.channel.on<Record<string, unknown>>("tests:result", (p) => onBob.push(p));
    adaTab.channel.on<Record<string, unknown>>("tests:result", (p) => onAda.push(p));
    const [joined] = await Promise.all([adaTab.open(), bobTab.open()]);
    expect((joined.response.challenge as { tests: unknown[] }).tests).toHaveLength(TESTS);

    const results = Array.from({ length: TESTS }, (_, i) =>
      result(i === 0 ? "failed" : "passed", i === 0 ? "false" : "true"),
    );
    const reply = await pushReply(adaTab.channel, "tests:report", {
      results,
      first_name: "Mallory",
    });
    expect(reply).toEqual({ status: "ok", response: {} });
    await waitFor(() => onBob.length === 1 && onAda.length === 1, "the result relayed");
    expect(onBob[0]).toEqual({
      user_id: ada.user.id,
      first_name: "Ada",
      ran_at: expect.any(String),
      results,
    });
    expect(onAda).toEqual(onBob);
  });

  it("refuses malformed reports and floods, relaying nothing", async () => {
    const ada = await signUp(t.server.url, "Ada");
    const bob = await signUp(t.server.url, "Bob");
    const adaTab = new Tab(ada.token, 1);
    const bobTab = new Tab(bob.token, 1);
    const onBob: unknown[] = [];
    bobTab.channel.on("tests:result", (p) => onBob.push(p));
    await Promise.all([adaTab.open(), bobTab.open()]);
    const refusal = async (payload: object) =>
      (await pushReply(adaTab.channel, "tests:report", payload)).response;
    const valid = Array.from({ length: TESTS }, () => result("passed"));

    expect(await refusal({ results: valid.slice(1) })).toEqual({ reason: "invalid report" });
    expect(await refusal({ results: [...valid, result("passed")] })).toEqual({
      reason: "invalid report",
    });
    expect(await refusal({ results: [result("hacked"), ...valid.slice(1)] })).toEqual({
      reason: "invalid report",
    });
    expect(
      await refusal({ results: [result("passed", "x".repeat(2001)), ...valid.slice(1)] }),
    ).toEqual({
      reason: "invalid report",
    });
    expect(await refusal({ results: "all passed" })).toEqual({ reason: "invalid report" });

    const statuses = [];
    for (let i = 0; i < 6; i++) {
      statuses.push((await pushReply(adaTab.channel, "tests:report", { results: valid })).status);
    }
    expect(statuses).toEqual(["ok", "ok", "ok", "ok", "ok", "error"]);
    await waitFor(() => onBob.length === 5, "five results relayed");
  });
});
