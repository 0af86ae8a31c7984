// @vitest-environment jsdom
import { Presence, Socket, type SocketOptions } from "@tandem/client";
// The redux package's test server: a real Tandem server with a presence channel.
import { type BindingsServer, startBindingsServer } from "@tandem/test-support";
import { act, cleanup, render, screen, waitFor } from "@testing-library/react";
import { StrictMode, useState } from "react";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import {
  SocketProvider,
  useChannel,
  useChannelEvent,
  useConnectionState,
  usePresence,
  useSocket,
} from "../src/index.js";

type Meta = { name: string; typing: boolean };

let server: BindingsServer;
const others: Socket[] = [];

function options(user: string): SocketOptions {
  return {
    transport: WebSocket,
    params: { user },
    reconnectAfterMs: () => 50,
    rejoinAfterMs: () => 50,
  };
}

/** Another user, outside React. */
function otherUser(user: string, topic: string) {
  const socket = new Socket(server.url, options(user));
  others.push(socket);
  socket.connect();
  const channel = socket.channel(topic);
  channel.join();
  return { socket, channel };
}

function Status() {
  return <p data-testid="connection">{useConnectionState()}</p>;
}

function Room({ topic }: { topic: string }) {
  const { channel, status, reply, error } = useChannel(topic);
  const [shouts, setShouts] = useState<string[]>([]);
  useChannelEvent<{ text: string }>(channel, "shout", (p) => setShouts((s) => [...s, p.text]));
  const names = usePresence<Meta, string>(
    channel,
    (_key, p) => `${p.metas[0]?.name}${p.metas.some((m) => m.typing) ? "..." : ""}`,
  );
  const entries = usePresence<Meta>(channel);
  return (
    <div>
      <p data-testid="status">{status}</p>
      <p data-testid="reply">{JSON.stringify(reply ?? null)}</p>
      <p data-testid="error">{JSON.stringify(error ?? null)}</p>
      <ul aria-label="Participants">
        {names.map((name, i) => (
          <li key={entries[i]?.key ?? name}>{name}</li>
        ))}
      </ul>
      <p data-testid="shouts">{shouts.join(",")}</p>
    </div>
  );
}

function App({ user, topic }: { user: string; topic: string }) {
  return (
    <SocketProvider url={server.url} options={options(user)}>
      <Status />
      <Room topic={topic} />
    </SocketProvider>
  );
}

/**
 * Renders the app under StrictMode. React 19 only mounts effects twice when StrictMode
 * is the root, not when a component returns it.
 */
const renderStrict = (user: string, topic: string) =>
  render(
    <StrictMode>
      <App user={user} topic={topic} />
    </StrictMode>,
  );

function Two() {
  const a = useChannel("room:2");
  const b = useChannel("room:2");
  return <p data-testid="same">{String(a.channel !== null && a.channel === b.channel)}</p>;
}

function Probe({ socket }: { socket: Socket }) {
  return <p data-testid="given">{String(useSocket() === socket)}</p>;
}

/** The page-lifecycle events a Socket follows, as listed by `Socket.dispose`. */
const pageEvents = new Set(["pagehide", "pageshow", "visibilitychange", "resume"]);

/**
 * Tracks the page-lifecycle listeners added to `window` and `document` while it is
 * installed, minus those removed or aborted through their signal since. React's own
 * listeners (selectionchange, mouseover...) are not counted.
 */
function trackPageListeners() {
  type Entry = { target: EventTarget; type: string; listener: unknown };
  const live: Entry[] = [];
  const forget = (entry: Entry) => {
    const at = live.indexOf(entry);
    if (at >= 0) live.splice(at, 1);
  };
  const restores = [window, document].map((target: EventTarget) => {
    const { addEventListener: add, removeEventListener: remove } = target;
    target.addEventListener = (type, listener, options) => {
      const entry = { target, type, listener };
      if (pageEvents.has(type)) live.push(entry);
      if (typeof options === "object")
        options.signal?.addEventListener("abort", () => forget(entry));
      add.call(target, type, listener, options);
    };
    target.removeEventListener = (type, listener, options) => {
      const entry = live.find(
        (e) => e.target === target && e.type === type && e.listener === listener,
      );
      if (entry) forget(entry);
      remove.call(target, type, listener, options);
    };
    return () => {
      target.addEventListener = add;
      target.removeEventListener = remove;
    };
  });
  return {
    count: () => live.length,
    restore: () => {
      for (const restore of restores) restore();
    },
  };
}

