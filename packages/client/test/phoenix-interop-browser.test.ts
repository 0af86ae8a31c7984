// Opt-in, like phoenix-interop.test.ts (same server, same contract, PHOENIX_URL set):
// both clients in Chromium, on a page of another origin than the Phoenix server, so
// long-poll goes through CORS preflights, the browser's fetch (ours) and XMLHttpRequest
// (phoenix's), the browser's WebSocket and the real sessionStorage.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { launchChromium } from "@tandem/test-support/chromium";
import { build } from "esbuild";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const PHOENIX_URL = process.env.PHOENIX_URL;

/** The page's globals that the bundle defines. */
interface PageGlobals {
  Libs: Record<"Phoenix" | "Tandem", typeof import("../src/index.js")>;
}

/** How the page's socket connects: explicit long-poll, or WebSocket with a fallback. */
type Mode = "longpoll" | "fallback";

interface Scenario {
  lib: "Phoenix" | "Tandem";
  url: string;
  mode: Mode;
  user: string;
  topic: string;
}

const clientEntry = fileURLToPath(new URL("../src/index.ts", import.meta.url));
let http: Server;
let browser: Browser;
let origin: string;

beforeAll(async () => {
  if (!PHOENIX_URL) return;
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
  const script = result.outputFiles[0]?.text ?? "";
  http = createServer((req, res) => {
    if (req.url === "/libs.js") {
      res.writeHead(200, { "content-type": "text/javascript" }).end(script);
    } else {
      res.writeHead(200, { "content-type": "text/html" }).end('<script src="/libs.js"></script>');
    }
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => (http ? http.close(resolve) : resolve(undefined)));
});

/** Connects, joins, pushes, shouts, reads presence and sends binary, all in the page. */
async function run(scenario: Scenario) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(origin);
  try {
    return await page.evaluate(async ({ lib, url, mode, user, topic }) => {
      const { Socket, LongPoll, Presence } = (window as unknown as PageGlobals).Libs[lib];
      const socket =
        mode === "longpoll"
          ? new Socket(`${url}/socket`, { transport: LongPoll, params: { token: "s3cret", user } })
          : new Socket(`${url}/lponly`, {
              longPollFallbackMs: 2500,
              params: { token: "s3cret", user },
            });
      socket.connect();
      const channel = socket.channel(topic, { status: "here" });
      const presence = new Presence(channel);
      const answer = (push: ReturnType<typeof channel.push>) =>
        new Promise((resolve, reject) => {
          push.receive("ok", resolve);
          push.receive("error", reject);
          push.receive("timeout", () => reject(new Error("timeout")));
        });
      const joined = (await answer(channel.join())) as { transport: string; user: string };
      const replied = await answer(channel.push("ping", { text: "héllo ✓" }));
      const shouted = new Promise((resolve) => channel.on("shout", resolve));
      channel.push("shout", { body: "hi" });
      const shout = await shouted;
      const bytes = await answer(channel.push("bytes", Uint8Array.of(0, 255).buffer));
      while (presence.list().length === 0) await new Promise((r) => setTimeout(r, 10));
      const present = presence.list((key, { metas }) => `${key}:${String(metas[0]?.status)}`);
      const transport = socket.conn instanceof LongPoll ? "LongPoll" : "other";
      const remembered = sessionStorage.getItem("phx:fallback:LongPoll");
      socket.disconnect();
      return { joined, replied, shout, bytes, present, transport, remembered };
    }, scenario);
  } finally {
    await context.close();
  }
}

describe.skipIf(!PHOENIX_URL).each(["Tandem", "Phoenix"] as const)(
  "%s client in Chromium against Phoenix, cross-origin",
  (lib) => {
    it.each(["longpoll", "fallback"] as const)("over long-poll (%s)", async (mode) => {
      const user = `${lib}-${mode}-${Date.now().toString(36)}`;
      const topic = `room:browser-${user}`;
      const outcome = await run({ lib, url: PHOENIX_URL ?? "", mode, user, topic });
      expect(outcome).toEqual({
        joined: expect.objectContaining({ user, transport: "longpoll" }),
        replied: { text: "héllo ✓" },
        shout: { body: "hi", from: user },
        bytes: { bytes: [0, 255] },
        present: [`${user}:here`],
        transport: "LongPoll",
        remembered: mode === "fallback" ? "true" : null,
      });
    });
  },
);
