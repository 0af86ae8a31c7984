/**
 * Delta generations: recent deltas kept so that a replica that missed some heartbeats can
 * catch up with a small delta instead of the whole state.
 *
 * Generation i holds roughly the last `maxSizes[i]` changes (values plus dots), so the
 * first generation is the smallest. Deltas received from peers are pushed too, which lets
 * any replica serve catch-up for changes made elsewhere.
 */
import { type Context, dominates, dominatesOrEqual, filterReplicas } from "./clock.js";
import type { ReplicaId } from "./replica.js";
import {
  type Delta,
  deltaSize,
  extractDelta,
  mergeDeltas,
  removeReplicaFromDelta,
} from "./state.js";

/** Phoenix's default generation caps. */
export const DEFAULT_MAX_DELTA_SIZES: readonly number[] = [100, 1_000, 10_000];

/** Returned by {@link DeltaGenerations.select} when no generation fits the requester. */
export const FULL_STATE = "full_state";

/** A cache of merged recent deltas, one per size cap. */
export class DeltaGenerations {
  private gens: readonly Delta[] = [];

  /** @param maxSizes ascending size caps, one generation each */
  constructor(readonly maxSizes: readonly number[] = DEFAULT_MAX_DELTA_SIZES) {
    if (maxSizes.length === 0 || maxSizes.some((max) => !(max > 0))) {
      throw new RangeError(`generation sizes must be positive, got [${maxSizes.join(", ")}]`);
    }
  }

  /** The generations, smallest first; empty until the first push. */
  get generations(): readonly Delta[] {
    return this.gens;
  }

  /**
   * Adds a delta to every generation it is contiguous with. A generation that would grow
   * past its cap restarts from what the previous (smaller) generation became in this push,
   * so each generation keeps the most recent changes that fit.
   */
  push(delta: Delta): void {
    if (this.gens.length === 0) {
      // Phoenix seeds with copies of the empty pending delta and merges into those; that
      // yields `delta` itself for a local delta, and only a stricter range for a remote one.
      this.gens = this.maxSizes.map(() => delta);
      return;
    }
    let previous = delta;
    this.gens = this.gens.map((gen, i) => {
      const merged = mergeDeltas(gen, delta);
      if (merged === "not_contiguous") {
        previous = gen;
        return gen;
      }
      const next = deltaSize(merged) <= (this.maxSizes[i] as number) ? merged : previous;
      previous = merged;
      return next;
    });
  }

  /**
   * The smallest generation that brings a requester with context `remoteContext` up to
   * date, pruned to the replicas it knows; else {@link FULL_STATE}, meaning "send
   * `state.extract(remoteContext)`". A generation fits when, on the requester's replicas,
   * it is not empty, starts where the requester already is, and ends beyond it.
   */
  select(remoteContext: Context): Delta | typeof FULL_STATE {
    const replicas = Object.keys(remoteContext);
    for (const gen of this.gens) {
      const start = filterReplicas(gen.range.start, replicas);
      const end = filterReplicas(gen.range.end, replicas);
      if (
        !dominatesOrEqual(start, end) &&
        dominatesOrEqual(remoteContext, start) &&
        !dominates(remoteContext, end)
      ) {
        return extractDelta(gen, remoteContext);
      }
    }
    return FULL_STATE;
  }

  /** Drops every generation, after a full-state transfer replaced what they built on. */
  clear(): void {
    this.gens = [];
  }

  /** Forgets a permanently down replica in every generation. */
  removeReplica(replica: ReplicaId): void {
    this.gens = this.gens.map((gen) => removeReplicaFromDelta(gen, replica));
  }
}
