/**
 * Shallow equality, for the `isEqual` of selector hooks such as `useOthers`: arrays with
 * the same items in order, or plain objects with the same keys and values, compared with
 * `Object.is`; anything else with `Object.is` itself.
 *
 * @example
 * ```ts
 * const statuses = useOthers((others) => others.map((o) => o.presence.status), shallow);
 * ```
 */
export function shallow(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => Object.is(item, b[i]));
  }
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  if (keysA.length !== keysB.length) return false;
  const recordA = a as Record<string, unknown>;
  const recordB = b as Record<string, unknown>;
  return keysA.every((key) => Object.hasOwn(recordB, key) && Object.is(recordA[key], recordB[key]));
}
