/**
 * Topic shards: the unit of interest routing. Every node of a cluster must use the same
 * shard count, or they would disagree about which channel carries a topic.
 */

/**
 * Shards by default: as many as there may be. A shard shared by rooms of nodes that
 * share no room makes each hear and hold the other's room; with a few thousand rooms,
 * 4096 shards left about 10 % of a node's entries in rooms it does not serve
 * (bench/README.md, cluster-scale), 65 536 leave about 1 %. The count costs nothing by
 * itself: a node keeps state and a bus subscription only for the shards it serves.
 */
export const DEFAULT_SHARDS = 65_536;

/** The largest shard count: channel names and per-shard bookkeeping stay small. */
export const MAX_SHARDS = 65_536;

/** Checks a shard count: an integer from 1 to {@link MAX_SHARDS}. */
export function checkShards(shards: number): number {
  if (!Number.isSafeInteger(shards) || shards < 1 || shards > MAX_SHARDS) {
    throw new RangeError(`shards must be an integer from 1 to ${MAX_SHARDS}, got ${shards}`);
  }
  return shards;
}

/** The shard of `topic` among `shards`: FNV-1a over its UTF-16 code units, stable everywhere. */
export function shardOf(topic: string, shards: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < topic.length; i++) {
    hash ^= topic.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % shards;
}

/** The bus channel of a shard, as adapters get it. */
export function shardChannel(shard: number): string {
  return `s${shard}`;
}
