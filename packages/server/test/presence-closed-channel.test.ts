import type { AddressInfo } from "node:net";
import { eventually, RawClient, silentLogger } from "@tandem/test-support";
import { afterEach, describe, expect, it } from "vitest";
import {
  channel,
  defineChannel,
  defineConnectionHandler,
  Endpoint,
  ok,
  Presence,
  type PresenceResult,
} from "../src/index.js";

let endpoint: Endpoint | undefined;
let presence: Presence | undefined;

afterEach(async () => {
  await endpoint?.close({ timeoutMs: 500 });
  presence?.close();
  endpoint = undefined;
  presence = undefined;
});

type Call = "track" | "update" | "setTransient";

/**
 * A room whose `handleInfo` awaits a lookup the test releases (as an app loading the user
 * would), then makes one presence call; the result lands in `results`.
 */
async function serve(call: Call) {
  endpoint = new Endpoint({ logger: silentLogger });
  const p = new Presence(endpoint, { coalesce: false });
  presence = p;
  const results: PresenceResult[] = [];
  let release: () => void = () => {};
  const lookup = new Promise<void>((resolve) => {
    release = resolve;
  });
  let waiting: () => void = () => {};
  const reached = new Promise<void>((resolve) => {
    waiting = resolve;
  });
  const room = defineChannel<{ user: string }>({
    join(_topic, _payload, socket) {
      socket.send("after_join");
      return ok();
    },
    async handleInfo(_message, socket) {
      const user = socket.assigns.user;
      if (call !== "track") p.track(socket, user, { typing: false });
      waiting();
      await lookup;
      if (call === "track") results.push(p.track(socket, user, { typing: false }));
      if (call === "update") results.push(p.update(socket, user, { typing: true }));
      if (call === "setTransient") {
        results.push(
          p.setTransient(
            socket,
            user,
            { typing: true },
            { afterMs: 10_000, revert: { typing: false } },
          ),
        );
      }
      return undefined;
    },
  });
  endpoint.mount(
    "/socket",
    defineConnectionHandler({
      connect: (params) => ({ user: params.user ?? "anon" }),
      channels: [channel("room:*", room)],
    }),
  );
  const address: AddressInfo = await endpoint.listen(0);
  return { url: `ws://127.0.0.1:${address.port}/socket`, results, reached, release };
}

describe("presence calls for a channel that has exited", () => {
  for (const call of ["track", "update", "setTransient"] as const) {
    it(`${call} after the connection dropped during an await is refused and stores nothing`, async () => {
      const room = await serve(call);
      const client = await RawClient.connect(room.url, "vsn=2.0.0&user=ghost");
      client.send(["1", "1", "room:a", "phx_join", {}]);
      await client.reply("1");
      await room.reached;
      client.ws.terminate();
      await eventually(() => endpoint!.connectionCount === 0);
      room.release();
      await eventually(() => room.results.length === 1);

      expect(room.results[0]).toEqual({ ok: false, reason: "channel_closed" });
      expect(await presence!.list("room:a")).toEqual({});
      expect(presence!.topicSize("room:a")).toBe(0);
    });
  }

  it("still tracks normally for a channel that is joined", async () => {
    const room = await serve("track");
    const client = await RawClient.connect(room.url, "vsn=2.0.0&user=alice");
    client.send(["1", "1", "room:a", "phx_join", {}]);
    await client.reply("1");
    room.release();
    await eventually(() => room.results.length === 1);
    expect(room.results[0]).toMatchObject({ ok: true, changed: true });
    expect(Object.keys(await presence!.list("room:a"))).toEqual(["alice"]);
    client.close();
    await eventually(() => presence!.topicSize("room:a") === 0);
  });
});
