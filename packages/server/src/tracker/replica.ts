/**
 * Replica identity. A replica is one incarnation of a tracker: a node name plus a
 * version chosen at start. A restarted node picks a new version and is therefore a new
 * replica, so the entries of its previous life can be purged without confusing the two.
 */

/** A replica's identity: the node name and the version of this incarnation. */
export interface ReplicaRef {
  /** The node's name on the cluster bus (`PubSub.nodeName`). */
  readonly name: string;
  /** Chosen once per start; a safe non-negative integer. */
  readonly vsn: number;
}

/**
 * The stable string form of a {@link ReplicaRef}, `name#vsn`, used as the key in clocks,
 * clouds and tags. The version has no `#`, so the last `#` always separates the two.
 */
export type ReplicaId = string;

/** Whether a replica's entries are visible (`up`) or hidden until it returns (`down`). */
export type ReplicaStatus = "up" | "down";

let lastVsn = 0;

/**
 * A new replica ref for `name`. The version is the wall clock in microseconds, bumped when
 * needed so that two refs made by one process never share a version.
 */
export function newReplicaRef(name: string, nowMs: number = Date.now()): ReplicaRef {
  lastVsn = Math.max(lastVsn + 1, Math.floor(nowMs * 1000));
  return { name, vsn: lastVsn };
}

/** The stable id of a replica ref. */
export function replicaId(ref: ReplicaRef): ReplicaId {
  if (!Number.isSafeInteger(ref.vsn) || ref.vsn < 0) {
    throw new RangeError(`replica vsn must be a non-negative safe integer, got ${ref.vsn}`);
  }
  return `${ref.name}#${ref.vsn}`;
}

/** The ref a {@link replicaId} was made from. Throws on a string that is not an id. */
export function parseReplicaId(id: ReplicaId): ReplicaRef {
  const match = /^(.*)#(\d+)$/s.exec(id);
  const vsn = Number(match?.[2]);
  if (!match || !Number.isSafeInteger(vsn)) {
    throw new SyntaxError(`not a replica id: ${JSON.stringify(id)}`);
  }
  return { name: match[1] as string, vsn };
}
