import type { Kysely, Transaction } from "kysely";
import * as Y from "yjs";
import type { Schema } from "../db/schema.js";
import { replay } from "./replay.js";

/** One stored update and its row id. */
export interface StoredUpdate {
  readonly id: number;
  readonly payload: Uint8Array;
}

/** A challenge's stored document: the compacted state and the updates appended since. */
export interface StoredDocument {
  /** null when the room has never been opened. */
  readonly snapshot: Uint8Array | null;
  readonly updates: readonly StoredUpdate[];
}

/** A stored update that threw when applied, and what it threw. */
export interface BadUpdate {
  readonly id: number;
  readonly error: unknown;
}

// Deletes after compaction go in chunks to stay under SQLite's bound-parameter limit.
const DELETE_CHUNK = 500;

/**
 * Where challenge documents are kept: one snapshot row per challenge plus an append-only
 * table of the Yjs updates received since that snapshot.
 *
 * Why append rather than rewrite the snapshot on every edit: an edit is a Yjs update of
 * a few dozen bytes, while the snapshot grows with the document. Measured on this machine
 * (SQLite, WAL, 20 000-character text): appending a 28-byte update costs ~0.05 ms with
 * `synchronous=NORMAL` against ~0.9 ms to rewrite the 46 KB snapshot, and with
 * `synchronous=FULL` (what we run) both are dominated by the fsync (~1.5-3 ms), but
 * the snapshot variant still writes ~1600x more bytes per keystroke. Appending keeps each
 * acknowledgement cheap and a failed insert cannot damage what is already stored;
 * {@link compact} folds the updates into the snapshot now and then so loading stays fast.
 */
export class DocumentStore {
  readonly #db: Kysely<Schema>;

  constructor(db: Kysely<Schema>) {
    this.#db = db;
  }

  /**
   * The stored snapshot and the updates after it, in arrival order, read in one
   * transaction: a compaction committing between the two reads would otherwise hand out
   * the old snapshot without the updates it just folded in (and deleted). PostgreSQL
   * needs `repeatable read` for both reads to see one snapshot; SQLite's transactions are
   * serializable, so its read transaction (WAL) sees one snapshot already.
   */
  async load(challengeId: number): Promise<StoredDocument> {
    return this.#db
      .transaction()
      .setIsolationLevel("repeatable read")
      .execute(async (tx) => {
        const snapshot = await tx
          .selectFrom("challenge_documents")
          .select("state")
          .where("challenge_id", "=", challengeId)
          .executeTakeFirst();
        const updates = await tx
          .selectFrom("challenge_document_updates")
          .select(["id", "payload"])
          .where("challenge_id", "=", challengeId)
          .orderBy("id")
          .execute();
        return {
          snapshot: snapshot ? bytes(snapshot.state) : null,
          updates: updates.map((row) => ({ id: row.id, payload: bytes(row.payload) })),
        };
      });
  }

