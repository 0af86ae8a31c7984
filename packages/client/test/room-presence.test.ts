import { type BindingsServer, startBindingsServer } from "@tandem/test-support";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { WebSocket } from "ws";
import { Socket } from "../src/index.js";
import { RoomPresence, type RoomPresenceOptions, type RoomSnapshot } from "../src/room.js";

type Meta = {
  name: string;
  color: string;
  typing: boolean;
  cursor: { x: number; y: number } | null;
  status: string;
};

let server: BindingsServer;
const sockets: Socket[] = [];
const rooms: RoomPresence<Meta>[] = [];

beforeEach(async () => {
  server = await startBindingsServer();
});
afterEach(async () => {
  for (const room of rooms.splice(0)) room.dispose();
  for (const socket of sockets.splice(0)) socket.disconnect();
  await server.close();
});

function enter(user: string, options: RoomPresenceOptions<Meta> = {}, topic = "room:1") {
  const socket = new Socket(server.url, {
    transport: WebSocket,
    params: { user },
    reconnectAfterMs: () => 50,
    rejoinAfterMs: () => 50,
  });
  sockets.push(socket);
  socket.connect();
  const channel = socket.channel(topic);
  const room = new RoomPresence<Meta>(channel, options);
  rooms.push(room);
  const seen: RoomSnapshot<Meta>[] = [];
  room.subscribe(() => seen.push(room.snapshot));
  channel.join();
  return { socket, channel, room, seen };
}

/** Retries `check` until it passes (it throws until then). */
const until = (check: () => void) => vi.waitFor(check, { timeout: 3000, interval: 5 });

const others = (room: RoomPresence<Meta>) =>
  room.snapshot.others.map((o) => `${o.key}:${o.presence.status}${o.reconnecting ? "?" : ""}`);

