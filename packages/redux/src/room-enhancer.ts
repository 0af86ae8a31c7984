import {
  type Action,
  createAction,
  type PayloadAction,
  type Reducer,
  type StoreEnhancer,
  type StoreEnhancerStoreCreator,
} from "@reduxjs/toolkit";
import type { Socket } from "@tandem/client";
import {
  type Other,
  RoomPresence,
  type RoomPresenceOptions,
  type RoomStatus,
  type Self,
} from "@tandem/client/room";
import { type JsonObject, jsonEqual } from "@tandem/protocol";

/** Where {@link tandemEnhancer} keeps the room in the store's state. */
export const ROOM_KEY = "room";

/** The room as the store holds it: plain data, replaced on every change. */
export interface RoomState<P extends JsonObject = JsonObject> {
  /** The room's topic, or null when no room is entered. */
  topic: string | null;
  /** Where the room's connection stands; `disconnected` when no room is entered. */
  status: RoomStatus;
  /** The user's own member, or null until the server has tracked it. */
  self: Self<P> | null;
  /** The user's presence, optimistic. */
  myPresence: P;
  /** Everyone else, one per tracked channel, those reconnecting (within the grace period) last. */
  others: readonly Other<P>[];
}

/** Any state with the room mounted by {@link tandemEnhancer}. */
export interface WithRoom<P extends JsonObject = JsonObject> {
  /** The room, kept by the enhancer. */
  room: RoomState<P>;
}

/**
 * Makes one kind of room action. (RTK's own action creator types inherit documentation
 * TypeDoc cannot place; this is the part of them the room actions use.)
 */
export interface RoomActionCreator<P, T extends string> {
  /** The action carrying `payload`. */
  (payload: P): PayloadAction<P, T>;
  /** The actions' `type`. */
  readonly type: T;
  /** Whether `action` is one of these actions. */
  match(action: unknown): action is PayloadAction<P, T>;
}

/** The room's action creators. */
export interface RoomActions {
  /** Enters a room: joins `topic` over the enhancer's socket, leaving the room entered before. */
  enter: RoomActionCreator<{ topic: string; params?: JsonObject }, "tandem/enterRoom">;
  /** Leaves the room entered. */
  leave: RoomActionCreator<void, "tandem/leaveRoom">;
  /** The room changed: dispatched by the enhancer only. */
  changed: RoomActionCreator<RoomState, "tandem/roomChanged">;
}

/** The actions of {@link tandemEnhancer}: dispatch `enter` and `leave` to come and go. */
export const roomActions: RoomActions = {
  enter: createAction("tandem/enterRoom"),
  leave: createAction<void, "tandem/leaveRoom">("tandem/leaveRoom"),
  changed: createAction("tandem/roomChanged"),
};
const { enter: enterRoom, leave: leaveRoom, changed: roomChanged } = roomActions;

/** Options of {@link tandemEnhancer}. */
export interface TandemEnhancerOptions<S = unknown, P extends JsonObject = JsonObject>
  extends Omit<RoomPresenceOptions<P>, "initialPresence"> {
  /** The socket rooms are joined over; connecting it is the app's business. */
  socket: Socket;
  /**
   * Picks the user's presence from the app's state, e.g. `(s) => ({ cursor: s.cursor })`.
   * After every action the picked fields that changed are sent (throttled, coalesced;
   * nothing for a no-op), and on entering they are the initial presence.
   */
  presence?: (state: S) => Partial<P>;
}

const noRoom: RoomState = {
  topic: null,
  status: "disconnected",
  self: null,
  myPresence: {},
  others: [],
};

/** Not Immer: the snapshots it stores stay the room's own, unfrozen. */
function roomReducer(state: RoomState = noRoom, action: Action): RoomState {
  if (roomChanged.match(action)) return action.payload;
  if (enterRoom.match(action))
    return { ...noRoom, topic: action.payload.topic, status: "connecting" };
  if (leaveRoom.match(action)) return noRoom;
  return state;
}

