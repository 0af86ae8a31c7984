import type { Logger } from "@tandem/server";
import * as Y from "yjs";
import { newClientIds } from "./client-ids.js";
import { docOf, hasPending, replay } from "./replay.js";
import type { BadUpdate, DocumentStore } from "./store.js";

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

/** Size bounds of a room's document (bytes of Yjs update encoding). */
export interface DocumentLimits {
  /** Largest update accepted. Default 256 KiB (a pasted file of ~250 000 characters). */
  maxUpdateBytes?: number;
  /**
   * Largest document, as its whole encoded state. Default 1 MiB: what every joiner may
   * have to download, far above a coding solution with its editing history.
   */
  maxDocumentBytes?: number;
}

/** Options of {@link Rooms}. */
export interface RoomsOptions extends DocumentLimits {
  /** Compact a room's stored updates into its snapshot after this many. Default 200. */
  compactAfter?: number;
  /**
   * Keeps each open room's document current with edits made through other nodes (which
   * stored them already), so that a joiner here is not handed a stale `doc:sync`.
   */
  follow?: FollowUpdates;
  logger: Logger;
}

/**
 * Thrown by {@link Room.apply} for an update the room refuses; nothing is stored or
 * relayed. `reason` is the precise reply for the client.
 */
export class UpdateRefusedError extends Error {
  readonly reason: string;

  constructor(reason: string, options?: ErrorOptions) {
    super(reason, options);
    this.reason = reason;
  }
}

/**
 * An open challenge's document, held in memory while anyone is in the room so a joiner
 * gets the state without a database read.
 *
 * Every update is tried on a twin of the document before it is stored: `Y.applyUpdate`
 * can throw halfway through an update that decodes, leaving the doc partly changed, and
 * such an update, once stored, would break every later load. The twin takes the hit and
 * is rebuilt from the document (the rare path); the document itself only ever receives
 * updates the twin took whole, after they are stored. Measured on a 20 000-character
 * document typed by three users (89 KB of state, 0.4 MB of heap per doc): the twin costs
 * ~0.1 ms per keystroke, where validating on a fresh copy would cost ~8 ms, and a
 * rebuild costs about the same ~8 ms.
 */
export class Room {
  readonly challengeId: number;
  #doc: Y.Doc;
  #twin: Y.Doc;
  readonly #store: DocumentStore;
  readonly #logger: Logger;
  readonly #onAppended: () => void;
  readonly #limits: Required<DocumentLimits>;
  /**
   * An upper bound of the encoded document's size: exact at load, then grown by each
   * update's size and measured again only when it nears the limit (encoding is O(doc)).
   */
  #size: number;
  /** Who each client id belongs to, as far as this room has asked the store. */
  readonly #owners = new Map<number, number>();
  /** Applies run one at a time, so the twin is never more than one update ahead. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(
    challengeId: number,
    state: Uint8Array,
    store: DocumentStore,
    logger: Logger,
    limits: Required<DocumentLimits>,
    onAppended: () => void,
  ) {
    this.challengeId = challengeId;
    this.#doc = docOf([state]);
    this.#twin = docOf([state]);
    this.#store = store;
    this.#logger = logger;
    this.#limits = limits;
    this.#size = state.byteLength;
    this.#onAppended = onAppended;
  }

  /**
   * Checks an update, stores what it adds, then applies it. Storing comes before
   * applying: if storing fails, the update is in neither place, the client still has
   * it and sends it again, and memory never runs ahead of the database (a joiner is
   * never shown text a restart would lose).
   *
   * Resolves with the update as the document integrated it (what to relay), or null
   * when it adds nothing the document does not have (then nothing is stored).
   *
   * `userId` is the sender: new structs must be under client ids bound to them (see
   * {@link claim}), so nobody can write as someone else's client and have their later
   * edits dropped as duplicates.
   *
   * @throws {UpdateRefusedError} for an update the room refuses.
   * @throws whatever the store throws when the write fails.
   */
  apply(update: Uint8Array, userId: number): Promise<Uint8Array | null> {
    const run = this.#queue.then(() => this.#apply(update, userId));
    this.#queue = run.catch(() => {});
    return run;
  }

