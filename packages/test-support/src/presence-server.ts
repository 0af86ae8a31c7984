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
  type PresenceOptions,
  silentLogger,
} from "@tandem/server";

export interface PresenceServer {
  endpoint: Endpoint;
  presence: Presence;
  url: string;
  close(): Promise<void>;
}

/** A server whose `room:*` channel tracks each user, as an app would. */
export async function startPresenceServer(options: PresenceOptions = {}): Promise<PresenceServer> {
  const endpoint = new Endpoint({ logger: silentLogger });
  const presence = new Presence(endpoint, options);
  const room = defineChannel<{ user: string }>({
    join(_topic, _payload, socket) {
      socket.send("after_join");
      return ok();
    },
    async handleInfo(message, socket) {
      if (message === "after_join") {
        presence.track(socket, socket.assigns.user, { status: "online", typing: false });
        await presence.pushState(socket);
      }
      return undefined;
    },
    handleIn(event, payload, socket) {
      const body = isJsonObject(payload) ? payload : {};
      const user = socket.assigns.user;
      const answer = (r: ReturnType<Presence["update"]>) =>
        r.ok ? ok({ changed: r.changed }) : error({ reason: r.reason });
      switch (event) {
        case "status":
          return answer(
            presence.update(socket, user, (m) => ({ ...m, status: body.status ?? null })),
          );
        case "typing":
          return answer(
            presence.setTransient(
              socket,
              user,
              { typing: true },
              {
                afterMs: 80,
                revert: { typing: false },
              },
            ),
          );
        case "untrack":
          presence.untrack(socket, user);
          return ok();
        case "track_again":
          return answer(presence.track(socket, user, { status: "again" }));
        case "boom":
          throw new Error("boom");
        default:
          return error({ reason: "unknown" });
      }
    },
  });
  endpoint.mount(
    "/socket",
    defineConnectionHandler({
      connect: (params) => (params.user ? { user: params.user } : null),
      channels: [channel("room:*", room)],
    }),
  );
  const address: AddressInfo = await endpoint.listen(0);
  return {
    endpoint,
    presence,
    url: `ws://127.0.0.1:${address.port}/socket`,
    async close() {
      await endpoint.close({ timeoutMs: 500 });
      presence.close();
    },
  };
}