/**
 * A store enhancer that mirrors a room's presence and status into the store, under
 * `room` ({@link RoomState}), and sends the user's presence from the store: no listener
 * to write. Dispatch `roomActions.enter` and `roomActions.leave` ({@link roomActions}) to come and go.
 *
 * @example
 * ```ts
 * const store = configureStore({
 *   reducer: { cursor: cursorSlice.reducer },
 *   enhancers: (gde) =>
 *     gde().concat(tandemEnhancer({ socket, presence: (s: { cursor: Cursor }) => ({ cursor: s.cursor }) })),
 * });
 * store.dispatch(roomActions.enter({ topic: "room:lobby" }));
 * store.getState().room.others; // [{ key, member, presence, reconnecting }, ...]
 * ```
 */
export function tandemEnhancer<S = unknown, P extends JsonObject = JsonObject>(
  options: TandemEnhancerOptions<S, P>,
): StoreEnhancer<Record<never, never>, WithRoom<P>> {
  const enhancer =
    (createStore: StoreEnhancerStoreCreator) =>
    <St, A extends Action, Pre>(reducer: Reducer<St, A, Pre>, preloaded?: Pre) => {
      type Root = St & WithRoom;
      // The app's reducer never sees the room key: combineReducers would warn about it.
      let lastApp: St | undefined;
      let lastRoot: Root | undefined;
      const wrapped = (state: Root | undefined, action: A): Root => {
        const { [ROOM_KEY]: room, ...app } = (state ?? {}) as Root;
        const nextApp = reducer((state === undefined ? undefined : app) as St, action);
        const nextRoom = roomReducer(room, action);
        if (lastRoot && nextApp === lastApp && nextRoom === lastRoot.room) return lastRoot;
        lastApp = nextApp;
        lastRoot = { ...nextApp, [ROOM_KEY]: nextRoom } as Root;
        return lastRoot;
      };
      const store = createStore(wrapped as unknown as Reducer<Root, A, Pre>, preloaded);
      let current: { room: RoomPresence<P>; unsubscribe: () => void } | null = null;
      let sent: Partial<P> | undefined;

      const sendPresence = () => {
        if (!current || !options.presence) return;
        const picked = options.presence(store.getState() as unknown as S);
        if (sent && jsonEqual(picked as JsonObject, sent as JsonObject)) return;
        sent = picked;
        current.room.update(picked);
      };
      const leave = () => {
        if (!current) return;
        current.unsubscribe();
        current.room.dispose();
        current.room.channel.leave();
        current = null;
        sent = undefined;
      };
      const enter = (topic: string, params: JsonObject | undefined) => {
        const channel = options.socket.channel(topic, params ?? {});
        const room = new RoomPresence<P>(channel, options);
        const unsubscribe = room.subscribe(() => {
          dispatch(roomChanged({ topic, ...room.snapshot } as RoomState) as unknown as A);
        });
        current = { room, unsubscribe };
        sendPresence();
        channel.join();
      };

      const dispatch = ((action: A) => {
        if (enterRoom.match(action)) {
          leave();
          const result = store.dispatch(action);
          enter(action.payload.topic, action.payload.params);
          return result;
        }
        if (leaveRoom.match(action)) leave();
        const result = store.dispatch(action);
        if (!roomChanged.match(action)) sendPresence();
        return result;
      }) as typeof store.dispatch;

      return { ...store, dispatch };
    };
  // Redux's enhancer type is generic over what other enhancers add; this one adds only state.
  return enhancer as unknown as StoreEnhancer<Record<never, never>, WithRoom<P>>;
}

/** The room's others. */
export function selectOthers<P extends JsonObject = JsonObject>(
  state: WithRoom<P>,
): readonly Other<P>[] {
  return state.room.others;
}

/** The user's own member, or null until tracked. */
export function selectSelf<P extends JsonObject = JsonObject>(state: WithRoom<P>): Self<P> | null {
  return state.room.self;
}

/** Where the room's connection stands. */
export function selectRoomStatus(state: WithRoom): RoomStatus {
  return state.room.status;
}
