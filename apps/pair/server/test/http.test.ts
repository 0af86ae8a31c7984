import { writeFile } from "node:fs/promises";
import { request } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TokenSigner } from "../src/accounts/token.js";
import { SEED_CHALLENGES } from "../src/challenges/seed.js";
import { postgresBackend } from "./databases.js";
import { APP_JS, INDEX_HTML, signUp, startTestServer, type TestServer } from "./server-fixture.js";

let t: TestServer;
let base: string;

beforeAll(async () => {
  t = await startTestServer();
  base = t.server.url;
});
afterAll(() => t.cleanup());

function post(path: string, body: unknown, token?: string): Promise<Response> {
  return fetch(`${base}${path}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** A GET with the path sent byte for byte (fetch would normalise "/../"). */
function rawGet(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}/`, { path, method: "GET" }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("accounts over HTTP", () => {
  it("signs up, returning a token and the user", async () => {
    const res = await post("/api/users", {
      first_name: "Ada",
      email: "ada@example.com",
      password: "analytical",
    });
    expect(res.status).toBe(201);
    const body = await res.json();
    expect(body.user).toEqual({
      id: expect.any(Number),
      first_name: "Ada",
      email: "ada@example.com",
    });
    expect(body.token).toEqual(expect.any(String));
    expect(body.user.password_hash).toBeUndefined();
  });

  it("refuses a second account with the same email (any case) with 409", async () => {
    await signUp(base, "Grace", "grace@example.com");
    const res = await post("/api/users", {
      first_name: "Imposter",
      email: "GRACE@example.com",
      password: "password123",
    });
    expect(res.status).toBe(409);
    expect(await res.json()).toEqual({ error: expect.any(String), field: "email" });
  });

  it.each([
    [{ email: "x@example.com", password: "password123" }, "first_name"],
    [{ first_name: "", email: "x@example.com", password: "password123" }, "first_name"],
    [{ first_name: "x".repeat(65), email: "x@example.com", password: "password123" }, "first_name"],
    [{ first_name: "X", email: "no-at-sign", password: "password123" }, "email"],
    [{ first_name: "X", email: `${"a".repeat(250)}@b.co`, password: "password123" }, "email"],
    [{ first_name: "X", email: "x@example.com", password: "short" }, "password"],
    [{ first_name: "X", email: "x@example.com", password: "p".repeat(257) }, "password"],
    [{ first_name: "X", email: "x@example.com", password: 12345678 }, "password"],
  ])("refuses bad sign-up fields with 400 naming the field (%#)", async (body, field) => {
    const res = await post("/api/users", body);
    expect(res.status).toBe(400);
    const json = await res.json();
    expect(json.field).toBe(field);
    expect(json.error).toMatch(/^[A-Z].*\.$/);
  });

  it.each([
    ["a bell", "Ada\u0007"],
    ["a newline", "Ada\nLovelace"],
    ["a C1 control", "Ada\u0085"],
    ["a right-to-left override", "Ada\u202Eecalevol"],
    ["a left-to-right embedding", "\u202AAda"],
    ["a first-strong isolate", "Ada\u2068x\u2069"],
    ["a right-to-left mark", "Ada\u200F"],
  ])("refuses a first name with %s with 400 naming first_name", async (_what, name) => {
    const res = await post("/api/users", {
      first_name: name,
      email: `bidi-${Math.random().toString(36).slice(2)}@example.com`,
      password: "password123",
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: "Your first name cannot contain control or text-direction characters.",
      field: "first_name",
      errors: [
        {
          field: "first_name",
          message: "Your first name cannot contain control or text-direction characters.",
        },
      ],
    });
  });

  it("accepts first names in any script", async () => {
    for (const name of ["Zoë", "李雷", "أحمد", "Jean-Luc O'Neil"]) {
      const email = `script-${Math.random().toString(36).slice(2)}@example.com`;
      expect((await signUp(base, name, email)).user.first_name).toBe(name);
    }
  });

  it.each([
    ["spaces", " ".repeat(12)],
    ["tabs and newlines", "\t\t\t\n\n\n\t\t"],
    ["ideographic spaces", "\u3000".repeat(8)],
  ])("refuses a password of only %s with 400 naming password", async (_what, password) => {
    const res = await post("/api/users", {
      first_name: "Blank",
      email: `blank-${Math.random().toString(36).slice(2)}@example.com`,
      password,
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: "Your password cannot be only spaces.",
      field: "password",
      errors: [{ field: "password", message: "Your password cannot be only spaces." }],
    });
  });

  it.each([
    ["text/plain", "text/plain;charset=UTF-8"],
    ["a form", "application/x-www-form-urlencoded"],
    ["multipart", "multipart/form-data; boundary=x"],
    ["no content type", undefined],
  ])("refuses a JSON body sent as %s with 415, creating nothing", async (_what, type) => {
    const fields = { first_name: "Mallory", email: "mallory@example.com", password: "password123" };
    const res = await fetch(`${base}/api/users`, {
      method: "POST",
      headers: type ? { "content-type": type } : {},
      body: new TextEncoder().encode(JSON.stringify(fields)),
    });
    expect(res.status).toBe(415);
    expect(await res.json()).toEqual({ error: expect.stringContaining("JSON") });
    const signIn = await post("/api/sessions", { email: fields.email, password: fields.password });
    expect(signIn.status).toBe(401);
  });

  it("refuses a body that is not JSON with 400", async () => {
    const res = await post("/api/users", "{not json");
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: expect.any(String) });
  });

  it("signs in with the right password and refuses a wrong one or an unknown email", async () => {
    const { user } = await signUp(base, "Linus", "linus@example.com");
    const good = await post("/api/sessions", {
      email: "Linus@Example.com",
      password: "password123",
    });
    expect(good.status).toBe(200);
    const body = await good.json();
    expect(body.user).toEqual(user);

    const me = await fetch(`${base}/api/me`, {
      headers: { authorization: `Bearer ${body.token}` },
    });
    expect(me.status).toBe(200);
    expect(await me.json()).toEqual({ user });

    const wrong = await post("/api/sessions", {
      email: "linus@example.com",
      password: "password124",
    });
    expect(wrong.status).toBe(401);
    const unknown = await post("/api/sessions", {
      email: "nobody@example.com",
      password: "password123",
    });
    expect(unknown.status).toBe(401);
    expect(await unknown.json()).toEqual(await wrong.json());
    expect((await post("/api/sessions", { email: "linus@example.com" })).status).toBe(400);
  });

  it("answers /api/me with 401 without a valid token", async () => {
    expect((await fetch(`${base}/api/me`)).status).toBe(401);
    const forged = new TokenSigner("some-other-secret-that-is-long-enough").sign(1);
    const res = await fetch(`${base}/api/me`, { headers: { authorization: `Bearer ${forged}` } });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: expect.any(String) });
  });
});

