import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type JsonObject,
  serializerForVsn,
  v1JsonSerializer,
  v2JsonSerializer,
} from "../src/index.js";

const ref = fc.option(fc.string({ maxLength: 12 }).filter(Boolean), { nil: null });
const name = fc.string({ minLength: 1, maxLength: 30 });
const object = fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 })).map(
  // JSON round trips normalise -0 and drop undefined; compare against that normal form.
  (o) => JSON.parse(JSON.stringify(o)) as JsonObject,
);

describe("V2 JSON serializer", () => {
  it("encodes the documented frames", () => {
    expect(
      v2JsonSerializer.encodeReply({
        join_ref: "3",
        ref: "4",
        topic: "room:lobby",
        status: "ok",
        response: {},
      }),
    ).toBe('["3","4","room:lobby","phx_reply",{"status":"ok","response":{}}]');
    expect(
      v2JsonSerializer.encodeBroadcast({
        topic: "room:lobby",
        event: "presence_diff",
        payload: { joins: {}, leaves: {} },
      }),
    ).toBe('[null,null,"room:lobby","presence_diff",{"joins":{},"leaves":{}}]');
    expect(
      v2JsonSerializer.encodeMessage({
        join_ref: "3",
        ref: "3",
        topic: "room:lobby",
        event: "phx_error",
        payload: { reason: "channel_crash" },
      }),
    ).toBe('["3","3","room:lobby","phx_error",{"reason":"channel_crash"}]');
  });

  it("decodes client frames and ignores elements past the fifth", () => {
    const r = v2JsonSerializer.decode('["3","3","room:lobby","phx_join",{"token":"abc"},"x"]');
    expect(r).toEqual({
      ok: true,
      value: {
        join_ref: "3",
        ref: "3",
        topic: "room:lobby",
        event: "phx_join",
        payload: { token: "abc" },
      },
    });
  });

  it("round-trips any message through a client-shaped frame", () => {
    fc.assert(
      fc.property(ref, ref, name, name, object, (jr, r, topic, event, payload) => {
        const text = JSON.stringify([jr, r, topic, event, payload]);
        expect(v2JsonSerializer.decode(text)).toEqual({
          ok: true,
          value: { join_ref: jr, ref: r, topic, event, payload },
        });
        expect(
          v2JsonSerializer.encodeMessage({ join_ref: jr, ref: r, topic, event, payload }),
        ).toBe(text);
      }),
    );
  });

  it("rejects malformed frames with a typed error", () => {
    const cases: [string, string][] = [
      ["not json", "invalid_json"],
      ["{}", "invalid_shape"],
      ['["1","1","t","e"]', "invalid_shape"],
      ['[1.5,"1","t","e",{}]', "invalid_field"],
      ['["1",{},"t","e",{}]', "invalid_field"],
      ['["1","1","","e",{}]', "invalid_field"],
      ['["1","1","t",7,{}]', "invalid_field"],
    ];
    for (const [text, kind] of cases) {
      const r = v2JsonSerializer.decode(text);
      expect(r.ok, text).toBe(false);
      if (!r.ok) expect(r.error.kind, text).toBe(kind);
    }
  });

  it("accepts integer refs as strings", () => {
    const r = v2JsonSerializer.decode('[null,6,"phoenix","heartbeat",{}]');
    expect(r.ok && r.value.ref).toBe("6");
  });

  it("never throws on arbitrary text", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), (text) => {
        v2JsonSerializer.decode(text);
        v1JsonSerializer.decode(text);
      }),
      // `npm run fuzz` sets FUZZ_RUNS for a long run.
      { numRuns: Number(process.env.FUZZ_RUNS ?? 100) },
    );
  });
});

describe("V1 JSON serializer", () => {
  it("writes objects with exactly topic, event, payload and ref", () => {
    const text = v1JsonSerializer.encodeReply({
      join_ref: "1",
      ref: "2",
      topic: "t",
      status: "ok",
      response: { a: 1 },
    });
    expect(JSON.parse(text as string)).toEqual({
      topic: "t",
      event: "phx_reply",
      payload: { status: "ok", response: { a: 1 } },
      ref: "2",
    });
    expect(
      JSON.parse(
        v1JsonSerializer.encodeBroadcast({ topic: "t", event: "e", payload: {} }) as string,
      ),
    ).toEqual({ topic: "t", event: "e", payload: {}, ref: null });
  });

  it("requires every key and reads an optional join_ref", () => {
    const missing = v1JsonSerializer.decode('{"topic":"t","event":"e","payload":{}}');
    expect(missing.ok).toBe(false);
    const ok = v1JsonSerializer.decode('{"topic":"t","event":"e","payload":{},"ref":"1"}');
    expect(ok.ok && ok.value).toEqual({
      join_ref: null,
      ref: "1",
      topic: "t",
      event: "e",
      payload: {},
    });
  });

  it("has no binary frames", () => {
    expect(v1JsonSerializer.decode(Uint8Array.of(0)).ok).toBe(false);
    expect(() =>
      v1JsonSerializer.encodeBroadcast({ topic: "t", event: "e", payload: Uint8Array.of(1) }),
    ).toThrow(/binary/);
  });
});

describe("version negotiation", () => {
  it("follows Phoenix's defaults", () => {
    expect(serializerForVsn("2.0.0")).toBe(v2JsonSerializer);
    expect(serializerForVsn("2.0.9")).toBe(v2JsonSerializer);
    expect(serializerForVsn("1.0.0")).toBe(v1JsonSerializer);
    expect(serializerForVsn(undefined)).toBe(v1JsonSerializer);
    expect(serializerForVsn("2.1.0")).toBeNull();
    expect(serializerForVsn("3.0.0")).toBeNull();
    expect(serializerForVsn("garbage")).toBeNull();
  });
});
