import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type ColoredMember, PALETTE, roomColor } from "../src/docs/colors.js";

/** Users joining one after the other, some of them twice (a second tab). */
function joinAll(userIds: readonly number[]): ColoredMember[] {
  const members: ColoredMember[] = [];
  for (const userId of userIds) members.push({ userId, color: roomColor(members, userId).color });
  return members;
}

describe("room colours", () => {
  it("gives distinct users distinct colours while the palette lasts", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 1000 }), { maxLength: 30 }), (ids) => {
        const members = joinAll(ids);
        const colorOfUser = new Map<number, string>();
        for (const { userId, color } of members) {
          // A user's tabs share one colour.
          expect(colorOfUser.get(userId) ?? color).toBe(color);
          colorOfUser.set(userId, color);
        }
        const users = colorOfUser.size;
        const distinct = new Set(colorOfUser.values()).size;
        expect(distinct).toBe(Math.min(users, PALETTE.length));
      }),
    );
  });

  it("hands out the lowest free slot, so a colour freed by a leaver is reused first", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: 1000 }), { minLength: 2, maxLength: 8 }),
        fc.nat(),
        (ids, pick) => {
          const members = joinAll(ids);
          const leaver = pick % members.length;
          const left = members[leaver]!;
          const rest = members.filter((_, i) => i !== leaver);
          expect(roomColor(rest, 5000).color).toBe(left.color);
        },
      ),
    );
  });

  it("users 1 and 9 look different in the same room", () => {
    const [one, nine] = joinAll([1, 9]);
    expect(one!.color).not.toBe(nine!.color);
  });
});
