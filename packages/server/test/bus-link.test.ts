import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  BusLink,
  type BusMessage,
  type BusStatus,
  encodeEnvelope,
  reconnectDelay,
  silentLogger,
} from "../src/index.js";

function link(): { link: BusLink; received: BusMessage[]; statuses: BusStatus[] } {
  const made = new BusLink("me", silentLogger);
  const received: BusMessage[] = [];
  const statuses: BusStatus[] = [];
  made.start((m) => received.push(m), "Test");
  made.onStatus((s) => statuses.push(s));
  return { link: made, received, statuses };
}

describe("BusLink", () => {
  it("hands over others' messages, drops its own, counts what is not an envelope", () => {
    const { link: l, received } = link();
    const message = { topic: "room:1", event: "hi", payload: { a: 1 } };
    const bytes = encodeEnvelope({ origin: "other", ...message });
    l.arrived(bytes);
    l.arrived(encodeEnvelope({ origin: "me", ...message }));
    l.arrived(new Uint8Array([1, 2, 3]));
    expect(received).toEqual([message]);
    expect(l.stats).toEqual({
      published: 0,
      received: 1,
      receivedBytes: bytes.byteLength,
      dropped: 0,
      invalid: 1,
    });
  });

  it("survives a receiver that throws", () => {
    const l = new BusLink("me", silentLogger);
    l.start(() => {
      throw new Error("boom");
    }, "Test");
    expect(() =>
      l.arrived(encodeEnvelope({ origin: "x", topic: "t", event: "e", payload: {} })),
    ).not.toThrow();
    expect(l.stats.received).toBe(1);
  });

  it("never throws on arbitrary bytes, and counts each as received or invalid", () => {
    const { link: l } = link();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const before = l.stats;
        l.arrived(bytes);
        const after = l.stats;
        expect(after.received + after.invalid).toBe(before.received + before.invalid + 1);
      }),
    );
  });

  it("reports status changes once each, never back to connecting, and none after close", () => {
    const { link: l, statuses } = link();
    expect(l.status).toBe("connecting");
    l.set("ready");
    l.set("ready");
    l.set("down");
    expect(() => l.set("connecting")).toThrow();
    l.set("ready");
    l.close();
    l.close();
    l.set("ready");
    expect(statuses).toEqual(["ready", "down", "ready", "down"]);
    expect(l.closed).toBe(true);
  });

  it("starts once", () => {
    const { link: l } = link();
    expect(() => l.start(() => {}, "Test")).toThrow(/Test starts once/);
  });

  it("whenReady resolves on ready, rejects on close or timeout", async () => {
    const a = link().link;
    const ready = a.whenReady(60_000, "Test");
    a.set("ready");
    await expect(ready).resolves.toBeUndefined();
    await expect(a.whenReady(1, "Test")).resolves.toBeUndefined();

    const b = link().link;
    const closed = b.whenReady(60_000, "Test");
    b.close();
    await expect(closed).rejects.toThrow(/closed while starting/);
    await expect(b.whenReady(1, "Test")).rejects.toThrow(/closed while starting/);

    const c = link().link;
    c.failed(new Error("refused"), "conn");
    await expect(c.whenReady(1, "Test")).rejects.toThrow(/Test not ready after 1 ms: refused/);
  });

  it("backs off by at most 2 s and at least half the doubling step", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100 }), (attempt) => {
        const delay = reconnectDelay(attempt);
        expect(delay).toBeGreaterThanOrEqual(Math.round(Math.min(50 * 2 ** attempt, 2000) / 2));
        expect(delay).toBeLessThanOrEqual(2000);
      }),
    );
  });
});
