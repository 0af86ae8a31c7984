/**
 * How bus names become NATS subjects. Pure: no I/O.
 *
 * A subject is dot-separated tokens; `*` and `>` are wildcards, whitespace is forbidden,
 * and an empty token is invalid. Channel and node names are chosen by others (a node's
 * name may come from the environment), so each name becomes exactly one token: every
 * byte outside `[A-Za-z0-9_-]` is written `=XX` (its UTF-8 byte in upper-case hex), the
 * empty name is `=`. The mapping is injective, so two names never share a subject.
 */

const PLAIN = /^[A-Za-z0-9_-]$/;

/** One subject token for `name`: only `[A-Za-z0-9_=-]`, never empty, never a wildcard. */
export function subjectToken(name: string): string {
  if (name === "") return "=";
  let token = "";
  for (const char of name) {
    if (PLAIN.test(char)) {
      token += char;
      continue;
    }
    for (const byte of Buffer.from(char, "utf8")) {
      token += `=${byte.toString(16).toUpperCase().padStart(2, "0")}`;
    }
  }
  return token;
}

/** The subjects of one cluster, all under the token of `prefix`. */
export interface Subjects {
  /** Where `broadcast` goes: every node listens. */
  readonly broadcast: string;
  /** Where messages for `node` go. */
  direct(node: string): string;
  /** Where messages `publish`ed to `channel` go. */
  channel(channel: string): string;
}

/** `<prefix>.bc`, `<prefix>.node.<name>` and `<prefix>.ch.<channel>`, each name one token. */
export function subjectsFor(prefix: string): Subjects {
  const root = subjectToken(prefix);
  return {
    broadcast: `${root}.bc`,
    direct: (node) => `${root}.node.${subjectToken(node)}`,
    channel: (channel) => `${root}.ch.${subjectToken(channel)}`,
  };
}
