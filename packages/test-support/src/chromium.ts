import { type Browser, chromium } from "playwright-core";

/**
 * Debian's Chromium (`/usr/bin/chromium`), headless, with nothing that reaches out to the
 * network by itself: the browser every browser test drives.
 */
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
