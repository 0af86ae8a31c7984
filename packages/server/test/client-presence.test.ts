import type { AddressInfo } from "node:net";
import {
  channel,
  defineChannel,
  defineConnectionHandler,
  Endpoint,
  ok,
  Presence,
  silentLogger,
} from "@tandem/server";
import { type Frame, RawClient } from "@tandem/test-support";
import { Socket } from "phoenix";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { z } from "zod";

const schema = z
  .object({
    status: z.string().max(20),
    typing: z.boolean(),
    cursor: z.object({ x: z.number(), y: z.number() }).nullable(),
  })
  .partial()
  .strict();

let endpoint: Endpoint;
let presence: Presence;
let url: string;
const clients: RawClient[] = [];

beforeEach(async () => {
  endpoint = new Endpoint({ logger: silentLogger });
  presence = new Presence(endpoint, { coalesce: false });
  const own = presence.clientPresence<{ user: string }>({
    key: (socket) => socket.assigns.user,
    schema,
    serverOwned: ["name", "color"],
    transient: { typing: { afterMs: 80, revert: false } },
    maxBytes: 200,
    rateLimit: { limit: 8, intervalMs: 60_000 },
  });
  const room = defineChannel<{ user: string }>({
    clientPresence: own,
    join(topic, _payload, socket) {
      if (topic !== "room:untracked") socket.send("after_join");
      return ok();
    },
    async handleInfo(_message, socket) {
      own.track(socket, { name: socket.assigns.user, color: "#123456", status: "online" });
      await presence.pushState(socket);
      return undefined;
    },
    handleIn: () => ok({ handled: "handleIn" }),
  });
  endpoint.mount(
    "/socket",
    defineConnectionHandler({
      connect: (params) => (typeof params.user === "string" ? { user: params.user } : null),
      channels: [channel("room:*", room)],
    }),
  );
  const address: AddressInfo = await endpoint.listen(0);
  url = `ws://127.0.0.1:${address.port}/socket`;
});

afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
  await endpoint.close({ timeoutMs: 500 });
  presence.close();
});

let refs = 0;

async function member(user: string, topic = "room:1") {
  const client = await RawClient.connect(url, `vsn=2.0.0&user=${user}`);
  clients.push(client);
  client.send(["1", "1", topic, "phx_join", {}]);
  await client.reply("1");
  const push = async (payload: unknown) => {
    const ref = `p${++refs}`;
    client.send(["1", ref, topic, "presence_update", payload]);
    return ((await client.reply(ref))[4] as { status: string; response: unknown }) ?? {};
  };
  return { client, push };
}

type Meta = Record<string, unknown> & { phx_ref: string; phx_ref_prev?: string };
const diffs = (client: RawClient) =>
  client.frames.filter((f): f is Frame => !Buffer.isBuffer(f) && f[3] === "presence_diff");
const joinedMeta = (frame: Frame, key: string) =>
  (frame[4] as { joins: Record<string, { metas: Meta[] }> }).joins[key]?.metas[0];

