import { randomBytes } from "node:crypto";
import { NatsServer } from "@tandem/nats/testing";
import { sleep } from "@tandem/test-support";
import { launchChromium } from "@tandem/test-support/chromium";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, expect, test } from "vitest";
import { buildUi } from "../scripts/build-ui.mjs";
import { type Dashboard, mountDashboard } from "../src/index.js";
import { joinRoom, type Member, type Node, startNode } from "./fixture.js";

// DASHBOARD_SCREENSHOT=<path> also saves a screenshot, after a longer run of traffic so
// the charts have some shape.
const screenshot = process.env.DASHBOARD_SCREENSHOT;
const token = randomBytes(24).toString("hex");

let nats: NatsServer;
let nodes: Node[] = [];
let members: Member[] = [];
let dashboard: Dashboard;
let browser: Browser;

beforeAll(async () => {
  const [server] = await Promise.all([NatsServer.start(), buildUi()]);
  nats = server;
  const prefix = `dash${randomBytes(4).toString("hex")}`;
  nodes = await Promise.all(
    ["node-a", "node-b"].map((nodeName) => startNode({ natsUrl: nats.url, nodeName, prefix })),
  );
  const [a] = nodes;
  dashboard = mountDashboard(a!.endpoint, {
    token,
    presence: a!.presence,
    bus: a!.adapter,
    intervalMs: 250,
    historyMs: 60_000,
  });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  dashboard?.close();
  await Promise.all(members.map((m) => m.close()));
  await Promise.all(nodes.map((n) => n.close()));
  await nats?.kill();
});

/** Opens a page that records CSP violations and console errors. */
async function openPage(): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1360, height: 860 } });
  const problems: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(message.text());
  });
  page.on("pageerror", (err) => problems.push(err.message));
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (event) => {
      console.error(`CSP violation: ${event.violatedDirective} ${event.blockedURI}`);
    });
  });
  return { page, problems };
}

const tile = (page: Page, label: string) =>
  page.locator(`.value[data-tile="${label}"]`).textContent();

/** Members on both nodes, in rooms of different sizes. */
async function crowd(): Promise<void> {
  const rooms = ["room:lobby", "room:lobby", "room:lobby", "room:ops", "room:ops", "room:help"];
  members = await Promise.all(
    rooms.map((room, i) => joinRoom(nodes[i % 2]!.url, `user-${i}`, room)),
  );
}

/** Shouts for `ms`, in waves, so rates rise and fall. */
async function shout(ms: number): Promise<void> {
  const until = Date.now() + ms;
  for (let wave = 0; Date.now() < until; wave++) {
    const burst = 4 + Math.round(12 * (1 + Math.sin(wave / 6)));
    await Promise.all(
      members.map((member) =>
        Promise.all(Array.from({ length: burst }, (_, i) => member.shout(`hi ${wave}.${i}`))),
      ),
    );
    await sleep(100);
  }
}

test("without the token the page is refused", async () => {
  const { page } = await openPage();
  const base = `http://127.0.0.1:${nodes[0]!.port}/dashboard`;
  expect((await page.goto(base))?.status()).toBe(401);
  expect((await page.goto(`${base}?token=not-the-token-at-all`))?.status()).toBe(401);
  await page.close();
});

test("the page charts the node live, and its numbers follow the traffic", async () => {
  const { page, problems } = await openPage();
  const response = await page.goto(`http://127.0.0.1:${nodes[0]!.port}/dashboard?token=${token}`);
  expect(response?.status()).toBe(200);
  expect(response?.headers()["content-security-policy"]).toContain("default-src 'none'");

  await page.locator(".pill", { hasText: "live" }).first().waitFor();
  await expect.poll(() => page.locator(".chart canvas").count()).toBe(4);
  expect(await page.locator(".node").textContent()).toBe("node-a");
  // The page's own socket is a connection of the node.
  await expect.poll(() => tile(page, "Connections")).toBe("1");

  await crowd();
  const shouting = shout(screenshot ? 20_000 : 2000);
  await page.waitForFunction(
    () => Number(document.querySelector('.value[data-tile="Messages in/s"]')?.textContent) > 0,
  );
  await shouting;
  // node-a holds members 0, 2 and 4: connections, and room:lobby with two of them here
  // and three presences across both nodes.
  await expect.poll(() => tile(page, "Connections")).toBe("4");
  const cells = (table: number, row: number) =>
    page.locator(".tables tbody").nth(table).locator("tr").nth(row).locator("td").allTextContents();
  await expect.poll(() => cells(1, 0)).toEqual(["room:lobby", "2", "3"]);
  await expect.poll(async () => (await cells(0, 1)).slice(0, 2)).toEqual(["node-b", "up"]);
  expect(await tile(page, "Fan-out p99")).toMatch(/ms$/);
  await expect.poll(() => tile(page, "Bus lag p99")).toMatch(/ms$/);
  // Each chart is drawn at the width of its panel.
  const widths = await page
    .locator(".chart canvas")
    .evaluateAll((canvases) => canvases.map((c) => (c as HTMLCanvasElement).width));
  for (const width of widths) expect(width).toBeGreaterThan(300);

  if (screenshot) {
    // Taken while traffic flows, so the tiles show it.
    const more = shout(3000);
    await sleep(2000);
    await page.screenshot({ path: screenshot, fullPage: true });
    await more;
  }
  expect(problems).toEqual([]);
  await page.close();
}, 60_000);
