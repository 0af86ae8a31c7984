import { configureStore, createSlice, type PayloadAction } from "@reduxjs/toolkit";
import { Socket } from "@tandem/client";
import { RoomPresence } from "@tandem/client/room";
import { type BindingsServer, startBindingsServer } from "@tandem/test-support";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { WebSocket } from "ws";
import {
  roomActions,
  selectOthers,
  selectRoomStatus,
  selectSelf,
  tandemEnhancer,
} from "../src/index.js";

type Cursor = { x: number; y: number } | null;
type Meta = { name: string; color: string; typing: boolean; cursor: Cursor; status: string };

/** The app's own state: where the user's pointer is, and something unrelated. */
const pointer = createSlice({
  name: "pointer",
  initialState: { cursor: null as Cursor, clicks: 0 },
  reducers: {
    moved(draft, action: PayloadAction<Cursor>) {
      draft.cursor = action.payload;
    },
    clicked(draft) {
      draft.clicks += 1;
    },
  },
});

let server: BindingsServer;
const sockets: Socket[] = [];

function socketFor(user: string) {
  const socket = new Socket(server.url, {
    transport: WebSocket,
    params: { user },
    reconnectAfterMs: () => 50,
    rejoinAfterMs: () => 50,
  });
  sockets.push(socket);
  socket.connect();
  return socket;
}

function makeStore(socket: Socket) {
  return configureStore({
    reducer: { pointer: pointer.reducer },
    enhancers: (gde) =>
      gde().concat(
        tandemEnhancer<{ pointer: { cursor: Cursor } }, Meta>({
          socket,
          presence: (state) => ({ cursor: state.pointer.cursor }),
        }),
      ),
  });
}

const until = (check: () => void) => vi.waitFor(check, { timeout: 3000, interval: 5 });

beforeEach(async () => {
  server = await startBindingsServer();
});
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.disconnect();
  await server.close();
});

describe("tandemEnhancer against a real server", () => {
  it("mirrors the room into the store and sends the user's presence from it", async () => {
    const ada = socketFor("ada");
    const store = makeStore(ada);
    expect(selectRoomStatus(store.getState())).toBe("disconnected");
    store.dispatch(pointer.actions.moved({ x: 1, y: 1 }));
    store.dispatch(roomActions.enter({ topic: "room:1" }));
    expect(store.getState().room.topic).toBe("room:1");
    await until(() => expect(selectRoomStatus(store.getState())).toBe("connected"));
    // The store's cursor was the initial presence.
    await until(() =>
      expect(selectSelf<Meta>(store.getState())?.presence).toMatchObject({
        name: "ada",
        cursor: { x: 1, y: 1 },
      }),
    );
    expect(store.getState().pointer.cursor).toEqual({ x: 1, y: 1 });

    const bobSocket = socketFor("bob");
    const bobChannel = bobSocket.channel("room:1");
    const bob = new RoomPresence<Meta>(bobChannel);
    bobChannel.join();
    await until(() =>
      expect(selectOthers<Meta>(store.getState()).map((o) => o.key)).toEqual(["bob"]),
    );
    await until(() => expect(bob.snapshot.others[0]?.presence.cursor).toEqual({ x: 1, y: 1 }));

    store.dispatch(pointer.actions.moved({ x: 5, y: 6 }));
    await until(() => expect(bob.snapshot.others[0]?.presence.cursor).toEqual({ x: 5, y: 6 }));
    const sent = server.presenceUpdates.length;
    // An action that leaves the presence as it is sends nothing.
    store.dispatch(pointer.actions.clicked());
    store.dispatch(pointer.actions.moved({ x: 5, y: 6 }));
    bob.update({ status: "away" });
    await until(() =>
      expect(selectOthers<Meta>(store.getState())[0]?.presence.status).toBe("away"),
    );
    expect(server.presenceUpdates.length).toBe(sent + 1);
    expect(server.presenceUpdates.at(-1)).toEqual({ status: "away" });

    // A dropped connection shows in the store, and the room comes back by itself.
    ada.conn?.close(4000, "drop");
    await until(() => expect(selectRoomStatus(store.getState())).toBe("reconnecting"));
    await until(() => expect(selectRoomStatus(store.getState())).toBe("connected"));
    await until(() => expect(bob.snapshot.others[0]?.presence.cursor).toEqual({ x: 5, y: 6 }));

    store.dispatch(roomActions.leave());
    expect(store.getState().room).toMatchObject({ topic: null, others: [], self: null });
    await until(() => expect(bob.snapshot.others.filter((o) => !o.reconnecting)).toEqual([]));
    bob.dispose();
  });

  it("leaves the previous room when entering another", async () => {
    const store = makeStore(socketFor("ada"));
    store.dispatch(roomActions.enter({ topic: "room:1" }));
    await until(() => expect(selectRoomStatus(store.getState())).toBe("connected"));
    store.dispatch(roomActions.enter({ topic: "room:2" }));
    await until(() => expect(selectSelf(store.getState())).not.toBeNull());
    expect(store.getState().room.topic).toBe("room:2");
    expect(sockets[0]?.channels.map((c) => c.topic)).toEqual(["room:2"]);
  });
});
