import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type OccupantEntry, sameOccupancy, summarizeRoom } from "../src/lobby/occupancy.js";

const entry = fc.record({
  key: fc.integer({ min: 1, max: 6 }).map(String),
  meta: fc.record({
    first_name: fc.constantFrom("Ada", "Bob", "Cy"),
    color: fc.constantFrom("#111111", "#222222"),
  }),
});

describe("room occupancy", () => {
  it("counts each user once however many tabs, and shows at most maxShown", () => {
    fc.assert(
      fc.property(
        fc.array(entry, { maxLength: 20 }),
        fc.integer({ min: 0, max: 5 }),
        (entries, max) => {
          const summary = summarizeRoom(entries as OccupantEntry[], max);
          const users = new Set(entries.map((e) => e.key)).size;
          if (users === 0) {
            expect(summary).toBeNull();
            return;
          }
          expect(summary?.count).toBe(users);
          expect(summary?.members.length).toBe(Math.min(users, max));
          // The first tab of each of the first users, in order.
          const firsts = entries.filter((e, i) => entries.findIndex((f) => f.key === e.key) === i);
          expect(summary?.members.map((m) => m.first_name)).toEqual(
            firsts.slice(0, max).map((e) => e.meta.first_name),
          );
        },
      ),
    );
  });

  it("calls two summaries the same exactly when they would look the same", () => {
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 8 }), fc.array(entry, { maxLength: 8 }), (a, b) => {
        const [x, y] = [
          summarizeRoom(a as OccupantEntry[], 4),
          summarizeRoom(b as OccupantEntry[], 4),
        ];
        expect(sameOccupancy(x, y)).toBe(JSON.stringify(x) === JSON.stringify(y));
      }),
    );
  });
});