describe("challenges over HTTP", () => {
  it("lists at least six seeded challenges with id, title and description", async () => {
    const res = await fetch(`${base}/api/challenges`);
    expect(res.status).toBe(200);
    const { challenges, next_cursor } = await res.json();
    expect(next_cursor).toBeNull();
    expect(challenges.length).toBeGreaterThanOrEqual(6);
    for (const c of challenges) {
      expect(Object.keys(c).sort()).toEqual(["description", "id", "title"]);
      expect(c.title.length).toBeGreaterThan(3);
      expect(c.description.length).toBeGreaterThan(50);
    }
  });

  it("shows one challenge with its starter code, 404 for others", async () => {
    const res = await fetch(`${base}/api/challenges/1`);
    expect(res.status).toBe(200);
    const { challenge } = await res.json();
    expect(challenge).toMatchObject({ id: 1, starter_code: expect.stringContaining("function") });
    for (const id of ["999999", "0", "abc", "1e3", "-1", "%zz"]) {
      const missing = await fetch(`${base}/api/challenges/${id}`);
      expect([400, 404]).toContain(missing.status);
      expect(await missing.json()).toEqual({ error: expect.any(String) });
    }
    expect((await fetch(`${base}/api/challenges/999999`)).status).toBe(404);
  });

  it("creates a challenge only for a signed-in user", async () => {
    const challenge = { title: "Two Sum", description: "Find two numbers.", starter_code: "" };
    expect((await post("/api/challenges", challenge)).status).toBe(401);
    expect((await post("/api/challenges", challenge, "garbage")).status).toBe(401);

    const { token } = await signUp(base, "Author");
    const res = await post("/api/challenges", challenge, token);
    expect(res.status).toBe(201);
    const created = (await res.json()).challenge;
    expect(created).toEqual({ id: expect.any(Number), ...challenge, tests: [] });
    const fetched = await fetch(`${base}/api/challenges/${created.id}`);
    expect((await fetched.json()).challenge).toEqual(created);

    const bad = await post("/api/challenges", { ...challenge, title: " " }, token);
    expect(bad.status).toBe(400);
    expect((await bad.json()).field).toBe("title");
  });

  it("stores a challenge's tests as written, and names every bad field at once", async () => {
    const { token } = await signUp(base, "Author");
    const tests = [
      { function: "twoSum", args: "[[2, 7, 11], 9]", expected: "[0, 1]" },
      { function: "twoSum", args: "[[], 1]", expected: "null" },
    ];
    const res = await post(
      "/api/challenges",
      { title: "Two Sum", description: "Find *two* numbers.", starter_code: "", tests },
      token,
    );
    expect(res.status).toBe(201);
    const { challenge } = await res.json();
    expect(challenge.tests).toEqual(tests);
    expect(
      (await (await fetch(`${base}/api/challenges/${challenge.id}`)).json()).challenge,
    ).toEqual(challenge);

    const bad = await post(
      "/api/challenges",
      {
        title: "",
        description: " ",
        starter_code: "",
        tests: [
          { function: "ok", args: "[1]", expected: "1" },
          { function: "not a name", args: "{}", expected: "{oops" },
        ],
      },
      token,
    );
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({
      error: "Please give the challenge a title.",
      field: "title",
      errors: [
        { field: "title", message: "Please give the challenge a title." },
        { field: "description", message: "Please describe the challenge." },
        {
          field: "tests.1.function",
          message: "The function must be a JavaScript name, such as isBalanced.",
        },
        {
          field: "tests.1.args",
          message: 'The arguments must be a JSON array, such as [1, "two"].',
        },
        {
          field: "tests.1.expected",
          message: 'The expected result must be JSON, such as 42, "text" or [1, 2].',
        },
      ],
    });
    const tooMany = Array.from({ length: 21 }, () => tests[0]);
    const many = await post(
      "/api/challenges",
      { title: "T", description: "D", starter_code: "", tests: tooMany },
      token,
    );
    expect(await many.json()).toMatchObject({
      field: "tests",
      error: "A challenge can have at most 20 tests.",
    });
  });

  it("pages the list: bounded pages, in id order, each challenge once", async () => {
    const paged = await startTestServer();
    try {
      const pagedBase = paged.server.url;
      const { token } = await signUp(pagedBase, "Pager");
      const challenge = { title: "T", description: "D", starter_code: "" };
      for (let i = 0; i < 25; i += 1) {
        const res = await fetch(`${pagedBase}/api/challenges`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
          body: JSON.stringify({ ...challenge, title: `Challenge ${i}` }),
        });
        expect(res.status).toBe(201);
      }
      const total = SEED_CHALLENGES.length + 25;
      // The default page is bounded: they do not all come in one response.
      const first = await (await fetch(`${pagedBase}/api/challenges`)).json();
      expect(first.challenges).toHaveLength(20);
      expect(first.next_cursor).toEqual(expect.any(String));

      const ids: number[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const query: string = cursor === null ? "limit=7" : `limit=7&cursor=${cursor}`;
        const page = await (await fetch(`${pagedBase}/api/challenges?${query}`)).json();
        expect(page.challenges.length).toBeLessThanOrEqual(7);
        ids.push(...page.challenges.map((c: { id: number }) => c.id));
        cursor = page.next_cursor;
        pages += 1;
      } while (cursor !== null);
      expect(pages).toBe(Math.ceil(total / 7));
      expect(ids).toHaveLength(total);
      expect(ids).toEqual([...ids].sort((a, b) => a - b));
      expect(new Set(ids).size).toBe(total);
    } finally {
      await paged.cleanup();
    }
  });

  it.each([
    ["limit=0", "limit"],
    ["limit=51", "limit"],
    ["limit=abc", "limit"],
    ["limit=5&limit=6", "limit"],
    ["cursor=abc", "cursor"],
    ["cursor=-1", "cursor"],
  ])("refuses a page query %s with 400 naming the field", async (query, field) => {
    const res = await fetch(`${base}/api/challenges?${query}`);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: expect.any(String),
      field,
      errors: [{ field, message: expect.any(String) }],
    });
  });

  it("answers unknown API paths with JSON 404 and wrong methods with 405", async () => {
    const res = await fetch(`${base}/api/nope`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: expect.any(String) });
    expect((await fetch(`${base}/api/users`)).status).toBe(405);
  });
});