const text = (id: string) => screen.getByTestId(id).textContent;
const participants = () => screen.queryAllByRole("listitem").map((li) => li.textContent ?? "");

beforeEach(async () => {
  server = await startBindingsServer();
});
afterEach(async () => {
  cleanup();
  for (const socket of others.splice(0)) socket.disconnect();
  await server.close();
});

describe("react bindings against a real server", () => {
  it("joins once under StrictMode, lists presences, delivers events, leaves on unmount", async () => {
    const view = renderStrict("ada", "room:1");
    await waitFor(() => expect(text("connection")).toBe("open"));
    await waitFor(() => expect(text("status")).toBe("joined"));
    expect(text("reply")).toBe(JSON.stringify({ topic: "room:1" }));
    await waitFor(() => expect(participants()).toEqual(["ada"]));
    // StrictMode mounted every effect twice, yet the server saw a single join.
    expect(server.joins.get("room:1")).toBe(1);

    const bob = otherUser("bob", "room:1");
    await waitFor(() => expect(participants()).toEqual(["ada", "bob"]));
    bob.channel.push("typing", {});
    await waitFor(() => expect(participants()).toEqual(["ada", "bob..."]));
    await waitFor(() => expect(participants()).toEqual(["ada", "bob"]));

    bob.channel.push("shout", { text: "hello" });
    await waitFor(() => expect(text("shouts")).toBe("hello"));

    bob.socket.disconnect();
    await waitFor(() => expect(participants()).toEqual(["ada"]));

    view.unmount();
    const watcher = otherUser("carol", "room:1");
    const seen: string[][] = [];
    const presence = new Presence<Meta>(watcher.channel);
    presence.onSync(() => seen.push(presence.list((key) => key)));
    await waitFor(() => expect(seen.at(-1)).toEqual(["carol"]));
  });

  it("shares one channel between components of the same topic", async () => {
    render(
      <SocketProvider url={server.url} options={options("ada")}>
        <Two />
      </SocketProvider>,
    );
    await waitFor(() => expect(text("same")).toBe("true"));
    await waitFor(() => expect(server.joins.get("room:2")).toBe(1));
  });

  it("reports a refused join without retrying", async () => {
    renderStrict("ada", "room:closed");
    await waitFor(() => expect(text("status")).toBe("refused"));
    expect(text("error")).toBe(JSON.stringify({ reason: "closed" }));
  });

  it("shows reconnecting while the server is down, then rejoins and resyncs", async () => {
    renderStrict("ada", "room:3");
    await waitFor(() => expect(participants()).toEqual(["ada"]));
    const port = server.port;
    await server.close();
    await waitFor(() => expect(text("connection")).toBe("reconnecting"));
    await waitFor(() => expect(text("status")).toBe("errored"));
    server = await startBindingsServer(port);
    await waitFor(() => expect(text("connection")).toBe("open"), { timeout: 5000 });
    await waitFor(() => expect(text("status")).toBe("joined"), { timeout: 5000 });
    otherUser("bob", "room:3");
    await waitFor(() => expect(participants()).toEqual(["ada", "bob"]));
  });

  it("leaves no page listeners behind after a StrictMode mount and unmount", async () => {
    const listeners = trackPageListeners();
    try {
      const view = renderStrict("ada", "room:3");
      await waitFor(() => expect(text("connection")).toBe("open"));
      // StrictMode made two sockets, yet only one socket's pagehide, pageshow,
      // visibilitychange and resume listeners are left.
      expect(listeners.count()).toBe(4);
      act(() => view.unmount());
      expect(listeners.count()).toBe(0);
      // The same holds on a second mount: nothing accumulates.
      renderStrict("ada", "room:3");
      await waitFor(() => expect(text("connection")).toBe("open"));
      expect(listeners.count()).toBe(4);
      cleanup();
      expect(listeners.count()).toBe(0);
    } finally {
      listeners.restore();
    }
  });

  it("takes a socket made by the app, connects it and disconnects it on unmount", async () => {
    const socket = new Socket(server.url, options("ada"));
    const view = render(
      <SocketProvider socket={socket}>
        <Probe socket={socket} />
        <Status />
      </SocketProvider>,
    );
    await waitFor(() => expect(text("given")).toBe("true"));
    await waitFor(() => expect(text("connection")).toBe("open"));
    act(() => view.unmount());
    expect(socket.closeWasClean).toBe(true);
    expect(() => render(<Probe socket={socket} />)).toThrow(/inside a <SocketProvider>/);
  });
});
