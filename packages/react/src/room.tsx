import type { Channel } from "@tandem/client";
import {
  type LostConnectionEvent,
  type Other,
  RoomPresence,
  type RoomPresenceOptions,
  type RoomSnapshot,
  type RoomStatus,
  type Self,
} from "@tandem/client/room";
import type { JsonObject } from "@tandem/protocol";
import {
  createContext,
  type ReactNode,
  useCallback,
  useContext,
  useEffect,
  useEffectEvent,
  useRef,
  useState,
  useSyncExternalStore,
} from "react";
import { useChannel } from "./hooks.js";

// `undefined` outside any RoomProvider; `null` inside one whose channel is not made yet.
const RoomContext = createContext<RoomPresence | null | undefined>(undefined);

/** Props of {@link RoomProvider}. */
export interface RoomProviderProps<P extends JsonObject = JsonObject>
  extends RoomPresenceOptions<P> {
  /** The room's topic, e.g. `room:42`. A new topic is a new room. */
  topic: string;
  /** Join params, sent on every (re)join. */
  params?: JsonObject;
  /** The room's components. */
  children?: ReactNode;
}

// One RoomPresence per channel: StrictMode's second effect finds the first one's.
const rooms = new WeakMap<Channel, RoomPresence>();

function roomFor(channel: Channel, options: RoomPresenceOptions): RoomPresence {
  let room = rooms.get(channel);
  if (!room) {
    room = new RoomPresence(channel, options);
    rooms.set(channel, room);
  }
  return room;
}

/**
 * Joins a room (a topic whose server declares client-set presence) over the socket of the
 * nearest {@link SocketProvider} while mounted, and scopes the room hooks below it to that
 * room. It must be the first to join its topic on the socket, so it sees the room's first
 * events; options are read when the room is made.
 *
 * @example
 * ```tsx
 * <RoomProvider topic="room:lobby" initialPresence={{ cursor: null }}>
 *   <Cursors />
 * </RoomProvider>
 * ```
 */
export function RoomProvider<P extends JsonObject = JsonObject>(
  props: RoomProviderProps<P>,
): ReactNode {
  const { channel } = useChannel(props.topic, props.params);
  const [room, setRoom] = useState<RoomPresence | null>(null);
  const options = useRef<RoomPresenceOptions>(props as RoomPresenceOptions);
  options.current = props as RoomPresenceOptions;

  useEffect(() => {
    // In the commit that first sees the channel, before useChannel's join goes out.
    setRoom(channel ? roomFor(channel, options.current) : null);
  }, [channel]);

  return <RoomContext.Provider value={room}>{props.children}</RoomContext.Provider>;
}

/**
 * The room of the nearest {@link RoomProvider}, or null while it is being made.
 *
 * @typeParam P - The presence type the server declares (not checked at runtime).
 * @throws If there is no RoomProvider above.
 */
export function useRoom<P extends JsonObject = JsonObject>(): RoomPresence<P> | null {
  const room = useContext(RoomContext);
  if (room === undefined) throw new Error("room hooks must be used inside a <RoomProvider>");
  return room as RoomPresence<P> | null;
}

const subscribeNothing = () => () => {};
const initialSnapshot: RoomSnapshot = {
  status: "connecting",
  self: null,
  myPresence: {},
  others: [],
};

/**
 * The part of the room's snapshot that `selector` picks, re-rendering only when it changes
 * by `isEqual`. The selector need not be stable.
 */
function useRoomSelector<P extends JsonObject, T>(
  selector: (snapshot: RoomSnapshot<P>) => T,
  isEqual: (a: T, b: T) => boolean = Object.is,
): T {
  const room = useRoom<P>();
  const cache = useRef<{ snapshot: RoomSnapshot<P>; selector: unknown; value: T } | null>(null);
  const getSnapshot = (): T => {
    const snapshot = room?.snapshot ?? (initialSnapshot as RoomSnapshot<P>);
    const cached = cache.current;
    if (cached && cached.snapshot === snapshot && cached.selector === selector) return cached.value;
    const next = selector(snapshot);
    // An equal value keeps the previous one's identity, so React sees no change.
    const value = cached && isEqual(cached.value, next) ? cached.value : next;
    cache.current = { snapshot, selector, value };
    return value;
  };
  return useSyncExternalStore(room?.subscribe ?? subscribeNothing, getSnapshot, getSnapshot);
}

/**
 * Sets fields of the user's presence: optimistic, throttled and coalesced, nothing sent for
 * a no-op (see `RoomPresence.update`). The function is stable.
 *
 * @typeParam P - The presence type the server declares.
 */
