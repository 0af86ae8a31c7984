import type { AddressInfo } from "node:net";
import { Socket } from "@tandem/client";
import {
  channel,
  defineChannel,
  defineSocket,
  Endpoint,
  error,
  ok,
  silentLogger,
} from "@tandem/server";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { Awareness } from "y-protocols/awareness";
import * as Y from "yjs";
import { userColor as serverColor } from "../server/src/docs/colors.js";
import { userColor as webColor } from "../web/src/room/colors.js";
import { DocSync } from "../web/src/room/doc-sync.js";

/**
 * The web app's DocSync against a server whose storage fails on demand, which a browser
 * test cannot arrange: updates refused with "save failed" must reach the server later.
 */
async function startFlakyServer(failures: number) {
  const serverDoc = new Y.Doc();
  let failuresLeft = failures;
  const endpoint = new Endpoint({ logger: silentLogger });
  const room = defineChannel({
    join(_topic, _payload, socket) {
      socket.send("sync");
      return ok({});
    },
    handleInfo(_message, socket) {
      socket.push("doc:sync", Y.encodeStateAsUpdate(serverDoc));
      return undefined;
    },
    handleIn(event, payload) {
      if (event !== "doc:update" || !(payload instanceof Uint8Array)) return ok();
      if (failuresLeft > 0) {
        failuresLeft -= 1;
        return error({ reason: "save failed" });
      }
      Y.applyUpdate(serverDoc, payload);
      return ok();
    },
  });
  endpoint.socket(
    "/socket",
    defineSocket({ connect: () => ({}), channels: [channel("challenges:*", room)] }),
  );
  const address: AddressInfo = await endpoint.listen(0);
  return {
    serverDoc,
    url: `ws://127.0.0.1:${address.port}/socket`,
    close: () => endpoint.close({ timeoutMs: 500 }),
  };
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe("DocSync", () => {
  it("keeps updates the server failed to save and sends them again", async () => {
    const server = await startFlakyServer(3);
    cleanups.push(server.close);
    const socket = new Socket(server.url, { transport: WebSocket });
    socket.connect();
    cleanups.push(() => socket.disconnect());
    const ch = socket.channel("challenges:1");
    const doc = new Y.Doc();
    const awareness = new Awareness(doc);
    let edits = 0;
    const sync = new DocSync(ch, doc, awareness, () => {
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

describe("colours", () => {
  it("are the same on the server and in the web app", () => {
    for (let id = 0; id < 20; id++) expect(webColor(id)).toEqual(serverColor(id));
  });
});
