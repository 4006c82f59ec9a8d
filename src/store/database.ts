/**
 * Opens the Kysely handle for a store location and applies the migrations. Internal to the
 * store: callers use `openStore`, which never tells them which engine is underneath.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import type { DatabaseConnection, DialectAdapter, Driver, SqliteDatabase } from "kysely";
import {
  CompiledQuery,
  Kysely,
  Migrator,
  PostgresDialect,
  SqliteAdapter,
  SqliteDialect,
  SqliteDriver,
} from "kysely";
import pg from "pg";
import type { Logger } from "pino";
import { storeMigrations, type StoreDialect } from "./migrations.js";
import type { StoreDatabase } from "./schema.js";
import type { StoreLocation } from "./store-url.js";

export interface DatabaseOptions {
  /** SQLite: how long a writer waits for another process's write lock. Default 10 s. */
  sqliteBusyTimeoutMs?: number;
  /** Postgres: connections in the pool. Default 10. */
  postgresPoolSize?: number;
  /**
   * Postgres: an idle pooled connection failed (the server restarted or ended it). The pool drops
   * it and opens another when needed; without a listener node-postgres would crash the process.
   */
  onIdleConnectionError?: (error: Error) => void;
}

export interface StoreDatabaseHandle {
  db: Kysely<StoreDatabase>;
  dialect: StoreDialect;
  /** Postgres only: a fresh dedicated client (for LISTEN); the caller ends it. */
  connectListener?: () => Promise<pg.Client>;
}

/**
 * SQLite transactions start with `BEGIN IMMEDIATE`: they take the write lock up front (waiting
 * up to busy_timeout), so a transaction that reads and then writes can never fail with
 * SQLITE_BUSY half way because another process wrote in between.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("begin immediate"));
  }
}

/**
 * SQLite does support transactional DDL; saying so makes Kysely's Migrator run inside one
 * `BEGIN IMMEDIATE` transaction, so processes opening a new database together migrate it once.
 */
class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

/** Distinct SQL texts whose prepared statements are kept (queries with `in (?, ?…)` vary). */
const STATEMENT_CACHE_SIZE = 256;

/**
 * Kysely's SQLite driver prepares every statement anew on each query; preparing was a tenth of
 * the app's CPU time under a burst of webhooks (docs/BENCHMARKS.md). This keeps the most recently
 * used prepared statements by SQL text. Kysely runs one query at a time on the connection, so a
 * statement is never used by two queries at once.
 */
function withStatementCache(database: BetterSqlite3.Database): SqliteDatabase {
  const cache = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => void database.close(),
    prepare(sql: string) {
      let statement = cache.get(sql);
      if (statement === undefined) {
        statement = database.prepare(sql);
        if (cache.size >= STATEMENT_CACHE_SIZE) {
          cache.delete(cache.keys().next().value as string);
        }
      } else {
        cache.delete(sql); // re-inserted below: the map's order is the recency order
      }
      cache.set(sql, statement);
      return statement as unknown as ReturnType<SqliteDatabase["prepare"]>;
    },
  };
}

class ImmediateSqliteDialect extends SqliteDialect {
  readonly #database: SqliteDatabase;
  constructor(database: BetterSqlite3.Database) {
    const cached = withStatementCache(database);
    super({ database: cached });
    this.#database = cached;
  }
  override createDriver(): Driver {
    return new ImmediateSqliteDriver({ database: this.#database });
  }
  override createAdapter(): DialectAdapter {
    return new TransactionalDdlSqliteAdapter();
  }
}

const INT8_OID = 20;

/** bigint columns (times in ms, ids, installation ids) fit in a double: read them as numbers. */
const pgTypes: pg.CustomTypesConfig = {
  getTypeParser: (oid, format) =>
    oid === INT8_OID && format !== "binary"
      ? (value: string) => Number(value)
      : pg.types.getTypeParser(oid, format),
};

export function openDatabase(
  location: StoreLocation,
  options: DatabaseOptions = {},
): StoreDatabaseHandle {
  if (location.dialect === "postgres") {
    const pool = new pg.Pool({
      connectionString: location.connectionString,
      max: options.postgresPoolSize ?? 10,
      types: pgTypes,
    });
    pool.on("error", (error) => options.onIdleConnectionError?.(error));
    return {
      db: new Kysely<StoreDatabase>({ dialect: new PostgresDialect({ pool }) }),
      dialect: "postgres",
      connectListener: async () => {
        const client = new pg.Client({ connectionString: location.connectionString });
        await client.connect();
        return client;
      },
    };
  }

  if (location.path !== ":memory:") {
    mkdirSync(dirname(location.path), { recursive: true });
  }
  const database = new BetterSqlite3(location.path);
  // busy_timeout first: switching to WAL itself needs a lock another process may hold.
  database.pragma(`busy_timeout = ${Math.trunc(options.sqliteBusyTimeoutMs ?? 10_000)}`);
  database.pragma("journal_mode = WAL");
  database.pragma("synchronous = NORMAL");
  database.pragma("foreign_keys = ON");
  return {
    db: new Kysely<StoreDatabase>({ dialect: new ImmediateSqliteDialect(database) }),
    dialect: "sqlite",
  };
}

/** Applies every pending migration; throws with the migration's name if one fails. */
export async function migrateDatabase(handle: StoreDatabaseHandle, log: Logger): Promise<void> {
  const migrator = new Migrator({ db: handle.db, provider: storeMigrations(handle.dialect) });
  const { error, results } = await migrator.migrateToLatest();
  for (const result of results ?? []) {
    if (result.status === "Success") {
      log.info({ migration: result.migrationName }, "store migration applied");
    } else if (result.status === "Error") {
      log.error({ migration: result.migrationName }, "store migration failed");
    }
  }
  if (error !== undefined) {
    throw new Error("the job store's schema migration failed and was rolled back; see the cause", {
      cause: error,
    });
  }
}
