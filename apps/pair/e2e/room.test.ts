import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createPairServer, type PairServer } from "@tandem/pair-server";
import { silentLogger } from "@tandem/server";
import type { Browser, BrowserContext, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildWeb, launchChromium } from "./browser.js";

const screenshots = fileURLToPath(new URL("./screenshots", import.meta.url));

/** Bounded waits for what the other browser should see. */
const SEEN = { timeout: 10_000, interval: 100 };

let dataDir: string;
let webDir: string;
let server: PairServer;
let browser: Browser;
const contexts: BrowserContext[] = [];
/** Every Content-Security-Policy violation any page reported, with the page's URL. */
const cspViolations: string[] = [];

async function startServer(port = 0): Promise<PairServer> {
  return createPairServer({ port, dataDir, logger: silentLogger, webDir });
}

async function newPage(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  contexts.push(context);
  // Chromium logs a blocked resource to the console, and fires this event for every
  // violation (inline styles and scripts included).
  await context.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (event) => {
      console.error(`CSP violation: ${event.violatedDirective} ${event.blockedURI}`);
    });
  });
  context.on("console", (message) => {
    if (/Content Security Policy|CSP violation/i.test(message.text())) {
      cspViolations.push(`${message.page()?.url()}: ${message.text()}`);
    }
  });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  return page;
}

const participants = (page: Page): Locator =>
  page.getByRole("list", { name: "Participants" }).getByRole("listitem");

async function participantNames(page: Page): Promise<string[]> {
  const names = participants(page).locator(".name");
  return (await names.allTextContents()).map((t) => t.trim()).sort();
}

