import type { Serializer } from "./serializer.js";
import { v1JsonSerializer } from "./v1-json-serializer.js";
import { v2JsonSerializer } from "./v2-json-serializer.js";

/** A version requirement `~> major.minor.0` and the serializer that speaks it. */
export interface SerializerRoute {
  major: number;
  minor: number;
  serializer: Serializer;
}

/** Phoenix's default table: V1 for `~> 1.0.0`, V2 for `~> 2.0.0`. */
export const defaultSerializers: readonly SerializerRoute[] = [
  { major: 1, minor: 0, serializer: v1JsonSerializer },
  { major: 2, minor: 0, serializer: v2JsonSerializer },
];

const SEMVER = /^(\d+)\.(\d+)\.(\d+)(?:[-+].*)?$/;

/**
 * Picks the serializer for a client's `vsn` query parameter. A missing vsn means
 * "1.0.0", as in Phoenix. Returns null for an unparsable or unsupported version, which
 * the server answers with HTTP 403.
 */
export function serializerForVsn(
  vsn: string | null | undefined,
  routes: readonly SerializerRoute[] = defaultSerializers,
): Serializer | null {
  const match = SEMVER.exec(vsn ?? "1.0.0");
  if (!match) return null;
  const major = Number(match[1]);
  const minor = Number(match[2]);
  const route = routes.find((r) => r.major === major && r.minor === minor);
  return route?.serializer ?? null;
}
