import { isJsonObject } from "@tandem/protocol";
import {
  channel,
  defineChannel,
  defineConnectionHandler,
  Endpoint,
  type EndpointOptions,
  error,
  ok,
  Presence,
  type PresenceOptions,
} from "@tandem/server";

/** Who a connection is: the name it gave when connecting. */
export interface RoomAssigns extends Record<string, unknown> {
  name: string;
}

/** How long "typing" stays on without another typing event. */
const TYPING_QUIET_MS = 3000;

function roomChannel(presence: Presence) {
  return defineChannel<RoomAssigns>({
    join(topic, _payload, socket) {
      if (topic === "room:forbidden") return error({ reason: "unauthorized" });
      socket.send("after_join");
      return ok({ name: socket.assigns.name });
    },

    async handleInfo(message, socket) {
      if (message === "after_join") {
        const { name } = socket.assigns;
        presence.track(socket, name, { name, typing: false });
        await presence.pushState(socket);
      }
      return undefined;
    },

    handleIn(event, payload, socket) {
      switch (event) {
        case "ping":
          return ok(isJsonObject(payload) ? payload : {});
        case "shout": {
          const body = isJsonObject(payload) ? payload.body : undefined;
          if (typeof body !== "string") return error({ reason: "body must be a string" });
          socket.broadcast("shout", { from: socket.assigns.name, body });
          return ok();
        }
        case "typing": {
          const typing = isJsonObject(payload) ? payload.typing : undefined;
          if (typeof typing !== "boolean") return error({ reason: "typing must be a boolean" });
          const { name } = socket.assigns;
          const result = typing
            ? presence.setTransient(
                socket,
                name,
                { typing: true },
                {
                  afterMs: TYPING_QUIET_MS,
                  revert: { typing: false },
                },
              )
            : presence.update(socket, name, (meta) => ({ ...meta, typing: false }));
          return result.ok ? ok() : error({ reason: result.reason });
        }
        case "boom":
          throw new Error("boom: this handler fails on purpose to show crash isolation");
        default:
          return error({ reason: `unknown event "${event}"` });
      }
    },
  });
}

/**
 * Builds the example room server: a socket at `/socket` with `room:*` channels, each
 * tracking who is in the room and who is typing.
 */
export function createRoomEndpoint(
  options: EndpointOptions = {},
  presenceOptions: PresenceOptions = {},
): {
  endpoint: Endpoint;
  presence: Presence;
} {
  const endpoint = new Endpoint({ checkOrigin: false, ...options });
  const presence = new Presence(endpoint, presenceOptions);
  endpoint.mount(
    "/socket",
    defineConnectionHandler<RoomAssigns>({
      connect(params) {
        const name = params.name;
        if (typeof name !== "string" || name.length < 1 || name.length > 64) return null;
        return { name };
      },
      channels: [channel("room:*", roomChannel(presence))],
    }),
  );
  return { endpoint, presence };
}
