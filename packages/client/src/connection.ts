import type { Channel } from "./channel.js";
import { SOCKET_STATES } from "./constants.js";
import type { Transport, TransportCloseEvent, TransportMessageEvent } from "./transport.js";

/** What a connection asks of its socket, and the callbacks it forwards transport events to. */
export interface ConnectionOwner {
  /** Whether the socket still uses `connection`. */
  uses(connection: Connection): boolean;
  onOpen(): void;
  onError(error: unknown): void;
  onMessage(event: TransportMessageEvent): void;
  onClose(event: TransportCloseEvent): void;
}

/**
 * The socket's use of one transport instance. Keeping this state per instance means a
 * transport that was replaced, but is still closing, cannot disturb its successor: its
 * events are ignored, and its joins and pings go away with it. Internal to the package.
 */
export class Connection {
  /**
   * The join_ref of each channel whose join was sent over this connection. Weak, since a
   * long-lived connection sees many channels come and go.
   */
  readonly joins = new WeakMap<Channel, string | null>();
  /** Callbacks of pings awaiting a reply on this connection, by ref. */
  readonly pings = new Map<string, () => void>();
  /** Set once we close the transport, so its close event only confirms our own close. */
  closing = false;
  /** Set once the socket gave up on this connection, so `connect()` opens a new one. */
  ended = false;
  /** Set once channels were errored after this connection stopped being open. */
  channelsErrored = false;
  /** Guards against a transport that reports its close more than once. */
  closeHandled = false;

  constructor(
    readonly owner: ConnectionOwner,
    readonly transport: Transport,
  ) {
    transport.onopen = () => {
      if (this.isCurrent()) owner.onOpen();
    };
    transport.onerror = (error: unknown) => {
      if (this.isCurrent()) owner.onError(error);
    };
    transport.onmessage = (event: TransportMessageEvent) => {
      if (this.isCurrent()) owner.onMessage(event);
    };
    transport.onclose = (event: TransportCloseEvent) => {
      if (this.isCurrent() && !this.closeHandled) {
        this.closeHandled = true;
        owner.onClose(event);
      }
    };
  }

  /** Whether the socket still uses this connection. */
  isCurrent(): boolean {
    return this.owner.uses(this);
  }

  /** Whether the transport is open. */
  isOpen(): boolean {
    return this.transport.readyState === SOCKET_STATES.open;
  }

  /** Whether the transport is still opening. */
  isConnecting(): boolean {
    return this.transport.readyState === SOCKET_STATES.connecting;
  }

  /** Whether the channel's join with `joinRef` was sent over this connection. */
  carried(channel: Channel, joinRef: string | null = channel.joinRef()): boolean {
    return this.joins.has(channel) && this.joins.get(channel) === joinRef;
  }

  /** Closes the transport on our own initiative. */
  close(code?: number, reason?: string): void {
    this.closing = true;
    // Closing a transport that is still connecting makes it report an error that we
    // caused ourselves, so it must not reach the socket as a transport failure.
    this.transport.onerror = () => {};
    if (code) this.transport.close(code, reason ?? "");
    else this.transport.close();
  }
}
