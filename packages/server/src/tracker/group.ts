import type { ClockSet } from "./clock.js";
import { DeltaGenerations } from "./delta-generation.js";
import type { ReplicaRef } from "./replica.js";
import { TrackerState } from "./state.js";
import type { TransferAssembly, TransferPart } from "./transfer-parts.js";

/** A transfer this node sends in parts, paced by the requester's acknowledgements. */
export interface OutgoingTransfer {
  readonly to: ReplicaRef;
  readonly id: number;
  readonly parts: readonly TransferPart[];
  sent: number;
  readonly acked: Set<number>;
  progressAt: number;
}

/** A transfer this node receives in parts. */
export interface IncomingTransfer {
  readonly from: ReplicaRef;
  readonly assembly: TransferAssembly;
  progressAt: number;
}

/** A peer replicating the same shard, and when this node last heard of it there. */
export interface Member {
  readonly ref: ReplicaRef;
  heardAt: number;
}

/**
 * One shard's replication group on this node: the CRDT of the shard's topics and
 * everything Phoenix.Tracker keeps per replica (delta generations, clocks to compare,
 * transfers), between the nodes interested in the shard. Plain data; the tracker runs it.
 *
 * Invariant: the state knows a replica other than this one exactly when `members` holds
 * it, so node-wide liveness verdicts reach the groups through `members`.
 */
export interface Group {
  readonly shard: number;
  readonly state: TrackerState;
  readonly generations: DeltaGenerations;
  /** The peers of this shard, by node name. */
  readonly members: Map<string, Member>;
  /** Transfers being sent in parts, by requester name. */
  readonly outgoing: Map<string, OutgoingTransfer>;
  /** Transfers being received in parts, by sender name. */
  readonly incoming: Map<string, IncomingTransfer>;
  /** When each peer was last asked for a transfer, or last sent a part of one. */
  readonly asked: Map<string, number>;
  pendingClocks: ClockSet;
  silentPeriods: number;
  /** Whether a peer has shown (in its clocks) that it knows this replica here. */
  known: boolean;
  /** Taken up and not announced yet: the next heartbeat carries this node's own state. */
  announcing: boolean;
  /** Ticks since this node took the shard up. */
  ticks: number;
  /** Entries this node tracks in the shard. */
  local: number;
  /** Releases the hold this group keeps on the shard while it has local entries. */
  release: (() => void) | undefined;
}

/** A new, empty group whose own clock starts at `clock`. */
export function newGroup(
  shard: number,
  replica: ReplicaRef,
  clock: number,
  maxDeltaSizes: readonly number[],
): Group {
  return {
    shard,
    state: new TrackerState(replica, clock),
    generations: new DeltaGenerations(maxDeltaSizes),
    members: new Map(),
    outgoing: new Map(),
    incoming: new Map(),
    asked: new Map(),
    pendingClocks: [],
    silentPeriods: 0,
    known: false,
    announcing: false,
    ticks: 0,
    local: 0,
    release: undefined,
  };
}
