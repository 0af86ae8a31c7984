import { stat } from "node:fs/promises";
import { basename, extname, join, resolve, sep } from "node:path";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

/**
 * The policy of the test runner's worker script (Vite names it `test-worker-<hash>.js`).
 * A dedicated worker takes the policy sent with its own script: this one may evaluate
 * the room's solution (`'unsafe-eval'`, which the page never gets) and nothing else:
 * no network, no further scripts or workers, so code under test cannot send anything out.
 */
export const TEST_WORKER_POLICY = "default-src 'none'; script-src 'self' 'unsafe-eval'";

const TEST_WORKER_SCRIPT = /^test-worker-[\w-]+\.js$/;

/**
 * Serves the built web app from `root` with @fastify/static, which refuses paths that
 * leave `root` and dotfiles. Vite puts content-hashed files under `/assets`: they never
 * change, so they are cached for good; everything else is revalidated.
 */
export async function registerWebApp(app: FastifyInstance, root: string): Promise<void> {
  const assets = resolve(root, "assets") + sep;
  await app.register(fastifyStatic, {
    root,
    cacheControl: false,
    dotfiles: "ignore",
    setHeaders(reply, path) {
      reply.header(
        "cache-control",
        path.startsWith(assets) ? "public, max-age=31536000, immutable" : "no-cache",
      );
      // RFC 9239's type; the bundled mime table still says application/javascript.
      if (/\.m?js$/.test(path)) reply.header("content-type", "text/javascript; charset=utf-8");
      if (path.startsWith(assets) && TEST_WORKER_SCRIPT.test(basename(path))) {
        reply.header("content-security-policy", TEST_WORKER_POLICY);
      }
    },
  });
}

/**
 * What a path without a file gets: `index.html` for a client route such as
 * `/challenges/3` (no file extension), so the app loads and routes itself, while a
 * missing `/assets/x.js` is an honest 404 rather than HTML.
 */
export async function sendClientRoute(
  request: FastifyRequest,
  reply: FastifyReply,
  root: string,
): Promise<FastifyReply> {
  const path = request.url.split("?")[0] ?? "/";
  const isPage = (request.method === "GET" || request.method === "HEAD") && extname(path) === "";
  if (!isPage) return reply.code(404).type("text/plain; charset=utf-8").send("Not Found\n");
  // sendFile would come back here for a missing index.html: check first.
  if (!(await isFile(join(root, "index.html")))) {
    return reply
      .code(404)
      .type("text/plain; charset=utf-8")
      .send("The web app has not been built (npm run build in apps/pair/web).\n");
  }
  return reply.sendFile("index.html");
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