describe("RoomPresence against a real server", () => {
  it("knows its own presence, sets it optimistically and sees others' updates", async () => {
    const ada = enter("ada", { initialPresence: { status: "busy" } });
    // Optimistic before the server has even tracked her.
    expect(ada.room.snapshot.myPresence).toEqual({ status: "busy" });
    await until(() => expect(ada.room.snapshot.status).toBe("connected"));
    await until(() =>
      expect(ada.room.snapshot.self).toMatchObject({
        key: "ada",
        presence: { name: "ada", color: "#000003", status: "busy", typing: false },
      }),
    );
    const bob = enter("bob");
    await until(() => expect(others(ada.room)).toEqual(["bob:online"]));
    await until(() => expect(others(bob.room)).toEqual(["ada:busy"]));

    bob.room.update({ cursor: { x: 3, y: 4 } });
    expect(bob.room.snapshot.myPresence.cursor).toEqual({ x: 3, y: 4 });
    await until(() => expect(ada.room.snapshot.others[0]?.presence.cursor).toEqual({ x: 3, y: 4 }));
    // Bob's own meta is not among his others; each tab is its own member.
    expect(bob.room.snapshot.others.map((o) => o.key)).toEqual(["ada"]);
  });

  it("sends a burst as one update after the first, and nothing for a no-op", async () => {
    const ada = enter("ada", { throttleMs: 300 });
    await until(() => expect(ada.room.snapshot.self).not.toBeNull());
    for (let x = 0; x < 10; x++) ada.room.update({ cursor: { x, y: 0 } });
    expect(ada.room.snapshot.myPresence.cursor).toEqual({ x: 9, y: 0 });
    await until(() => expect(ada.room.snapshot.self?.presence.cursor).toEqual({ x: 9, y: 0 }));
    await until(() => expect(server.presenceUpdates).toHaveLength(2));
    expect(server.presenceUpdates).toEqual([
      { cursor: { x: 0, y: 0 } },
      { cursor: { x: 9, y: 0 } },
    ]);

    const renders = ada.seen.length;
    ada.room.update({ cursor: { x: 9, y: 0 }, status: "online" });
    expect(ada.seen.length).toBe(renders);
    ada.room.update({ status: "away" });
    await until(() => expect(server.presenceUpdates).toHaveLength(3));
    expect(server.presenceUpdates[2]).toEqual({ status: "away" });
  });

  it("undoes a refused update and reports the server's reason", async () => {
    const ada = enter("ada");
    await until(() => expect(ada.room.snapshot.self).not.toBeNull());
    const refusals: string[] = [];
    ada.room.onRefusal((event) =>
      refusals.push(`${event.reason}:${JSON.stringify(event.response)}`),
    );
    ada.room.update({ name: "mallory" });
    expect(ada.room.snapshot.myPresence.name).toBe("mallory");
    await until(() =>
      expect(refusals).toEqual(['server_owned:{"reason":"server_owned","field":"name"}']),
    );
    expect(ada.room.snapshot.myPresence.name).toBe("ada");
    ada.room.update({ status: "x".repeat(30) });
    await until(() => expect(refusals[1]).toMatch(/^invalid:/));
    expect(ada.room.snapshot.myPresence.status).toBe("online");
  });

  it("sends a transient field again even when set, and follows the server's revert", async () => {
    const ada = enter("ada");
    await until(() => expect(ada.room.snapshot.self).not.toBeNull());
    ada.room.update({ typing: true });
    await until(() => expect(ada.room.snapshot.self?.presence.typing).toBe(true));
    // Nobody says "stopped": the server reverts it and the client follows.
    await until(() => expect(ada.room.snapshot.myPresence.typing).toBe(false));
    ada.room.update({ typing: true });
    await until(() => expect(server.presenceUpdates).toHaveLength(2));
  });

  it("sets its presence again after a rejoin, which tracks a fresh meta", async () => {
    const ada = enter("ada");
    const bob = enter("bob");
    await until(() => expect(ada.room.snapshot.self).not.toBeNull());
    ada.room.update({ status: "away" });
    await until(() => expect(others(bob.room)).toEqual(["ada:away"]));
    const member = ada.room.snapshot.self?.member;
    ada.socket.conn?.close(4000, "drop");
    await until(() => expect(ada.room.snapshot.status).toBe("reconnecting"));
    await until(() => expect(ada.room.snapshot.status).toBe("connected"));
    await until(() => expect(ada.room.snapshot.self?.member).not.toBe(member));
    await until(() => expect(others(bob.room)).toEqual(["ada:away"]));
    expect(ada.room.snapshot.self?.presence.status).toBe("away");
    // Her old meta, still listed until the new presence_state, was never shown as someone else.
    expect(ada.seen.flatMap((s) => s.others.map((o) => o.key))).not.toContain("ada");
  });

  it("lists who dropped as reconnecting during the grace period, then drops them", async () => {
    const ada = enter("ada", { graceMs: 300 });
    const bob = enter("bob");
    await until(() => expect(others(ada.room)).toEqual(["bob:online"]));
    bob.socket.disconnect();
    await until(() => expect(others(ada.room)).toEqual(["bob:online?"]));
    await until(() => expect(others(ada.room)).toEqual([]));
    // Bob never vanished before the grace period was over.
    const shown = ada.seen.map((s) => s.others.length);
    expect(shown.slice(shown.indexOf(1), shown.lastIndexOf(1) + 1).every((n) => n === 1)).toBe(
      true,
    );
  });

  it("drops at once, with no grace period, who left the room on purpose", async () => {
    const ada = enter("ada", { graceMs: 60_000 });
    const bob = enter("bob");
    await until(() => expect(others(ada.room)).toEqual(["bob:online"]));
    bob.channel.leave();
    await until(() => expect(others(ada.room)).toEqual([]));
    expect(ada.seen.flatMap((s) => s.others).some((o) => o.reconnecting)).toBe(false);
  });
});