describe("web app and health", () => {
  it("answers /healthz and /readyz, but not /metrics, on the app's port", async () => {
    const res = await fetch(`${base}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("ok\n");
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    // Only a client route of the web app there.
    const metrics = await fetch(`${base}/metrics`);
    expect(metrics.headers.get("content-type")).toMatch(/^text\/html/);
    expect(await metrics.text()).toBe(INDEX_HTML);
    expect(t.server.metricsUrl).toBeUndefined();
  });

  it("serves /metrics on the metrics port when one is configured", async () => {
    const withMetrics = await startTestServer({ metricsPort: 0 });
    try {
      const { url, metricsUrl } = withMetrics.server;
      expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(metricsUrl).not.toBe(url);
      const res = await fetch(`${metricsUrl}/metrics`);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain("tandem_connections");
      expect(await (await fetch(`${url}/metrics`)).text()).toBe(INDEX_HTML);
    } finally {
      await withMetrics.cleanup();
    }
  });

  it("serves files with their content type and index.html for client routes", async () => {
    const asset = await fetch(`${base}/assets/app-abc123.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get("content-type")).toMatch(/^text\/javascript/);
    expect(await asset.text()).toBe(APP_JS);
    for (const path of ["/", "/challenges/3", "/sign-in"]) {
      const page = await fetch(`${base}${path}`);
      expect(page.status).toBe(200);
      expect(page.headers.get("content-type")).toMatch(/^text\/html/);
      expect(await page.text()).toBe(INDEX_HTML);
    }
    expect((await fetch(`${base}/assets/missing.js`)).status).toBe(404);
  });

  it("refuses paths that leave the web folder", async () => {
    const attempts = [
      "/../secret.txt",
      "/assets/../../secret.txt",
      "/..%2fsecret.txt",
      "/%2e%2e/secret.txt",
      "/%2e%2e%2fsecret.txt",
      "/..%5csecret.txt",
      "/assets%2f..%2f..%2fsecret.txt",
    ];
    for (const path of attempts) {
      const res = await rawGet(path);
      expect(res.body, path).not.toContain("do not serve");
      // Encoded separators survive URL parsing and must be caught by the server itself.
      expect([400, 403, 404], path).toContain(res.status);
    }
  });
});

