// @vitest-environment jsdom
import { Socket, type SocketOptions } from "@tandem/client";
import { RoomPresence } from "@tandem/client/room";
import { type BindingsServer, startBindingsServer } from "@tandem/test-support";
import { act, cleanup, render, screen, waitFor } from "@testing-library/react";
import { StrictMode, useEffect } from "react";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import {
  RoomProvider,
  type RoomProviderProps,
  SocketProvider,
  shallow,
  useLostConnectionListener,
  useMyPresence,
  useOther,
  useOthers,
  useOthersMapped,
  useSelf,
  useStatus,
  useUpdateMyPresence,
} from "../src/index.js";

type Meta = {
  name: string;
  color: string;
  typing: boolean;
  cursor: { x: number; y: number } | null;
  status: string;
};

const TOPIC = "room:1";
let server: BindingsServer;
const sockets: Socket[] = [];
const renders = new Map<string, number>();
const count = (name: string) => renders.set(name, (renders.get(name) ?? 0) + 1);

function options(user: string, reconnectMs = 50): SocketOptions {
  return {
    transport: WebSocket,
    params: { user },
    reconnectAfterMs: () => reconnectMs,
    rejoinAfterMs: () => 50,
  };
}

/** Another user in the room, outside React. */
function otherUser(user: string, reconnectMs = 50) {
  const socket = new Socket(server.url, options(user, reconnectMs));
  sockets.push(socket);
  socket.connect();
  const channel = socket.channel(TOPIC);
  const room = new RoomPresence<Meta>(channel);
  channel.join();
  return { socket, room };
}

function Statuses() {
  count("statuses");
  const statuses = useOthers<Meta, string[]>(
    (others) => others.map((o) => `${o.key}:${o.presence.status}${o.reconnecting ? "?" : ""}`),
    shallow,
  );
  return <p data-testid="statuses">{statuses.join(",")}</p>;
}

function Cursor({ member }: { member: string }) {
  count("cursor");
  const x = useOther<Meta, number | undefined>(member, (o) => o.presence.cursor?.x);
  return <li>{x ?? "-"}</li>;
}

function Cursors() {
  count("cursors");
  const members = useOthersMapped<Meta, string>((o) => o.key);
  return (
    <ul aria-label="cursors">
      {members.map(([member]) => (
        <Cursor key={member} member={member} />
      ))}
    </ul>
  );
}

function Me() {
  count("me");
  const name = useSelf<Meta, string>((self) => self.presence.name);
  const status = useStatus();
  return (
    <p data-testid="me">
      {name ?? "?"}/{status}
    </p>
  );
}

function MyCursor() {
  const [presence, update] = useMyPresence<Meta>();
  return (
    <button type="button" data-testid="mine" onClick={() => update({ cursor: { x: 7, y: 7 } })}>
      {presence.cursor ? `${presence.cursor.x}` : "none"}
    </button>
  );
}

function App({ user, room }: { user: string; room?: Partial<RoomProviderProps<Meta>> }) {
  return (
    <SocketProvider url={server.url} options={options(user)}>
      <RoomProvider<Meta> topic={TOPIC} {...room}>
        <Me />
        <Statuses />
        <Cursors />
        <MyCursor />
      </RoomProvider>
    </SocketProvider>
  );
}

/** Records every list of others it commits, `?` marking those reconnecting. */
function Recorder({ shown }: { shown: string[] }) {
  const statuses = useOthers<Meta, string[]>(
    (others) => others.map((o) => `${o.key}${o.reconnecting ? "?" : ""}`),
    shallow,
  );
  const joined = statuses.join(",");
  useEffect(() => {
    shown.push(joined);
  }, [joined, shown]);
  return null;
}

function Listener({ events }: { events: string[] }) {
  useLostConnectionListener((event) => events.push(event));
  return null;
}

function Orphan() {
  useUpdateMyPresence();
  return null;
}

const text = (id: string) => screen.getByTestId(id).textContent;
const cursors = () => screen.getByLabelText("cursors").textContent;

beforeEach(async () => {
  renders.clear();
  server = await startBindingsServer();
});
afterEach(async () => {
  cleanup();
  for (const socket of sockets.splice(0)) socket.disconnect();
  await server.close();
});

