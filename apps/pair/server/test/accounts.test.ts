import { createHmac } from "node:crypto";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { HashQueue, HashQueueFull } from "../src/accounts/hash-queue.js";
import { hashPassword, verifyPassword } from "../src/accounts/password.js";
import { loadSecretKeyBase } from "../src/accounts/secret.js";
import { TokenSigner } from "../src/accounts/token.js";

const SECRET = "a-test-secret-that-is-long-enough-for-hmac";
const DAY_MS = 24 * 60 * 60 * 1000;

describe("passwords", () => {
  it("verifies the right password and refuses others", async () => {
    const hash = await hashPassword("correct horse battery");
    expect(hash).toMatch(/^scrypt\$32768\$8\$1\$[\w-]+\$[\w-]+$/);
    expect(await verifyPassword("correct horse battery", hash)).toBe(true);
    expect(await verifyPassword("correct horse batterY", hash)).toBe(false);
    expect(await verifyPassword("", hash)).toBe(false);
  });

  it("salts every hash", async () => {
    const [a, b] = await Promise.all([hashPassword("same"), hashPassword("same")]);
    expect(a).not.toBe(b);
  });

  it("treats a malformed hash as a mismatch", async () => {
    for (const stored of [
      "",
      "plain",
      "scrypt$1$2$3$$",
      "bcrypt$1$8$1$c2FsdA$a2V5",
      "scrypt$x$8$1$c2FsdA$a2V5",
      "scrypt$3$8$1$c2FsdA$a2V5",
    ]) {
      expect(await verifyPassword("pw", stored)).toBe(false);
    }
  });
});

describe("hash queue", () => {
  it("never runs more than its slots, refuses only when the queue is full, runs the rest", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 0, max: 4 }),
        // Each step submits a task or finishes the oldest running one.
        fc.array(fc.boolean(), { maxLength: 40 }),
        async (concurrency, maxWaiting, steps) => {
          const queue = new HashQueue({ concurrency, maxWaiting });
          const running: (() => void)[] = [];
          const settled: Promise<unknown>[] = [];
          let started = 0;
          let accepted = 0;
          let refused = 0;
          const flush = () => new Promise((resolve) => setImmediate(resolve));
          for (const submit of steps) {
            if (submit) {
              const full = queue.running === concurrency && queue.waiting === maxWaiting;
              const task = queue.run(
                () =>
                  new Promise<void>((resolve) => {
                    started += 1;
                    running.push(resolve);
                  }),
              );
              settled.push(
                task.then(
                  () => {
                    accepted += 1;
                  },
                  (err: unknown) => {
                    expect(err).toBeInstanceOf(HashQueueFull);
                    expect(full).toBe(true);
                    refused += 1;
                  },
                ),
              );
            } else {
              running.shift()?.();
            }
            await flush();
            expect(running.length).toBeLessThanOrEqual(concurrency);
            expect(queue.running).toBe(running.length);
            expect(queue.waiting).toBeLessThanOrEqual(maxWaiting);
          }
          while (running.length > 0) {
            running.shift()?.();
            await flush();
          }
          await Promise.all(settled);
          expect(accepted + refused).toBe(steps.filter(Boolean).length);
          expect(started).toBe(accepted);
          expect(queue.running + queue.waiting).toBe(0);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("keeps working after a task fails", async () => {
    const queue = new HashQueue({ concurrency: 1, maxWaiting: 0 });
    await expect(queue.run(() => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(await queue.run(async () => "ok")).toBe("ok");
  });
});

describe("tokens", () => {
  const signer = new TokenSigner(SECRET);

  it("round-trips the user id, issue time and a 14-day expiry", () => {
    const now = Date.UTC(2026, 0, 1);
    const claims = signer.verify(signer.sign(42, now), now + 1000);
    expect(claims).toEqual({
      userId: 42,
      issuedAt: now / 1000,
      expiresAt: now / 1000 + 14 * 24 * 3600,
    });
  });

  it("refuses an expired token", () => {
    const now = Date.now();
    const token = signer.sign(1, now - 15 * DAY_MS);
    expect(signer.verify(token, now)).toBeNull();
    expect(signer.verify(signer.sign(1, now - 13 * DAY_MS), now)).not.toBeNull();
  });

  it("refuses a token issued in the future", () => {
    expect(signer.verify(signer.sign(1, Date.now() + DAY_MS))).toBeNull();
  });

  it("refuses a token signed with another secret", () => {
    const forger = new TokenSigner("another-secret-of-sufficient-length-xyz");
    expect(signer.verify(forger.sign(1))).toBeNull();
  });

  it("refuses a token whose claims were edited after signing", () => {
    const [body, signature] = signer.sign(1).split(".") as [string, string];
    const claims = JSON.parse(Buffer.from(body, "base64url").toString());
    const edited = Buffer.from(JSON.stringify({ ...claims, sub: 2 })).toString("base64url");
    expect(signer.verify(`${edited}.${signature}`)).toBeNull();
  });

  it("refuses a genuine token for another audience", () => {
    const other = new TokenSigner(SECRET, { audience: "admin" });
    const token = other.sign(1);
    expect(other.verify(token)).not.toBeNull();
    expect(signer.verify(token)).toBeNull();
  });

  it("refuses malformed tokens", () => {
    const key = createHmac("sha256", SECRET).update("user token").digest();
    const signed = (body: string) =>
      `${body}.${createHmac("sha256", key).update(body).digest("base64url")}`;
    const b64 = (value: string) => Buffer.from(value).toString("base64url");
    // Correctly signed, but not a claims object: proves the parser, not the MAC, refuses them.
    const badBodies = [
      signed(b64("not json")),
      signed(b64("[]")),
      signed(b64(JSON.stringify({ sub: "1", iat: 0, exp: 9e9, aud: "pair" }))),
      signed(b64(JSON.stringify({ sub: 1.5, iat: 0, exp: 9e9, aud: "pair" }))),
      signed(b64(JSON.stringify({ sub: 1, exp: 9e9, aud: "pair" }))),
    ];
    expect(
      signer.verify(signed(b64(JSON.stringify({ sub: 1, iat: 0, exp: 9e9, aud: "pair" })))),
    ).toEqual({
      userId: 1,
      issuedAt: 0,
      expiresAt: 9e9,
    });
    for (const token of ["", ".", "abc", "a.b.c", `${signer.sign(1)}.x`, ...badBodies]) {
      expect(signer.verify(token)).toBeNull();
    }
  });
});

describe("secret key base", () => {
  it("uses the configured secret and refuses a short one", async () => {
    expect(await loadSecretKeyBase(SECRET, "/nonexistent")).toBe(SECRET);
    await expect(loadSecretKeyBase("short", "/nonexistent")).rejects.toThrow(/at least 32/);
  });

  it("generates one on first run, owner-readable only, and keeps it", async () => {
    const dir = await mkdtemp(join(tmpdir(), "pair-secret-"));
    try {
      const dataDir = join(dir, "data");
      const first = await loadSecretKeyBase(undefined, dataDir);
      expect(first.length).toBeGreaterThanOrEqual(32);
      const file = join(dataDir, "secret_key_base");
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      expect(await readFile(file, "utf8")).toBe(first);
      expect(await loadSecretKeyBase(undefined, dataDir)).toBe(first);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
