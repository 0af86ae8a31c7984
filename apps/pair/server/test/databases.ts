import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Kysely, sql } from "kysely";
import pg from "pg";
import { afterAll } from "vitest";
import type { Dialect } from "../src/db/migrations.js";
import type { Schema } from "../src/db/schema.js";
import { PostgresServer } from "./postgres-server.js";

let shared: Promise<PostgresServer> | undefined;
// Each test file evaluates this module anew: its own server, stopped after its tests.
afterAll(async () => (await shared)?.stop());

/** This test process's PostgreSQL: one throwaway server, started on first use. */
function postgres(): Promise<PostgresServer> {
  shared ??= PostgresServer.start();
  return shared;
}

/** Where one test's data lives, and how to remove it. */
export interface TestStorage {
  readonly dataDir: string;
  readonly databaseUrl: string | undefined;
  cleanup(): Promise<void>;
}

/** A storage backend the suites run against. */
export interface Backend {
  readonly name: "sqlite" | "postgres";
  create(): Promise<TestStorage>;
}

/** SQLite in a fresh temporary folder. */
export const sqliteBackend: Backend = {
  name: "sqlite",
  async create() {
    const dataDir = await mkdtemp(join(tmpdir(), "pair-test-"));
    return {
      dataDir,
      databaseUrl: undefined,
      cleanup: () => rm(dataDir, { recursive: true, force: true }),
    };
  },
};

/**
 * PostgreSQL in a schema of its own (other tests of this process use the same database),
 * selected through the connection's search_path and dropped afterwards.
 */
export const postgresBackend: Backend = {
  name: "postgres",
  async create() {
    const dataDir = await mkdtemp(join(tmpdir(), "pair-test-"));
    const schema = `pair_test_${randomBytes(6).toString("hex")}`;
    await admin(`create schema ${schema}`);
    const { url } = await postgres();
    return {
      dataDir,
      databaseUrl: `${url}?options=${encodeURIComponent(`-c search_path=${schema}`)}`,
      async cleanup() {
        await admin(`drop schema if exists ${schema} cascade`);
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  },
};

/** Both backends; every storage test runs against each. */
export const backends: readonly Backend[] = [sqliteBackend, postgresBackend];

async function admin(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: (await postgres()).url });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/**
 * Makes every insert into `table` fail, as a full disk or a lost connection would,
 * until {@link allowInserts}. Real database triggers, so no test hook in the app.
 */
export async function failInserts(
  db: Kysely<Schema>,
  dialect: Dialect,
  table: keyof Schema,
): Promise<void> {
  if (dialect === "sqlite") {
    // SQLite trigger names are global to the database, so each table gets its own.
    await sql`create trigger ${sql.id(`fail_inserts_${table}`)} before insert on ${sql.table(table)}
      begin select raise(abort, 'injected failure'); end`.execute(db);
  } else {
    await sql`create or replace function fail_inserts() returns trigger language plpgsql
      as $$ begin raise exception 'injected failure'; end $$`.execute(db);
    await sql`create trigger fail_inserts before insert on ${sql.table(table)}
      for each row execute function fail_inserts()`.execute(db);
  }
}

/** Undoes {@link failInserts}. */
export async function allowInserts(
  db: Kysely<Schema>,
  dialect: Dialect,
  table: keyof Schema,
): Promise<void> {
  if (dialect === "sqlite") await sql`drop trigger ${sql.id(`fail_inserts_${table}`)}`.execute(db);
  else await sql`drop trigger fail_inserts on ${sql.table(table)}`.execute(db);
}
