import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { distinctDetails, initials, type Someone } from "../src/room/identity.js";
import { roomChanges } from "../src/room/notices.js";

const someone = fc.record({
  firstName: fc.constantFrom("Ada", "ada ", "Bob", "Cy", "Mary Ann"),
  userId: fc.integer({ min: 1, max: 10_000 }),
});

describe("telling people apart", () => {
  it("gives namesakes details that tell them apart, and others none", () => {
    fc.assert(
      fc.property(fc.uniqueArray(someone, { selector: (p) => p.userId, maxLength: 12 }), (raw) => {
        const people: Someone[] = raw.map((p) => ({ ...p, key: String(p.userId) }));
        const details = distinctDetails(people);
        const shown = people.map(
          (p) => `${p.firstName.trim().toLowerCase()} ${details.get(p.key) ?? ""}`,
        );
        expect(new Set(shown).size).toBe(people.length);
        for (const p of people) {
          const name = p.firstName.trim().toLowerCase();
          const namesakes = people.filter((q) => q.firstName.trim().toLowerCase() === name);
          expect(details.has(p.key)).toBe(namesakes.length > 1);
        }
      }),
    );
  });

  it("draws one or two initials, and a mark for a blank name", () => {
    expect(initials("Ada")).toBe("A");
    expect(initials(" mary  ann smith")).toBe("MA");
    expect(initials("   ")).toBe("?");
    fc.assert(
      fc.property(fc.string(), (name) => {
        const drawn = Array.from(initials(name));
        expect(drawn.length).toBeGreaterThanOrEqual(1);
        expect(drawn.length).toBeLessThanOrEqual(2);
      }),
    );
  });
});

describe("room notices", () => {
  it("names exactly those who came and went", () => {
    const room = fc.dictionary(fc.integer({ min: 1, max: 20 }).map(String), fc.string(), {
      maxKeys: 10,
    });
    fc.assert(
      fc.property(room, room, (a, b) => {
        const before = new Map(Object.entries(a));
        const after = new Map(Object.entries(b));
        const { joined, left } = roomChanges(before, after);
        expect(joined).toEqual([...after].filter(([k]) => !before.has(k)).map(([, n]) => n));
        expect(left.length + [...before.keys()].filter((k) => after.has(k)).length).toBe(
          before.size,
        );
        expect(roomChanges(after, after)).toEqual({ joined: [], left: [] });
      }),
    );
  });
});
