import { RawClient, socketHandler, startServer, type TestServer } from "@tandem/test-support";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// `npm run fuzz` raises this; `npm test` keeps a quick pass.
const RUNS = Number(process.env.FUZZ_RUNS ?? 60);

let server: TestServer;
let witness: RawClient;

beforeAll(async () => {
  // The witness pings once per run; a long run must not trip the per-connection rate limit,
  // which limits.test.ts covers.
  server = await startServer(socketHandler, {
    maxFrameSize: 64 * 1024,
    messageRate: { limit: 1_000_000, intervalMs: 1000 },
  });
  witness = await RawClient.connect(server.url, "vsn=2.0.0&user=witness");
  witness.send(["1", "1", "room:fuzz", "phx_join", {}]);
  await witness.reply("1");
});

afterAll(async () => {
  witness.close();
  await server.close();
});

const validFrame = fc.tuple(
  fc.option(fc.constantFrom("1", "2", "99"), { nil: null }),
  fc.option(fc.string({ maxLength: 5 }), { nil: null }),
  fc.constantFrom("room:fuzz", "room:other", "phoenix", "exact", "nowhere"),
  fc.constantFrom("phx_join", "phx_leave", "ping", "shout", "boom", "heartbeat", "later", "stop"),
  fc.jsonValue({ maxDepth: 4 }),
);

/** Frames a broken or hostile client might send: garbage, near misses and valid ones. */
const hostileFrame: fc.Arbitrary<string | Buffer> = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.json({ maxDepth: 4 }),
  validFrame.map((f) => JSON.stringify(f)),
  // Valid frames with one element replaced by anything.
  fc
    .tuple(validFrame, fc.nat({ max: 6 }), fc.jsonValue({ maxDepth: 2 }))
    .map(([f, i, v]) => JSON.stringify(Object.assign([...f], { [i]: v }))),
  fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
  // Binary pushes with lying length bytes.
  fc
    .tuple(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.uint8Array({ maxLength: 40 }))
    .map(([lengths, rest]) =>
      Buffer.concat([Buffer.of(0), Buffer.from(lengths), Buffer.from(rest)]),
    ),
);

/** What a client may see when it sends a bad frame: an answer, or a clean close. */
const CLEAN_CLOSES = new Set([1000, 1001, 1007, 1008, 1009]);

describe("fuzzing the socket over a real connection", () => {
  it("answers or cleanly closes every hostile sequence, and keeps serving others", async () => {
    let seq = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(hostileFrame, { minLength: 1, maxLength: 8 }), async (frames) => {
        const client = await RawClient.connect(server.url, "vsn=2.0.0&user=fuzzer");
        for (const frame of frames) client.send(frame);
        // A heartbeat after the burst: either it is answered, or the server closed cleanly.
        const ref = `hb${++seq}`;
        client.send([null, ref, "phoenix", "heartbeat", {}]);
        const outcome = await Promise.race([
          client.reply(ref, 5000).then(() => "answered" as const),
          client.closed.then((c) => c.code),
        ]).catch(() => "silent" as const);
        if (typeof outcome === "number")
          expect(CLEAN_CLOSES.has(outcome), `close ${outcome}`).toBe(true);
        else expect(outcome).toBe("answered");
        client.close();
        // The witness on the same server is unaffected.
        const wref = `w${seq}`;
        witness.send(["1", wref, "room:fuzz", "ping", { seq }]);
        expect((await witness.reply(wref))[4]).toEqual({ status: "ok", response: { seq } });
      }),
      { numRuns: RUNS },
    );
  }, 120_000);
});
