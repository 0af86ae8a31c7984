import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type IncomingMessage, type OutgoingMessage, serializer } from "../src/index.js";

const encode = (msg: OutgoingMessage): string | ArrayBuffer => {
  let out: string | ArrayBuffer = "";
  serializer.encode(msg, (frame) => {
    out = frame;
  });
  return out;
};

const decode = (raw: unknown): IncomingMessage => {
  let out: IncomingMessage | undefined;
  serializer.decode(raw, (msg) => {
    out = msg;
  });
  if (!out) throw new Error("decode did not call back");
  return out;
};

const bytes = (...parts: (number | string)[]): ArrayBuffer => {
  const utf8 = new TextEncoder();
  const chunks = parts.map((p) => (typeof p === "number" ? Uint8Array.of(p) : utf8.encode(p)));
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out.buffer;
};

const hex = (buf: string | ArrayBuffer): number[] => [...new Uint8Array(buf as ArrayBuffer)];

describe("serializer", () => {
  it("JSON-encodes a push as a five-element array", () => {
    const frame = encode({ join_ref: "0", ref: "1", topic: "t", event: "e", payload: { foo: 1 } });
    expect(frame).toBe('["0","1","t","e",{"foo":1}]');
  });

  it("encodes a missing join_ref as null", () => {
    expect(encode({ ref: "1", topic: "phoenix", event: "heartbeat", payload: {} })).toBe(
      '[null,"1","phoenix","heartbeat",{}]',
    );
  });

  it("JSON-decodes a frame into a message", () => {
    expect(decode('["1","2","t","e",{"foo":1}]')).toEqual({
      join_ref: "1",
      ref: "2",
      topic: "t",
      event: "e",
      payload: { foo: 1 },
    });
  });

  it("binary-encodes an ArrayBuffer payload", () => {
    const frame = encode({
      join_ref: "0",
      ref: "1",
      topic: "t",
      event: "e",
      payload: Uint8Array.of(1).buffer,
    });
    expect(frame).toBeInstanceOf(ArrayBuffer);
    expect(hex(frame)).toEqual(hex(bytes(0, 1, 1, 1, 1, "0", "1", "t", "e", 1)));
  });

  it("encodes variable length segments", () => {
    const frame = encode({
      join_ref: "10",
      ref: "1",
      topic: "top",
      event: "ev",
      payload: Uint8Array.of(1).buffer,
    });
    expect(hex(frame)).toEqual(hex(bytes(0, 2, 1, 3, 2, "10", "1", "top", "ev", 1)));
  });

  it("encodes non-ASCII fields with their UTF-8 byte lengths", () => {
    const frame = encode({
      join_ref: "🚀",
      ref: "1",
      topic: "room:café",
      event: "π",
      payload: Uint8Array.of(7).buffer,
    });
    expect(hex(frame).slice(0, 5)).toEqual([0, 4, 1, 10, 2]);
  });

  it("throws when a field exceeds 255 UTF-8 bytes, naming the field", () => {
    const msg = { join_ref: "1", ref: "1", topic: "é".repeat(128), event: "e" };
    expect(() => encode({ ...msg, payload: new ArrayBuffer(1) })).toThrow(/topic/);
  });

  it("sends typed arrays as JSON, like phoenix", () => {
    const frame = encode({ join_ref: "1", ref: "1", topic: "t", event: "e", payload: [1] });
    expect(typeof frame).toBe("string");
  });

  it("decodes a binary push, with a null ref and an ArrayBuffer payload", () => {
    const msg = decode(bytes(0, 3, 3, 10, "123", "top", "some-event", 1, 1));
    expect(msg).toMatchObject({ join_ref: "123", ref: null, topic: "top", event: "some-event" });
    expect(msg.payload).toBeInstanceOf(ArrayBuffer);
    expect((msg.payload as ArrayBuffer).byteLength).toBe(2);
  });

  it("decodes a binary reply into phx_reply with status and an ArrayBuffer response", () => {
    const msg = decode(bytes(1, 3, 2, 3, 2, "100", "12", "top", "ok", 1, 1));
    expect(msg).toMatchObject({ join_ref: "100", ref: "12", topic: "top", event: "phx_reply" });
    const payload = msg.payload as { status: string; response: ArrayBuffer };
    expect(payload.status).toBe("ok");
    expect(hex(payload.response)).toEqual([1, 1]);
  });

  it("decodes a binary broadcast with null refs", () => {
    const msg = decode(bytes(2, 3, 10, "top", "some-event", 1, 1));
    expect(msg).toMatchObject({ join_ref: null, ref: null, topic: "top", event: "some-event" });
    expect(hex(msg.payload as ArrayBuffer)).toEqual([1, 1]);
  });

  it("throws on frames that do not decode", () => {
    expect(() => decode("not json")).toThrow(/JSON/);
    expect(() => decode('{"topic":"t"}')).toThrow();
    expect(() => decode(bytes(9, 1))).toThrow(/kind/);
  });

  const field = fc.string({ maxLength: 40 });
  const name = fc.string({ minLength: 1, maxLength: 40 });

  it("round-trips JSON frames (property)", () => {
    fc.assert(
      fc.property(
        fc.option(field, { nil: null }),
        fc.option(field, { nil: null }),
        name,
        name,
        fc.dictionary(fc.string(), fc.jsonValue()),
        (join_ref, ref, topic, event, payload) => {
          const msg = { join_ref, ref, topic, event, payload };
          // JSON cannot tell -0 from 0: compare with what JSON itself keeps.
          expect(decode(encode(msg))).toEqual(JSON.parse(JSON.stringify(msg)));
        },
      ),
    );
  });

  it("round-trips binary pushes through the server's push layout (property)", () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 60 }),
        name,
        name,
        fc.uint8Array({ maxLength: 300 }),
        (joinRef, topic, event, data) => {
          const frame = encode({
            join_ref: joinRef,
            ref: "1",
            topic,
            event,
            payload: data.slice().buffer,
          });
          // Re-shape the client push (which has a ref) into a server push (which has none)
          // to check both directions agree on field layout and payload bytes.
          const view = new Uint8Array(frame as ArrayBuffer);
          const refLength = view[2]!;
          const header = [0, view[1]!, view[3]!, view[4]!];
          const rest = [...view.subarray(5)];
          rest.splice(view[1]!, refLength);
          const msg = decode(Uint8Array.from([...header, ...rest]).buffer);
          expect(msg).toMatchObject({ join_ref: joinRef, ref: null, topic, event });
          expect(hex(msg.payload as ArrayBuffer)).toEqual([...data]);
        },
      ),
    );
  });
});
