import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LongPollSession } from "../src/long-poll-session.js";
import type { PollAnswer } from "../src/long-poll-wire.js";

type Op =
  | { kind: "send"; text: string }
  | { kind: "sendBytes"; bytes: Uint8Array }
  | { kind: "poll" }
  | { kind: "close"; code: number }
  | { kind: "terminate" };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.string().map((text) => ({ kind: "send" as const, text })) },
  {
    weight: 1,
    arbitrary: fc
      .uint8Array({ maxLength: 8 })
      .map((bytes) => ({ kind: "sendBytes" as const, bytes })),
  },
  { weight: 3, arbitrary: fc.constant({ kind: "poll" as const }) },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 1000, max: 4999 })
      .map((code) => ({ kind: "close" as const, code })),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "terminate" as const }) },
);

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe("LongPollSession", () => {
  it("hands over what was sent in order, once, until a close; then tells the close", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 40 }), async (ops) => {
        const session = new LongPollSession("t", 60_000, 0);
        const answers: PollAnswer[] = [];
        const expected: string[] = [];
        let closeCode: number | undefined;
        let dropped = false;
        for (const o of ops) {
          if (o.kind === "send") {
            session.send(o.text);
            if (closeCode === undefined) expected.push(o.text);
          } else if (o.kind === "sendBytes") {
            session.send(o.bytes);
            if (closeCode === undefined) expected.push(Buffer.from(o.bytes).toString("base64"));
          } else if (o.kind === "poll") {
            session.poll((answer) => answers.push(answer), 0);
          } else if (o.kind === "close") {
            session.close(o.code, "bye");
            closeCode ??= o.code;
          } else {
            session.terminate();
            // What was queued and not taken yet is lost, as with a WebSocket cut.
            if (closeCode === undefined) closeCode = 1006;
            dropped = true;
          }
          await turn();
        }
        // The server stopping: the session is cut, a waiting poll answered.
        if (closeCode === undefined) {
          closeCode = 1006;
          dropped = true;
        }
        session.release();
        await turn();
        const delivered = answers.flatMap((a) => (a.status === 200 ? [...(a.messages ?? [])] : []));
        expect(delivered).toEqual(expected.slice(0, delivered.length));
        const gone = answers.findIndex((a) => a.status === 410);
        // Told of a close it asked for, the client has had everything sent before it.
        if (gone >= 0 && !dropped) expect(delivered).toEqual(expected);
        // Nothing after the close's answer, which carries the first close's code.
        if (gone >= 0) {
          expect(answers.slice(gone + 1).every((a) => a.status !== 200)).toBe(true);
          expect(answers[gone]!.close?.code).toBe(closeCode);
        }
        for (const a of answers) expect([200, 204, 410]).toContain(a.status);
      }),
      { numRuns: 200 },
    );
  });

  it("counts what is queued as bufferedAmount, in bytes, until a poll takes it", () => {
    const session = new LongPollSession("t", 60_000, 0);
    session.send("é");
    session.send(Uint8Array.of(1, 2, 3));
    expect(session.bufferedAmount).toBe(2 + 4);
    const answers: PollAnswer[] = [];
    session.poll((answer) => answers.push(answer), 0);
    expect(answers).toEqual([{ status: 200, token: "t", messages: ["é", "AQID"] }]);
    expect(session.bufferedAmount).toBe(0);
  });
});