export function useUpdateMyPresence<P extends JsonObject = JsonObject>(): (
  patch: Partial<P>,
) => void {
  const room = useRoom<P>();
  return useCallback((patch: Partial<P>) => room?.update(patch), [room]);
}

/**
 * The user's presence (optimistic: updates show at once) and the function that updates it,
 * like `useState`. Re-renders when the presence changes.
 *
 * @typeParam P - The presence type the server declares.
 */
export function useMyPresence<P extends JsonObject = JsonObject>(): [
  P,
  (patch: Partial<P>) => void,
] {
  const presence = useRoomSelector<P, P>((snapshot) => snapshot.myPresence);
  return [presence, useUpdateMyPresence<P>()];
}

/** The user's own member of the room, or null until the server has tracked it. */
export function useSelf<P extends JsonObject = JsonObject>(): Self<P> | null;
/**
 * What `selector` picks from the user's own member, or null until the server has tracked
 * it; re-renders only when that changes by `isEqual`.
 */
export function useSelf<P extends JsonObject, T>(
  selector: (self: Self<P>) => T,
  isEqual?: (a: T, b: T) => boolean,
): T | null;
export function useSelf<P extends JsonObject, T>(
  selector?: (self: Self<P>) => T,
  isEqual?: (a: T, b: T) => boolean,
): T | Self<P> | null {
  return useRoomSelector<P, T | Self<P> | null>(
    (snapshot) => (snapshot.self && selector ? selector(snapshot.self) : snapshot.self),
    isEqual as (a: T | Self<P> | null, b: T | Self<P> | null) => boolean,
  );
}

/** Everyone else in the room (one per tracked channel), those reconnecting last. */
export function useOthers<P extends JsonObject = JsonObject>(): readonly Other<P>[];
/**
 * What `selector` picks from the others, re-rendering only when that changes by `isEqual`
 * (`Object.is` by default; pass {@link shallow} for a selector that returns a new array).
 */
export function useOthers<P extends JsonObject, T>(
  selector: (others: readonly Other<P>[]) => T,
  isEqual?: (a: T, b: T) => boolean,
): T;
export function useOthers<P extends JsonObject, T>(
  selector?: (others: readonly Other<P>[]) => T,
  isEqual?: (a: T, b: T) => boolean,
): T | readonly Other<P>[] {
  return useRoomSelector<P, T | readonly Other<P>[]>(
    (snapshot) => (selector ? selector(snapshot.others) : snapshot.others),
    isEqual as (a: T | readonly Other<P>[], b: T | readonly Other<P>[]) => boolean,
  );
}

/**
 * What `selector` picks from one other, by `member` (ids from {@link useOthersMapped} or
 * `useOthers`), or undefined once they are gone; re-renders only when it changes by `isEqual`.
 */
export function useOther<P extends JsonObject, T>(
  member: string,
  selector: (other: Other<P>) => T,
  isEqual?: (a: T, b: T) => boolean,
): T | undefined {
  return useRoomSelector<P, T | undefined>(
    (snapshot) => {
      const other = snapshot.others.find((o) => o.member === member);
      return other ? selector(other) : undefined;
    },
    isEqual as (a: T | undefined, b: T | undefined) => boolean,
  );
}

/**
 * Each other's `member` id with what `selector` picks from them, re-rendering only when
 * someone comes or goes or a picked value changes by `isEqual`. Render a list of
 * components keyed by member from it, each reading more with {@link useOther}.
 */
export function useOthersMapped<P extends JsonObject, T>(
  selector: (other: Other<P>) => T,
  isEqual: (a: T, b: T) => boolean = Object.is,
): readonly (readonly [member: string, value: T])[] {
  return useRoomSelector<P, readonly (readonly [string, T])[]>(
    (snapshot) => snapshot.others.map((other) => [other.member, selector(other)] as const),
    (a, b) =>
      a.length === b.length &&
      a.every((item, i) => item[0] === b[i]?.[0] && isEqual(item[1], b[i]![1])),
  );
}

/** Where the room stands: connecting, connected, reconnecting or disconnected. */
export function useStatus(): RoomStatus {
  return useRoomSelector((snapshot) => snapshot.status);
}

/**
 * Calls `callback` with `lost` when a drop of the connection outlasts the room's
 * `lostConnectionMs` (5 s by default), and with `restored` when it ends after that: the
 * moment to show, then hide, a "reconnecting…" toast. The latest callback is the one called.
 */
export function useLostConnectionListener(callback: (event: LostConnectionEvent) => void): void {
  const room = useRoom();
  const onEvent = useEffectEvent((event: LostConnectionEvent) => callback(event));
  useEffect(() => room?.onLostConnection((event) => onEvent(event)), [room]);
}
