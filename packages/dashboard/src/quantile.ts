/**
 * Counts of a histogram read at one moment: `counts[i]` observations were at most
 * `bounds[i]`, cumulatively, and `total` observations in all (the +Inf bucket).
 */
export interface HistogramReading {
  readonly bounds: readonly number[];
  readonly counts: readonly number[];
  readonly total: number;
}

/**
 * The `q` quantile (0..1) of what a histogram observed between two readings, estimated
 * as Prometheus's `histogram_quantile` does: linearly inside the bucket it falls in, the
 * first bucket starting at 0, and the highest finite bound when it falls past them all.
 * Null when nothing was observed in between.
 */
export function intervalQuantile(
  q: number,
  before: HistogramReading,
  after: HistogramReading,
): number | null {
  const total = after.total - before.total;
  if (total <= 0) return null;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (let i = 0; i < after.bounds.length; i++) {
    const upper = after.bounds[i]!;
    const cumulative = (after.counts[i] ?? 0) - (before.counts[i] ?? 0);
    if (cumulative >= rank && cumulative > below) {
      return lower + ((upper - lower) * (rank - below)) / (cumulative - below);
    }
    lower = upper;
    below = cumulative;
  }
  return lower;
}
