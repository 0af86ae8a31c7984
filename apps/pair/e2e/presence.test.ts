import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createPairServer, DEFAULT_LIVENESS, type PairServer } from "@tandem/pair-server";
import { silentLogger } from "@tandem/server";
import type { Browser, BrowserContext, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildWeb, launchChromium } from "./browser.js";

/**
 * Pair's presence in three real browsers with the server's real liveness timings: who is
 * there (and who only seems to be), telling people apart, the lobby, following, notices,
 * and the pages around the room. It takes the screenshots of Pair's README.
 */

// Into the README's folder only when asked (`PAIR_SCREENSHOTS=docs`), so that a test run
// leaves the committed pictures alone; otherwise next to the other browser test's.
const docs = fileURLToPath(
  new URL(process.env.PAIR_SCREENSHOTS === "docs" ? "../docs" : "./screenshots", import.meta.url),
);

/** Bounded waits for what another browser should see. */
const SEEN = { timeout: 10_000, interval: 100 };

let root: string;
let webDir: string;
let server: PairServer;
let browser: Browser;
const contexts: BrowserContext[] = [];
/** Console errors and failed requests of every page, with the page's URL. */
const consoleErrors: string[] = [];

async function startServer(port = 0): Promise<PairServer> {
  return createPairServer({ port, dataDir: join(root, "data"), logger: silentLogger, webDir });
}

interface Person {
  token: string;
  user: { id: number; first_name: string };
}

async function signUp(firstName: string, email: string): Promise<Person> {
  const res = await fetch(`${server.url}/api/users`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ first_name: firstName, email, password: "correct horse" }),
  });
  expect(res.status).toBe(201);
  return (await res.json()) as Person;
}

/** A browser context of its own (its own network), signed in as `person` when given. */
async function newPage(person?: Person): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  contexts.push(context);
  if (person) {
    await context.addInitScript((token) => {
      localStorage.setItem("pair.token", token);
    }, person.token);
  }
  context.on("console", (message) => {
    if (message.type() === "error")
      consoleErrors.push(`${message.page()?.url()}: ${message.text()}`);
  });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  return page;
}

const participants = (page: Page): Locator =>
  page.getByRole("list", { name: "Participants" }).getByRole("listitem");

const participant = (page: Page, userId: number): Locator =>
  page.locator(`.participant[data-user-id="${userId}"]`);

async function listedIds(page: Page): Promise<number[]> {
  const ids = await participants(page).evaluateAll((items) =>
    items.map((item) => Number(item.getAttribute("data-user-id"))),
  );
  return ids.sort((a, b) => a - b);
}

const banner = (page: Page): Locator => page.getByRole("alert").filter({ hasText: "offline" });

/** The computed background colour of a participant's avatar. */
function avatarColor(page: Page, userId: number): Promise<string> {
  return participant(page, userId)
    .locator(".avatar")
    .evaluate((el) => getComputedStyle(el).backgroundColor);
}

async function typeAtEnd(page: Page, text: string): Promise<void> {
  await page.locator(".cm-content").click();
  await page.keyboard.press("Control+End");
  await page.keyboard.press("Enter");
  await page.keyboard.type(text, { delay: 20 });
}

async function editorText(page: Page): Promise<string> {
  return page.locator(".cm-content").evaluate((el) =>
    Array.from(el.querySelectorAll(".cm-line"), (line) => {
      const copy = line.cloneNode(true) as Element;
      for (const caret of copy.querySelectorAll(".cm-ySelectionCaret")) caret.remove();
      return copy.textContent ?? "";
    }).join("\n"),
  );
}

/**
 * Records, in the page, every moment a participant of `userIds` shows as away: a member
 * on a healthy connection must never flicker, not even between two polls of the test.
 */
async function watchForAway(page: Page, userIds: number[]): Promise<void> {
  await page.evaluate((ids) => {
    const seen: number[] = [];
    (window as unknown as { awaySeen: number[] }).awaySeen = seen;
    const check = () => {
      for (const item of document.querySelectorAll(".participant.away")) {
        const id = Number(item.getAttribute("data-user-id"));
        if (ids.includes(id)) seen.push(id);
      }
    };
    new MutationObserver(check).observe(document.body, {
      subtree: true,
      childList: true,
      attributes: true,
      attributeFilter: ["class"],
    });
  }, userIds);
}

function awaySeen(page: Page): Promise<number[]> {
  return page.evaluate(() => (window as unknown as { awaySeen: number[] }).awaySeen);
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "pair-presence-e2e-"));
  webDir = join(root, "web");
  await buildWeb(webDir);
  server = await startServer();
  browser = await launchChromium();
  await mkdir(docs, { recursive: true });
}, 120_000);

