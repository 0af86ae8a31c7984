import {
  type ColumnDefinitionBuilder,
  type Kysely,
  type Migration,
  type MigrationProvider,
  Migrator,
} from "kysely";
import { seedChallenges, seedTestCases, seedTestDrivers } from "../challenges/seed.js";
import type { Schema } from "./schema.js";

/** The two databases Pair runs on; column types differ slightly between them. */
export type Dialect = "sqlite" | "postgres";

/**
 * The migrations, in order, written once for both dialects. Kysely runs each at most
 * once per database (recorded in `kysely_migration`) under a lock, so starting several
 * servers at once is safe. Never edit a migration that has shipped: add a new one.
 */
export function migrations(dialect: Dialect): Record<string, Migration> {
  const blob = dialect === "postgres" ? "bytea" : "blob";
  // SQLite's AUTOINCREMENT never reuses an id; PostgreSQL's identity column is its counterpart.
  const serial = (column: ColumnDefinitionBuilder) =>
    dialect === "postgres"
      ? column.primaryKey().generatedByDefaultAsIdentity()
      : column.primaryKey().autoIncrement();
  return {
    "0001_accounts_challenges_documents": {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable("users")
          .addColumn("id", "integer", serial)
          .addColumn("first_name", "text", (c) => c.notNull())
          .addColumn("email", "text", (c) => c.notNull().unique())
          .addColumn("password_hash", "text", (c) => c.notNull())
          .addColumn("inserted_at", "text", (c) => c.notNull())
          .execute();
        await db.schema
          .createTable("challenges")
          .addColumn("id", "integer", serial)
          .addColumn("title", "text", (c) => c.notNull())
          .addColumn("description", "text", (c) => c.notNull())
          .addColumn("starter_code", "text", (c) => c.notNull())
          .addColumn("author_id", "integer", (c) => c.references("users.id").onDelete("set null"))
          .addColumn("inserted_at", "text", (c) => c.notNull())
          .execute();
        await db.schema
          .createTable("challenge_documents")
          .addColumn("challenge_id", "integer", (c) =>
            c.primaryKey().references("challenges.id").onDelete("cascade"),
          )
          .addColumn("state", blob, (c) => c.notNull())
          .addColumn("updated_at", "text", (c) => c.notNull())
          .execute();
        await db.schema
          .createTable("challenge_document_updates")
          .addColumn("id", "integer", serial)
          .addColumn("challenge_id", "integer", (c) =>
            c.notNull().references("challenges.id").onDelete("cascade"),
          )
          .addColumn("payload", blob, (c) => c.notNull())
          .execute();
        // Loading a room reads one challenge's updates in id order.
        await db.schema
          .createIndex("challenge_document_updates_challenge_id_id")
          .on("challenge_document_updates")
          .columns(["challenge_id", "id"])
          .execute();
      },
    },
    // A migration rather than a startup check, so the seed set goes in exactly once even
    // when several servers start together, and never comes back after being edited away.
    "0002_seed_challenges": {
      up: (db: Kysely<Schema>) => seedChallenges(db),
    },
    // Stored document updates that do not apply are moved here rather than deleted, so
    // nothing a user sent is destroyed and a bad row can be examined later.
    "0003_document_quarantine": {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable("challenge_document_quarantine")
          .addColumn("id", "integer", serial)
          .addColumn("challenge_id", "integer", (c) =>
            c.notNull().references("challenges.id").onDelete("cascade"),
          )
          .addColumn("update_id", "integer", (c) => c.notNull())
          .addColumn("payload", blob, (c) => c.notNull())
          .addColumn("reason", "text", (c) => c.notNull())
          .addColumn("quarantined_at", "text", (c) => c.notNull())
          .execute();
      },
    },
    // Which user each Yjs client id of a room belongs to: the first to use it. Stored, so
    // the binding holds across restarts and across the servers of a cluster.
    "0004_document_clients": {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable("challenge_document_clients")
          .addColumn("challenge_id", "integer", (c) =>
            c.notNull().references("challenges.id").onDelete("cascade"),
          )
          // Yjs client ids are unsigned 32-bit: beyond PostgreSQL's integer.
          .addColumn("client_id", dialect === "postgres" ? "bigint" : "integer", (c) => c.notNull())
          .addColumn("user_id", "integer", (c) =>
            c.notNull().references("users.id").onDelete("cascade"),
          )
          .addPrimaryKeyConstraint("challenge_document_clients_pkey", ["challenge_id", "client_id"])
          .execute();
      },
    },
    // Each challenge's tests, and each room's chat.
    "0005_test_cases_and_chat": {
      async up(db: Kysely<Schema>) {
        await db.schema
          .alterTable("challenges")
          .addColumn("test_cases", "text", (c) => c.notNull().defaultTo("[]"))
          .execute();
        await seedTestCases(db);
        await db.schema
          .createTable("challenge_messages")
          .addColumn("id", "integer", serial)
          .addColumn("challenge_id", "integer", (c) =>
            c.notNull().references("challenges.id").onDelete("cascade"),
          )
          .addColumn("user_id", "integer", (c) =>
            c.notNull().references("users.id").onDelete("cascade"),
          )
          .addColumn("body", "text", (c) => c.notNull())
          .addColumn("inserted_at", "text", (c) => c.notNull())
          .execute();
        // A room loads its latest messages: one index range, newest first.
        await db.schema
          .createIndex("challenge_messages_challenge_id_id")
          .on("challenge_messages")
          .columns(["challenge_id", "id"])
          .execute();
      },
    },
    // The challenges about a class and about timers get drivers, so they can have tests.
    "0006_seed_test_drivers": {
      up: (db: Kysely<Schema>) => seedTestDrivers(db),
    },
  };
}

/** Brings the database to the latest schema; throws with the failing migration's error. */
export async function migrateToLatest(db: Kysely<Schema>, dialect: Dialect): Promise<void> {
  const provider: MigrationProvider = { getMigrations: async () => migrations(dialect) };
  const { error } = await new Migrator({ db, provider }).migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
}
