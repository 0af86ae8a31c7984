import { isJsonObject } from "@tandem/protocol";
import {
  channel,
  defineChannel,
  defineSocket,
  Endpoint,
  type EndpointOptions,
  error,
  ok,
} from "@tandem/server";

/** Who a connection is: the name it gave when connecting. */
export interface RoomAssigns extends Record<string, unknown> {
  name: string;
}

const roomChannel = defineChannel<RoomAssigns>({
  join(topic, _payload, socket) {
    if (topic === "room:forbidden") return error({ reason: "unauthorized" });
    return ok({ name: socket.assigns.name });
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
      case "boom":
        throw new Error("boom: this handler fails on purpose to show crash isolation");
      default:
        return error({ reason: `unknown event "${event}"` });
    }
  },
});

const roomSocket = defineSocket<RoomAssigns>({
  connect(params) {
    const name = params.name;
    if (typeof name !== "string" || name.length < 1 || name.length > 64) return null;
    return { name };
  },
  channels: [channel("room:*", roomChannel)],
});

/** Builds the example room server: a socket at `/socket` with `room:*` channels. */
export function createRoomEndpoint(options: EndpointOptions = {}): Endpoint {
  return new Endpoint({ checkOrigin: false, ...options }).socket("/socket", roomSocket);
}
