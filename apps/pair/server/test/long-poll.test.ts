import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { signUp, startTestServer, type TestServer } from "./server-fixture.js";

let t: TestServer;

beforeEach(async () => {
  t = await startTestServer({ secretKeyBase: "long-poll-test-secret-long-enough-for-hmac" });
});
afterEach(async () => {
  await t.cleanup();
});

async function longPoll(
  query: string,
  init: RequestInit = {},
): Promise<{ http: number; body: Record<string, unknown> }> {
  const res = await fetch(`${t.server.url}/socket/longpoll?vsn=2.0.0${query}`, init);
  return { http: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe("Pair's socket over long-poll, through Fastify", () => {
  it("opens a session for a signed-in user and carries a POSTed message and its reply", async () => {
    const { token } = await signUp(t.server.url, "Lena");
    const opened = await longPoll("", { headers: { "x-phoenix-authtoken": token } });
    expect(opened.body.status).toBe(410);
    const session = `&token=${encodeURIComponent(String(opened.body.token))}`;
    // Fastify parses JSON bodies only: this one must reach the endpoint unread.
    const sent = await longPoll(session, {
      method: "POST",
      headers: { "content-type": "application/x-ndjson" },
      body: '[null,"1","phoenix","heartbeat",{}]',
    });
    expect(sent).toEqual({ http: 200, body: { status: 200 } });
    let answer = await longPoll(session);
    while (answer.body.status === 204) answer = await longPoll(session);
    expect(answer.body.messages).toEqual([
      '[null,"1","phoenix","phx_reply",{"status":"ok","response":{}}]',
    ]);
  });

  it("refuses a session without a valid token, and leaves other routes to Fastify", async () => {
    expect(await longPoll("&token=forged")).toEqual({ http: 403, body: { status: 403 } });
    const health = await fetch(`${t.server.url}/healthz`);
    expect(await health.text()).toBe("ok\n");
  });
});
