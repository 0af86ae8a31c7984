/**
 * The caret and participant colours of CONTRACT.md, picked by user id so each user keeps
 * theirs everywhere. The server writes them into awareness states; clients never choose
 * a colour, so nothing a member sends ends up in another member's style attributes.
 */
const PALETTE = [
  ["#e4572e", "#e4572e33"],
  ["#2e86ab", "#2e86ab33"],
  ["#8e44ad", "#8e44ad33"],
  ["#1b998b", "#1b998b33"],
  ["#d4a017", "#d4a01733"],
  ["#c2185b", "#c2185b33"],
  ["#3f51b5", "#3f51b533"],
  ["#2f9e44", "#2f9e4433"],
] as const;

/** The colour of a user, and a translucent variant for selections. */
export function userColor(userId: number): { color: string; colorLight: string } {
  const [color, colorLight] = PALETTE[Math.abs(userId) % PALETTE.length]!;
  return { color, colorLight };
}
