import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";

/** The dashboard page with its Content-Security-Policy. */
export interface Page {
  readonly html: string;
  readonly csp: string;
}

/** Where `npm run build` (scripts/build-ui.mjs) puts the page's script and styles. */
export const UI_DIR = new URL("../dist/ui/", import.meta.url);

/**
 * The page, built once at mount: script and styles are inlined, so one request carries
 * it all, and the CSP allows exactly those two by hash and a connection to this origin.
 */
export function buildPage(socketPath: string): Page {
  const script = readUi("app.js");
  const style = readUi("app.css");
  const csp = [
    "default-src 'none'",
    `script-src '${sha256(script)}'`,
    `style-src '${sha256(style)}'`,
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="tandem-dashboard-socket" content="${escapeAttribute(socketPath)}">
<title>Tandem dashboard</title>
<style>${style}</style>
</head>
<body>
<script>${script}</script>
</body>
</html>
`;
  return { html, csp };
}

function readUi(name: string): string {
  try {
    // A closing tag inside the inlined code would end the element early.
    return readFileSync(new URL(name, UI_DIR), "utf8").replace(/<\/(script|style)/gi, "<\\/$1");
  } catch (err) {
    throw new Error(
      `the dashboard page is not built (${name} missing in ${UI_DIR.pathname}): run \`npm run build --workspace @tandem/dashboard\``,
      { cause: err },
    );
  }
}

function sha256(text: string): string {
  return `sha256-${createHash("sha256").update(text, "utf8").digest("base64")}`;
}

function escapeAttribute(value: string): string {
  return value.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");
}
