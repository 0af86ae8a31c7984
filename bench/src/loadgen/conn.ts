/**
 * What the scenarios drive: one client connection, whatever the target speaks. Every
 * connection counts frames and bytes; it decodes only what a handler asks for.
 */
export interface Conn {
  readonly index: number;
  /** Frames (socket.io: packets) received, and their bytes. */
  frames: number;
  bytes: number;
  /** Broadcast `shout` deliveries received. */
  shouts: number;
  /** Joins the room; resolves on the join reply. */
  join(topic: string): Promise<void>;
  /** Leaves the room; resolves on the reply (Phoenix targets only). */
  leave(topic: string): Promise<void>;
  /** Whether the socket is open. */
  readonly open: boolean;
  typing(topic: string, value: boolean): void;
  shout(topic: string, body: string): void;
  /** Keeps the connection alive (Phoenix heartbeat; socket.io pings by itself). */
  heartbeat(): void;
  close(): void;
  /** Member indexes that appeared (state and joins) and left; only when set. */
  onMembers: ((joins: readonly number[], leaves: readonly number[]) => void) | null;
  /** A member's typing value in a change; only when set. */
  onTyping: ((member: number, typing: boolean) => void) | null;
  /** The body of a shout; only when set (otherwise shouts are only counted). */
  onShout: ((body: string) => void) | null;
  /** The `entries` of a counts-mode presence_summary; only when set. */
  onSummary: ((entries: number) => void) | null;
  /** presence_state and presence_diff payloads, parsed; only when set. */
  onPresence: ((event: "state" | "diff", payload: PresencePayload) => void) | null;
  /** The socket closed (either side). */
  onClose: (() => void) | null;
}

export interface ConnectOptions {
  url: string;
  index: number;
  /** Loopback source address (127.0.0.x), to go past one address's ephemeral ports. */
  localAddress?: string;
}

export type Driver = (options: ConnectOptions) => Promise<Conn>;

/** Member names are `u<index>`. */
export const memberName = (index: number): string => `u${index}`;

/** Each source address carries at most this many connections (ephemeral ports). */
export const PER_SOURCE_ADDRESS = 25_000;

export function sourceAddress(index: number): string | undefined {
  const slot = Math.floor(index / PER_SOURCE_ADDRESS);
  return slot === 0 ? undefined : `127.0.0.${slot + 1}`;
}

export interface PresenceMetas {
  metas: { phx_ref: string; typing?: unknown; name?: unknown }[];
}
/** presence_state is `{key: {metas}}`; presence_diff is `{joins, leaves}` of those. */
export type PresencePayload =
  | Record<string, PresenceMetas>
  | { joins: Record<string, PresenceMetas>; leaves: Record<string, PresenceMetas> };
