/**
 * The composition root of the store: `DATABASE_URL` in, a migrated `JobStore` out.
 */
import { pino, type Logger } from "pino";
import { migrateDatabase, openDatabase } from "./database.js";
import type { JobStore } from "./job-store.js";
import { KyselyJobStore } from "./kysely-job-store.js";
import { DEFAULT_STORE_POLICY, type StorePolicy } from "./store-context.js";
import { DEFAULT_DATABASE_URL, parseStoreUrl, redactUrl } from "./store-url.js";

export interface OpenStoreOptions {
  /**
   * `./data/kanbot.sqlite` (the default), `sqlite:<path>`, `:memory:`, or
   * `postgres://user:password@host:5432/database` for several app replicas.
   */
  url?: string;
  /** The clock every lease, backoff and timestamp is measured by. Default: the system clock. */
  now?: () => Date;
  log?: Logger;
  /** Overrides of the lost-lease cap and the inbox's retry policy. */
  policy?: Partial<StorePolicy>;
  /** SQLite: how long a writer waits for another process's write lock. Default 10 s. */
  sqliteBusyTimeoutMs?: number;
  /** Postgres: connections in the pool. Default 10. */
  postgresPoolSize?: number;
}

/** Opens (creating if needed) the database at `url` and applies pending migrations. */
export async function openStore(options: OpenStoreOptions = {}): Promise<JobStore> {
  const log = options.log ?? pino({ level: "silent" });
  const location = parseStoreUrl(options.url ?? DEFAULT_DATABASE_URL);
  const handle = openDatabase(location, {
    ...(options.sqliteBusyTimeoutMs !== undefined
      ? { sqliteBusyTimeoutMs: options.sqliteBusyTimeoutMs }
      : {}),
    ...(options.postgresPoolSize !== undefined
      ? { postgresPoolSize: options.postgresPoolSize }
      : {}),
    onIdleConnectionError: (error) =>
      log.warn({ err: error }, "an idle database connection failed; the pool opens another"),
  });
  try {
    await migrateDatabase(handle, log);
  } catch (error) {
    await handle.db.destroy().catch(() => undefined);
    throw error;
  }
  log.info(
    {
      database:
        location.dialect === "postgres" ? redactUrl(location.connectionString) : location.path,
    },
    "job store opened",
  );
  return new KyselyJobStore(handle, {
    now: options.now ?? (() => new Date()),
    log,
    policy: { ...DEFAULT_STORE_POLICY, ...options.policy },
  });
}
