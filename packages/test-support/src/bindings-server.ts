import type { AddressInfo } from "node:net";
import { isJsonObject } from "@tandem/protocol";
import {
  channel,
  defineChannel,
  defineConnectionHandler,
  Endpoint,
  error,
  ok,
  Presence,
  silentLogger,
} from "@tandem/server";
import { z } from "zod";

/** What clients of the bindings server may set in their own presence. */
export const roomPresenceSchema = z
  .object({
    cursor: z.object({ x: z.number(), y: z.number() }).nullable(),
    typing: z.boolean(),
    status: z.string().max(20),
  })
  .partial()
  .strict();

/**
 * The server the React and Redux bindings' tests talk to: a real Tandem server whose
 * `room:*` channel tracks each user, as an app would.
 */
export interface BindingsServer {
  url: string;
  port: number;
  /** How many joins the server accepted, by topic. */
  joins: Map<string, number>;
  /** Every `presence_update` payload received, in order. */
  presenceUpdates: unknown[];
  close(): Promise<void>;
}

/**
 * Starts a server on `port` (0 for any). Users connect with a `user` param. Joining
 * `room:closed` is refused; `typing` marks the caller typing for `typingMs`; `shout`
 * broadcasts its payload to the topic as `shout`. Clients set their own `cursor`,
 * `typing` (transient: reverts after `typingMs`) and `status` with `presence_update`;
 * `name` and `color` are the server's.
 */
export async function startBindingsServer(port = 0, typingMs = 100): Promise<BindingsServer> {
  const endpoint = new Endpoint({ logger: silentLogger });
  const presence = new Presence(endpoint);
  const joins = new Map<string, number>();
  const own = presence.clientPresence<{ user: string }>({
    key: (socket) => socket.assigns.user,
    schema: roomPresenceSchema,
    serverOwned: ["name", "color"],
    transient: { typing: { afterMs: typingMs, revert: false } },
  });
  const presenceUpdates: unknown[] = [];
  const room = defineChannel<{ user: string }>({
    clientPresence: {
      handleUpdate(payload, socket) {
        presenceUpdates.push(payload);
        return own.handleUpdate(payload, socket);
      },
    },
    join(topic, _payload, socket) {
      if (topic === "room:closed") return error({ reason: "closed" });
      joins.set(topic, (joins.get(topic) ?? 0) + 1);
      socket.send("after_join");
      return ok({ topic });
    },
    async handleInfo(message, socket) {
      if (message === "after_join") {
        const user = socket.assigns.user;
        own.track(socket, {
          name: user,
          color: `#${user.length.toString(16).padStart(6, "0")}`,
          typing: false,
          cursor: null,
          status: "online",
        });
        await presence.pushState(socket);
      }
      return undefined;
    },
    handleIn(event, payload, socket) {
      if (event === "typing") {
        const r = presence.setTransient(
          socket,
          socket.assigns.user,
          { typing: true },
          { afterMs: typingMs, revert: { typing: false } },
        );
        return r.ok ? ok() : error({ reason: r.reason });
      }
      if (event === "shout") {
        socket.broadcast("shout", isJsonObject(payload) ? payload : {});
        return ok();
      }
      return error({ reason: "unknown" });
    },
  });
  endpoint.mount(
    "/socket",
    defineConnectionHandler({
      connect: (params) => (typeof params.user === "string" ? { user: params.user } : null),
      channels: [channel("room:*", room)],
    }),
  );
  const address: AddressInfo = await endpoint.listen(port);
  return {
    url: `ws://127.0.0.1:${address.port}/socket`,
    port: address.port,
    joins,
    presenceUpdates,
    async close() {
      await endpoint.close({ timeoutMs: 500 });
      own.close();
      presence.close();
    },
  };
}