describe("client-set presence (presence_update)", () => {
  it("tells the client its own presence, applies its updates and keeps the server's fields", async () => {
    const ada = await member("ada");
    const self = await ada.client.next((f) => f[3] === "presence_self");
    expect(self[4]).toEqual({
      key: "ada",
      member: expect.any(String),
      transient: { typing: 80 },
    });
    const memberId = (self[4] as { member: string }).member;
    await ada.client.next((f) => f[3] === "presence_diff");

    expect(await ada.push({ status: "away", cursor: { x: 1, y: 2 } })).toEqual({
      status: "ok",
      response: { changed: true },
    });
    const update = await ada.client.next(
      (f) => f[3] === "presence_diff" && joinedMeta(f, "ada")?.status === "away",
    );
    const meta = joinedMeta(update, "ada");
    expect(meta).toMatchObject({
      name: "ada",
      color: "#123456",
      member: memberId,
      status: "away",
      cursor: { x: 1, y: 2 },
    });

    // The same values again change nothing and broadcast nothing: the next diff is the
    // next real change, and it replaces the meta of the first one.
    expect(await ada.push({ status: "away" })).toEqual({
      status: "ok",
      response: { changed: false },
    });
    const seen = diffs(ada.client).length;
    await ada.push({ status: "back" });
    const back = await ada.client.next(
      (f) => f[3] === "presence_diff" && joinedMeta(f, "ada")?.status === "back",
    );
    expect(diffs(ada.client).length).toBe(seen + 1);
    expect(joinedMeta(back, "ada")?.phx_ref_prev).toBe(meta?.phx_ref);
  });

  it("refuses, each with a precise reason, what a client may not set", async () => {
    const ada = await member("ada");
    await ada.client.next((f) => f[3] === "presence_self");
    const refused = async (payload: unknown) => {
      const reply = await ada.push(payload);
      expect(reply.status).toBe("error");
      return reply.response;
    };
    expect(await refused({ name: "mallory" })).toEqual({ reason: "server_owned", field: "name" });
    expect(await refused({ color: "#ff0000" })).toEqual({
      reason: "server_owned",
      field: "color",
    });
    expect(await refused({ member: "x" })).toEqual({ reason: "server_owned", field: "member" });
    expect(await refused({ phx_ref: "x" })).toEqual({ reason: "server_owned", field: "phx_ref" });
    expect(await refused([1, 2])).toEqual({ reason: "invalid_payload" });
    expect(await refused({ status: "x".repeat(300) })).toEqual({
      reason: "update_too_large",
      max_bytes: 200,
    });
    expect(await refused({ cursor: { x: "left", y: 0 } })).toMatchObject({
      reason: "invalid",
      issues: [{ path: ["cursor", "x"], message: expect.any(String) }],
    });
    expect(await refused({ shoeSize: 44 })).toMatchObject({ reason: "invalid" });

    // None of the refusals spent the budget or touched the presence; 8 updates are allowed.
    for (let i = 0; i < 8; i++) {
      expect((await ada.push({ status: `s${i}` })).status).toBe("ok");
    }
    const limited = (await refused({ status: "one more" })) as { retry_after_ms: number };
    expect(limited).toMatchObject({ reason: "rate_limited" });
    expect(limited.retry_after_ms).toBeGreaterThan(0);

    const list = await presence.list("room:1");
    expect(list.ada?.metas[0]).toMatchObject({ name: "ada", color: "#123456", status: "s7" });
    // Other events still go to handleIn.
    ada.client.send(["1", "other", "room:1", "hello", {}]);
    expect((await ada.client.reply("other"))[4]).toEqual({
      status: "ok",
      response: { handled: "handleIn" },
    });
  });

  it("refuses an update before the channel's presence is tracked", async () => {
    const ada = await member("ada", "room:untracked");
    expect(await ada.push({ status: "away" })).toEqual({
      status: "error",
      response: { reason: "no_presence" },
    });
  });

  it("changes only the sender's own presence", async () => {
    const ada = await member("ada");
    const bob = await member("bob");
    await bob.client.next((f) => f[3] === "presence_self");
    expect((await bob.push({ status: "busy" })).status).toBe("ok");
    const list = await presence.list("room:1");
    expect(list.bob?.metas[0]?.status).toBe("busy");
    expect(list.ada?.metas[0]?.status).toBe("online");
    await ada.client.next(
      (f) => f[3] === "presence_diff" && joinedMeta(f, "bob")?.status === "busy",
    );
  });

  it("changes only the sending tab's meta when a user has two", async () => {
    const tab1 = await member("ada");
    const tab2 = await member("ada");
    const self1 = (await tab1.client.next((f) => f[3] === "presence_self"))[4] as {
      member: string;
    };
    const self2 = (await tab2.client.next((f) => f[3] === "presence_self"))[4] as {
      member: string;
    };
    expect(self1.member).not.toBe(self2.member);
    expect((await tab2.push({ status: "away" })).status).toBe("ok");
    const metas = (await presence.list("room:1")).ada?.metas ?? [];
    const status = Object.fromEntries(metas.map((m) => [m.member as string, m.status]));
    expect(status).toEqual({ [self1.member]: "online", [self2.member]: "away" });
  });

  it("announces a member who leaves on purpose with presence_left", async () => {
    const ada = await member("ada");
    const bob = await member("bob");
    const self = (await bob.client.next((f) => f[3] === "presence_self"))[4] as { member: string };
    bob.client.send(["1", "bye", "room:1", "phx_leave", {}]);
    const left = await ada.client.next((f) => f[3] === "presence_left");
    expect(left[4]).toEqual({ member: self.member });
  });

  it("reverts a transient field by itself after its quiet period", async () => {
    const ada = await member("ada");
    await ada.client.next((f) => f[3] === "presence_self");
    expect(await ada.push({ typing: true })).toEqual({
      status: "ok",
      response: { changed: true },
    });
    await ada.client.next((f) => f[3] === "presence_diff" && joinedMeta(f, "ada")?.typing === true);
    const reverted = await ada.client.next(
      (f) => f[3] === "presence_diff" && joinedMeta(f, "ada")?.typing === false,
    );
    expect(joinedMeta(reverted, "ada")).toMatchObject({ name: "ada", status: "online" });
  });

  it("takes a plain push from the official phoenix client", async () => {
    const socket = new Socket(url, {
      transport: WebSocket as unknown as typeof globalThis.WebSocket,
      params: { user: "ada" },
    });
    socket.connect();
    try {
      const room = socket.channel("room:1", {});
      const self = new Promise((resolve) => room.on("presence_self", resolve));
      room.join();
      expect(await self).toMatchObject({ key: "ada" });
      const reply = (payload: object) =>
        new Promise((resolve) => {
          room
            .push("presence_update", payload)
            .receive("ok", (r) => resolve({ ok: r }))
            .receive("error", (r) => resolve({ error: r }));
        });
      expect(await reply({ status: "away" })).toEqual({ ok: { changed: true } });
      expect(await reply({ name: "eve" })).toEqual({
        error: { reason: "server_owned", field: "name" },
      });
      expect((await presence.list("room:1")).ada?.metas[0]).toMatchObject({
        name: "ada",
        status: "away",
      });
    } finally {
      socket.disconnect();
    }
  });
});
