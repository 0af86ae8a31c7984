import { isJsonObject, type JsonObject } from "@tandem/protocol";
import { type Context, clockAt } from "./clock.js";
import { type ReplicaId, type ReplicaRef, replicaId } from "./replica.js";
import type { Delta, Entry, Transfer } from "./state.js";
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
  /** The sender's changes: a range of its own clock, with removes it relays. */
  delta: Delta | null;
  /**
   * The sender's own entries (`TrackerState.ownState`): with the announcement of
   * a shard taken up, and with the answer to a peer that does not know the sender
   * there, so that neither has to ask for a transfer.
   */
  state: Transfer | null;
  /** The sender's wall clock (ms), to estimate bus lag; only with clocks. */
  sentAt: number | null;
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

/*
 * A heartbeat on the bus leaves out what the receiver can tell without it: absent
 * fields rather than nulls, and the sender's replica id in its delta's range and its
 * state's context, which are about the sender alone. Eager deltas are most of the
 * tracker's messages, and the parts left out were a fifth of one.
 */

/** A heartbeat as the bus carries it. */
export function heartbeatPayload(h: Heartbeat): JsonObject {
  const self = replicaId(h.from);
  const out: Record<string, unknown> = { from: h.from, shard: h.shard };
  if (h.clocks) out.clocks = h.clocks;
  if (h.delta) {
    const { range, clouds, values } = h.delta;
    out.delta = {
      start: clockAt(range.start, self),
      end: clockAt(range.end, self),
      clouds,
      values,
    };
  }
  if (h.state) out.state = { clock: clockAt(h.state.context, self), values: h.state.values };
  if (h.sentAt !== null) out.sentAt = h.sentAt;
  return out as JsonObject;
}

function parseDelta(value: unknown, self: ReplicaId): Delta | null {
  if (!isJsonObject(value) || !isCount(value.start) || !isCount(value.end)) return null;
  if (value.start > value.end || !isClouds(value.clouds)) return null;
  if (!Array.isArray(value.values) || !value.values.every(isEntry)) return null;
  return {
    kind: "delta",
    range: { start: { [self]: value.start }, end: { [self]: value.end } },
    clouds: value.clouds as Delta["clouds"],
    values: value.values as unknown as Entry[],
  };
}

/** A sender's own state: only entries the sender made, or merging it would add others'. */
function parseOwnState(value: unknown, self: ReplicaId): Transfer | null {
  if (!isJsonObject(value) || !isCount(value.clock) || !Array.isArray(value.values)) return null;
  const values = value.values;
  if (
    !values.every((v) => isEntry(v) && (v as { tag: { replica: string } }).tag.replica === self)
  ) {
    return null;
  }
  return {
    kind: "transfer",
    context: { [self]: value.clock },
    clouds: {},
    values: values as unknown as Entry[],
  };
}

export function parseHeartbeat(p: JsonObject, shards: number): Heartbeat | null {
  if (!isRef(p.from) || !isShard(p.shard, shards)) return null;
  const self = replicaId(p.from);
  const clocks = p.clocks === undefined ? null : p.clocks;
  if (!(clocks === null || isContext(clocks))) return null;
  const sentAt = p.sentAt === undefined ? null : p.sentAt;
  if (!(sentAt === null || typeof sentAt === "number")) return null;
  const delta = p.delta === undefined ? null : parseDelta(p.delta, self);
  const state = p.state === undefined ? null : parseOwnState(p.state, self);
  if ((p.delta !== undefined && !delta) || (p.state !== undefined && !state)) return null;
  return { from: p.from, shard: p.shard, clocks, delta, state, sentAt };
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
