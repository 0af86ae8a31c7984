/** Who came and who went between two looks at a room, by presence key. */
export interface RoomChanges {
  joined: string[];
  left: string[];
}

/**
 * The names of those who joined and left between `before` and `after` (maps of presence
 * key to name), each in the order of its map. A user with several tabs is one key, so a
 * second tab is no arrival.
 */
export function roomChanges(
  before: ReadonlyMap<string, string>,
  after: ReadonlyMap<string, string>,
): RoomChanges {
  const joined = [...after].filter(([key]) => !before.has(key)).map(([, name]) => name);
  const left = [...before].filter(([key]) => !after.has(key)).map(([, name]) => name);
  return { joined, left };
}
