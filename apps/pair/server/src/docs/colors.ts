/**
 * The caret and participant colours of CONTRACT.md. The server assigns them per room and
 * writes them into presence metas, as server-owned fields: clients never choose a colour,
 * so nothing a member sends ends up in another member's style attributes.
 */
export const PALETTE = [
  ["#e4572e", "#e4572e33"],
  ["#2e86ab", "#2e86ab33"],
  ["#8e44ad", "#8e44ad33"],
  ["#1b998b", "#1b998b33"],
  ["#d4a017", "#d4a01733"],
  ["#c2185b", "#c2185b33"],
  ["#3f51b5", "#3f51b533"],
  ["#2f9e44", "#2f9e4433"],
] as const;

/** A colour and its translucent variant for selections. */
export interface UserColor {
  color: string;
  colorLight: string;
}

/** Someone already in the room, with the colour they were given. */
export interface ColoredMember {
  readonly userId: number;
  readonly color: string;
}

/**
 * The colour for `userId` joining a room where `members` are: the colour they already
 * have there (another tab of theirs), else the lowest palette slot nobody holds, else
 * (more members than colours) the lowest of the least used slots.
 */
export function roomColor(members: readonly ColoredMember[], userId: number): UserColor {
  const own = members.find((member) => member.userId === userId);
  const ownSlot = own ? PALETTE.findIndex(([color]) => color === own.color) : -1;
  if (ownSlot >= 0) return slotColor(ownSlot);
  const holders = PALETTE.map(() => new Set<number>());
  for (const member of members) {
    const slot = PALETTE.findIndex(([color]) => color === member.color);
    if (slot >= 0) holders[slot]!.add(member.userId);
  }
  let best = 0;
  for (let slot = 1; slot < holders.length; slot++) {
    if (holders[slot]!.size < holders[best]!.size) best = slot;
  }
  return slotColor(best);
}

function slotColor(slot: number): UserColor {
  const [color, colorLight] = PALETTE[slot]!;
  return { color, colorLight };
}
