import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "@tandem/test-support";
import { createPairServer, type PairServer, type PairServerOptions } from "../src/index.js";

/** A Pair server on a free port with its own data folder and a small fake web build. */
export interface TestServer {
  readonly server: PairServer;
  readonly dataDir: string;
  readonly webDir: string;
  /** Starts another server over the same data, e.g. after `server.close()`. */
  restart(): Promise<PairServer>;
  /** Closes the server(s) and removes the folders. */
  cleanup(): Promise<void>;
}

export const INDEX_HTML = "<!doctype html><title>Pair</title><div id=root></div>";
export const APP_JS = "console.log('pair');";

/**
 * Limits no test reaches by accident (one address signs up dozens of users); tests of
 * the limits themselves pass their own.
 */
const TEST_RATE_LIMIT = { max: 10_000, windowMs: 60_000 };
export const RELAXED_RATE_LIMITS = {
  signInPerAddress: TEST_RATE_LIMIT,
  signInPerAccount: TEST_RATE_LIMIT,
  signUpPerAddress: TEST_RATE_LIMIT,
  challengesPerUser: TEST_RATE_LIMIT,
};

/** Starts a server; `overrides` replace the test defaults. */
export async function startTestServer(
  overrides: Partial<PairServerOptions> = {},
): Promise<TestServer> {
  const root = await mkdtemp(join(tmpdir(), "pair-server-"));
  const dataDir = join(root, "data");
  const webDir = join(root, "web");
  await mkdir(join(webDir, "assets"), { recursive: true });
  await writeFile(join(webDir, "index.html"), INDEX_HTML);
  await writeFile(join(webDir, "assets", "app-abc123.js"), APP_JS);
  // Next to the web folder: what a path traversal would try to read.
  await writeFile(join(root, "secret.txt"), "do not serve");
  const options: PairServerOptions = {
    dataDir,
    webDir,
    logger: silentLogger,
    typingQuietMs: 100,
    ...overrides,
    rateLimits: { ...RELAXED_RATE_LIMITS, ...overrides.rateLimits },
  };
  const servers: PairServer[] = [await createPairServer(options)];
  return {
    get server() {
      return servers.at(-1)!;
    },
    dataDir,
    webDir,
    async restart() {
      const next = await createPairServer(options);
      servers.push(next);
      return next;
    },
    async cleanup() {
      for (const server of servers) await server.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** Signs up a user over HTTP and returns the token and user. */
export async function signUp(
  baseUrl: string,
  firstName: string,
  email = `${firstName.toLowerCase()}-${Math.random().toString(36).slice(2)}@example.com`,
): Promise<{ token: string; user: { id: number; first_name: string; email: string } }> {
  const res = await fetch(`${baseUrl}/api/users`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ first_name: firstName, email, password: "password123" }),
  });
  if (res.status !== 201) throw new Error(`sign up failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as {
    token: string;
    user: { id: number; first_name: string; email: string };
  };
}
