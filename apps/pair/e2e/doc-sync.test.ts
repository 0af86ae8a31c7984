import type { AddressInfo } from "node:net";
import { Socket } from "@tandem/client";
import {
  type ChannelContext,
  channel,
  defineChannel,
  defineConnectionHandler,
  Endpoint,
  error,
  ok,
  silentLogger,
} from "@tandem/server";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import * as Y from "yjs";
import { DocSync } from "../web/src/room/doc-sync.js";

/**
 * The web app's DocSync against a server whose storage fails on demand, which a browser
 * test cannot arrange: updates refused with "save failed" must reach the server later.
 * It speaks the contract's sync: its state vector in `doc:sync`, what a client lacks in
 * the reply to the client's `doc:sync`.
 */
async function startFlakyServer(failures: number) {
  const serverDoc = new Y.Doc();
  let failuresLeft = failures;
  const endpoint = new Endpoint({ logger: silentLogger });
  const members = new Set<ChannelContext>();
  const room = defineChannel({
    join(_topic, _payload, socket) {
      members.add(socket);
      socket.onExit(() => members.delete(socket));
      socket.send("sync");
      return ok({});
    },
    handleInfo(_message, socket) {
      socket.push("doc:sync", Y.encodeStateVector(serverDoc));
      return undefined;
    },
    handleIn(event, payload) {
      if (!(payload instanceof Uint8Array)) return ok();
      if (event === "doc:sync") return ok(Y.encodeStateAsUpdate(serverDoc, payload));
      if (event !== "doc:update") return ok();
      if (failuresLeft > 0) {
        failuresLeft -= 1;
        return error({ reason: "save failed" });
      }
      updatesReceived.push(payload);
      Y.applyUpdate(serverDoc, payload);
      return ok();
    },
  });
  const updatesReceived: Uint8Array[] = [];
  endpoint.mount(
    "/socket",
    defineConnectionHandler({ connect: () => ({}), channels: [channel("challenges:*", room)] }),
  );
  const address: AddressInfo = await endpoint.listen(0);
  return {
    serverDoc,
    updatesReceived,
    /** Pushes to every client in the room, as a relay would. */
    pushAll(event: string, payload: Uint8Array) {
      for (const member of members) member.push(event, payload);
    },
    url: `ws://127.0.0.1:${address.port}/socket`,
    close: () => endpoint.close({ timeoutMs: 500 }),
  };
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A DocSync bound to a fresh channel of `url`, joined and synced. */
async function syncedClient(url: string, onRefused?: (reason: string) => void) {
  const socket = new Socket(url, {
    transport: WebSocket,
    reconnectAfterMs: () => 20,
    rejoinAfterMs: () => 20,
  });
  socket.connect();
  cleanups.push(() => socket.disconnect());
  const ch = socket.channel("challenges:1");
  const doc = new Y.Doc();
  const sync = new DocSync(ch, doc, () => {}, onRefused);
  cleanups.push(() => sync.destroy());
  const synced = new Promise<void>((resolve) => ch.on("doc:sync", () => resolve()));
  ch.join();
  await synced;
  return { socket, ch, doc, text: doc.getText("solution") };
}

describe("DocSync", () => {
  it("sends what the server lacks after a reconnect, and receives only what it lacks", async () => {
    const server = await startFlakyServer(0);
    cleanups.push(server.close);
    server.serverDoc.getText("solution").insert(0, "from the server;");
    const client = await syncedClient(server.url);
    await expect.poll(() => client.text.toString()).toBe("from the server;");
    expect(server.updatesReceived).toEqual([]);

    // Offline: the client edits, and so does someone else on the server.
    client.socket.disconnect();
    client.text.insert(client.text.length, " offline edit;");
    const elsewhere = new Y.Doc();
    Y.applyUpdate(elsewhere, Y.encodeStateAsUpdate(server.serverDoc));
    elsewhere.getText("solution").insert(0, "meanwhile;");
    Y.applyUpdate(server.serverDoc, Y.encodeStateAsUpdate(elsewhere));
    const resynced = new Promise<void>((resolve) => client.ch.on("doc:sync", () => resolve()));
    client.socket.connect();
    await resynced;
    await expect
      .poll(() => client.text.toString())
      .toBe("meanwhile;from the server; offline edit;");
    await expect
      .poll(() => server.serverDoc.getText("solution").toString())
      .toBe("meanwhile;from the server; offline edit;");
    // What went up is the offline edit alone (the push buffered while offline may repeat
    // it), never the text the server had.
    const sent = server.updatesReceived.flatMap((u) => Y.decodeUpdate(u).structs);
    expect(sent.length).toBeGreaterThan(0);
    expect(sent.every((s) => s.id.client === client.doc.clientID)).toBe(true);
  });

  it("ignores malformed document messages instead of throwing", async () => {
    const server = await startFlakyServer(0);
    cleanups.push(server.close);
    const client = await syncedClient(server.url);
    const junk = new Uint8Array([1, 1, 109, 0, 196, 13, 16, 13, 17, 2, 120, 57, 255, 255, 255]);
    server.pushAll("doc:update", junk);
    server.pushAll("doc:sync", junk);
    // Still in step: an edit here reaches the server.
    client.text.insert(0, "still here");
    await expect.poll(() => server.serverDoc.getText("solution").toString()).toBe("still here");
  });

  it("keeps updates the server failed to save and sends them again", async () => {
    const server = await startFlakyServer(3);
    cleanups.push(server.close);
    const socket = new Socket(server.url, { transport: WebSocket });
    socket.connect();
    cleanups.push(() => socket.disconnect());
    const ch = socket.channel("challenges:1");
    const doc = new Y.Doc();
    let edits = 0;
    const sync = new DocSync(ch, doc, () => {
      edits += 1;
    });
    cleanups.push(() => sync.destroy());
    ch.join();
    await new Promise<void>((resolve) => ch.on("doc:sync", () => resolve()));

    const text = doc.getText("solution");
    text.insert(0, "let a = 1;");
    text.insert(text.length, "\nlet b = 2;");
    expect(edits).toBe(2);

    // The whole state after the join, then both edits, are refused once each; the retry
    // sends them merged.
    await expect
      .poll(() => server.serverDoc.getText("solution").toString(), { timeout: 5000 })
      .toBe("let a = 1;\nlet b = 2;");
  });
});
