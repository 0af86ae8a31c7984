/**
 * A channel route's topic pattern: an exact topic, or a prefix ending in `*`
 * (`"room:*"` matches `"room:"` and everything after it).
 */
export interface TopicPattern {
  readonly source: string;
  matches(topic: string): boolean;
}

/** Parses a pattern; a `*` anywhere but at the end is a programming error. */
export function topicPattern(source: string): TopicPattern {
  const star = source.indexOf("*");
  if (star === -1) {
    return { source, matches: (topic) => topic === source };
  }
  if (star !== source.length - 1) {
    throw new Error(`channel pattern "${source}": "*" may only be the last character`);
  }
  const prefix = source.slice(0, -1);
  return { source, matches: (topic) => topic.startsWith(prefix) };
}