  /**
   * Applies an update another node of the cluster validated and stored already. Runs at
   * once rather than after queued applies, so a joiner here is never handed a state
   * older than what was relayed to it.
   */
  receive(update: Uint8Array): void {
    try {
      Y.applyUpdate(this.#twin, update);
    } catch (err) {
      this.#logger.error({ err, challengeId: this.challengeId }, "relayed update did not apply");
      this.#rebuildTwin();
      return;
    }
    this.#size += update.byteLength;
    this.#applyToDoc(update);
  }

  /** The whole document as one update. */
  encodeState(): Uint8Array {
    return Y.encodeStateAsUpdate(this.#doc);
  }

  /** The document's state vector: sync step 1, what the server has. */
  stateVector(): Uint8Array {
    return Y.encodeStateVector(this.#doc);
  }

  /**
   * Sync step 2: what a client with `stateVector` lacks, as one update.
   *
   * @throws {UpdateRefusedError} for bytes that are not a state vector.
   */
  missingFrom(stateVector: Uint8Array): Uint8Array {
    try {
      return Y.encodeStateAsUpdate(this.#doc, stateVector);
    } catch (err) {
      throw new UpdateRefusedError("invalid state vector", { cause: err });
    }
  }

  /** The shared solution text. */
  text(): string {
    return this.#doc.getText(SOLUTION_TEXT).toString();
  }

  /** Frees both copies of the document. */
  destroy(): void {
    this.#doc.destroy();
    this.#twin.destroy();
  }

  /**
   * Binds the client ids to `userId` where they are free; resolves with whether they
   * all belong to `userId` now. Bound to the user rather than to one connection, so a
   * tab that reconnects (same Y.Doc, same client id, new connection) keeps its id.
   */
  async claim(clientIds: Iterable<number>, userId: number): Promise<boolean> {
    const unknown = [...clientIds].filter((id) => !this.#owners.has(id));
    if (unknown.length > 0) {
      const owners = await this.#store.claimClients(this.challengeId, userId, unknown);
      for (const [id, owner] of owners) this.#owners.set(id, owner);
    }
    for (const id of clientIds) if (this.#owners.get(id) !== userId) return false;
    return true;
  }

  async #apply(update: Uint8Array, userId: number): Promise<Uint8Array | null> {
    if (update.byteLength > this.#limits.maxUpdateBytes) {
      throw new UpdateRefusedError("update too large");
    }
    let speaksFor: Set<number>;
    try {
      speaksFor = newClientIds(update, this.#doc);
    } catch (err) {
      throw new UpdateRefusedError("invalid update", { cause: err });
    }
    if (!(await this.claim(speaksFor, userId))) {
      throw new UpdateRefusedError("client id belongs to another user");
    }
    const added = this.#tryOnTwin(update);
    if (added === null) return null;
    this.#checkSize(added);
    try {
      await this.#store.append(this.challengeId, added);
    } catch (err) {
      this.#rebuildTwin();
      throw err;
    }
    this.#applyToDoc(update);
    this.#onAppended();
    return added;
  }

  /** Applies to the twin; resolves with what that added, or throws with the twin restored. */
  #tryOnTwin(update: Uint8Array): Uint8Array | null {
    let added: Uint8Array | null = null;
    const capture = (integrated: Uint8Array) => {
      added = integrated;
    };
    this.#twin.on("update", capture);
    try {
      Y.applyUpdate(this.#twin, update);
    } catch (err) {
      this.#rebuildTwin();
      throw new UpdateRefusedError("invalid update", { cause: err });
    } finally {
      this.#twin.off("update", capture);
    }
    if (hasPending(this.#twin)) {
      // Unintegrated structs cannot be checked: they might throw when their dependency
      // arrives, taking that innocent update down with them.
      this.#rebuildTwin();
      throw new UpdateRefusedError("missing dependencies");
    }
    return added;
  }

  /** Refuses, with the twin restored, an update that takes the document over its limit. */
  #checkSize(added: Uint8Array): void {
    const max = this.#limits.maxDocumentBytes;
    if (this.#size + added.byteLength <= max) {
      this.#size += added.byteLength;
      return;
    }
    const exact = Y.encodeStateAsUpdate(this.#twin).byteLength;
    if (exact > max) {
      this.#rebuildTwin();
      throw new UpdateRefusedError("document too large");
    }
    this.#size = exact;
  }

  #applyToDoc(update: Uint8Array): void {
    try {
      Y.applyUpdate(this.#doc, update);
    } catch (err) {
      // Cannot happen for an update the twin took whole; if it does, the twin is right.
      this.#logger.error({ err, challengeId: this.challengeId }, "document diverged from twin");
      this.#doc.destroy();
      this.#doc = docOf([Y.encodeStateAsUpdate(this.#twin)]);
    }
  }

  #rebuildTwin(): void {
    this.#twin.destroy();
    this.#twin = docOf([Y.encodeStateAsUpdate(this.#doc)]);
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
  readonly #limits: Required<DocumentLimits>;
  readonly #entries = new Map<number, Entry>();
  readonly #background = new Set<Promise<void>>();

  constructor(store: DocumentStore, options: RoomsOptions) {
    this.#store = store;
    this.#compactAfter = options.compactAfter ?? 200;
    this.#follow = options.follow;
    this.#logger = options.logger;
    this.#limits = {
      maxUpdateBytes: options.maxUpdateBytes ?? 256 * 1024,
      maxDocumentBytes: options.maxDocumentBytes ?? 1024 * 1024,
    };
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
    let loaded: Room | undefined;
    const early: Uint8Array[] = [];
    const unfollow = this.#follow?.(challengeId, (update) => {
      if (loaded) loaded.receive(update);
      else early.push(update);
    });
    const entry: Entry = {
      refs: 1,
      appended: 0,
      compacting: false,
      unfollow,
      ready: this.#load(challengeId, starterCode, () => this.#appended(challengeId, entry)).then(
        (room) => {
          loaded = room;
          // Applying an update the doc already has is a no-op: overlap with the load is fine.
          for (const update of early.splice(0)) room.receive(update);
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
    room.destroy();
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
    const { doc, rejected } = replay(
      stored.snapshot,
      stored.updates.map((update) => update.payload),
    );
    const state = Y.encodeStateAsUpdate(doc);
    doc.destroy();
    if (rejected.length > 0) {
      const bad = rejected.map(({ index, error }) => ({ id: stored.updates[index]!.id, error }));
      this.#logQuarantined(challengeId, await this.#store.quarantine(challengeId, bad));
    }
    return new Room(challengeId, state, this.#store, this.#logger, this.#limits, onAppended);
  }

  /** Logged once: a quarantined row is gone from the updates, so no load sees it again. */
  #logQuarantined(challengeId: number, moved: readonly BadUpdate[]): void {
    for (const { id, error } of moved) {
      this.#logger.error(
        { err: error, challengeId, updateId: id },
        "stored document update does not apply; moved to challenge_document_quarantine",
      );
    }
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
      .then((moved) => this.#logQuarantined(challengeId, moved))
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
