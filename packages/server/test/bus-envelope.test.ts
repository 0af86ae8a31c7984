import type { JsonObject } from "@tandem/protocol";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  decodeEnvelope,
  type Envelope,
  EnvelopeError,
  encodeEnvelope,
  MAX_ENVELOPE_FIELD_BYTES,
} from "../src/index.js";

// Well-formed Unicode, astral planes and combining marks included (lone surrogates
// have no UTF-8 form, so no transport could carry them).
const text = fc.string({ unit: "grapheme", maxLength: 40 });
// fast-check types its JSON values a little differently; the values are the same.
const jsonObject = fc.dictionary(text, fc.jsonValue({ maxDepth: 3 }), {
  maxKeys: 6,
}) as fc.Arbitrary<JsonObject>;
const bytes = fc.uint8Array({ maxLength: 300, size: "max" });

function envelopeOf(payload: fc.Arbitrary<JsonObject | Uint8Array>): fc.Arbitrary<Envelope> {
  return fc.record({ origin: text, topic: text, event: text, payload });
}

describe("envelope", () => {
  it("round-trips JSON payloads as JSON would", () => {
    fc.assert(
      fc.property(envelopeOf(jsonObject), (envelope) => {
        const result = decodeEnvelope(encodeEnvelope(envelope));
        expect(result).toEqual({
          ok: true,
          // -0 and the like come back as JSON.stringify makes them.
          value: { ...envelope, payload: JSON.parse(JSON.stringify(envelope.payload)) },
        });
      }),
      { numRuns: 500 },
    );
  });

  it("round-trips binary payloads byte for byte", () => {
    fc.assert(
      fc.property(envelopeOf(bytes), (envelope) => {
        const result = decodeEnvelope(encodeEnvelope(envelope));
        expect(result.ok).toBe(true);
        if (!result.ok) return;
        expect(result.value.payload).toBeInstanceOf(Uint8Array);
        expect(Buffer.from(result.value.payload as Uint8Array)).toEqual(
          Buffer.from(envelope.payload as Uint8Array),
        );
        expect(result.value).toMatchObject({
          origin: envelope.origin,
          topic: envelope.topic,
          event: envelope.event,
        });
      }),
      { numRuns: 500 },
    );
  });

  it("keeps a JSON object payload apart from bytes that spell the same JSON", () => {
    const json = { topic: "t", event: "e", origin: "n", payload: { a: 1 } };
    const raw = { ...json, payload: new TextEncoder().encode('{"a":1}') };
    expect(decodeEnvelope(encodeEnvelope(json))).toMatchObject({ value: { payload: { a: 1 } } });
    const decoded = decodeEnvelope(encodeEnvelope(raw));
    expect(decoded.ok && decoded.value.payload).toBeInstanceOf(Uint8Array);
  });

  it("copies a binary payload out of the buffer it was read from", () => {
    const wire = encodeEnvelope({ origin: "n", topic: "t", event: "e", payload: Uint8Array.of(7) });
    const decoded = decodeEnvelope(wire);
    wire.fill(0);
    expect(decoded.ok && Array.from(decoded.value.payload as Uint8Array)).toEqual([7]);
  });

  it("never throws on arbitrary bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (input) => {
        const result = decodeEnvelope(input);
        if (!result.ok) expect(result.error).toBeInstanceOf(EnvelopeError);
      }),
      { numRuns: 2000 },
    );
  });

  it("never throws on a valid envelope with bytes flipped, cut or appended", () => {
    const mutation = fc.record({
      at: fc.nat(),
      value: fc.integer({ min: 0, max: 255 }),
      cut: fc.nat(),
      tail: fc.uint8Array({ maxLength: 8 }),
    });
    fc.assert(
      fc.property(envelopeOf(fc.oneof(jsonObject, bytes)), mutation, (envelope, m) => {
        const wire = encodeEnvelope(envelope);
        wire[m.at % wire.length] = m.value;
        const mangled = Buffer.concat([wire.subarray(0, m.cut % (wire.length + 1)), m.tail]);
        const result = decodeEnvelope(mangled);
        if (!result.ok) expect(result.error).toBeInstanceOf(EnvelopeError);
      }),
      { numRuns: 2000 },
    );
  });

  it("names what is wrong with bad input", () => {
    const good = encodeEnvelope({ origin: "n", topic: "t", event: "e", payload: { a: 1 } });
    const kind = (input: Uint8Array) => {
      const result = decodeEnvelope(input);
      return result.ok ? "ok" : result.error.kind;
    };
    expect(kind(good.subarray(0, 5))).toBe("truncated");
    expect(kind(Buffer.concat([good.subarray(0, 8), Buffer.from("n")]))).toBe("truncated");
    expect(kind(Buffer.from([9, ...good.subarray(1)]))).toBe("unknown_version");
    expect(kind(Buffer.from([1, 2, ...good.subarray(2)]))).toBe("unknown_flags");
    expect(kind(Buffer.from([...good.subarray(0, 8), 0xff, ...good.subarray(9)]))).toBe(
      "invalid_utf8",
    );
    const withPayload = (payload: string) =>
      Buffer.concat([good.subarray(0, good.length - 7), Buffer.from(payload)]);
    expect(kind(withPayload("{nope"))).toBe("invalid_json");
    expect(kind(withPayload("[1,2]"))).toBe("not_an_object");
    expect(kind(withPayload("null"))).toBe("not_an_object");
    expect(kind(Buffer.concat([withPayload(""), Buffer.from([0xc3])]))).toBe("invalid_utf8");
  });

  it("refuses to wrap a field longer than a u16 length can say", () => {
    const topic = "é".repeat(MAX_ENVELOPE_FIELD_BYTES / 2 + 1);
    expect(() => encodeEnvelope({ origin: "n", topic, event: "e", payload: {} })).toThrow(
      EnvelopeError,
    );
    const longest = "x".repeat(MAX_ENVELOPE_FIELD_BYTES);
    const result = decodeEnvelope(
      encodeEnvelope({ origin: "n", topic: longest, event: "e", payload: {} }),
    );
    expect(result.ok && result.value.topic).toBe(longest);
  });
});
