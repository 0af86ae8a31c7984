import { isJsonObject, type JsonObject } from "@tandem/protocol";
import type { Context } from "./clock.js";
import type { ReplicaRef } from "./replica.js";
import type { Delta, Transfer } from "./state.js";
import { MAX_TRANSFER_PARTS, type TransferPart } from "./transfer-parts.js";

/**
 * Events the trackers of a cluster exchange on their bus topic. `alive` and `permdown`
 * go to every node; the others belong to one shard's replication and go to the nodes
 * interested in it, or to one of them.
 */
export const TrackerEvent = {
  alive: "alive",
  heartbeat: "heartbeat",
  leave: "leave",
  transferRequest: "transfer_req",
  transferAck: "transfer_ack",
  transferPart: "transfer_part",
  transferPartAck: "transfer_part_ack",
  permdown: "permdown",
} as const;

/**
 * The node-wide liveness heartbeat, to every node: keeps the sender up everywhere, so
 * its death makes its entries leave in every shard within the down period.
 */
export interface Alive {
  from: ReplicaRef;
  /** The sender's wall clock (ms), to estimate bus lag. */
  sentAt: number;
}

/**
 * One shard's heartbeat, to the nodes interested in it: sent at once when local
 * changes are made (with them as the delta), and every broadcast period or idle
 * interval otherwise.
 */
export interface Heartbeat {
  from: ReplicaRef;
  shard: number;
  /**
   * The sender's context in the shard, for anti-entropy; null in a heartbeat sent at
   * once for local changes, which leaves the comparing to the periodic ones (clocks
   * would be most of a small change's bytes).
   */
  clocks: Context | null;
  delta: Delta | null;
  /** The sender's wall clock (ms), to estimate bus lag. */
  sentAt: number;
}

/**
 * The sender stops replicating a shard: it holds no entries there any more, and any
 * of its entries a receiver still holds there are stale.
 */
export interface Leave {
  from: ReplicaRef;
  shard: number;
}

/** Asks one peer for what we are missing in a shard. */
export interface TransferRequest {
  from: ReplicaRef;
  shard: number;
  clocks: Context;
}

/** The answer: the smallest delta generation that covers the gap, or the full state. */
export interface TransferAck {
  from: ReplicaRef;
  shard: number;
  payload: Delta | Transfer;
}

/**
 * One part of a full state too big for one message, answering a {@link TransferRequest}.
 * The requester merges the transfer once it holds every part.
 */
export interface TransferPartMessage {
  from: ReplicaRef;
  shard: number;
  part: TransferPart;
}

/**
 * The requester has received part `index` of transfer `id`: the sender may send one
 * more. Parts in flight are bounded by these acknowledgements, not by the sender's pace.
 */
export interface TransferPartAck {
  from: ReplicaRef;
  shard: number;
  id: number;
  index: number;
}

/** A node leaving on purpose: drop its entries now. */
export interface Permdown {
  from: ReplicaRef;
}

/*
 * Bus messages come from other processes: check their shape before the CRDT sees them,
 * so a corrupt or foreign message is dropped instead of crashing the node.
 */

function isRef(value: unknown): value is ReplicaRef {
  return (
    isJsonObject(value) &&
    typeof value.name === "string" &&
    typeof value.vsn === "number" &&
    Number.isSafeInteger(value.vsn) &&
    value.vsn >= 0
  );
}

function isContext(value: unknown): value is Context {
  return (
    isJsonObject(value) &&
    Object.values(value).every((c) => typeof c === "number" && Number.isSafeInteger(c) && c >= 0)
  );
}

function isClouds(value: unknown): boolean {
  return (
    isJsonObject(value) &&
    Object.values(value).every(
      (dots) =>
        Array.isArray(dots) && dots.every((d) => typeof d === "number" && Number.isSafeInteger(d)),
    )
  );
}

function isEntry(value: unknown): boolean {
  return (
    isJsonObject(value) &&
    typeof value.owner === "string" &&
    typeof value.topic === "string" &&
    typeof value.key === "string" &&
    isJsonObject(value.meta) &&
    isJsonObject(value.tag) &&
    typeof value.tag.replica === "string" &&
    typeof value.tag.clock === "number" &&
    Number.isSafeInteger(value.tag.clock)
  );
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function isPart(value: unknown): value is TransferPart {
  return (
    isJsonObject(value) &&
    isCount(value.id) &&
    isCount(value.index) &&
    isCount(value.count) &&
    value.index < value.count &&
    value.count <= MAX_TRANSFER_PARTS &&
    isContext(value.context) &&
    isClouds(value.clouds) &&
    Array.isArray(value.values) &&
    value.values.every(isEntry)
  );
}

function isPayload(value: unknown): value is Delta | Transfer {
  if (!isJsonObject(value) || !isClouds(value.clouds)) return false;
  if (!Array.isArray(value.values) || !value.values.every(isEntry)) return false;
  if (value.kind === "delta") {
    return isJsonObject(value.range) && isContext(value.range.start) && isContext(value.range.end);
  }
  return value.kind === "transfer" && isContext(value.context);
}

/** Checks a shard number against the shard count: bus messages name shards as numbers. */
function isShard(value: unknown, shards: number): value is number {
  return isCount(value) && value < shards;
}

export function parseAlive(p: JsonObject): Alive | null {
  return isRef(p.from) && typeof p.sentAt === "number" ? { from: p.from, sentAt: p.sentAt } : null;
}

export function parseHeartbeat(p: JsonObject, shards: number): Heartbeat | null {
  if (!isRef(p.from) || !isShard(p.shard, shards)) return null;
  if (!(p.clocks === null || isContext(p.clocks)) || typeof p.sentAt !== "number") return null;
  if (p.delta !== null && !(isPayload(p.delta) && p.delta.kind === "delta")) return null;
  const delta = p.delta as Delta | null;
  const clocks = p.clocks as Context | null;
  return { from: p.from, shard: p.shard, clocks, delta, sentAt: p.sentAt };
}

export function parseLeave(p: JsonObject, shards: number): Leave | null {
  return isRef(p.from) && isShard(p.shard, shards) ? { from: p.from, shard: p.shard } : null;
}

export function parseTransferRequest(p: JsonObject, shards: number): TransferRequest | null {
  return isRef(p.from) && isShard(p.shard, shards) && isContext(p.clocks)
    ? { from: p.from, shard: p.shard, clocks: p.clocks }
    : null;
}

export function parseTransferAck(p: JsonObject, shards: number): TransferAck | null {
  return isRef(p.from) && isShard(p.shard, shards) && isPayload(p.payload)
    ? { from: p.from, shard: p.shard, payload: p.payload }
    : null;
}

export function parseTransferPart(p: JsonObject, shards: number): TransferPartMessage | null {
  return isRef(p.from) && isShard(p.shard, shards) && isPart(p.part)
    ? { from: p.from, shard: p.shard, part: p.part }
    : null;
}

export function parseTransferPartAck(p: JsonObject, shards: number): TransferPartAck | null {
  return isRef(p.from) && isShard(p.shard, shards) && isCount(p.id) && isCount(p.index)
    ? { from: p.from, shard: p.shard, id: p.id, index: p.index }
    : null;
}

export function parsePermdown(p: JsonObject): Permdown | null {
  return isRef(p.from) ? { from: p.from } : null;
}
