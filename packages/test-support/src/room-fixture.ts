import { isJsonObject } from "@tandem/protocol";
import { channel, defineChannel, defineConnectionHandler, error, ok, stop } from "@tandem/server";

export interface TestAssigns extends Record<string, unknown> {
  user: string;
}

/** A channel exercising every callback the server offers. */
export const roomChannel = defineChannel<TestAssigns>({
  intercept: ["secret"],

  async join(topic, payload, socket) {
    if (topic === "room:forbidden") return error({ reason: "unauthorized" });
    if (topic === "room:crash") throw new Error("join crash");
    if (topic.startsWith("room:slow")) await new Promise((r) => setTimeout(r, 100));
    if (isJsonObject(payload) && payload.after_join) socket.send("after_join");
    return ok({ user: socket.assigns.user });
  },

  async handleIn(event, payload, socket) {
    switch (event) {
      case "ping":
        return ok(isJsonObject(payload) ? payload : { binary: true });
      case "echo_binary":
        return payload instanceof Uint8Array ? ok(payload) : error({ reason: "want bytes" });
      case "shout":
        socket.broadcast("shout", isJsonObject(payload) ? payload : {});
        return ok();
      case "shout_from":
        socket.broadcastFrom("shout", isJsonObject(payload) ? payload : {});
        return ok();
      case "secret":
        socket.broadcast("secret", isJsonObject(payload) ? payload : {});
        return ok();
      case "binary_broadcast":
        socket.broadcast("bytes", Uint8Array.of(1, 2, 3));
        return undefined;
      case "noreply":
        return undefined;
      case "later": {
        const ref = socket.requestRef();
        setTimeout(() => socket.replyTo(ref, ok({ later: true })), 20);
        return undefined;
      }
      case "slow_then_ok":
        await new Promise((r) => setTimeout(r, 50));
        return ok({ order: "first" });
      case "boom":
        throw new Error("boom");
      case "reject":
        return Promise.reject(new Error("rejected"));
      case "stop":
        return stop("normal", ok({ bye: true }));
      case "stop_crash":
        return stop({ error: "bad" });
      case "tick":
        socket.sendAfter(10, { tick: 1 });
        return ok();
      case "subscribe":
        socket.subscribe("side:news");
        return ok();
      case "assign":
        socket.assign({ user: String((payload as { user?: unknown }).user) });
        return ok({ user: socket.assigns.user });
      case "whoami":
        return ok({ user: socket.assigns.user });
      default:
        return error({ reason: "unknown" });
    }
  },

  handleInfo(message, socket) {
    if (message === "after_join") socket.push("welcome", { user: socket.assigns.user });
    else if (isJsonObject(message) && "tick" in message) socket.push("tock", {});
    else if (typeof message === "object" && message && "kind" in message) {
      const info = message as unknown as { event: string; payload: unknown };
      socket.push(`side:${info.event}`, isJsonObject(info.payload) ? info.payload : {});
    }
    return undefined;
  },

  handleOut(event, payload, socket) {
    // Hide the "secret" broadcast from its own sender's channel copy, rewrite for others.
    if (event === "secret" && socket.assigns.user !== "mallory") {
      socket.push(event, { ...(payload as object), seen_by: socket.assigns.user });
    }
    return undefined;
  },
});

export const socketHandler = defineConnectionHandler<TestAssigns>({
  connect(params, info) {
    const user = params.user ?? info.authToken;
    if (!user || user === "refused") return null;
    return { user };
  },
  id: (assigns) => `users_socket:${assigns.user}`,
  channels: [channel("room:*", roomChannel), channel("exact", roomChannel)],
});