describe("security headers", () => {
  it("give the test runner's worker script its own policy: eval, and no network", async () => {
    await writeFile(join(t.webDir, "assets", "test-worker-Ab1_x.js"), "self.onmessage = null;");
    await writeFile(join(t.webDir, "test-worker-Ab1_x.js"), "outside the assets");
    const worker = await fetch(`${base}/assets/test-worker-Ab1_x.js`);
    expect(worker.status).toBe(200);
    expect(worker.headers.get("content-security-policy")).toBe(
      "default-src 'none'; script-src 'self' 'unsafe-eval'",
    );
    for (const path of ["/test-worker-Ab1_x.js", "/assets/app-abc123.js", "/"]) {
      const csp = (await fetch(`${base}${path}`)).headers.get("content-security-policy") ?? "";
      expect(csp, path).toContain("worker-src 'self'");
      expect(csp, path).not.toContain("unsafe-eval");
    }
  });

  /** What every response must carry, whatever answered it. */
  function expectSecurityHeaders(res: Response, what: string): void {
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp, what).toContain("default-src 'self'");
    expect(csp, what).toContain("script-src 'self'");
    expect(csp, what).toContain("frame-ancestors 'none'");
    expect(csp, what).toContain("object-src 'none'");
    expect(csp, what).not.toMatch(/script-src[^;]*unsafe/);
    expect(res.headers.get("x-content-type-options"), what).toBe("nosniff");
    expect(res.headers.get("referrer-policy"), what).toBe("no-referrer");
    expect(res.headers.get("x-frame-options"), what).toBe("DENY");
  }

  it("are on pages, files, 404s, API answers, API errors and refused requests", async () => {
    const { token } = await signUp(base, "Headers");
    const requests: [string, RequestInit?][] = [
      ["/"],
      ["/challenges/3"],
      ["/assets/app-abc123.js"],
      ["/assets/missing.js"],
      ["/healthz"],
      ["/readyz"],
      ["/api/challenges"],
      ["/api/challenges/999999"],
      ["/api/challenges/%zz"],
      ["/api/me", { headers: { authorization: `Bearer ${token}` } }],
      ["/api/me"],
      ["/api/nope"],
      ["/api/users", { method: "GET" }],
      ["/api/users", { method: "POST", headers: { "content-type": "text/plain" }, body: "{}" }],
      [
        "/api/users",
        { method: "POST", headers: { "content-type": "application/json" }, body: "{" },
      ],
      ["/metrics"],
    ];
    for (const [path, init] of requests) {
      const res = await fetch(`${base}${path}`, init);
      await res.arrayBuffer();
      expectSecurityHeaders(res, `${init?.method ?? "GET"} ${path} (${res.status})`);
    }
    const traversal = await rawGet("/..%2fsecret.txt");
    expect([400, 403, 404]).toContain(traversal.status);
  });
});

describe("on PostgreSQL", () => {
  it("runs the same server against DATABASE_URL", async () => {
    const storage = await postgresBackend.create();
    const pg = await startTestServer({ databaseUrl: storage.databaseUrl });
    try {
      const pgBase = pg.server.url;
      expect(pg.server.database.dialect).toBe("postgres");
      const { token, user } = await signUp(pgBase, "Pat", "pat@example.com");
      const me = await fetch(`${pgBase}/api/me`, { headers: { authorization: `Bearer ${token}` } });
      expect(await me.json()).toEqual({ user });
      const dup = await fetch(`${pgBase}/api/users`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          first_name: "P",
          email: "PAT@example.com",
          password: "password123",
        }),
      });
      expect(dup.status).toBe(409);
      const { challenges } = await (await fetch(`${pgBase}/api/challenges`)).json();
      expect(challenges.length).toBeGreaterThanOrEqual(6);
    } finally {
      await pg.cleanup();
      await storage.cleanup();
    }
  });
});
