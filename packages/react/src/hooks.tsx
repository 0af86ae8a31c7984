import { type Channel, Socket, type SocketOptions } from "@tandem/client";
import type { JsonObject, PresenceEntry } from "@tandem/protocol";
import {
  createContext,
  type ReactNode,
  useContext,
  useEffect,
  useEffectEvent,
  useMemo,
  useRef,
  useState,
  useSyncExternalStore,
} from "react";
import {
  type ChannelJoinState,
  type ConnectionState,
  channelPool,
  connectionStore,
  type PooledChannel,
  type PresenceListEntry,
  presenceStore,
  refreshConnectionState,
} from "./stores.js";

// `undefined` outside any provider; `null` inside one whose socket is not made yet.
const SocketContext = createContext<Socket | null | undefined>(undefined);

/** Props of {@link SocketProvider}: either a socket to use, or what to make one from. */
export type SocketProviderProps = { children?: ReactNode } & (
  | {
      /** A socket made by the app. The provider connects it, and disconnects it on unmount. */
      socket: Socket;
      url?: never;
      options?: never;
    }
  | {
      /** The endpoint to make a socket for, e.g. `"/socket"`. A new URL makes a new socket. */
      url: string;
      /**
       * Options of the socket, read when it is made; to change them (a new auth token),
       * give the provider a new `key`.
       */
      options?: SocketOptions;
      socket?: never;
    }
);

/**
 * Provides a connected {@link Socket} to the hooks below it. Given a `socket`, it connects
 * it and disconnects it on unmount; given a `url`, it makes its own and disposes of it
 * on unmount (see `Socket.dispose`), which also removes its page listeners.
 * The socket exists from the provider's first effect on, so children render once with
 * none (`useSocket()` returns null then).
 *
 * @example
 * ```tsx
 * <SocketProvider key={token} url="/socket" options={{ authToken: token }}>
 *   <Room />
 * </SocketProvider>
 * ```
 */
export function SocketProvider(props: SocketProviderProps): ReactNode {
  const [socket, setSocket] = useState<Socket | null>(null);
  const options = useRef(props.options);
  options.current = props.options;
  const given = props.socket;
  const url = props.url;

  useEffect(() => {
    // Made here rather than during render: a Socket listens to page lifecycle events as
    // soon as it exists, and StrictMode renders twice.
    const made = given ?? new Socket(url ?? "", options.current);
    made.connect();
    refreshConnectionState(made);
    setSocket(made);
    return () => {
      // A socket the provider made goes away with its page listeners; the app's own
      // socket may be mounted again (StrictMode does so at once), so it only disconnects.
      if (given) made.disconnect();
      else made.dispose();
      setSocket(null);
    };
  }, [given, url]);

  return <SocketContext.Provider value={socket}>{props.children}</SocketContext.Provider>;
}

/**
 * The socket of the nearest {@link SocketProvider}, or null while it is being made.
 *
 * @throws If there is no SocketProvider above.
 */
export function useSocket(): Socket | null {
  const socket = useContext(SocketContext);
  if (socket === undefined) throw new Error("useSocket must be used inside a <SocketProvider>");
  return socket;
}

const subscribeNothing = () => () => {};

/** The connection state of the provider's socket, re-rendering when it changes. */
export function useConnectionState(): ConnectionState {
  const socket = useSocket();
  const store = socket ? connectionStore(socket) : null;
  return useSyncExternalStore(
    store?.subscribe ?? subscribeNothing,
    () => store?.snapshot ?? "connecting",
  );
}

/** What {@link useChannel} returns. */
export interface UseChannelResult extends ChannelJoinState {
  /**
   * The channel, once made; null before. Bind events to it with {@link useChannelEvent}:
   * bindings made in the render that first sees it are in place before the join is sent.
   */
  channel: Channel | null;
}

const idle: ChannelJoinState = { status: "idle" };

/**
 * Joins `topic` over the provider's socket while the component is mounted, and leaves it
 * after unmount. Components using the same topic share one channel, and React StrictMode's
 * double effects do not join twice. The channel rejoins by itself after errors and
 * reconnects (`status` goes `errored`, then `joined`); a refused join is not retried.
 *
 * @param topic - The topic, or null/undefined to join nothing (yet).
 * @param params - Join params, sent on every (re)join; the latest ones given are used. When
 *   components share a channel, the first one's params are used.
 */
export function useChannel(
  topic: string | null | undefined,
  params?: JsonObject,
): UseChannelResult {
  const socket = useSocket();
  const latestParams = useRef(params);
  latestParams.current = params;
  const [lease, setLease] = useState<PooledChannel | null>(null);

  useEffect(() => {
    if (!socket || topic == null) return;
    const pool = channelPool(socket);
    const entry = pool.acquire(topic, () => latestParams.current ?? {});
    setLease(entry);
    return () => {
      pool.release(entry);
      setLease(null);
    };
  }, [socket, topic]);

  useEffect(() => {
    if (!lease || !socket) return;
    // Effects of one commit run together, so the microtask runs after every effect that
    // binds events to this channel in the render that first saw it.
    queueMicrotask(() => channelPool(socket).join(lease));
  }, [lease, socket]);

  const join = useSyncExternalStore(
    lease?.join.subscribe ?? subscribeNothing,
    () => lease?.join.snapshot ?? idle,
  );
  return { ...join, channel: lease?.channel ?? null };
}

/**
 * Calls `handler` for each `event` on `channel` while mounted. The latest `handler` is
 * always the one called, so it needs no memoisation. Binary payloads arrive as `ArrayBuffer`.
 *
 * @typeParam P - The payload type (not checked at runtime).
 */
export function useChannelEvent<P = unknown>(
  channel: Channel | null | undefined,
  event: string,
  handler: (payload: P) => void,
): void {
  const onEvent = useEffectEvent((payload: P) => handler(payload));
  useEffect(() => {
    if (!channel) return;
    const ref = channel.on<P>(event, (payload) => onEvent(payload));
    return () => channel.off(event, ref);
  }, [channel, event]);
}

const noPresences: PresenceListEntry[] = [];

/**
 * The presences on `channel`, in `Presence.list` order, re-rendering on every sync. Works
 * for channels from {@link useChannel}; another channel must have been passed here (or
 * joined by useChannel) before it joins, or the first `presence_state` is missed.
 *
 * @typeParam M - The meta type the server tracks (not checked at runtime).
 */
export function usePresence<M extends JsonObject = JsonObject>(
  channel: Channel | null | undefined,
): PresenceListEntry<M>[];
/**
 * The presences on `channel`, each mapped by `chooser` (e.g. to pick one meta per user).
 * `chooser` runs again when the list changes or `chooser` itself changes.
 */
export function usePresence<M extends JsonObject, T>(
  channel: Channel | null | undefined,
  chooser: (key: string, presence: PresenceEntry<M>) => T,
): T[];
export function usePresence<M extends JsonObject, T>(
  channel: Channel | null | undefined,
  chooser?: (key: string, presence: PresenceEntry<M>) => T,
): (T | PresenceListEntry<M>)[] {
  const store = channel ? presenceStore(channel) : null;
  const list = useSyncExternalStore(
    store?.subscribe ?? subscribeNothing,
    () => store?.snapshot ?? noPresences,
  ) as PresenceListEntry<M>[];
  return useMemo(
    () => (chooser ? list.map((entry) => chooser(entry.key, entry)) : list),
    [list, chooser],
  );
}
