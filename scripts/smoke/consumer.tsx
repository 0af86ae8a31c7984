// Type-checked with `tsc --strict --noEmit` against the installed tarballs: the main API of
// every published package, as a user writes it.
import { configureStore } from "@reduxjs/toolkit";
import { Presence as ClientPresence, Socket } from "@tandem/client";
import { NatsAdapter } from "@tandem/nats";
import { decodeServerFrame, type PresenceMeta, v2JsonSerializer } from "@tandem/protocol";
import { SocketProvider, useChannel, useChannelEvent, usePresence } from "@tandem/react";
import { clusterFromEnv, RedisAdapter } from "@tandem/redis";
import {
  ChannelRegistry,
  channelsSlice,
  connectionSlice,
  joinChannel,
  presenceSlice,
  selectPresences,
} from "@tandem/redux";
import {
  channel,
  defineChannel,
  defineConnectionHandler,
  Endpoint,
  error,
  ok,
  Presence,
} from "@tandem/server";
import type { ReactNode } from "react";
import { WebSocket } from "ws";

interface Assigns extends Record<string, unknown> {
  name: string;
}

export async function serve(): Promise<number> {
  const { pubsub } = clusterFromEnv({});
  const endpoint = new Endpoint({ pubsub });
  const presence = new Presence(endpoint);
  const room = defineChannel<Assigns>({
    join(topic, _payload, socket) {
      if (topic === "room:secret") return error({ reason: "unauthorized" });
      presence.track(socket, socket.assigns.name, { typing: false });
      return ok();
    },
  });
  endpoint.mount(
    "/socket",
    defineConnectionHandler<Assigns>({
      connect: (params) => (typeof params.name === "string" ? { name: params.name } : null),
      channels: [channel("room:*", room)],
    }),
  );
  const { port } = await endpoint.listen(0);
  return port;
}

export function redisBus(): RedisAdapter {
  return new RedisAdapter({ url: "redis://127.0.0.1:6379" });
}

export function natsBus(): NatsAdapter {
  return new NatsAdapter({ servers: "nats://127.0.0.1:4222" });
}

export function roundTrip(): string {
  const frame = v2JsonSerializer.encodeMessage({
    join_ref: null,
    ref: "1",
    topic: "room:lobby",
    event: "ping",
    payload: {},
  });
  const decoded = v2JsonSerializer.decode(frame);
  const binary = decodeServerFrame(new Uint8Array([0]));
  return decoded.ok ? decoded.value.event : `${decoded.error.kind} ${binary.ok}`;
}

export async function store(port: number) {
  const socket = new Socket(`ws://127.0.0.1:${port}/socket`, {
    transport: WebSocket,
    params: { name: "ada" },
  });
  const tandem = new ChannelRegistry(socket);
  const app = configureStore({
    reducer: {
      presence: presenceSlice.reducer,
      connection: connectionSlice.reducer,
      channels: channelsSlice.reducer,
    },
    middleware: (gdm) => gdm({ thunk: { extraArgument: { tandem } } }),
  });
  socket.connect();
  await app.dispatch(joinChannel({ topic: "room:lobby" }));
  const lobby = socket.channel("room:other");
  new ClientPresence(lobby).onSync(() => undefined);
  const metas: PresenceMeta[] = selectPresences(app.getState(), "room:lobby").flatMap(
    (entry) => entry.metas,
  );
  return metas.length;
}

function Room({ id }: { id: string }): ReactNode {
  const { channel: room, status } = useChannel(`room:${id}`);
  useChannelEvent<{ body: string }>(room, "shout", (message) => console.log(message.body));
  const names = usePresence<{ name: string }, string>(room, (key) => key);
  return (
    <p>
      {status}: {names.join(", ")}
    </p>
  );
}

export function App(): ReactNode {
  return (
    <SocketProvider url="/socket" options={{ params: { token: "t" } }}>
      <Room id="lobby" />
    </SocketProvider>
  );
}
