import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TokenSigner } from "../src/accounts/token.js";
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
    const { challenges } = await res.json();
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
    expect(created).toEqual({ id: expect.any(Number), ...challenge });
    const fetched = await fetch(`${base}/api/challenges/${created.id}`);
    expect((await fetched.json()).challenge).toEqual(created);

    const bad = await post("/api/challenges", { ...challenge, title: " " }, token);
    expect(bad.status).toBe(400);
    expect((await bad.json()).field).toBe("title");
  });

  it("answers unknown API paths with JSON 404 and wrong methods with 405", async () => {
    const res = await fetch(`${base}/api/nope`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: expect.any(String) });
    expect((await fetch(`${base}/api/users`)).status).toBe(405);
  });
});

describe("web app and health", () => {
  it("answers /healthz, /readyz and /metrics", async () => {
    const res = await fetch(`${base}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("ok\n");
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    expect(await (await fetch(`${base}/metrics`)).text()).toContain("tandem_connections");
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
      expect([400, 404], path).toContain(res.status);
    }
    // Encoded separators survive URL parsing and must be caught by the server itself.
    expect((await rawGet("/..%2fsecret.txt")).status).toBe(400);
    expect((await rawGet("/assets%2f..%2f..%2fsecret.txt")).status).toBe(400);
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
