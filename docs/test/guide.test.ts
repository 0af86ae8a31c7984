import type { ChildProcess } from "node:child_process";
import { Presence, Socket } from "@tandem/client";
import { afterAll, beforeAll, expect, test } from "vitest";
import { WebSocket } from "ws";
import { type DocApp, startDocServer, typecheck, writeDocApp } from "./doc-app.js";

let app: DocApp;

beforeAll(() => {
  app = writeDocApp("presence-with-react-and-redux.md", ".guide");
  expect(app.names).toEqual(["server.ts", "store.ts", "room.ts", "participants.tsx", "app.tsx"]);
});

test("every ts/tsx block of the guide type-checks", () => {
  const { configErrors, diagnostics } = typecheck(app);
  expect(configErrors).toEqual([]);
  expect(diagnostics).toEqual([]);
}, 60_000);

let server: ChildProcess | undefined;
afterAll(() => {
  server?.kill();
});

/** Starts the guide's server.ts on a spare port and resolves with its socket URL. */
async function startGuideServer(): Promise<string> {
  const started = await startDocServer(app);
  server = started.child;
  return started.url;
}

type Listed = { name: string; typing: boolean };

/** A client in a room, with a promise for the first presence list that passes a check. */
function joinRoom(url: string, name: string) {
  const socket = new Socket(url, { transport: WebSocket, params: { name } });
  socket.connect();
  const channel = socket.channel("room:lobby");
  const presence = new Presence(channel);
  let waiter: { check: (list: Listed[]) => boolean; resolve: () => void } | undefined;
  const list = () =>
    presence
      .list((_key, { metas }) => metas[0] as unknown as Listed)
      .sort((a, b) => a.name.localeCompare(b.name));
  presence.onSync(() => {
    if (waiter?.check(list())) waiter.resolve();
  });
  const until = (check: (list: Listed[]) => boolean) =>
    new Promise<void>((resolve) => {
      waiter = { check, resolve };
      if (check(list())) resolve();
    });
  channel.join();
  return { socket, channel, until };
}

test("the guide's server lists who is in the room, lights typing and clears it, and drops who left", async () => {
  const url = await startGuideServer();
  const ada = joinRoom(url, "ada");
  await ada.until((list) => list.length === 1 && list[0]?.name === "ada");

  const alan = joinRoom(url, "alan");
  const both = (typing: boolean) => (list: Listed[]) =>
    list.length === 2 && list[0]?.name === "ada" && list[1]?.typing === typing;
  await Promise.all([ada.until(both(false)), alan.until(both(false))]);

  alan.channel.push("typing", {});
  await ada.until(both(true));
  // Nobody says "stopped typing": the server reverts it after its quiet period.
  await ada.until(both(false));

  alan.channel.leave();
  await ada.until((list) => list.length === 1 && list[0]?.name === "ada");

  ada.socket.disconnect();
  alan.socket.disconnect();
}, 30_000);
