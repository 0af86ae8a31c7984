import type { ReplicaRef } from "./replica.js";

/** What a heartbeat from a peer means for the CRDT. */
export type HeartbeatOutcome =
  /** First heartbeat from this name (or since it was forgotten): bring it up. */
  | { kind: "new" }
  /** Known and up: nothing to do. */
  | { kind: "refresh" }
  /** Known but marked down (a healed partition): bring it up, its entries return. */
  | { kind: "up_again" }
  /** The name restarted with a new vsn: forget the old incarnation, bring the new one up. */
  | { kind: "replaced"; old: ReplicaRef; oldWasUp: boolean };

/** Replicas to mark down, and replicas to forget, after a liveness check. */
export interface LivenessVerdict {
  down: ReplicaRef[];
  permdown: { ref: ReplicaRef; wasUp: boolean }[];
}

interface Peer {
  ref: ReplicaRef;
  up: boolean;
  lastHeartbeatAt: number;
}

/**
 * When each peer was last heard from, keyed by node name. Pure bookkeeping: the caller
 * passes the time and applies the verdicts to the CRDT.
 */
export class Liveness {
  readonly #peers = new Map<string, Peer>();

  /** Records a heartbeat from `ref` at `now`. */
  heartbeat(ref: ReplicaRef, now: number): HeartbeatOutcome {
    const peer = this.#peers.get(ref.name);
    this.#peers.set(ref.name, { ref, up: true, lastHeartbeatAt: now });
    if (!peer) return { kind: "new" };
    if (peer.ref.vsn !== ref.vsn) return { kind: "replaced", old: peer.ref, oldWasUp: peer.up };
    return peer.up ? { kind: "refresh" } : { kind: "up_again" };
  }

  /**
   * Peers silent for longer than `downPeriodMs` go down; those silent for longer than
   * `permdownPeriodMs` are forgotten.
   */
  check(now: number, downPeriodMs: number, permdownPeriodMs: number): LivenessVerdict {
    const verdict: LivenessVerdict = { down: [], permdown: [] };
    for (const [name, peer] of this.#peers) {
      const silence = now - peer.lastHeartbeatAt;
      if (silence > permdownPeriodMs) {
        verdict.permdown.push({ ref: peer.ref, wasUp: peer.up });
        this.#peers.delete(name);
      } else if (silence > downPeriodMs && peer.up) {
        peer.up = false;
        verdict.down.push(peer.ref);
      }
    }
    return verdict;
  }

  /** Forgets `ref` if it is the current incarnation of its name; returns whether it was up. */
  forget(ref: ReplicaRef): boolean | undefined {
    const peer = this.#peers.get(ref.name);
    if (!peer || peer.ref.vsn !== ref.vsn) return undefined;
    this.#peers.delete(ref.name);
    return peer.up;
  }

  /** Whether `ref` is the incarnation of its name that is known now, and up. */
  isUp(ref: ReplicaRef): boolean {
    const peer = this.#peers.get(ref.name);
    return peer?.ref.vsn === ref.vsn && peer.up;
  }

  /** The peers currently known, with their status and when they were last heard from. */
  peers(): { ref: ReplicaRef; up: boolean; lastHeartbeatAt: number }[] {
    return [...this.#peers.values()].map(({ ref, up, lastHeartbeatAt }) => ({
      ref,
      up,
      lastHeartbeatAt,
    }));
  }
}
