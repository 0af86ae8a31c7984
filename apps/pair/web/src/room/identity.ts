/** One user in a room, as far as telling users apart goes. */
export interface Someone {
  readonly key: string;
  readonly firstName: string;
  readonly userId: number;
}

/** The initials of a name for an avatar: the first letter of its first two words. */
export function initials(name: string): string {
  const letters = name
    .trim()
    .split(/\s+/)
    .filter((word) => word !== "")
    .slice(0, 2)
    .map((word) => Array.from(word)[0]!.toUpperCase());
  return letters.length === 0 ? "?" : letters.join("");
}

/**
 * A detail for each user whose first name another user in the room shares (case and
 * surrounding spaces aside): their user number, `#12`, which no one else has. Users with
 * a name of their own get none.
 */
export function distinctDetails(people: readonly Someone[]): Map<string, string> {
  const byName = new Map<string, Someone[]>();
  for (const person of people) {
    const name = person.firstName.trim().toLowerCase();
    byName.set(name, [...(byName.get(name) ?? []), person]);
  }
  const details = new Map<string, string>();
  for (const namesakes of byName.values()) {
    if (namesakes.length < 2) continue;
    for (const person of namesakes) details.set(person.key, `#${person.userId}`);
  }
  return details;
}
