// Both clients over long-poll in Chromium, against Tandem's server on the page's origin:
// in a browser the official client's long-poll uses XMLHttpRequest (in Node it uses
// fetch), ours uses fetch, and fallbacks are remembered in the real sessionStorage. A
// proxy in front refuses every WebSocket upgrade.
import { createServer, type Server } from "node:http";
import { fileURLToPath } from "node:url";
import { Endpoint, silentLogger } from "@tandem/server";
import { socketHandler } from "@tandem/test-support";
import { launchChromium } from "@tandem/test-support/chromium";
import { build } from "esbuild";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/** The page's globals that the bundle defines. */
interface PageGlobals {
  Libs: { Phoenix: typeof import("phoenix"); Tandem: typeof import("../src/index.js") };
}

const clientEntry = fileURLToPath(new URL("../src/index.ts", import.meta.url));

let http: Server;
let endpoint: Endpoint;
let browser: Browser;
let origin: string;

/** Both clients as globals of the page: `Libs.Phoenix` and `Libs.Tandem`. */
async function bundle(): Promise<string> {
  const result = await build({
    stdin: {
      contents: `export * as Phoenix from "phoenix"; export * as Tandem from ${JSON.stringify(clientEntry)};`,
      resolveDir: fileURLToPath(new URL(".", import.meta.url)),
    },
    bundle: true,
    format: "iife",
    globalName: "Libs",
    platform: "browser",
    conditions: ["@tandem/source"],
    write: false,
    logLevel: "silent",
  });
  return result.outputFiles[0]!.text;
}

beforeAll(async () => {
  const script = await bundle();
  http = createServer();
  endpoint = new Endpoint({ server: http, logger: silentLogger }).mount("/socket", socketHandler);
  http.on("request", (req, res) => {
    if (endpoint.handleLongPoll(req, res)) return;
    if (req.url === "/libs.js") {
      res.writeHead(200, { "content-type": "text/javascript" }).end(script);
    } else {
      res.writeHead(200, { "content-type": "text/html" }).end('<script src="/libs.js"></script>');
    }
  });
  http.removeAllListeners("upgrade");
  http.on("upgrade", (_req, stream) => {
    stream.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
  });
  const { port } = await endpoint.listen(0);
  origin = `http://127.0.0.1:${port}`;
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await endpoint?.close({ timeoutMs: 500 });
});

async function page(): Promise<Page> {
  const context = await browser.newContext();
  const p = await context.newPage();
  await p.goto(origin);
  return p;
}

/** What a page's script reports: a join reply, a push reply and the transport's name. */
interface Outcome {
  joined: unknown;
  replied: unknown;
  transport: string;
  remembered: string | null;
}

describe("long-poll in Chromium", () => {
  it("the official client with transport: LongPoll joins and pushes", async () => {
    const p = await page();
    const outcome: Outcome = await p.evaluate(async () => {
      const { Socket, LongPoll } = (window as unknown as PageGlobals).Libs.Phoenix;
      const socket = new Socket("/socket", { transport: LongPoll, params: { user: "ivy" } });
      socket.connect();
      const channel = socket.channel("room:browser", {});
      const joined = await new Promise((resolve) => channel.join().receive("ok", resolve));
      const replied = await new Promise((resolve) =>
        channel.push("ping", { from: "xhr" }).receive("ok", resolve),
      );
      // `conn` is phoenix's, though @types/phoenix does not declare it.
      const { conn } = socket as unknown as { conn: unknown };
      const transport = conn instanceof LongPoll ? "LongPoll" : "other";
      socket.disconnect();
      return { joined, replied, transport, remembered: null };
    });
    expect(outcome).toEqual({
      joined: { user: "ivy" },
      replied: { from: "xhr" },
      transport: "LongPoll",
      remembered: null,
    });
  });

  it("the official client falls back from a refused WebSocket and remembers it", async () => {
    const p = await page();
    const outcome: Outcome = await p.evaluate(async () => {
      const { Socket, LongPoll } = (window as unknown as PageGlobals).Libs.Phoenix;
      const socket = new Socket("/socket", { longPollFallbackMs: 5000, params: { user: "jo" } });
      socket.connect();
      const channel = socket.channel("room:browser", {});
      const joined = await new Promise((resolve) => channel.join().receive("ok", resolve));
      const replied = await new Promise((resolve) =>
        channel.push("ping", { from: "fallback" }).receive("ok", resolve),
      );
      const { conn } = socket as unknown as { conn: unknown };
      const transport = conn instanceof LongPoll ? "LongPoll" : "other";
      socket.disconnect();
      return {
        joined,
        replied,
        transport,
        remembered: sessionStorage.getItem("phx:fallback:LongPoll"),
      };
    });
    expect(outcome).toEqual({
      joined: { user: "jo" },
      replied: { from: "fallback" },
      transport: "LongPoll",
      remembered: "true",
    });
  });

  it("@tandem/client falls back from a refused WebSocket and remembers it", async () => {
    const p = await page();
    const outcome: Outcome = await p.evaluate(async () => {
      const { Socket, LongPoll } = (window as unknown as PageGlobals).Libs.Tandem;
      const socket = new Socket("/socket", { longPollFallbackMs: 5000, params: { user: "kim" } });
      socket.connect();
      const channel = socket.channel("room:browser");
      const joined = await new Promise((resolve) => channel.join().receive("ok", resolve));
      const replied = await new Promise((resolve) =>
        channel.push("ping", { from: "tandem" }).receive("ok", resolve),
      );
      const transport = socket.conn instanceof LongPoll ? "LongPoll" : "other";
      socket.disconnect();
      return {
        joined,
        replied,
        transport,
        remembered: sessionStorage.getItem("phx:fallback:LongPoll"),
      };
    });
    expect(outcome).toEqual({
      joined: { user: "kim" },
      replied: { from: "tandem" },
      transport: "LongPoll",
      remembered: "true",
    });
  });
});
