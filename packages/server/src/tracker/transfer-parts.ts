/**
 * Full-state transfers split into parts that each fit in one bus message.
 *
 * A transfer's context promises that every change up to it, removes included, is in the
 * transfer. That promise holds for the whole snapshot only: a part merged on its own
 * would apply some removes without recording them as seen, and an older delta or part
 * arriving before the rest could then bring a removed entry back under a context that
 * claims its remove. So parts are reassembled by the receiver and merged as one transfer,
 * exactly as if it had come in one message; a transfer with a part missing is never
 * merged, the receiver's clock stays behind, and anti-entropy asks again.
 *
 * Pure data and algorithms: no timers and no I/O.
 */
import type { Context } from "./clock.js";
import type { ReplicaId } from "./replica.js";
import type { Clouds, Entry, Transfer } from "./state.js";

/** One part of a transfer. Every part carries what it takes to open the reassembly. */
export interface TransferPart {
  /** The transfer this part belongs to; a sender's ids increase. */
  readonly id: number;
  /** This part's position, `0 <= index < count`. */
  readonly index: number;
  readonly count: number;
  /** The whole transfer's context. */
  readonly context: Context;
  /** This part's share of the transfer's cloud dots. */
  readonly clouds: Clouds;
  /** This part's share of the transfer's values. */
  readonly values: readonly Entry[];
}

/**
 * Most parts a receiver accepts in one transfer: bounds what it allocates for one. A
 * terabyte at the default 1 MiB a part, a gigabyte at the smallest bound.
 */
export const MAX_TRANSFER_PARTS = 1_000_000;

/** Parts are measured with a one-digit index and count; each may need 15 digits more. */
const COUNTERS_BYTES = 2 * 15;

/** UTF-8 length of a value's JSON. */
export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value), "utf8");
}

/**
 * Splits `transfer` into parts whose JSON is at most `maxBytes` each, in the order of its
 * values and dots. A single value bigger than that travels alone in a part of its own: an
 * entry cannot be cut. A transfer that fits comes back as one part.
 */
export function splitTransfer(transfer: Transfer, id: number, maxBytes: number): TransferPart[] {
  const base =
    jsonBytes({ id, index: 0, count: 0, context: transfer.context, clouds: {}, values: [] }) +
    COUNTERS_BYTES;
  type Draft = { clouds: Record<ReplicaId, number[]>; values: Entry[]; bytes: number };
  const drafts: Draft[] = [];
  let current: Draft = { clouds: {}, values: [], bytes: base };
  /** Puts a piece costing `cost(part)` bytes into the current part, or into a new one. */
  const put = (cost: (part: Draft) => number, place: (part: Draft) => void): void => {
    const empty = current.bytes === base;
    if (!empty && current.bytes + cost(current) > maxBytes) {
      drafts.push(current);
      current = { clouds: {}, values: [], bytes: base };
    }
    current.bytes += cost(current);
    place(current);
  };

  for (const [replica, dots] of Object.entries(transfer.clouds)) {
    // A part's first dot of a replica also pays for the key, `:[]` and a comma.
    const keyBytes = jsonBytes(replica) + 4;
    for (const dot of dots) {
      const dotBytes = String(dot).length + 1;
      put(
        (part) => (Object.hasOwn(part.clouds, replica) ? dotBytes : keyBytes + dotBytes),
        (part) => {
          const cloud = part.clouds[replica];
          if (cloud) cloud.push(dot);
          else part.clouds[replica] = [dot];
        },
      );
    }
  }
  for (const entry of transfer.values) {
    const entryBytes = jsonBytes(entry) + 1;
    put(
      () => entryBytes,
      (part) => part.values.push(entry),
    );
  }
  drafts.push(current);
  return drafts.map((draft, index) => ({
    id,
    index,
    count: drafts.length,
    context: transfer.context,
    clouds: draft.clouds,
    values: draft.values,
  }));
}

/**
 * The parts of one transfer received so far. Duplicates are ignored, so parts may come
 * in any order and more than once; the transfer is whole when each index has arrived.
 */
export class TransferAssembly {
  readonly id: number;
  readonly count: number;
  readonly #context: Context;
  #parts: (TransferPart | undefined)[] | undefined;
  #received = 0;

  /** Opens the reassembly of the transfer `first` belongs to; {@link add} adds the parts. */
  constructor(first: TransferPart) {
    this.id = first.id;
    this.count = first.count;
    this.#context = first.context;
    this.#parts = new Array(first.count);
  }

  /** How many distinct parts have arrived. */
  get received(): number {
    return this.#received;
  }

  /**
   * Adds a part of this transfer. Returns the whole transfer once the last missing part
   * is in, else undefined; also undefined for a duplicate, for a part of another
   * transfer, and for anything after the whole transfer was returned.
   */
  add(part: TransferPart): Transfer | undefined {
    const parts = this.#parts;
    if (part.id !== this.id || part.count !== this.count || part.index >= this.count) {
      return undefined;
    }
    if (!parts || parts[part.index]) return undefined;
    parts[part.index] = part;
    this.#received++;
    if (this.#received < this.count) return undefined;
    // Done: the parts are let go, and late duplicates find nothing to fill.
    this.#parts = undefined;
    return this.#assemble(parts as TransferPart[]);
  }

  #assemble(parts: readonly TransferPart[]): Transfer {
    const clouds: Record<ReplicaId, number[]> = {};
    const values: Entry[] = [];
    for (const part of parts) {
      for (const [replica, dots] of Object.entries(part.clouds)) {
        const cloud = clouds[replica];
        // One push per dot: spreading a large cloud into push() would overflow the stack.
        if (cloud) for (const dot of dots) cloud.push(dot);
        else clouds[replica] = [...dots];
      }
      for (const entry of part.values) values.push(entry);
    }
    return { kind: "transfer", context: this.#context, clouds, values };
  }
}
