import { afterEach, describe, expect, it } from "vitest";
import type { PairServerOptions } from "../src/index.js";
import { signUp, startTestServer, type TestServer } from "./server-fixture.js";

const servers: TestServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.cleanup();
});

async function start(overrides: Partial<PairServerOptions>): Promise<string> {
  const server = await startTestServer(overrides);
  servers.push(server);
  return server.server.url;
}

const HOUR = 3_600_000;

function post(
  base: string,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

/** A 429 as CONTRACT.md has it: `Retry-After` in whole seconds and an `{error}` body. */
async function expectTooMany(res: Response, maxSeconds: number): Promise<void> {
  expect(res.status).toBe(429);
  const retryAfter = Number(res.headers.get("retry-after"));
  expect(Number.isInteger(retryAfter)).toBe(true);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(maxSeconds);
  expect(await res.json()).toEqual({ error: expect.stringMatching(/^Too many .*\.$/) });
}

const unique = (name: string) => `${name}-${Math.random().toString(36).slice(2)}@example.com`;

describe("rate limits", () => {
  it("limits sign-in attempts per address, whatever X-Forwarded-For says", async () => {
    const base = await start({ rateLimits: { signInPerAddress: { max: 3, windowMs: HOUR } } });
    for (let i = 0; i < 3; i += 1) {
      const res = await post(base, "/api/sessions", { email: unique("x"), password: "guess" });
      expect(res.status).toBe(401);
    }
    const forged = await post(
      base,
      "/api/sessions",
      { email: unique("x"), password: "guess" },
      { "x-forwarded-for": "203.0.113.7" },
    );
    await expectTooMany(forged, 3600);
  });

  it("counts each forwarded client apart behind a trusted proxy", async () => {
    const base = await start({
      trustProxies: ["127.0.0.1", "::1"],
      rateLimits: { signInPerAddress: { max: 1, windowMs: HOUR } },
    });
    const from = (client: string) =>
      post(
        base,
        "/api/sessions",
        { email: unique("x"), password: "guess" },
        {
          "x-forwarded-for": client,
        },
      );
    expect((await from("203.0.113.7")).status).toBe(401);
    expect((await from("203.0.113.8")).status).toBe(401);
    await expectTooMany(await from("203.0.113.7"), 3600);
  });

  it("locks an account after too many attempts from any address, others unaffected", async () => {
    const base = await start({ rateLimits: { signInPerAccount: { max: 2, windowMs: HOUR } } });
    const victim = unique("victim");
    await signUp(base, "Victim", victim);
    const other = unique("other");
    await signUp(base, "Other", other);
    expect((await post(base, "/api/sessions", { email: victim, password: "guess-1" })).status).toBe(
      401,
    );
    const upper = victim.toUpperCase();
    expect((await post(base, "/api/sessions", { email: upper, password: "guess-2" })).status).toBe(
      401,
    );
    // Now even the right password waits: a guess must not be able to tell.
    await expectTooMany(
      await post(base, "/api/sessions", { email: victim, password: "password123" }),
      3600,
    );
    const fine = await post(base, "/api/sessions", { email: other, password: "password123" });
    expect(fine.status).toBe(200);
  });

  it("limits sign-ups per address", async () => {
    const base = await start({ rateLimits: { signUpPerAddress: { max: 2, windowMs: HOUR } } });
    await signUp(base, "One");
    await signUp(base, "Two");
    const third = await post(base, "/api/users", {
      first_name: "Three",
      email: unique("three"),
      password: "password123",
    });
    await expectTooMany(third, 3600);
  });

  it("limits challenge creation per user", async () => {
    const base = await start({ rateLimits: { challengesPerUser: { max: 2, windowMs: HOUR } } });
    const ada = await signUp(base, "Ada");
    const bob = await signUp(base, "Bob");
    const challenge = { title: "T", description: "D", starter_code: "" };
    const create = (token: string) =>
      post(base, "/api/challenges", challenge, { authorization: `Bearer ${token}` });
    expect((await create(ada.token)).status).toBe(201);
    expect((await create(ada.token)).status).toBe(201);
    await expectTooMany(await create(ada.token), 3600);
    expect((await create(bob.token)).status).toBe(201);
    const { challenges } = await (await fetch(`${base}/api/challenges?limit=50`)).json();
    expect(challenges.filter((c: { title: string }) => c.title === "T")).toHaveLength(3);
  });

  it("refuses password hashes beyond the queue with 503 rather than hashing them all at once", async () => {
    const base = await start({ passwordHashing: { concurrency: 1, maxWaiting: 1 } });
    const attempts = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        post(base, "/api/users", {
          first_name: `User${i}`,
          email: unique(`user${i}`),
          password: "password123",
        }),
      ),
    );
    const statuses = attempts.map((res) => res.status);
    expect(statuses).toContain(201);
    expect(statuses).toContain(503);
    expect(statuses.every((status) => status === 201 || status === 503)).toBe(true);
    const busy = attempts.find((res) => res.status === 503)!;
    expect(busy.headers.get("retry-after")).toBe("1");
    expect(await busy.json()).toEqual({ error: expect.stringMatching(/busy/) });
  });
});
