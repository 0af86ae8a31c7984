import { type Channel, Presence, type Socket } from "@tandem/client";
import type { JsonObject, PresenceMeta } from "@tandem/protocol";

type Listener = () => void;

/** A tiny observable value for `useSyncExternalStore`: stable `subscribe`, replaced snapshots. */
class Observable<T> {
  readonly #listeners = new Set<Listener>();
  constructor(public snapshot: T) {}
  readonly subscribe = (listener: Listener): (() => void) => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };
  readonly getSnapshot = (): T => this.snapshot;
  set(snapshot: T): void {
    this.snapshot = snapshot;
    for (const listener of [...this.#listeners]) listener();
  }
}

/**
 * Where a socket's connection stands, as a UI wants to show it:
 * - `connecting`: the first connection is being made (and retried until it opens);
 * - `open`: connected;
 * - `reconnecting`: the connection dropped after having opened, and the socket retries;
 * - `closed`: not connected and not trying.
 */
export type ConnectionState = "connecting" | "open" | "reconnecting" | "closed";

const connectionStores = new WeakMap<Socket, Observable<ConnectionState>>();

function currentConnectionState(socket: Socket): ConnectionState {
  const state = socket.connectionState();
  if (state === "open") return "open";
  // The socket sets closeWasClean when the app disconnects it, and then stops retrying.
  if (socket.closeWasClean) return "closed";
  return socket.establishedConnections > 0 ? "reconnecting" : "connecting";
}

/** The connection state of `socket`, kept up to date from its lifecycle callbacks. */
export function connectionStore(socket: Socket): Observable<ConnectionState> {
  let store = connectionStores.get(socket);
  if (!store) {
    const created = new Observable(currentConnectionState(socket));
    const refresh = () => created.set(currentConnectionState(socket));
    socket.onOpen(refresh);
    socket.onClose(refresh);
    socket.onError(refresh);
    connectionStores.set(socket, created);
    store = created;
  }
  return store;
}

/** Re-reads `socket`'s state, for changes with no socket callback (calling `connect()`). */
export function refreshConnectionState(socket: Socket): void {
  connectionStore(socket).set(currentConnectionState(socket));
}

/**
 * One key of a channel's presence list: the key and its metas (one per tracking channel,
 * e.g. one per browser tab), plus any extra fields the server fetched for the key.
 */
export interface PresenceListEntry<M extends JsonObject = JsonObject> {
  /** The key it was tracked under, e.g. a user id. */
  key: string;
  /** One meta per tracking channel. */
  metas: PresenceMeta<M>[];
  [extra: string]: unknown;
}

const presenceStores = new WeakMap<Channel, Observable<PresenceListEntry[]>>();

/**
 * The presence list of `channel`, made on first use. It follows the channel from the next
 * `presence_state` on, so it must be made before the channel joins to see the first one:
 * channels from `useChannel` get theirs when they are created.
 */
export function presenceStore(channel: Channel): Observable<PresenceListEntry[]> {
  let store = presenceStores.get(channel);
  if (!store) {
    const presence = new Presence(channel);
    const created = new Observable<PresenceListEntry[]>([]);
    // Presence updates its state in place, so each sync gets a fresh copy of the list.
    presence.onSync(() =>
      created.set(presence.list((key, entry) => ({ ...entry, key, metas: entry.metas.slice() }))),
    );
    presenceStores.set(channel, created);
    store = created;
  }
  return store;
}

/**
 * Where a channel from `useChannel` stands:
 * - `idle`: there is no channel yet (no socket, or no topic);
 * - `joining`: the join was sent and not answered yet;
 * - `joined`: the server accepted the join (again after each rejoin);
 * - `errored`: the channel crashed, lost its connection or timed out; it rejoins by itself;
 * - `refused`: the server refused the join; the channel was left and is not retried;
 * - `closed`: the server closed the channel.
 */
export type ChannelStatus = "idle" | "joining" | "joined" | "errored" | "refused" | "closed";

/** What `useChannel` reports about its channel's join. */
export interface ChannelJoinState {
  /** Where the join stands now. */
  status: ChannelStatus;
  /** The reply to the last successful join. */
  reply?: unknown;
  /** The server's error reply to a refused join, or the reason of the last error. */
  error?: unknown;
}

/** One pooled channel: shared by every `useChannel` of its topic on one socket. */
export interface PooledChannel {
  readonly topic: string;
  readonly channel: Channel;
  readonly join: Observable<ChannelJoinState>;
  users: number;
  leaveTimer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * The channels `useChannel` joined over one socket, by topic. A channel is left a moment
 * after its last user releases it, so that React StrictMode's unmount-and-remount of
 * effects reuses the channel instead of leaving and joining again.
 */
export class ChannelPool {
  readonly #entries = new Map<string, PooledChannel>();

  constructor(readonly socket: Socket) {}

  /** The pooled channel for `topic`, created (not joined) with `params` if there is none. */
  acquire(topic: string, params: () => object): PooledChannel {
    let entry = this.#entries.get(topic);
    if (!entry) {
      const channel = this.socket.channel(topic, params);
      presenceStore(channel);
      entry = {
        topic,
        channel,
        join: new Observable<ChannelJoinState>({ status: "joining" }),
        users: 0,
        leaveTimer: undefined,
      };
      this.#entries.set(topic, entry);
    }
    clearTimeout(entry.leaveTimer);
    entry.users += 1;
    return entry;
  }

  /** Joins `entry`'s channel unless it is joined already or nobody uses it any more. */
  join(entry: PooledChannel): void {
    const { channel, join } = entry;
    if (channel.joinedOnce || entry.users === 0) return;
    channel.onError((reason) => join.set({ ...join.snapshot, status: "errored", error: reason }));
    channel.onClose(() => {
      // A leave of our own is not news to the (gone) users; a close by the server is.
      if (this.#entries.get(entry.topic) === entry && entry.users > 0) {
        this.#entries.delete(entry.topic);
        join.set({ ...join.snapshot, status: "closed" });
      }
    });
    channel
      .join()
      .receive("ok", (reply) => join.set({ status: "joined", reply }))
      .receive("error", (error) => {
        join.set({ status: "refused", error });
        this.#drop(entry);
      })
      .receive("timeout", () =>
        join.set({ ...join.snapshot, status: "errored", error: "timeout" }),
      );
  }

  /** Gives `entry` back; the last user's release leaves the channel shortly after. */
  release(entry: PooledChannel): void {
    entry.users -= 1;
    if (entry.users > 0) return;
    entry.leaveTimer = setTimeout(() => {
      if (entry.users === 0) this.#drop(entry);
    }, 0);
  }

  #drop(entry: PooledChannel): void {
    if (this.#entries.get(entry.topic) === entry) this.#entries.delete(entry.topic);
    entry.channel.leave();
  }
}

const pools = new WeakMap<Socket, ChannelPool>();

/** The channel pool of `socket`. */
export function channelPool(socket: Socket): ChannelPool {
  let pool = pools.get(socket);
  if (!pool) {
    pool = new ChannelPool(socket);
    pools.set(socket, pool);
  }
  return pool;
}
