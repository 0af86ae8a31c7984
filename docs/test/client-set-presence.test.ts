import type { ChildProcess } from "node:child_process";
import { Socket } from "@tandem/client";
import { RoomPresence } from "@tandem/client/room";
import { Socket as PhoenixSocket } from "phoenix";
import { afterAll, beforeAll, expect, test, vi } from "vitest";
import { WebSocket } from "ws";
import { type DocApp, startDocServer, typecheck, writeDocApp } from "./doc-app.js";

let app: DocApp;
let server: ChildProcess | undefined;

beforeAll(() => {
  app = writeDocApp("client-set-presence.md", ".client-set-presence");
  expect(app.names).toEqual(["server.ts", "presence.ts", "board.tsx", "store.ts"]);
});
afterAll(() => {
  server?.kill();
});

test("every ts/tsx block of the page type-checks", () => {
  const { configErrors, diagnostics } = typecheck(app);
  expect(configErrors).toEqual([]);
  expect(diagnostics).toEqual([]);
}, 60_000);

type Board = {
  name: string;
  color: string;
  cursor: { x: number; y: number } | null;
  typing: boolean;
  status: string;
};

test("the page's server takes a plain push from the phoenix client and refuses its own fields", async () => {
  const started = await startDocServer(app);
  server = started.child;

  const alanSocket = new Socket(started.url, { transport: WebSocket, params: { name: "alan" } });
  alanSocket.connect();
  const alanChannel = alanSocket.channel("board:lobby");
  const alan = new RoomPresence<Board>(alanChannel);
  alanChannel.join();

  const ada = new PhoenixSocket(started.url, {
    transport: WebSocket as unknown as typeof globalThis.WebSocket,
    params: { name: "ada" },
  });
  ada.connect();
  try {
    const channel = ada.channel("board:lobby", {});
    const self = new Promise((resolve) => channel.on("presence_self", resolve));
    channel.join();
    expect(await self).toMatchObject({ key: "ada", transient: { typing: 3000, cursor: 30000 } });
    const push = (payload: object) =>
      new Promise((resolve) => {
        channel
          .push("presence_update", payload)
          .receive("ok", (response) => resolve({ ok: response }))
          .receive("error", (response) => resolve({ error: response }));
      });
    expect(await push({ cursor: { x: 10, y: 20 } })).toEqual({ ok: { changed: true } });
    expect(await push({ cursor: { x: 10, y: 20 } })).toEqual({ ok: { changed: false } });
    expect(await push({ color: "#ffffff" })).toEqual({
      error: { reason: "server_owned", field: "color" },
    });
    expect(await push({ status: "asleep" })).toMatchObject({ error: { reason: "invalid" } });
    await vi.waitFor(
      () =>
        expect(alan.snapshot.others[0]?.presence).toMatchObject({
          name: "ada",
          cursor: { x: 10, y: 20 },
          status: "active",
        }),
      { timeout: 3000 },
    );
  } finally {
    ada.disconnect();
    alan.dispose();
    alanSocket.disconnect();
  }
}, 30_000);
