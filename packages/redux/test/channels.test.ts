import { configureStore } from "@reduxjs/toolkit";
import { Socket } from "@tandem/client";
import { type BindingsServer, startBindingsServer } from "@tandem/test-support";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import {
  bindConnectionStatus,
  ChannelRegistry,
  channelsSlice,
  connectionSlice,
  joinChannel,
  leaveChannel,
  presenceSlice,
  selectChannel,
  selectConnectionStatus,
  selectPresences,
} from "../src/index.js";

const TOPIC = "room:lobby";
type Meta = { name: string; typing: boolean };

function makeStore(tandem: ChannelRegistry) {
  return configureStore({
    reducer: {
      presence: presenceSlice.reducer,
      connection: connectionSlice.reducer,
      channels: channelsSlice.reducer,
    },
    middleware: (gdm) => gdm({ thunk: { extraArgument: { tandem } } }),
  });
}
type Store = ReturnType<typeof makeStore>;

/** Resolves once `check` holds for the store's state, failing after `ms`. */
function waitForState(
  store: Store,
  check: (s: ReturnType<Store["getState"]>) => boolean,
  ms = 3000,
) {
  return new Promise<void>((resolve, reject) => {
    if (check(store.getState())) return resolve();
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`state never matched: ${JSON.stringify(store.getState())}`));
    }, ms);
    const unsubscribe = store.subscribe(() => {
      if (!check(store.getState())) return;
      clearTimeout(timer);
      unsubscribe();
      resolve();
    });
  });
}

const names = (store: Store) =>
  selectPresences<Meta>(store.getState(), TOPIC).map(
    (p) => `${p.metas[0]?.name}:${p.metas.length}`,
  );

describe("channel thunks against a real server", () => {
  let server: BindingsServer;
  const sockets: Socket[] = [];
  const connect = (user: string) => {
    const socket = new Socket(server.url, {
      transport: WebSocket,
      params: { user },
      reconnectAfterMs: () => 50,
      rejoinAfterMs: () => 50,
    });
    sockets.push(socket);
    return socket;
  };

  beforeEach(async () => {
    server = await startBindingsServer();
  });
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.disconnect();
    await server.close();
  });

  it("joins, follows presence as users come, type and go, and leaves", async () => {
    const ada = connect("ada");
    const tandem = new ChannelRegistry(ada);
    const store = makeStore(tandem);
    ada.connect();
    const unbind = bindConnectionStatus(ada, store.dispatch);
    expect(selectConnectionStatus(store.getState())).toBe("connecting");

    const joined = store.dispatch(joinChannel({ topic: TOPIC }));
    expect(selectChannel(store.getState(), TOPIC)?.status).toBe("joining");
    const result = await joined;
    expect(joinChannel.fulfilled.match(result)).toBe(true);
    expect(result.payload).toEqual({ topic: TOPIC });
    expect(selectChannel(store.getState(), TOPIC)).toMatchObject({ status: "joined" });
    expect(selectConnectionStatus(store.getState())).toBe("open");
    await waitForState(store, () => names(store).join() === "ada:1");

    // Bob in two tabs (two sockets): one key, two metas.
    const bob = connect("bob");
    const bobTab = connect("bob");
    bob.connect();
    bobTab.connect();
    bob.channel(TOPIC).join();
    const tabChannel = bobTab.channel(TOPIC);
    tabChannel.join();
    await waitForState(store, () => names(store).join() === "ada:1,bob:2");

    tabChannel.push("typing", {});
    await waitForState(store, () =>
      selectPresences<Meta>(store.getState(), TOPIC).some((p) => p.metas.some((m) => m.typing)),
    );
    // The server reverts typing after its quiet period.
    await waitForState(store, () =>
      selectPresences<Meta>(store.getState(), TOPIC).every((p) => p.metas.every((m) => !m.typing)),
    );

    bob.disconnect();
    await waitForState(store, () => names(store).join() === "ada:1,bob:1");
    bobTab.disconnect();
    await waitForState(store, () => names(store).join() === "ada:1");

    await store.dispatch(leaveChannel({ topic: TOPIC }));
    expect(tandem.channel(TOPIC)).toBeUndefined();
    expect(selectChannel(store.getState(), TOPIC)).toBeUndefined();
    expect(selectPresences(store.getState(), TOPIC)).toEqual([]);

    ada.disconnect();
    await waitForState(store, (s) => s.connection.status === "closed");
    unbind();
  });

  it("rejects a refused join with the server's reason and stops retrying", async () => {
    const socket = connect("ada");
    const tandem = new ChannelRegistry(socket);
    const store = makeStore(tandem);
    socket.connect();
    const result = await store.dispatch(joinChannel({ topic: "room:closed" }));
    expect(joinChannel.rejected.match(result)).toBe(true);
    expect(result.payload).toEqual({
      topic: "room:closed",
      reason: "refused",
      response: { reason: "closed" },
    });
    expect(selectChannel(store.getState(), "room:closed")?.status).toBe("failed");
    expect(tandem.channel("room:closed")).toBeUndefined();
    expect(socket.channels).toEqual([]);
  });

  it("ignores the result of a join replaced by a leave and a new join", async () => {
    const socket = connect("ada");
    const tandem = new ChannelRegistry(socket);
    const store = makeStore(tandem);
    socket.connect();
    const first = store.dispatch(joinChannel({ topic: TOPIC }));
    store.dispatch(leaveChannel({ topic: TOPIC }));
    const second = store.dispatch(joinChannel({ topic: TOPIC }));
    expect((await first).payload).toMatchObject({ reason: "left" });
    await second;
    expect(selectChannel(store.getState(), TOPIC)?.status).toBe("joined");
    await waitForState(store, () => names(store).join() === "ada:1");
    expect(socket.channels).toHaveLength(1);
  });

  it("reports reconnecting while the server is down, then rejoins and resyncs presence", async () => {
    const socket = connect("ada");
    const tandem = new ChannelRegistry(socket);
    const store = makeStore(tandem);
    socket.connect();
    bindConnectionStatus(socket, store.dispatch);
    await store.dispatch(joinChannel({ topic: TOPIC }));
    await waitForState(store, () => names(store).join() === "ada:1");

    const port = server.port;
    await server.close();
    await waitForState(store, (s) => s.connection.status === "reconnecting");
    expect(selectChannel(store.getState(), TOPIC)?.status).toBe("errored");

    server = await startBindingsServer(port);
    await waitForState(store, (s) => s.connection.status === "open", 5000);
    await waitForState(store, (s) => selectChannel(s, TOPIC)?.status === "joined", 5000);
    await waitForState(store, () => names(store).join() === "ada:1");
    expect(store.getState().connection.opens).toBe(2);
  });
});
