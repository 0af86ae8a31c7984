/**
 * React bindings for Tandem channels and presence.
 *
 * - {@link SocketProvider} makes (or takes) a socket, connects it and disconnects it on
 *   unmount; {@link useSocket} and {@link useConnectionState} read it.
 * - {@link useChannel} joins a topic while mounted, sharing one channel per topic and
 *   surviving StrictMode without joining twice; {@link useChannelEvent} listens on it.
 * - {@link usePresence} lists who is on a channel, re-rendering on every sync.
 * - {@link RoomProvider} joins a room with client-set presence and scopes the room hooks:
 *   {@link useMyPresence} / {@link useUpdateMyPresence}, {@link useSelf}, {@link useOthers}
 *   (with {@link shallow}), {@link useOther}, {@link useOthersMapped}, {@link useStatus} and
 *   {@link useLostConnectionListener}. Selector hooks re-render only when what they select
 *   changes; someone whose connection drops stays listed, `reconnecting`, for a grace period.
 *
 * @example
 * ```tsx
 * function Room({ id }: { id: string }) {
 *   const { channel, status } = useChannel(`room:${id}`);
 *   useChannelEvent<{ body: string }>(channel, "new_msg", (msg) => console.log(msg.body));
 *   const names = usePresence<{ name: string }, string>(channel, (_key, p) => p.metas[0]!.name);
 *   return <p>{status}: {names.join(", ")}</p>;
 * }
 * ```
 *
 * @packageDocumentation
 * @module @tandem/react
 */
export {
  SocketProvider,
  type SocketProviderProps,
  type UseChannelResult,
  useChannel,
  useChannelEvent,
  useConnectionState,
  usePresence,
  useSocket,
} from "./hooks.js";
export {
  RoomProvider,
  type RoomProviderProps,
  useLostConnectionListener,
  useMyPresence,
  useOther,
  useOthers,
  useOthersMapped,
  useRoom,
  useSelf,
  useStatus,
  useUpdateMyPresence,
} from "./room.js";
export { shallow } from "./shallow.js";
export type {
  ChannelJoinState,
  ChannelStatus,
  ConnectionState,
  PresenceListEntry,
} from "./stores.js";
