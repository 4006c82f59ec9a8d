/**
 * Fresh databases for the store's integration tests: a SQLite file in a temporary folder, or a
 * freshly created database on the local PostgreSQL (one per test file, dropped afterwards).
 *
 * Postgres tests never skip: when the server is unreachable, creating the database throws with
 * a message that says what to start or which variable to set.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Kysely } from "kysely";
import pg from "pg";
import { afterAll, beforeAll, beforeEach } from "vitest";
import { pino } from "pino";
import { migrateDatabase, openDatabase } from "../../src/store/database.js";
import type { StoreDatabase } from "../../src/store/schema.js";
import { openStore, type JobStore } from "../../src/store/index.js";
import { parseStoreUrl, redactUrl } from "../../src/store/store-url.js";
import type { ManualClock } from "./store-fixtures.js";

export type StoreEngine = "sqlite" | "postgres";

export const STORE_ENGINES: readonly StoreEngine[] = ["sqlite", "postgres"];

/** The Postgres the tests use to create their throwaway databases. */
export const TEST_POSTGRES_URL =
  process.env["KANBOT_TEST_POSTGRES_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";

export interface TestDatabase {
  engine: StoreEngine;
  /** What to pass to `openStore({ url })`. */
  url: string;
  /** A direct handle on the tables, for arranging and inspecting rows behind the store. */
  raw: Kysely<StoreDatabase>;
  /** Deletes every row (the schema stays). */
  reset(): Promise<void>;
  /** Closes the direct handle and deletes the database. */
  drop(): Promise<void>;
}

const TABLES = [
  "audit_log",
  "log_chunks",
  "deliveries",
  "registration_tokens",
  "runners",
  "jobs",
  "tasks",
] as const;

/** With `migrate: false` the database is left empty (no tables) for migration tests. */
export async function createTestDatabase(
  engine: StoreEngine,
  options: { migrate?: boolean } = {},
): Promise<TestDatabase> {
  const created = engine === "sqlite" ? await createSqlite() : await createPostgres();
  const handle = openDatabase(parseStoreUrl(created.url), { postgresPoolSize: 2 });
  if (options.migrate !== false) await migrateDatabase(handle, pino({ level: "silent" }));
  return {
    engine,
    url: created.url,
    raw: handle.db,
    async reset() {
      for (const table of TABLES) {
        await handle.db.deleteFrom(table).execute();
      }
    },
    async drop() {
      await handle.db.destroy();
      await created.drop();
    },
  };
}

async function createSqlite(): Promise<{ url: string; drop: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "kanbot-store-"));
  return {
    url: `sqlite:${join(dir, "kanbot.sqlite")}`,
    drop: () => rm(dir, { recursive: true, force: true }),
  };
}

async function adminClient(): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: TEST_POSTGRES_URL,
    connectionTimeoutMillis: 5_000,
  });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(
      `PostgreSQL is unreachable at ${redactUrl(TEST_POSTGRES_URL)} ` +
        `(${error instanceof Error ? error.message : String(error)}). ` +
        "The job store's Postgres tests need it and never skip: start PostgreSQL on " +
        "127.0.0.1:5432 (trust auth, database `test`) or point KANBOT_TEST_POSTGRES_URL at one.",
      { cause: error },
    );
  }
  return client;
}

async function createPostgres(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `kanbot_store_${process.pid}_${randomBytes(4).toString("hex")}`;
  const admin = await adminClient();
  try {
    await admin.query(`create database "${name}"`);
    // Test databases need no crash durability: skipping the WAL flush per commit keeps the
    // suite fast on slow disks and changes nothing a test can observe.
    await admin.query(`alter database "${name}" set synchronous_commit = off`);
  } finally {
    await admin.end();
  }
  const url = new URL(TEST_POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = await adminClient();
      try {
        await client.query(`drop database if exists "${name}" with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}

/**
 * `beforeAll`, except that a failure (Postgres unreachable) fails every test of the block with
 * its message, where vitest would report the tests as skipped.
 */
export function beforeAllOrFailEach(setup: () => Promise<void>): void {
  let failure: unknown;
  beforeAll(async () => {
    try {
      await setup();
    } catch (error) {
      failure = error;
    }
  });
  beforeEach(() => {
    if (failure !== undefined) throw failure;
  });
}

/**
 * One database and one store on `engine` for a `describe.each(STORE_ENGINES)` block, on
 * `clock`; every test starts from empty tables and the clock's start time. Read `store` inside
 * the tests (it is opened in the block's `beforeAll`).
 */
export function useEngineStore(
  engine: StoreEngine,
  clock: ManualClock,
): { readonly store: JobStore; readonly database: TestDatabase } {
  let database: TestDatabase | undefined;
  let store: JobStore | undefined;
  beforeAllOrFailEach(async () => {
    database = await createTestDatabase(engine);
    store = await openStore({ url: database.url, now: clock.now, postgresPoolSize: 2 });
  });
  afterAll(async () => {
    await store?.close();
    await database?.drop();
  });
  beforeEach(async () => {
    await database?.reset();
    clock.reset();
  });
  return {
    get store() {
      if (store === undefined) throw new Error("the store is opened in beforeAll");
      return store;
    },
    get database() {
      if (database === undefined) throw new Error("the database is created in beforeAll");
      return database;
    },
  };
}
