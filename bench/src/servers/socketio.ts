/**
 * Target (d): Socket.IO 4.8 with the presence a Node developer writes by hand: rooms
 * plus a member Map per room, `join` / `typing` / `shout` events, a full member list on
 * join and one `presence_join` / `presence_update` / `presence_leave` event per change.
 */
import { Server } from "socket.io";
import { exitWithParent, listen, statsServer } from "./common.js";

interface Member {
  name: string;
  typing: boolean;
}

exitWithParent();
const server = statsServer(() => io.engine.clientsCount);
const io = new Server(server, {
  transports: ["websocket"],
  serveClient: false,
  perMessageDeflate: false,
  // The same silence allowance as Tandem's idle timeout.
  pingInterval: 25_000,
  pingTimeout: 20_000,
});
const rooms = new Map<string, Map<string, Member>>();

io.on("connection", (socket) => {
  const raw = socket.handshake.query.name;
  const name = typeof raw === "string" ? raw : "anon";
  const joined = new Set<string>();

  socket.on("join", (room: unknown, ack: unknown) => {
    if (typeof room !== "string") return;
    let members = rooms.get(room);
    if (!members) {
      members = new Map();
      rooms.set(room, members);
    }
    const member: Member = { name, typing: false };
    members.set(socket.id, member);
    joined.add(room);
    void socket.join(room);
    if (typeof ack === "function") ack({ ok: true });
    socket.emit("presence_state", [...members.values()]);
    socket.to(room).emit("presence_join", member);
  });

  socket.on("typing", (room: unknown, typing: unknown) => {
    if (typeof room !== "string" || typeof typing !== "boolean") return;
    const member = rooms.get(room)?.get(socket.id);
    if (!member || member.typing === typing) return;
    member.typing = typing;
    io.to(room).emit("presence_update", member);
  });

  socket.on("shout", (room: unknown, body: unknown) => {
    if (typeof room !== "string" || !joined.has(room)) return;
    io.to(room).emit("shout", { from: name, body });
  });

  socket.on("disconnecting", () => {
    for (const room of joined) {
      const members = rooms.get(room);
      if (!members) continue;
      members.delete(socket.id);
      if (members.size === 0) rooms.delete(room);
      socket.to(room).emit("presence_leave", { name });
    }
  });
});

await listen(server);
