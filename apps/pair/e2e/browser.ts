import { fileURLToPath } from "node:url";
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

export { launchChromium } from "@tandem/test-support/chromium";