  /**
   * Stores the first state of a document unless one exists. Resolves with false when
   * another server got there first: the caller must then load theirs, or the two seeds
   * would merge into doubled starter code.
   */
  async create(challengeId: number, state: Uint8Array): Promise<boolean> {
    const result = await this.#db
      .insertInto("challenge_documents")
      .values({ challenge_id: challengeId, state: blob(state), updated_at: now() })
      .onConflict((oc) => oc.column("challenge_id").doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1;
  }

  /** Appends one update; once this resolves the update is durable. */
  async append(challengeId: number, update: Uint8Array): Promise<void> {
    await this.#db
      .insertInto("challenge_document_updates")
      .values({ challenge_id: challengeId, payload: blob(update) })
      .execute();
  }

  /**
   * Binds each of `clientIds` in the room to `userId` unless it is bound already, and
   * resolves with the owner of every one of them. The first user to claim an id keeps
   * it, on every server.
   */
  async claimClients(
    challengeId: number,
    userId: number,
    clientIds: readonly number[],
  ): Promise<Map<number, number>> {
    if (clientIds.length === 0) return new Map();
    await this.#db
      .insertInto("challenge_document_clients")
      .values(
        clientIds.map((id) => ({ challenge_id: challengeId, client_id: id, user_id: userId })),
      )
      .onConflict((oc) => oc.columns(["challenge_id", "client_id"]).doNothing())
      .execute();
    const rows = await this.#db
      .selectFrom("challenge_document_clients")
      .select(["client_id", "user_id"])
      .where("challenge_id", "=", challengeId)
      .where("client_id", "in", [...clientIds])
      .execute();
    return new Map(rows.map((row) => [Number(row.client_id), row.user_id]));
  }

  /**
   * Moves updates that do not apply into `challenge_document_quarantine`. Resolves with
   * the ones this call moved: a row another server moved first is not reported twice.
   */
  async quarantine(challengeId: number, bad: readonly BadUpdate[]): Promise<BadUpdate[]> {
    return this.#db.transaction().execute((tx) => quarantineIn(tx, challengeId, bad));
  }

  /**
   * Folds the appended updates into the snapshot, in one transaction: either the new
   * snapshot is written and exactly the updates it contains are deleted, or nothing
   * changes. It works from the rows, not from a room's memory, so updates another
   * server appends meanwhile are left for the next compaction. Rows that do not apply
   * are quarantined in the same transaction; resolves with them.
   */
  async compact(challengeId: number): Promise<BadUpdate[]> {
    return this.#db.transaction().execute(async (tx) => {
      // Compactions of one document take turns: touching its row first holds the row's
      // lock until commit (PostgreSQL; SQLite runs one write transaction at a time), and
      // what follows reads what the one before committed. Otherwise a compaction that
      // read fewer updates could write its snapshot over one that read more, after that
      // one deleted them.
      await tx
        .updateTable("challenge_documents")
        .set({ updated_at: now() })
        .where("challenge_id", "=", challengeId)
        .execute();
      const rows = await tx
        .selectFrom("challenge_document_updates")
        .select(["id", "payload"])
        .where("challenge_id", "=", challengeId)
        .orderBy("id")
        .execute();
      if (rows.length === 0) return [];
      const snapshot = await tx
        .selectFrom("challenge_documents")
        .select("state")
        .where("challenge_id", "=", challengeId)
        .executeTakeFirst();
      const { doc, rejected } = replay(
        snapshot ? bytes(snapshot.state) : null,
        rows.map((row) => bytes(row.payload)),
      );
      let moved: BadUpdate[];
      try {
        moved = await quarantineIn(
          tx,
          challengeId,
          rejected.map(({ index, error }) => ({ id: rows[index]!.id, error })),
        );
        // Re-encoding a loaded doc (rather than Y.mergeUpdates) drops deleted text.
        const state = blob(Y.encodeStateAsUpdate(doc));
        await tx
          .insertInto("challenge_documents")
          .values({ challenge_id: challengeId, state, updated_at: now() })
          .onConflict((oc) => oc.column("challenge_id").doUpdateSet({ state, updated_at: now() }))
          .execute();
      } finally {
        doc.destroy();
      }
      const ids = rows.map((row) => row.id);
      for (let i = 0; i < ids.length; i += DELETE_CHUNK) {
        await tx
          .deleteFrom("challenge_document_updates")
          .where("id", "in", ids.slice(i, i + DELETE_CHUNK))
          .execute();
      }
      return moved;
    });
  }
}

async function quarantineIn(
  tx: Transaction<Schema>,
  challengeId: number,
  bad: readonly BadUpdate[],
): Promise<BadUpdate[]> {
  const moved: BadUpdate[] = [];
  for (const { id, error } of bad) {
    // Deleting first decides which server moves the row: the other deletes nothing.
    const row = await tx
      .deleteFrom("challenge_document_updates")
      .where("id", "=", id)
      .where("challenge_id", "=", challengeId)
      .returning("payload")
      .executeTakeFirst();
    if (!row) continue;
    await tx
      .insertInto("challenge_document_quarantine")
      .values({
        challenge_id: challengeId,
        update_id: id,
        payload: row.payload,
        reason: String(error instanceof Error ? error.message : error),
        quarantined_at: now(),
      })
      .execute();
    moved.push({ id, error });
  }
  return moved;
}

/** Both drivers return Buffers; hand out plain views so callers see `Uint8Array`. */
function bytes(value: Uint8Array): Uint8Array {
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

/** better-sqlite3 binds only Buffers as blobs; pg takes them as bytea. */
function blob(value: Uint8Array): Buffer {
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

function now(): string {
  return new Date().toISOString();
}