describe("room hooks against a real server", () => {
  it("re-renders a selector only when what it selects changes", async () => {
    render(<App user="ada" />);
    await waitFor(() => expect(text("me")).toBe("ada/connected"));
    const bob = otherUser("bob");
    await waitFor(() => expect(text("statuses")).toBe("bob:online"));
    await waitFor(() => expect(cursors()).toBe("-"));
    const before = { ...Object.fromEntries(renders) };

    // Bob moves: only his Cursor re-renders; the list of statuses and of members does not.
    bob.room.update({ cursor: { x: 1, y: 1 } });
    await waitFor(() => expect(cursors()).toBe("1"));
    bob.room.update({ cursor: { x: 2, y: 1 } });
    await waitFor(() => expect(cursors()).toBe("2"));
    expect(renders.get("statuses")).toBe(before.statuses);
    expect(renders.get("cursors")).toBe(before.cursors);
    expect(renders.get("me")).toBe(before.me);
    expect(renders.get("cursor")).toBe((before.cursor ?? 0) + 2);

    // Ada's own cursor changes her presence, not her name: Me does not re-render.
    act(() => screen.getByTestId("mine").click());
    expect(text("mine")).toBe("7");
    await waitFor(() => expect(bob.room.snapshot.others[0]?.presence.cursor?.x).toBe(7));
    expect(renders.get("me")).toBe(before.me);

    bob.room.update({ status: "away" });
    await waitFor(() => expect(text("statuses")).toBe("bob:away"));
    expect(renders.get("statuses")).toBe((before.statuses ?? 0) + 1);
  });

  it("joins once and sends the initial presence once under StrictMode", async () => {
    render(
      <StrictMode>
        <App user="ada" room={{ initialPresence: { status: "here" } }} />
      </StrictMode>,
    );
    await waitFor(() => expect(text("me")).toBe("ada/connected"));
    // StrictMode mounted every effect twice, yet the server saw a single join.
    expect(server.joins.get(TOPIC)).toBe(1);
    const bob = otherUser("bob");
    await waitFor(() => expect(bob.room.snapshot.others[0]?.presence.status).toBe("here"));
    expect(server.presenceUpdates).toEqual([{ status: "here" }]);
    await waitFor(() => expect(text("statuses")).toBe("bob:online"));
    act(() => screen.getByTestId("mine").click());
    await waitFor(() =>
      expect(bob.room.snapshot.others[0]?.presence.cursor).toEqual({ x: 7, y: 7 }),
    );
    expect(server.presenceUpdates).toHaveLength(2);
  });

  it("keeps someone whose socket dropped listed as reconnecting until they are back", async () => {
    const shown: string[] = [];
    render(
      <SocketProvider url={server.url} options={options("ada")}>
        <RoomProvider<Meta> topic={TOPIC}>
          <Recorder shown={shown} />
        </RoomProvider>
      </SocketProvider>,
    );
    // Bob's client waits 300 ms before reconnecting: long enough to be seen gone.
    const bob = otherUser("bob", 300);
    await waitFor(() => expect(shown.at(-1)).toBe("bob"));
    const member = bob.room.snapshot.self?.member;
    bob.socket.conn?.close(4000, "network drop");
    await waitFor(() => expect(shown.at(-1)).toBe("bob?"));
    await waitFor(() => expect(shown.at(-1)).toBe("bob"), { timeout: 5000 });
    expect(bob.room.snapshot.self?.member).not.toBe(member);
    // Bob never vanished: every list since he first came holds him.
    expect(shown.slice(shown.indexOf("bob"))).toEqual(["bob", "bob?", "bob"]);
  });

  it("reports the status and a lost, then restored, connection", async () => {
    const events: string[] = [];
    render(
      <SocketProvider url={server.url} options={options("ada")}>
        <RoomProvider<Meta> topic={TOPIC} lostConnectionMs={100}>
          <Me />
          <Listener events={events} />
        </RoomProvider>
      </SocketProvider>,
    );
    await waitFor(() => expect(text("me")).toBe("ada/connected"));
    const port = server.port;
    await server.close();
    await waitFor(() => expect(text("me")).toBe("ada/reconnecting"));
    await waitFor(() => expect(events).toEqual(["lost"]));
    server = await startBindingsServer(port);
    await waitFor(() => expect(text("me")).toBe("ada/connected"), { timeout: 5000 });
    expect(events).toEqual(["lost", "restored"]);
  });

  it("needs a RoomProvider", () => {
    expect(() =>
      render(
        <SocketProvider url={server.url} options={options("ada")}>
          <Orphan />
        </SocketProvider>,
      ),
    ).toThrow(/inside a <RoomProvider>/);
  });
});
