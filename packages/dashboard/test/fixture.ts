import type { AddressInfo } from "node:net";
import { NatsAdapter } from "@tandem/nats";
import { isJsonObject } from "@tandem/protocol";
import {
  channel,
  defineChannel,
  defineConnectionHandler,
  Endpoint,
  error,
  type Logger,
  ok,
  Presence,
  PubSub,
  silentLogger,
} from "@tandem/server";
import { type Frame, RawClient } from "@tandem/test-support";

/** One node: an endpoint whose `room:*` channels track their user and relay shouts. */
export interface Node {
  readonly endpoint: Endpoint;
  readonly presence: Presence;
  readonly adapter: NatsAdapter | undefined;
  readonly port: number;
  /** ws://127.0.0.1:<port>/socket */
  readonly url: string;
  close(): Promise<void>;
}

/** Starts a node, in a cluster over NATS when `natsUrl` is given. */
export async function startNode(
  options: { natsUrl?: string; nodeName?: string; prefix?: string; logger?: Logger } = {},
): Promise<Node> {
  const logger = options.logger ?? silentLogger;
  const adapter = options.natsUrl
    ? new NatsAdapter({
        servers: options.natsUrl,
        nodeName: options.nodeName,
        prefix: options.prefix,
        logger,
      })
    : undefined;
  const pubsub = new PubSub({ adapter, nodeName: options.nodeName, logger });
  const endpoint = new Endpoint({ pubsub, logger, checkOrigin: false });
  // Heartbeats every 200 ms, so a test sees bus lag within a second, and a node silent
  // for a second is down.
  const presence = new Presence(endpoint, {
    replication: { broadcastPeriodMs: 200, maxSilentPeriods: 1, downPeriodMs: 1000 },
  });
  const room = defineChannel<{ user: string }>({
    join(_topic, _payload, socket) {
      socket.send("track");
      return ok();
    },
    handleInfo(message, socket) {
      if (message === "track") presence.track(socket, socket.assigns.user, { online: true });
      return undefined;
    },
    handleIn(event, payload, socket) {
      if (event !== "shout" || !isJsonObject(payload)) return error({ reason: "unknown" });
      socket.broadcast("shout", payload);
      return ok();
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
    adapter,
    port: address.port,
    url: `ws://127.0.0.1:${address.port}/socket`,
    async close() {
      presence.close();
      await endpoint.close({ timeoutMs: 500 });
      await pubsub.close();
    },
  };
}

/** A client that joined a room: it can shout, and is closed with `close`. */
export interface Member {
  shout(body: string): Promise<Frame>;
  close(): Promise<void>;
}

let refs = 0;

/** Connects `user` to `url` and joins `topic`; resolves once joined. */
export async function joinRoom(url: string, user: string, topic: string): Promise<Member> {
  const client = await RawClient.connect(url, `vsn=2.0.0&user=${encodeURIComponent(user)}`);
  const joinRef = `${++refs}`;
  client.send([joinRef, joinRef, topic, "phx_join", {}]);
  const joined = await client.reply(joinRef);
  if ((joined[4] as { status?: string }).status !== "ok") throw new Error(`${user} not joined`);
  return {
    shout(body) {
      const ref = `${++refs}`;
      client.send([joinRef, ref, topic, "shout", { body }]);
      return client.reply(ref);
    },
    close: () => client.close(),
  };
}
