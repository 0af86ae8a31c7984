import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  decodeClientFrame,
  decodeServerFrame,
  encodeClientPush,
  encodeServerBroadcast,
  encodeServerPush,
  encodeServerReply,
  FrameError,
} from "../src/index.js";

const bytes = (...parts: (number | string)[]): Uint8Array => {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === "number") out.push(p);
    else out.push(...new TextEncoder().encode(p));
  }
  return Uint8Array.from(out);
};

describe("binary golden vectors (protocol.md 1.5)", () => {
  it("encodes a client push", () => {
    const frame = encodeClientPush({
      join_ref: "0",
      ref: "1",
      topic: "t",
      event: "e",
      payload: Uint8Array.of(1),
    });
    expect(frame).toEqual(bytes(0, 1, 1, 1, 1, "0", "1", "t", "e", 1));
  });

  it("encodes variable length segments", () => {
    const frame = encodeClientPush({
      join_ref: "10",
      ref: "1",
      topic: "top",
      event: "ev",
      payload: Uint8Array.of(1),
    });
    expect(frame).toEqual(bytes(0, 2, 1, 3, 2, "10", "1", "top", "ev", 1));
  });

  it("decodes a server push with no ref", () => {
    const r = decodeServerFrame(bytes(0, 3, 3, 10, "123", "top", "some-event", 1, 1));
    expect(r).toEqual({
      ok: true,
      value: {
        join_ref: "123",
        ref: null,
        topic: "top",
        event: "some-event",
        payload: Uint8Array.of(1, 1),
      },
    });
  });

  it("decodes a reply into phx_reply with a byte response", () => {
    const r = decodeServerFrame(bytes(1, 3, 2, 3, 2, "100", "12", "top", "ok", 1, 1));
    expect(r).toEqual({
      ok: true,
      value: {
        join_ref: "100",
        ref: "12",
        topic: "top",
        event: "phx_reply",
        payload: { status: "ok", response: Uint8Array.of(1, 1) },
      },
    });
  });

  it("decodes a broadcast", () => {
    const r = decodeServerFrame(bytes(2, 3, 10, "top", "some-event", 1, 1));
    expect(r.ok && r.value).toEqual({
      join_ref: null,
      ref: null,
      topic: "top",
      event: "some-event",
      payload: Uint8Array.of(1, 1),
    });
  });

  it("measures fields in UTF-8 bytes", () => {
    const frame = encodeClientPush({
      join_ref: "🚀",
      ref: "1",
      topic: "room:café",
      event: "π",
      payload: new Uint8Array(0),
    });
    expect(Array.from(frame.subarray(0, 5))).toEqual([0, 4, 1, 10, 2]);
    const back = decodeClientFrame(frame);
    expect(back.ok && back.value.topic).toBe("room:café");
  });

  it("refuses a field longer than 255 bytes and names it", () => {
    const encode = () =>
      encodeClientPush({
        join_ref: "1",
        ref: "1",
        topic: "x".repeat(256),
        event: "e",
        payload: new Uint8Array(0),
      });
    expect(encode).toThrow(FrameError);
    expect(encode).toThrow(/topic/);
  });

  it("server encoders use the documented headers", () => {
    expect(
      encodeServerPush({
        join_ref: "123",
        ref: null,
        topic: "top",
        event: "some-event",
        payload: Uint8Array.of(1, 1),
      }),
    ).toEqual(bytes(0, 3, 3, 10, "123", "top", "some-event", 1, 1));
    expect(
      encodeServerReply({
        join_ref: "100",
        ref: "12",
        topic: "top",
        status: "ok",
        response: Uint8Array.of(1, 1),
      }),
    ).toEqual(bytes(1, 3, 2, 3, 2, "100", "12", "top", "ok", 1, 1));
    expect(
      encodeServerBroadcast({ topic: "top", event: "some-event", payload: Uint8Array.of(1, 1) }),
    ).toEqual(bytes(2, 3, 10, "top", "some-event", 1, 1));
  });
});

describe("binary decoding of untrusted input", () => {
  it("turns truncated and unknown frames into typed errors", () => {
    const cases: [Uint8Array, string][] = [
      [new Uint8Array(0), "truncated"],
      [Uint8Array.of(0, 5), "truncated"],
      [bytes(0, 1, 1, 9, 1, "1", "1", "to"), "truncated"],
      [Uint8Array.of(7, 0, 0), "unknown_kind"],
      [Uint8Array.of(2, 0, 0), "unknown_kind"],
      [bytes(0, 0, 0, 1, 1, 0xff, "e"), "invalid_utf8"],
      [bytes(0, 0, 0, 0, 1, "e"), "invalid_field"],
    ];
    for (const [frame, kind] of cases) {
      const r = decodeClientFrame(frame);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.kind).toBe(kind);
    }
  });

  it("never throws on arbitrary bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (data) => {
        decodeClientFrame(data);
        decodeServerFrame(data);
      }),
      // `npm run fuzz` sets FUZZ_RUNS for a long run.
      { numRuns: Number(process.env.FUZZ_RUNS ?? 100) },
    );
  });
});

const field = fc.string({ unit: "grapheme", maxLength: 40 });
const nonEmpty = fc.string({ unit: "grapheme", minLength: 1, maxLength: 40 });
const payload = fc.uint8Array({ maxLength: 64 });

describe("binary round trips", () => {
  it("client push", () => {
    fc.assert(
      fc.property(field, field, nonEmpty, nonEmpty, payload, (jr, ref, topic, event, p) => {
        const msg = { join_ref: jr || null, ref: ref || null, topic, event, payload: p };
        const r = decodeClientFrame(encodeClientPush(msg));
        expect(r).toEqual({ ok: true, value: msg });
      }),
    );
  });

  it("server push, reply and broadcast", () => {
    fc.assert(
      fc.property(field, nonEmpty, nonEmpty, nonEmpty, payload, (jr, ref, topic, event, p) => {
        const push = decodeServerFrame(
          encodeServerPush({ join_ref: jr || null, ref: null, topic, event, payload: p }),
        );
        expect(push.ok && push.value).toEqual({
          join_ref: jr || null,
          ref: null,
          topic,
          event,
          payload: p,
        });
        const reply = decodeServerFrame(
          encodeServerReply({ join_ref: jr || null, ref, topic, status: event, response: p }),
        );
        expect(reply.ok && reply.value.payload).toEqual({ status: event, response: p });
        const broadcast = decodeServerFrame(encodeServerBroadcast({ topic, event, payload: p }));
        expect(broadcast.ok && broadcast.value).toMatchObject({ topic, event, payload: p });
      }),
    );
  });
});