/** The editor's text, line by line, without the other users' caret labels drawn into it. */
/** A fresh browser signed in through the form, on the lobby. */
async function signedInPage(email: string, password: string): Promise<Page> {
  const page = await newPage();
  await page.goto(`${server.url}/sign-in`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(/\/challenges$/);
  return page;
}

/** Records, in the page, the name of every participant ever shown as reconnecting. */
async function watchReconnecting(page: Page): Promise<void> {
  await page.evaluate(() => {
    const seen: string[] = [];
    (window as unknown as { reconnectingSeen: string[] }).reconnectingSeen = seen;
    new MutationObserver(() => {
      for (const item of document.querySelectorAll(".participant.reconnecting .name")) {
        seen.push(item.textContent ?? "");
      }
    }).observe(document.body, { subtree: true, childList: true, attributes: true });
  });
}

function reconnectingSeen(page: Page): Promise<string[]> {
  return page.evaluate(
    () => (window as unknown as { reconnectingSeen: string[] }).reconnectingSeen,
  );
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

async function typeAtEnd(page: Page, text: string): Promise<void> {
  await page.locator(".cm-content").click();
  await page.keyboard.press("Control+End");
  await page.keyboard.press("Enter");
  await page.keyboard.type(text, { delay: 40 });
}

async function typeAtStart(page: Page, text: string): Promise<void> {
  await page.locator(".cm-content").click();
  await page.keyboard.press("Control+Home");
  await page.keyboard.type(text, { delay: 40 });
  await page.keyboard.press("Enter");
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "pair-e2e-"));
  webDir = join(dataDir, "web");
  await buildWeb(webDir);
  server = await startServer();
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  for (const context of contexts) await context.close();
  await browser?.close();
  await server?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe("Pair in two browsers", () => {
  let ada: Page;
  let bob: Page;
  let roomUrl: string;

  it("signs two users up and in, and both see each other in the room", async () => {
    ada = await newPage();
    await ada.goto(`${server.url}/sign-up`);
    await ada.getByLabel("First name").fill("Ada");
    await ada.getByLabel("Email").fill("ada@example.com");
    await ada.getByLabel("Password").fill("correct horse");
    await ada.getByRole("button", { name: "Sign up" }).click();
    await ada.waitForURL(/\/challenges$/);

    // Ada creates the challenge they will solve.
    await ada.getByLabel("Title").fill("Reverse a string");
    await ada.getByLabel("Description").fill("Write reverse(s) that returns s backwards.");
    await ada.getByLabel("Starter code").fill("function reverse(s) {}");
    await ada.getByRole("button", { name: "Create challenge" }).click();
    await ada.getByRole("link", { name: /Reverse a string/ }).click();
    await ada.waitForURL(/\/challenges\/\d+$/);
    roomUrl = ada.url();
    await ada.getByRole("heading", { name: "Reverse a string" }).waitFor();
    await expect.poll(() => editorText(ada), SEEN).toContain("function reverse(s)");

    // Bob has an account already (made through the API) and signs in through the form.
    const created = await fetch(`${server.url}/api/users`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        first_name: "Bob",
        email: "bob@example.com",
        password: "battery staple",
      }),
    });
    expect(created.status).toBe(201);
    bob = await newPage();
    await bob.goto(roomUrl);
    await bob.waitForURL(/\/sign-in$/);
    await bob.getByLabel("Email").fill("bob@example.com");
    await bob.getByLabel("Password").fill("wrong password");
    await bob.getByRole("button", { name: "Sign in" }).click();
    await bob.getByRole("alert").waitFor();
    await bob.getByLabel("Password").fill("battery staple");
    await bob.getByRole("button", { name: "Sign in" }).click();
    await bob.waitForURL(roomUrl);

    await expect.poll(() => participants(ada).count(), SEEN).toBe(2);
    await expect.poll(() => participants(bob).count(), SEEN).toBe(2);
    expect(await participantNames(ada)).toEqual(["Ada", "Bob"]);
    expect(await participantNames(bob)).toEqual(["Ada", "Bob"]);
    await ada.getByText("Connected").waitFor();

    // A second tab of Ada's is still one participant.
    const adaTab = await ada.context().newPage();
    await adaTab.goto(roomUrl);
    await expect.poll(() => participants(adaTab).count(), SEEN).toBe(2);
    expect(await participantNames(bob)).toEqual(["Ada", "Bob"]);
    await adaTab.close();
  }, 60_000);

  it("shows who is typing, and clears it after the quiet period", async () => {
    await typeAtEnd(ada, "// ada was here");
    const adaOnBob = participants(bob).filter({ hasText: /^Ada/ });
    await expect.poll(() => adaOnBob.textContent(), SEEN).toBe("Ada...");
    expect(await adaOnBob.getAttribute("class")).toMatch(/typing/);
    const glow = await adaOnBob.evaluate((li) => getComputedStyle(li).boxShadow);
    expect(glow).not.toBe("none");
    await expect.poll(() => editorText(bob), SEEN).toContain("// ada was here");

    await mkdir(screenshots, { recursive: true });
    await bob.screenshot({ path: join(screenshots, "room.png") });

    // The server reverts typing 3 s after the last event.
    await expect.poll(() => adaOnBob.textContent(), SEEN).toBe("Ada");
    expect(await adaOnBob.getAttribute("class")).not.toMatch(/typing/);
  }, 30_000);

  it("merges two people typing at once into the same text", async () => {
    // At two ends of the text: two people typing at one spot interleave their characters
    // (a correct merge, but not one a test can name in advance).
    await Promise.all([
      typeAtStart(ada, "const fromAda = 1;"),
      typeAtEnd(bob, "const fromBob = 2;"),
    ]);
    await expect
      .poll(async () => {
        const [a, b] = [await editorText(ada), await editorText(bob)];
        const merged = a.includes("const fromAda = 1;") && a.includes("const fromBob = 2;");
        return a === b && merged ? "merged" : `ada: ${a}\nbob: ${b}`;
      }, SEEN)
      .toBe("merged");
  }, 30_000);

  it("recovers by itself after the server restarts", async () => {
    const port = server.port;
    await server.close();
    await ada.getByText("Reconnecting…").waitFor({ timeout: SEEN.timeout });
    server = await startServer(port);
    await ada.getByText("Connected").waitFor({ timeout: 15_000 });
    await expect.poll(() => participants(ada).count(), { timeout: 15_000 }).toBe(2);
    await typeAtEnd(bob, "// after the restart");
    await expect.poll(() => editorText(ada), SEEN).toContain("// after the restart");
    expect(await editorText(ada)).toContain("const fromAda = 1;");
  }, 45_000);

  it("runs the lobby and the room under the Content-Security-Policy", async () => {
    const page = await newPage();
    const signIn = await page.goto(`${server.url}/sign-in`);
    expect(signIn?.headers()["content-security-policy"]).toContain("script-src 'self'");
    await page.getByLabel("Email").fill("ada@example.com");
    await page.getByLabel("Password").fill("correct horse");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(/\/challenges$/);
    await page.getByRole("link", { name: /Reverse a string/ }).waitFor();
    await page.goto(roomUrl);
    await page.getByText("Connected").waitFor();
    await expect.poll(() => editorText(page), SEEN).toContain("function reverse(s)");
    await typeAtEnd(page, "// under the CSP");
    await expect.poll(() => editorText(ada), SEEN).toContain("// under the CSP");
    await page.close();
    // Every page of this suite so far: sign-up, sign-in, lobby, rooms with remote carets.
    expect(cspViolations).toEqual([]);
  }, 30_000);

  it("drops a user who leaves from the other's list", async () => {
    await bob.getByRole("link", { name: "Challenges" }).first().click();
    await bob.waitForURL(/\/challenges$/);
    await expect.poll(() => participants(ada).count(), SEEN).toBe(1);
    expect(await participantNames(ada)).toEqual(["Ada"]);

    await bob.goto(roomUrl);
    await expect.poll(() => participants(ada).count(), SEEN).toBe(2);
    await bob.close();
    await expect.poll(() => participants(ada).count(), SEEN).toBe(1);
  }, 30_000);

  it("shows someone whose connection dropped as reconnecting, for a short drop only", async () => {
    bob = await signedInPage("bob@example.com", "battery staple");
    await bob.goto(roomUrl);
    await expect.poll(() => participants(ada).count(), SEEN).toBe(2);
    await watchReconnecting(ada);
    const notices = ada.getByRole("list", { name: "Room notices" });
    const noticesBefore = await notices.getByRole("listitem").allTextContents();

    // A reload drops Bob's connection without leaving the room: he is kept, marked
    // reconnecting, and back before the grace period ends, with no "left" or "joined".
    await bob.reload();
    await bob.getByText("Connected").waitFor();
    await expect.poll(() => reconnectingSeen(ada), SEEN).toContain("Bob");
    await expect.poll(() => ada.locator(".participant.reconnecting").count(), SEEN).toBe(0);
    expect(await participantNames(ada)).toEqual(["Ada", "Bob"]);
    expect(await notices.getByRole("listitem").allTextContents()).toEqual(noticesBefore);

    // A closed tab is a drop that does not end: reconnecting, then gone.
    await bob.close();
    const bobOnAda = participants(ada).filter({ hasText: /^Bob/ });
    await expect.poll(() => bobOnAda.locator(".status").textContent(), SEEN).toBe("reconnecting");
    await expect.poll(() => participants(ada).count(), SEEN).toBe(1);
  }, 40_000);
});
