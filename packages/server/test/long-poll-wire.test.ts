import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  connectParamsOf,
  MAX_BATCH_MESSAGES,
  pollMessage,
  sessionTokenOf,
  splitBatch,
} from "../src/long-poll-wire.js";

const NDJSON = "application/x-ndjson";

/** A text message as a client encodes one: a JSON array, on one line. */
const textMessage = fc
  .tuple(fc.option(fc.string()), fc.string(), fc.string(), fc.jsonValue())
  .map((parts) => JSON.stringify(parts));

const message = fc.oneof(
  textMessage.map((data) => ({ binary: false as const, data })),
  fc.uint8Array({ minLength: 1, maxLength: 64 }).map((bytes) => ({
    binary: true as const,
    data: Buffer.from(bytes),
  })),
);

describe("splitBatch", () => {
  it("gives back the messages a client joined with newlines, binary ones from base64", () => {
    fc.assert(
      fc.property(
        fc.array(message, { maxLength: MAX_BATCH_MESSAGES }),
        fc.constantFrom("\n", "\r\n"),
        (messages, separator) => {
          const lines = messages.map((m) => (m.binary ? m.data.toString("base64") : m.data));
          const batch = splitBatch(lines.join(separator), NDJSON);
          expect(batch).toEqual({ ok: true, messages });
        },
      ),
      { numRuns: 300 },
    );
  });

  it("takes any other content type as one text message", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), (body) => {
        expect(splitBatch(body, "text/plain")).toEqual({
          ok: true,
          messages: [{ binary: false, data: body }],
        });
      }),
    );
  });

  it("refuses more messages than the client sends at once", () => {
    const lines = Array.from({ length: MAX_BATCH_MESSAGES + 1 }, () => "[]");
    expect(splitBatch(lines.join("\n"), NDJSON)).toEqual({ ok: false, error: "too many messages" });
    expect(splitBatch(lines.slice(1).join("\n"), NDJSON).ok).toBe(true);
  });

  it("refuses a line that is neither JSON text nor padded base64", () => {
    for (const line of ["not base64!", "abc", "ab=c", "{}"]) {
      expect(splitBatch(line, `${NDJSON}; charset=utf-8`)).toEqual({
        ok: false,
        error: "invalid base64",
      });
    }
  });
});

describe("pollMessage", () => {
  it("carries text as it is and bytes in base64", () => {
    fc.assert(
      fc.property(fc.string(), fc.uint8Array(), (text, bytes) => {
        expect(pollMessage(text)).toBe(text);
        expect(Buffer.from(pollMessage(bytes), "base64")).toEqual(Buffer.from(bytes));
      }),
    );
  });
});

describe("the token and the connect params of a request", () => {
  it("takes the header first, else the last token param", () => {
    const url = new URL("http://h/socket/longpoll?token=user&vsn=2.0.0&token=session");
    expect(sessionTokenOf(undefined, url)).toBe("session");
    expect(sessionTokenOf("header", url)).toBe("header");
    expect(sessionTokenOf(undefined, new URL("http://h/?vsn=2.0.0"))).toBeNull();
  });

  it("keeps the first value of each param, so a session token does not replace the app's", () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ minLength: 1 }), fc.string()),
        fc.string(),
        (params, session) => {
          const url = new URL("http://h/socket/longpoll");
          for (const [key, value] of Object.entries(params)) url.searchParams.append(key, value);
          url.searchParams.append("token", session);
          const expected = "token" in params ? params : { ...params, token: session };
          expect(connectParamsOf(url)).toEqual(expected);
        },
      ),
    );
  });
});
