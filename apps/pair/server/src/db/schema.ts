import type { ColumnType, Generated } from "kysely";

/**
 * The tables as the query layer sees them, identical on SQLite and PostgreSQL.
 * Timestamps are ISO-8601 text so both databases return the same type (PostgreSQL's
 * `timestamptz` would come back as a `Date`, SQLite's as a string).
 */
export interface Schema {
  users: UsersTable;
  challenges: ChallengesTable;
  challenge_documents: ChallengeDocumentsTable;
  challenge_document_updates: ChallengeDocumentUpdatesTable;
  challenge_document_quarantine: ChallengeDocumentQuarantineTable;
  challenge_document_clients: ChallengeDocumentClientsTable;
  challenge_messages: ChallengeMessagesTable;
}

export interface UsersTable {
  id: Generated<number>;
  first_name: string;
  /** Stored lower-cased; unique. */
  email: string;
  /** `scrypt$N$r$p$salt$key`, see `accounts/password.ts`. */
  password_hash: string;
  inserted_at: string;
}

export interface ChallengesTable {
  id: Generated<number>;
  title: string;
  description: string;
  starter_code: string;
  /** JSON array of `TestCase` (challenges/test-cases.ts); `[]` when it has none. */
  test_cases: ColumnType<string, string | undefined, string>;
  /** Who wrote it; null for the seed set. */
  author_id: number | null;
  inserted_at: string;
}

/** The compacted Yjs state of a challenge's shared solution: one row per challenge. */
export interface ChallengeDocumentsTable {
  challenge_id: number;
  state: Uint8Array;
  updated_at: string;
}

/** Yjs updates stored since the last compaction, in arrival order. */
export interface ChallengeDocumentUpdatesTable {
  id: Generated<number>;
  challenge_id: number;
  payload: Uint8Array;
}

/** Stored updates that threw when applied, moved aside so the document loads without them. */
export interface ChallengeDocumentQuarantineTable {
  id: Generated<number>;
  challenge_id: number;
  /** The row's id in `challenge_document_updates`. */
  update_id: number;
  payload: Uint8Array;
  /** The error applying it threw. */
  reason: string;
  quarantined_at: string;
}

/** The user each Yjs client id of a room is bound to: whoever used it first. */
export interface ChallengeDocumentClientsTable {
  challenge_id: number;
  /** PostgreSQL returns its bigint as a string. */
  client_id: ColumnType<number | string, number, never>;
  user_id: number;
}

/** A room's chat, kept with the room. */
export interface ChallengeMessagesTable {
  id: Generated<number>;
  challenge_id: number;
  user_id: number;
  body: string;
  inserted_at: string;
}
