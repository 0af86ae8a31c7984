import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { extname, resolve, sep } from "node:path";

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".ico": "image/x-icon",
  ".woff": "font/woff",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
  ".wasm": "application/wasm",
  ".webmanifest": "application/manifest+json",
};

/**
 * Serves the built web app from `root`: files as they are, and `index.html` for any
 * other path without a file extension, so client routes such as `/challenges/3` load
 * the app, while a missing `/assets/x.js` is an honest 404 rather than HTML. Paths that
 * would leave `root` are refused.
 */
export async function serveStatic(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  root: string,
): Promise<void> {
  if (req.method !== "GET" && req.method !== "HEAD") {
    return sendText(res, 405, "Method Not Allowed", { allow: "GET, HEAD" });
  }
  let path: string;
  try {
    path = decodeURIComponent(url.pathname);
  } catch {
    return sendText(res, 400, "Bad Request");
  }
  // The URL parser already folds "/../", but an encoded "%2F.." or a backslash survives it.
  if (path.includes("\0") || path.split(/[/\\]/).includes("..")) {
    return sendText(res, 400, "Bad Request");
  }
  const base = resolve(root);
  const file = resolve(base, `.${path}`);
  if (file !== base && !file.startsWith(base + sep)) return sendText(res, 400, "Bad Request");

  if (await isFile(file)) return sendFile(req, res, file, isHashedAsset(path));
  if (extname(path) !== "") return sendText(res, 404, "Not Found");
  const index = resolve(base, "index.html");
  if (await isFile(index)) return sendFile(req, res, index, false);
  return sendText(res, 404, "The web app has not been built (npm run build in apps/pair/web).");
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** Vite puts content-hashed files under /assets: they never change, so cache them for good. */
function isHashedAsset(path: string): boolean {
  return path.startsWith("/assets/");
}

function sendFile(
  req: IncomingMessage,
  res: ServerResponse,
  file: string,
  immutable: boolean,
): Promise<void> {
  return new Promise((done) => {
    const stream = createReadStream(file);
    stream.once("open", () => {
      res.writeHead(200, {
        "content-type": CONTENT_TYPES[extname(file).toLowerCase()] ?? "application/octet-stream",
        "cache-control": immutable ? "public, max-age=31536000, immutable" : "no-cache",
        "x-content-type-options": "nosniff",
      });
      if (req.method === "HEAD") {
        stream.destroy();
        res.end();
        done();
      } else {
        stream.pipe(res);
      }
    });
    stream.once("error", () => {
      if (!res.headersSent) sendText(res, 404, "Not Found");
      else res.destroy();
      done();
    });
    stream.once("end", () => done());
  });
}

function sendText(
  res: ServerResponse,
  status: number,
  text: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8", ...headers });
  res.end(`${text}\n`);
}
