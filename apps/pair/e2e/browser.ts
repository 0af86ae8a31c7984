import { fileURLToPath } from "node:url";
import { type Browser, chromium } from "playwright-core";
import { build } from "vite";

const webRoot = fileURLToPath(new URL("../web", import.meta.url));

/**
 * Builds the web app into `outDir`. Each browser test file builds into a folder of its
 * own: the files run at the same time, and one build emptying the app's `dist` under
 * another file's server would fail that file's page loads.
 */
export async function buildWeb(outDir: string): Promise<void> {
  await build({ root: webRoot, logLevel: "warn", build: { outDir, emptyOutDir: true } });
}

/** Debian's Chromium, headless, with nothing that reaches out to the network by itself. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
