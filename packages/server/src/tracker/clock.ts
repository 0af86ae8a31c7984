/**
 * Vector clock math for the tracker.
 *
 * A clock (also called a context) maps a replica id to the highest contiguous clock value
 * observed from that replica. Clocks are plain objects so they travel as JSON unchanged.
 * Replica ids always contain `#` (see `replica.ts`), so they never collide with
 * `Object.prototype` members; lookups still go through `Object.hasOwn` for safety.
 */

/** A vector clock: replica id -> highest contiguous clock seen from that replica. */
export type Context = { readonly [replica: string]: number };

/** A replica's advertised clock, as collected from heartbeats for anti-entropy. */
export interface ReplicaClock {
  readonly replica: string;
  readonly clock: Context;
}

/** The maximal clocks among those collected; see {@link appendClock}. */
export type ClockSet = readonly ReplicaClock[];

/** The clock value `clock` holds for `replica`, 0 when it names no such replica. */
export function clockAt(clock: Context, replica: string): number {
  return Object.hasOwn(clock, replica) ? (clock[replica] as number) : 0;
}

/**
 * True when `c1` has seen at least everything `c2` has. A clock with fewer replicas than
 * the other never dominates it, which keeps a freshly joined replica from looking current.
 */
export function dominates(c1: Context, c2: Context): boolean {
  const replicas = Object.keys(c2);
  if (Object.keys(c1).length < replicas.length) return false;
  return replicas.every((replica) => clockAt(c1, replica) >= clockAt(c2, replica));
}

/**
 * True when `c1` has seen at least everything `c2` has of the replicas `c1` names: a
 * peer's news of replicas not met yet is left out, those introduce themselves.
 */
export function coversKnown(c1: Context, c2: Context): boolean {
  return Object.keys(c2).every(
    (replica) => !Object.hasOwn(c1, replica) || (c1[replica] as number) >= (c2[replica] as number),
  );
}

/**
 * True when, for every replica `c1` names, `c1` is at least `c2` (missing counts as 0).
 *
 * Replicas only `c2` names are deliberately not compared: delta ranges from different
 * replicas (for example our own and a remote one) must count as touching so that delta
 * generations can combine them.
 */
export function dominatesOrEqual(c1: Context, c2: Context): boolean {
  const replicas = Object.keys(c1);
  if (replicas.length === 0) return Object.keys(c2).length === 0;
  return replicas.every((replica) => clockAt(c1, replica) >= clockAt(c2, replica));
}

function combine(c1: Context, c2: Context, pick: (a: number, b: number) => number): Context {
  const out: Record<string, number> = { ...c1 };
  for (const [replica, clock] of Object.entries(c2)) {
    out[replica] = Object.hasOwn(out, replica) ? pick(out[replica] as number, clock) : clock;
  }
  return out;
}

/** Pointwise maximum; a replica present in one clock only keeps its value. */
export function upperbound(c1: Context, c2: Context): Context {
  return combine(c1, c2, Math.max);
}

/** Pointwise minimum; a replica present in one clock only keeps its value. */
export function lowerbound(c1: Context, c2: Context): Context {
  return combine(c1, c2, Math.min);
}

/** The part of `clock` about the given replicas. */
export function filterReplicas(clock: Context, replicas: Iterable<string>): Context {
  const out: Record<string, number> = {};
  for (const replica of replicas) {
    if (Object.hasOwn(clock, replica)) out[replica] = clock[replica] as number;
  }
  return out;
}

/**
 * Adds a replica's clock to a clock set, keeping only clocks that are not covered by the
 * others. Anti-entropy asks for transfers only from the replicas left in the set, so a
 * clock already covered by the union of the set is dropped: those replicas can provide it.
 */
export function appendClock(set: ClockSet, entry: ReplicaClock): ClockSet {
  if (Object.keys(entry.clock).length === 0) return set;
  const union = set.reduce<Context>((acc, member) => upperbound(acc, member.clock), {});
  if (dominates(entry.clock, union)) return [entry];
  if (dominates(union, entry.clock)) return set;
  const kept = set.filter((member) => !dominates(entry.clock, member.clock));
  return kept.some((member) => dominates(member.clock, entry.clock)) ? kept : [...kept, entry];
}

/** The replicas whose clocks are in the set. */
export function clockSetReplicas(set: ClockSet): string[] {
  return set.map((member) => member.replica);
}
