import { io, type Socket } from "socket.io-client";
import type { Conn, ConnectOptions } from "./conn.js";
import { memberName } from "./conn.js";

interface Member {
  name: string;
  typing: boolean;
}

const index = (member: Member): number => Number(member.name.slice(1));

/**
 * A socket.io-client connection (websocket transport only). Heavier than the Phoenix
 * client: socket.io decodes every packet into events whatever we need. Bytes are the
 * engine.io packets' data lengths (characters, ASCII here) plus the type character.
 */
class SocketIoConn implements Conn {
  readonly index: number;
  frames = 0;
  bytes = 0;
  shouts = 0;
  onMembers: Conn["onMembers"] = null;
  onTyping: Conn["onTyping"] = null;
  onShout: Conn["onShout"] = null;
  onSummary: Conn["onSummary"] = null;
  onPresence: Conn["onPresence"] = null;
  onClose: Conn["onClose"] = null;
  readonly #socket: Socket;

  constructor(socket: Socket, conn: number) {
    this.#socket = socket;
    this.index = conn;
    socket.io.engine.on("packet", (packet: { data?: unknown }) => {
      this.frames++;
      this.bytes += 1 + (typeof packet.data === "string" ? packet.data.length : 0);
    });
    socket.on("presence_state", (members: Member[]) => this.onMembers?.(members.map(index), []));
    socket.on("presence_join", (member: Member) => this.onMembers?.([index(member)], []));
    socket.on("presence_leave", (member: Member) => this.onMembers?.([], [index(member)]));
    socket.on("presence_update", (member: Member) => this.onTyping?.(index(member), member.typing));
    socket.on("disconnect", () => this.onClose?.());
    socket.on("shout", (message: { body: string }) => {
      this.shouts++;
      this.onShout?.(message.body);
    });
  }

  join(topic: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#socket
        .timeout(60_000)
        .emit("join", topic, (err: Error | null, answer: { ok?: boolean }) => {
          if (err || !answer?.ok) reject(err ?? new Error("join refused"));
          else resolve();
        });
    });
  }

  get open(): boolean {
    return this.#socket.connected;
  }

  leave(_topic: string): Promise<void> {
    return Promise.reject(new Error("the Socket.IO target has no leave"));
  }

  typing(topic: string, value: boolean): void {
    this.#socket.emit("typing", topic, value);
  }

  shout(topic: string, body: string): void {
    this.#socket.emit("shout", topic, body);
  }

  heartbeat(): void {}

  close(): void {
    this.#socket.disconnect();
  }
}

export function connectSocketIo(options: ConnectOptions): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const socket = io(options.url, {
      transports: ["websocket"],
      query: { name: memberName(options.index) },
      forceNew: true,
      reconnection: false,
      timeout: 60_000,
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    });
    socket.once("connect", () => {
      socket.off("connect_error", reject);
      resolve(new SocketIoConn(socket, options.index));
    });
    socket.once("connect_error", reject);
  });
}
