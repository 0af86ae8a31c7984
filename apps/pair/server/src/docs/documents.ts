import type { Logger } from "@tandem/server";
import * as Y from "yjs";
import type { DocumentStore } from "./store.js";

/** The name of the shared text in every challenge document. */
export const SOLUTION_TEXT = "solution";

/**
 * Subscribes an open room to the updates other nodes of a cluster store and relay;
 * returns the function that unsubscribes.
 */
export type FollowUpdates = (
  challengeId: number,
  apply: (update: Uint8Array) => void,
) => () => void;

/** Options of {@link Rooms}. */
export interface RoomsOptions {
  /** Compact a room's stored updates into its snapshot after this many. Default 200. */
  compactAfter?: number;
  /**
   * Keeps each open room's document current with edits made through other nodes (which
   * stored them already), so that a joiner here is not handed a stale `doc:sync`.
   */
  follow?: FollowUpdates;
  logger: Logger;
}

/** Thrown by {@link Room.apply} for bytes that are not a Yjs update; nothing is stored. */
export class InvalidUpdateError extends Error {}

/**
 * An open challenge's document, held in memory while anyone is in the room so a joiner
 * gets the state without a database read.
 */
export class Room {
  readonly challengeId: number;
  readonly doc: Y.Doc;
  readonly #store: DocumentStore;
  readonly #onAppended: () => void;

  constructor(challengeId: number, doc: Y.Doc, store: DocumentStore, onAppended: () => void) {
    this.challengeId = challengeId;
    this.doc = doc;
    this.#store = store;
    this.#onAppended = onAppended;
  }

  /**
   * Stores an update, then applies it. The order matters: if storing fails, the update
   * is in neither place, the client still has it and sends it again, and memory never
   * runs ahead of the database (a joiner is never shown text a restart would lose).
   *
   * @throws {InvalidUpdateError} for bytes that are not a Yjs update (checked first: a
   *   stored bad update would break every later load of the room).
   * @throws whatever the store throws when the write fails.
   */
  async apply(update: Uint8Array): Promise<void> {
    try {
      Y.decodeUpdate(update);
    } catch (err) {
      throw new InvalidUpdateError("not a Yjs update", { cause: err });
    }
    await this.#store.append(this.challengeId, update);
    Y.applyUpdate(this.doc, update);
    this.#onAppended();
  }

  /** The whole document as one update, for `doc:sync`. */
  encodeState(): Uint8Array {
    return Y.encodeStateAsUpdate(this.doc);
  }

  /** The shared solution text. */
  text(): string {
    return this.doc.getText(SOLUTION_TEXT).toString();
  }
}

interface Entry {
  refs: number;
  readonly unfollow: (() => void) | undefined;
  readonly ready: Promise<Room>;
  appended: number;
  compacting: boolean;
}

/**
 * The open rooms: one {@link Room} per challenge with people in it, loaded on the first
 * join and dropped when the last one leaves, so memory follows activity, not the
 * number of challenges.
 */
export class Rooms {
  readonly #store: DocumentStore;
  readonly #compactAfter: number;
  readonly #follow: FollowUpdates | undefined;
  readonly #logger: Logger;
  readonly #entries = new Map<number, Entry>();
  readonly #background = new Set<Promise<void>>();

  constructor(store: DocumentStore, options: RoomsOptions) {
    this.#store = store;
    this.#compactAfter = options.compactAfter ?? 200;
    this.#follow = options.follow;
    this.#logger = options.logger;
  }

  /** How many rooms are in memory. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Opens a challenge's room, loading it (or creating it with `starterCode` as the text)
   * if nobody has it open. Every successful call must be matched by one {@link release}.
   */
  acquire(challengeId: number, starterCode: string): Promise<Room> {
    const existing = this.#entries.get(challengeId);
    if (existing) {
      existing.refs += 1;
      return existing.ready;
    }
    // Follow other nodes' updates from before the load, buffering them until the doc
    // exists, so none slips between the database read and the subscription.
    let doc: Y.Doc | undefined;
    const early: Uint8Array[] = [];
    const unfollow = this.#follow?.(challengeId, (update) => {
      if (doc) Y.applyUpdate(doc, update);
      else early.push(update);
    });
    const entry: Entry = {
      refs: 1,
      appended: 0,
      compacting: false,
      unfollow,
      ready: this.#load(challengeId, starterCode, () => this.#appended(challengeId, entry)).then(
        (room) => {
          doc = room.doc;
          // Applying an update the doc already has is a no-op: overlap with the load is fine.
          for (const update of early.splice(0)) Y.applyUpdate(doc, update);
          return room;
        },
      ),
    };
    this.#entries.set(challengeId, entry);
    entry.ready.catch(() => {
      // A failed load must not stick: the next join tries again.
      unfollow?.();
      if (this.#entries.get(challengeId) === entry) this.#entries.delete(challengeId);
    });
    return entry.ready;
  }

  /** Gives back a room from {@link acquire}; the last one out compacts and unloads it. */
  release(room: Room): void {
    const entry = this.#entries.get(room.challengeId);
    if (!entry) return;
    entry.refs -= 1;
    if (entry.refs > 0) return;
    this.#entries.delete(room.challengeId);
    entry.unfollow?.();
    room.doc.destroy();
    if (entry.appended > 0) this.#compact(room.challengeId);
  }

  /** Waits for compactions in flight; for shutdown, after every channel has left. */
  async drain(): Promise<void> {
    while (this.#background.size > 0) await Promise.allSettled([...this.#background]);
  }

  async #load(challengeId: number, starterCode: string, onAppended: () => void): Promise<Room> {
    let stored = await this.#store.load(challengeId);
    if (stored.snapshot === null && stored.updates.length === 0) {
      const seed = new Y.Doc();
      seed.getText(SOLUTION_TEXT).insert(0, starterCode);
      const state = Y.encodeStateAsUpdate(seed);
      seed.destroy();
      const created = await this.#store.create(challengeId, state);
      stored = created ? { snapshot: state, updates: [] } : await this.#store.load(challengeId);
    }
    const doc = new Y.Doc();
    doc.transact(() => {
      if (stored.snapshot) Y.applyUpdate(doc, stored.snapshot);
      for (const update of stored.updates) Y.applyUpdate(doc, update);
    });
    return new Room(challengeId, doc, this.#store, onAppended);
  }

  #appended(challengeId: number, entry: Entry): void {
    entry.appended += 1;
    if (entry.appended >= this.#compactAfter && !entry.compacting) {
      entry.appended = 0;
      entry.compacting = true;
      this.#compact(challengeId, () => {
        entry.compacting = false;
      });
    }
  }

  #compact(challengeId: number, done?: () => void): void {
    const task = this.#store
      .compact(challengeId)
      .catch((err: unknown) => {
        // The updates stay stored: nothing is lost, the next compaction retries them.
        this.#logger.error({ err, challengeId }, "document compaction failed");
      })
      .finally(() => {
        done?.();
        this.#background.delete(task);
      });
    this.#background.add(task);
  }
}
