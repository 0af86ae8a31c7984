/**
 * Target (c), the raw ceiling: a bare `ws` server doing the same fan-out as the presence
 * room with no channel or presence logic. It keeps a member list per room, answers a
 * join with a presence_state-shaped full list and broadcasts one join diff per join,
 * a typing diff per typing event, and shouts. Each broadcast is encoded once, to a
 * Buffer, and written to every member as is.
 */
import { type WebSocket, WebSocketServer } from "ws";
import { exitWithParent, listen, statsServer } from "./common.js";

interface Member {
  ws: WebSocket;
  name: string;
  typing: boolean;
  ref: number;
  /** `"name":{"metas":[meta]}` as it stands now. */
  entry: string;
}

interface Room {
  topic: string;
  members: Map<WebSocket, Member>;
  /** The members' entries joined by commas; null when it must be rebuilt. */
  state: string | null;
}

exitWithParent();
const rooms = new Map<string, Room>();
let refCounter = 0;
const server = statsServer(() => wss.clients.size);
const wss = new WebSocketServer({ server, path: "/socket/websocket", perMessageDeflate: false });

function entryOf(member: Member): string {
  // A 16-character phx_ref, as long as Tandem's, so the bytes compare.
  const ref = member.ref.toString(36).padStart(16, "0");
  return `${JSON.stringify(member.name)}:{"metas":[{"name":${JSON.stringify(member.name)},"typing":${member.typing},"phx_ref":"${ref}"}]}`;
}

function fanOut(room: Room, frame: string): void {
  const bytes = Buffer.from(frame);
  for (const other of room.members.keys()) other.send(bytes);
}

function reply(ws: WebSocket, joinRef: unknown, ref: unknown, topic: string): void {
  ws.send(
    `[${JSON.stringify(joinRef ?? null)},${JSON.stringify(ref ?? null)},${JSON.stringify(topic)},"phx_reply",{"status":"ok","response":{}}]`,
  );
}

function diff(topic: string, joins: string, leaves: string): string {
  return `[null,null,${JSON.stringify(topic)},"presence_diff",{"joins":{${joins}},"leaves":{${leaves}}}]`;
}

function leave(ws: WebSocket, memberships: Map<string, Member>): void {
  for (const [topic, member] of memberships) {
    const room = rooms.get(topic);
    if (!room) continue;
    room.members.delete(ws);
    room.state = null;
    if (room.members.size === 0) rooms.delete(topic);
    else fanOut(room, diff(topic, "", member.entry));
  }
  memberships.clear();
}

wss.on("connection", (ws, req) => {
  const name = new URL(req.url ?? "/", "http://localhost").searchParams.get("name") ?? "anon";
  const memberships = new Map<string, Member>();
  ws.on("message", (data) => {
    let frame: unknown;
    try {
      frame = JSON.parse(String(data));
    } catch {
      ws.close(1007, "malformed frame");
      return;
    }
    if (!Array.isArray(frame) || frame.length < 5) return;
    const [joinRef, ref, topic, event, payload] = frame as [
      unknown,
      unknown,
      string,
      string,
      unknown,
    ];
    if (event === "heartbeat") return reply(ws, null, ref, "phoenix");
    if (event === "phx_join") {
      let room = rooms.get(topic);
      if (!room) {
        room = { topic, members: new Map(), state: "" };
        rooms.set(topic, room);
      }
      const member: Member = { ws, name, typing: false, ref: ++refCounter, entry: "" };
      member.entry = entryOf(member);
      room.members.set(ws, member);
      memberships.set(topic, member);
      if (room.state === null) {
        room.state = [...room.members.values()].map((m) => m.entry).join(",");
      } else {
        room.state = room.state === "" ? member.entry : `${room.state},${member.entry}`;
      }
      reply(ws, joinRef, ref, topic);
      ws.send(
        `[${JSON.stringify(joinRef)},null,${JSON.stringify(topic)},"presence_state",{${room.state}}]`,
      );
      fanOut(room, diff(topic, member.entry, ""));
      return;
    }
    const member = memberships.get(topic);
    const room = rooms.get(topic);
    if (!member || !room) return;
    const body = (payload ?? {}) as Record<string, unknown>;
    if (event === "typing") {
      reply(ws, joinRef, ref, topic);
      const typing = body.typing === true;
      if (typing === member.typing) return;
      const previous = member.entry;
      member.typing = typing;
      member.ref = ++refCounter;
      member.entry = entryOf(member);
      room.state = null;
      fanOut(room, diff(topic, member.entry, previous));
    } else if (event === "shout") {
      reply(ws, joinRef, ref, topic);
      fanOut(
        room,
        `[null,null,${JSON.stringify(topic)},"shout",${JSON.stringify({ from: name, body: body.body })}]`,
      );
    } else if (event === "phx_leave") {
      reply(ws, joinRef, ref, topic);
      leave(ws, new Map([[topic, member]]));
      memberships.delete(topic);
    }
  });
  ws.on("close", () => leave(ws, memberships));
  ws.on("error", () => {});
});

await listen(server);
