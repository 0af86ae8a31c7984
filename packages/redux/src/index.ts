/**
 * Redux Toolkit helpers for Tandem channels and presence.
 *
 * - {@link presenceSlice}: presence lists per topic, fed by `presence_state` /
 *   `presence_diff` with the exact semantics of the client's `Presence`; read them with
 *   {@link selectPresences}.
 * - {@link connectionSlice}: the socket's connection status, fed by
 *   {@link bindConnectionStatus}.
 * - {@link joinChannel} / {@link leaveChannel}: thunks that join a channel over the socket
 *   held by a {@link ChannelRegistry} (the thunk extra argument, so the socket and channels
 *   stay out of the store) and wire its presence into the store; {@link channelsSlice}
 *   follows their status.
 * - {@link tandemEnhancer}: a store enhancer that mirrors a room with client-set presence
 *   (who is there, the user's own presence, the room's status) into the store under `room`,
 *   and sends the user's presence from the store; {@link roomActions} to enter and leave.
 *
 * @example
 * ```ts
 * const tandem = new ChannelRegistry(socket);
 * const store = configureStore({
 *   reducer: {
 *     presence: presenceSlice.reducer,
 *     connection: connectionSlice.reducer,
 *     channels: channelsSlice.reducer,
 *   },
 *   middleware: (gdm) => gdm({ thunk: { extraArgument: { tandem } } }),
 * });
 * socket.connect();
 * bindConnectionStatus(socket, store.dispatch);
 * await store.dispatch(joinChannel({ topic: "room:lobby" }));
 * selectPresences(store.getState(), "room:lobby"); // [{ key, metas }, ...]
 * ```
 *
 * @packageDocumentation
 * @module @tandem/redux
 */
export {
  bindPresence,
  type ChannelInfo,
  ChannelRegistry,
  type ChannelStatus,
  type ChannelsSliceState,
  channelActions,
  channelsSlice,
  type JoinChannelArg,
  type JoinFailure,
  joinChannel,
  leaveChannel,
  selectChannel,
  type TandemThunkExtra,
  type WithChannels,
} from "./channels.js";
export {
  bindConnectionStatus,
  type ConnectionSliceState,
  type ConnectionStatus,
  connectionActions,
  connectionSlice,
  selectConnectionStatus,
  type WithConnection,
} from "./connection-slice.js";
export {
  type PresenceDiffPayload,
  type PresenceListEntry,
  type PresenceSliceState,
  type PresenceStatePayload,
  presenceActions,
  presenceSlice,
  selectPresenceSynced,
  selectPresences,
  type TopicPresence,
  type WithPresence,
} from "./presence-slice.js";
export {
  ROOM_KEY,
  type RoomActionCreator,
  type RoomActions,
  type RoomState,
  roomActions,
  selectOthers,
  selectRoomStatus,
  selectSelf,
  type TandemEnhancerOptions,
  tandemEnhancer,
  type WithRoom,
} from "./room-enhancer.js";