afterAll(async () => {
  for (const context of contexts) await context.close();
  await browser?.close();
  await server?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

describe("Pair presence with three browsers", () => {
  let ada: Person;
  let ada2: Person;
  let bob: Person;
  let adaPage: Page;
  let ada2Page: Page;
  let bobPage: Page;
  let roomUrl: string;

  it("greets signed-out visitors, has a favicon, and an app-styled 404", async () => {
    const page = await newPage();
    await page.goto(server.url);
    await page.getByRole("heading", { name: /Solve coding challenges together/ }).waitFor();
    await page.getByRole("link", { name: "Sign up" }).waitFor();
    const icon = await page.locator('link[rel="icon"]').getAttribute("href");
    expect(icon).toBe("/favicon.svg");
    const favicon = await fetch(`${server.url}${icon}`);
    expect(favicon.status).toBe(200);
    expect(favicon.headers.get("content-type")).toContain("image/svg+xml");

    await page.goto(`${server.url}/no/such/page`);
    await page.getByRole("heading", { name: "Page not found" }).waitFor();
    await expect.poll(() => page.title(), SEEN).toBe("Page not found · Pair");
    await page.getByRole("link", { name: "Back to the challenges" }).waitFor();
    await page.close();
  });

  it("shows in the lobby, live, who is in each room", async () => {
    ada = await signUp("Ada", "ada@example.com");
    ada2 = await signUp("Ada", "ada.two@example.com");
    bob = await signUp("Bob", "bob@example.com");

    bobPage = await newPage(bob);
    await bobPage.goto(`${server.url}/challenges`);
    const card = bobPage.getByRole("link", { name: /Balanced Brackets/ });
    await card.waitFor();
    await expect.poll(() => bobPage.title(), SEEN).toBe("Challenges · Pair");
    roomUrl = new URL((await card.getAttribute("href")) ?? "", server.url).href;
    // Nobody in any room yet.
    expect(await bobPage.locator(".occupants").count()).toBe(0);

    adaPage = await newPage(ada);
    await adaPage.goto(roomUrl);
    await expect.poll(() => listedIds(adaPage), SEEN).toEqual([ada.user.id]);
    await expect.poll(() => card.locator(".count").textContent(), SEEN).toBe("1 in the room: Ada");
    ada2Page = await newPage(ada2);
    await ada2Page.goto(roomUrl);
    await expect
      .poll(() => card.locator(".count").textContent(), SEEN)
      .toBe("2 in the room: Ada, Ada");
    expect(await card.locator(".face").count()).toBe(2);
    await bobPage.screenshot({ path: join(docs, "lobby.png") });
  }, 40_000);

  it("marks you, tells namesakes apart, and gives unique colours that the carets share", async () => {
    await bobPage.getByRole("link", { name: /Balanced Brackets/ }).click();
    await bobPage.waitForURL(roomUrl);
    const everyone = [ada.user.id, ada2.user.id, bob.user.id].sort((a, b) => a - b);
    for (const page of [adaPage, ada2Page, bobPage]) {
      await expect.poll(() => listedIds(page), SEEN).toEqual(everyone);
    }
    await expect.poll(() => bobPage.title(), SEEN).toBe("Balanced Brackets · Pair");

    // "you" on oneself only.
    await expect(participant(adaPage, ada.user.id).locator(".badge").textContent()).resolves.toBe(
      "you",
    );
    expect(await participant(adaPage, bob.user.id).locator(".badge").count()).toBe(0);
    // The two Adas carry their user numbers; Bob needs none.
    expect(await participant(bobPage, ada.user.id).locator(".detail").textContent()).toBe(
      `#${ada.user.id}`,
    );
    expect(await participant(bobPage, ada2.user.id).locator(".detail").textContent()).toBe(
      `#${ada2.user.id}`,
    );
    expect(await participant(bobPage, bob.user.id).locator(".detail").count()).toBe(0);
    const initial = await participant(bobPage, ada.user.id)
      .locator(".avatar")
      .getAttribute("data-initial");
    expect(initial).toBe("A");

    const colors = await Promise.all(everyone.map((id) => avatarColor(bobPage, id)));
    expect(new Set(colors).size).toBe(3);
    // Everyone sees the same colours.
    expect(await Promise.all(everyone.map((id) => avatarColor(adaPage, id)))).toEqual(colors);

    // Bob's caret on Ada's screen is drawn in Bob's list colour.
    await typeAtEnd(bobPage, "// bob's caret");
    const caret = adaPage.locator(".cm-ySelectionCaret");
    await expect.poll(() => caret.count(), SEEN).toBeGreaterThan(0);
    const bobColor = await avatarColor(adaPage, bob.user.id);
    await expect
      .poll(
        () => caret.evaluateAll((els) => els.map((el) => getComputedStyle(el).backgroundColor)),
        SEEN,
      )
      .toContain(bobColor);
    await adaPage.screenshot({ path: join(docs, "room.png") });
  }, 40_000);

  it("tells when someone joins or leaves, and copies an invite link", async () => {
    const notices = adaPage.getByRole("list", { name: "Room notices" });
    // Ada2 leaving for the lobby and coming back.
    await ada2Page.goto(`${server.url}/challenges`);
    await notices.getByText("Ada left the room").waitFor({ timeout: SEEN.timeout });
    await ada2Page.goto(roomUrl);
    await notices.getByText("Ada joined the room").waitFor({ timeout: SEEN.timeout });

    await adaPage.context().grantPermissions(["clipboard-read", "clipboard-write"], {
      origin: server.url,
    });
    await adaPage.getByRole("button", { name: "Copy invite link" }).click();
    await adaPage.getByText("Link copied").waitFor();
    expect(await adaPage.evaluate(() => navigator.clipboard.readText())).toBe(roomUrl);
  }, 30_000);

  it("follows a participant's caret until told to stop", async () => {
    // Bob writes far below what Ada's window shows.
    await bobPage.locator(".cm-content").click();
    await bobPage.keyboard.press("Control+End");
    for (let i = 0; i < 40; i++) await bobPage.keyboard.press("Enter");
    await bobPage.keyboard.type("// down here", { delay: 20 });
    await expect.poll(() => editorText(adaPage), SEEN).toContain("// down here");
    await adaPage.evaluate(() => window.scrollTo(0, 0));
    const bobCaretTop = () =>
      adaPage.evaluate(() => {
        const carets = Array.from(document.querySelectorAll(".cm-ySelectionCaret"));
        const bottom = carets.map((el) => el.getBoundingClientRect().top).sort((a, b) => b - a)[0];
        return bottom ?? -1;
      });
    expect(await bobCaretTop()).toBeGreaterThan(800);

    await participant(adaPage, bob.user.id).getByRole("button").click();
    await adaPage.getByText("Following Bob").waitFor();
    await expect.poll(bobCaretTop, SEEN).toBeLessThan(800);
    await expect.poll(bobCaretTop, SEEN).toBeGreaterThan(0);
    expect(
      await participant(adaPage, bob.user.id).getByRole("button").getAttribute("aria-pressed"),
    ).toBe("true");

    // Following keeps up: Bob goes back to the top, and Ada's view goes with him.
    await bobPage.keyboard.press("Control+Home");
    await bobPage.keyboard.type("// back on top ", { delay: 20 });
    await expect.poll(() => adaPage.evaluate(() => window.scrollY), SEEN).toBeLessThan(200);

    await adaPage.getByRole("button", { name: "Stop following" }).click();
    expect(await adaPage.getByText("Following Bob").count()).toBe(0);
  }, 40_000);

  it("marks a member whose network went away as away within 10 s, and drops them within 30 s", async () => {
    // Every page so far loaded and worked without a console error (the offline and restart
    // steps below log failed connections, which are expected).
    expect(consoleErrors).toEqual([]);
    await watchForAway(bobPage, [ada.user.id, bob.user.id]);
    await watchForAway(adaPage, [ada.user.id, bob.user.id]);
    const droppedAt = Date.now();
    await ada2Page.context().setOffline(true);

    // Ada2's own tab says so, and keeps taking edits.
    await banner(ada2Page).waitFor({ timeout: SEEN.timeout });
    expect(await banner(ada2Page).textContent()).toContain(
      "your edits will sync when you are back",
    );
    await ada2Page.getByRole("heading", { name: "Last seen in the room" }).waitFor();
    await typeAtEnd(ada2Page, "// written offline");
    await ada2Page.screenshot({ path: join(docs, "offline.png") });

    const ada2OnBob = participant(bobPage, ada2.user.id);
    const awayIn = DEFAULT_LIVENESS.awayAfterMs + 2000;
    await expect
      .poll(() => ada2OnBob.getAttribute("class"), { timeout: awayIn, interval: 100 })
      .toContain("away");
    expect(Date.now() - droppedAt).toBeLessThan(10_000);
    expect(await ada2OnBob.locator(".status").textContent()).toBe("away");
    const goneIn = 30_000 - (Date.now() - droppedAt);
    await expect
      .poll(() => listedIds(bobPage), { timeout: goneIn, interval: 200 })
      .toEqual([ada.user.id, bob.user.id].sort((a, b) => a - b));
    expect(Date.now() - droppedAt).toBeLessThan(30_000);
    // The healthy members never looked away, on either screen.
    expect(await awaySeen(bobPage)).toEqual([]);
    expect(await awaySeen(adaPage)).toEqual([]);

    await ada2Page.context().setOffline(false);
    await expect.poll(() => banner(ada2Page).count(), { timeout: 20_000 }).toBe(0);
    await ada2Page.getByRole("heading", { name: "In the room" }).waitFor();
    await expect.poll(() => listedIds(bobPage), { timeout: 20_000 }).toHaveLength(3);
    await expect.poll(() => editorText(bobPage), SEEN).toContain("// written offline");
  }, 75_000);

  it("shows everyone offline while the server restarts, and clears it when it is back", async () => {
    const port = server.port;
    await server.close();
    for (const page of [adaPage, bobPage]) {
      await banner(page).waitFor({ timeout: SEEN.timeout });
      await page.getByText("Reconnecting…").first().waitFor();
      expect(await page.locator(".participant .status").first().textContent()).toBe("unknown");
    }
    server = await startServer(port);
    for (const page of [adaPage, bobPage, ada2Page]) {
      await expect.poll(() => banner(page).count(), { timeout: 20_000 }).toBe(0);
      await expect.poll(() => listedIds(page), { timeout: 20_000 }).toHaveLength(3);
    }
  }, 60_000);
});
