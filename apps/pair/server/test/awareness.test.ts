import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Awareness, encodeAwarenessUpdate } from "y-protocols/awareness";
import * as Y from "yjs";
import { decodeAwareness, encodeAwareness } from "../src/docs/awareness.js";

const runs = { numRuns: Number(process.env.FUZZ_RUNS ?? 200) };
const state = fc.option(fc.dictionary(fc.string(), fc.jsonValue()), { nil: null });

describe("awareness codec", () => {
  it("reads what y-protocols writes, and writes what it reads", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), state, (clientId, local) => {
        const doc = new Y.Doc();
        doc.clientID = clientId;
        const awareness = new Awareness(doc);
        awareness.setLocalState(local);
        const bytes = encodeAwarenessUpdate(awareness, [clientId]);
        const entries = decodeAwareness(bytes);
        expect(entries).toEqual([
          { clientId, clock: expect.any(Number), state: JSON.parse(JSON.stringify(local)) },
        ]);
        expect(encodeAwareness(entries)).toEqual(bytes);
        awareness.destroy();
      }),
      runs,
    );
  });

  it("either refuses bytes or decodes them into entries that re-encode to the same bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        let entries: ReturnType<typeof decodeAwareness>;
        try {
          entries = decodeAwareness(bytes);
        } catch {
          return;
        }
        for (const { state } of entries) {
          expect(state === null || (typeof state === "object" && !Array.isArray(state))).toBe(true);
        }
        expect(decodeAwareness(encodeAwareness(entries))).toEqual(entries);
      }),
      runs,
    );
  });
});
