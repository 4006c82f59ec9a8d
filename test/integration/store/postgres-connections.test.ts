/**
 * The Postgres store outlives its connections: when the server ends the pool's idle connections
 * (a restart, a failover, `pg_terminate_backend`), the pool drops them and opens new ones, and
 * the process does not crash on node-postgres's idle-client error (an unhandled `error` event
 * before the pool had a listener; seen as an uncaught exception when a test database was dropped).
 */
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { openStore } from "../../../src/store/index.js";
import { createTestDatabase, type TestDatabase } from "../../helpers/store-databases.js";

let database: TestDatabase | undefined;

afterAll(async () => {
  await database?.drop();
});

describe("a Postgres store whose connections the server ends", () => {
  it("keeps working and does not crash the process", async () => {
    database = await createTestDatabase("postgres");
    const store = await openStore({ url: database.url, postgresPoolSize: 2 });
    try {
      await store.upsertTask({
        repo: "acme/widgets",
        installationId: 1,
        issueNumber: 1,
        title: "Add a widget",
        body: "",
        state: "waiting",
        budget: { attempts: 5, minutes: 120, usd: 10 },
      });
      const admin = new pg.Client({ connectionString: database.url });
      await admin.connect();
      const ended = await admin.query<{ pid: number }>(
        "select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()",
      );
      await admin.query(
        "select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()",
      );
      await admin.end();
      expect(ended.rows.length).toBeGreaterThan(0);
      // The idle connections' errors arrive on their own; then the store reads through new ones.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect((await store.listTasks()).map((task) => task.issueNumber)).toEqual([1]);
    } finally {
      await store.close();
    }
  });
});
