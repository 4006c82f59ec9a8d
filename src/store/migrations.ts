/**
 * Schema migrations, written in code and applied at open by Kysely's Migrator. Migrations are
 * append-only: never edit a released one, add the next (`0002_…`) instead.
 */
import type { Kysely, Migration, MigrationProvider } from "kysely";

/** Which database engine a store runs on; only the store's internals ever look at it. */
export type StoreDialect = "sqlite" | "postgres";

// Kysely's migrations run against a database whose type they cannot know (it is the shape
// after the migration), so they take the untyped builder, as Kysely's own docs do.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyKysely = Kysely<any>;

function initialSchema(dialect: StoreDialect): Migration {
  // An auto-numbered primary key: monotonic in both engines, which FIFO order relies on.
  const serialType = dialect === "sqlite" ? "integer" : "bigserial";
  const serial = dialect === "sqlite" ? "autoincrement" : "";

  return {
    async up(db: AnyKysely): Promise<void> {
      await db.schema
        .createTable("tasks")
        .addColumn("id", serialType, (c) =>
          serial ? c.primaryKey().autoIncrement() : c.primaryKey(),
        )
        .addColumn("repo", "text", (c) => c.notNull())
        .addColumn("installation_id", "bigint", (c) => c.notNull())
        .addColumn("issue_number", "integer", (c) => c.notNull())
        .addColumn("title", "text", (c) => c.notNull())
        .addColumn("body", "text", (c) => c.notNull())
        .addColumn("state", "text", (c) => c.notNull())
        .addColumn("agent", "text")
        .addColumn("required_labels", "text", (c) => c.notNull().defaultTo("[]"))
        .addColumn("priority", "integer", (c) => c.notNull())
        .addColumn("budget_attempts", "integer", (c) => c.notNull())
        .addColumn("budget_minutes", "double precision", (c) => c.notNull())
        .addColumn("budget_usd", "double precision", (c) => c.notNull())
        .addColumn("used_attempts", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("used_minutes", "double precision", (c) => c.notNull().defaultTo(0))
        .addColumn("used_usd", "double precision", (c) => c.notNull().defaultTo(0))
        .addColumn("used_lost_leases", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("started_by", "text")
        .addColumn("branch", "text")
        .addColumn("pr_number", "integer")
        .addColumn("head_sha", "text")
        .addColumn("last_attempt", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("version", "integer", (c) => c.notNull().defaultTo(1))
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("updated_at", "bigint", (c) => c.notNull())
        .addUniqueConstraint("tasks_repo_issue_unique", ["repo", "issue_number"])
        .execute();
      await db.schema.createIndex("tasks_state_idx").on("tasks").columns(["state"]).execute();

      await db.schema
        .createTable("jobs")
        .addColumn("id", serialType, (c) =>
          serial ? c.primaryKey().autoIncrement() : c.primaryKey(),
        )
        .addColumn("task_id", "bigint", (c) =>
          c.notNull().references("tasks.id").onDelete("cascade"),
        )
        .addColumn("kind", "text", (c) => c.notNull())
        .addColumn("attempt", "integer", (c) => c.notNull())
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("agent", "text", (c) => c.notNull())
        .addColumn("required_labels", "text", (c) => c.notNull().defaultTo("[]"))
        .addColumn("repo", "text", (c) => c.notNull())
        .addColumn("priority", "integer", (c) => c.notNull())
        .addColumn("input", "text")
        .addColumn("enqueued_at", "bigint", (c) => c.notNull())
        .addColumn("not_before", "bigint", (c) => c.notNull())
        .addColumn("lease_token", "text")
        .addColumn("lease_expires_at", "bigint")
        .addColumn("runner_id", "text")
        .addColumn("phase", "text")
        .addColumn("cancel_requested", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("result", "text")
        .addColumn("error", "text")
        .addColumn("started_at", "bigint")
        .addColumn("finished_at", "bigint")
        .addUniqueConstraint("jobs_task_attempt_unique", ["task_id", "attempt"])
        .execute();
      // The claim walks this index in hand-out order.
      await db.schema
        .createIndex("jobs_queue_idx")
        .on("jobs")
        .columns(["status", "priority", "enqueued_at", "id"])
        .execute();
      await db.schema
        .createIndex("jobs_lease_idx")
        .on("jobs")
        .columns(["status", "lease_expires_at"])
        .execute();

      await db.schema
        .createTable("runners")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("token_hash", "text", (c) => c.notNull().unique())
        .addColumn("agents", "text", (c) => c.notNull())
        .addColumn("labels", "text", (c) => c.notNull())
        .addColumn("repos", "text", (c) => c.notNull())
        .addColumn("registered_at", "bigint", (c) => c.notNull())
        .addColumn("last_seen_at", "bigint")
        .addColumn("revoked_at", "bigint")
        .execute();

      await db.schema
        .createTable("registration_tokens")
        .addColumn("token_hash", "text", (c) => c.primaryKey())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("expires_at", "bigint", (c) => c.notNull())
        .addColumn("used_at", "bigint")
        .addColumn("runner_id", "text")
        .execute();

      await db.schema
        .createTable("log_chunks")
        .addColumn("job_id", "bigint", (c) => c.notNull().references("jobs.id").onDelete("cascade"))
        .addColumn("seq", "integer", (c) => c.notNull())
        .addColumn("text", "text", (c) => c.notNull())
        .addColumn("received_at", "bigint", (c) => c.notNull())
        .addPrimaryKeyConstraint("log_chunks_pk", ["job_id", "seq"])
        .execute();

      await db.schema
        .createTable("deliveries")
        .addColumn("id", serialType, (c) =>
          serial ? c.primaryKey().autoIncrement() : c.primaryKey(),
        )
        .addColumn("delivery_id", "text", (c) => c.notNull().unique())
        .addColumn("event", "text", (c) => c.notNull())
        .addColumn("action", "text")
        .addColumn("installation_id", "bigint")
        .addColumn("payload", "text", (c) => c.notNull())
        .addColumn("ordering_key", "text", (c) => c.notNull())
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("next_attempt_at", "bigint", (c) => c.notNull())
        .addColumn("locked_until", "bigint")
        .addColumn("last_error", "text")
        .addColumn("received_at", "bigint", (c) => c.notNull())
        .addColumn("processed_at", "bigint")
        .execute();
      await db.schema
        .createIndex("deliveries_key_idx")
        .on("deliveries")
        .columns(["ordering_key", "status", "id"])
        .execute();
      await db.schema
        .createIndex("deliveries_due_idx")
        .on("deliveries")
        .columns(["status", "next_attempt_at"])
        .execute();

      await db.schema
        .createTable("audit_log")
        .addColumn("id", serialType, (c) =>
          serial ? c.primaryKey().autoIncrement() : c.primaryKey(),
        )
        .addColumn("at", "bigint", (c) => c.notNull())
        .addColumn("task_id", "bigint")
        .addColumn("job_id", "bigint")
        .addColumn("actor", "text", (c) => c.notNull())
        .addColumn("action", "text", (c) => c.notNull())
        .addColumn("detail", "text")
        .execute();
      await db.schema
        .createIndex("audit_task_idx")
        .on("audit_log")
        .columns(["task_id", "id"])
        .execute();
      await db.schema
        .createIndex("audit_job_idx")
        .on("audit_log")
        .columns(["job_id", "id"])
        .execute();
    },
    async down(db: AnyKysely): Promise<void> {
      for (const table of [
        "audit_log",
        "deliveries",
        "log_chunks",
        "registration_tokens",
        "runners",
        "jobs",
        "tasks",
      ]) {
        await db.schema.dropTable(table).ifExists().execute();
      }
    },
  };
}

/**
 * A claim names the runner's agents: with this index the claim seeks to the queued jobs of those
 * agents instead of walking every queued job in hand-out order (10,000 jobs queued for other
 * agents made each claim scan them all; see docs/BENCHMARKS.md).
 */
const jobsAgentQueueIndex: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createIndex("jobs_agent_queue_idx")
      .on("jobs")
      .columns(["status", "agent", "priority", "enqueued_at", "id"])
      .execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropIndex("jobs_agent_queue_idx").execute();
  },
};

/**
 * The inbox worker takes the oldest due deliveries (`order by id limit n`). SQLite chose
 * (status, next_attempt_at) for that, read every pending delivery and sorted them: 30 ms a round
 * with 3,000 pending, on the app's only thread, during a burst of webhooks. With (status, id) it
 * walks pending deliveries oldest first and stops at the limit (about 1 ms); the due time is
 * checked row by row (only deliveries waiting for a retry are not due).
 */
const deliveriesPendingIndex: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.dropIndex("deliveries_due_idx").execute();
    await db.schema
      .createIndex("deliveries_pending_idx")
      .on("deliveries")
      .columns(["status", "id"])
      .execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropIndex("deliveries_pending_idx").execute();
    await db.schema
      .createIndex("deliveries_due_idx")
      .on("deliveries")
      .columns(["status", "next_attempt_at"])
      .execute();
  },
};

/**
 * The task outbox (issue 12): the GitHub effects a transition still owes are written with the
 * state they follow from, so a crash between the two never leaves a task moved without them.
 */
const taskOutbox: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable("tasks").addColumn("pending_effects", "text").execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.alterTable("tasks").dropColumn("pending_effects").execute();
  },
};

/** The store's migrations for one dialect, in the order they apply. */
export function storeMigrations(dialect: StoreDialect): MigrationProvider {
  const migrations: Record<string, Migration> = {
    "0001_initial": initialSchema(dialect),
    "0002_jobs_agent_queue_idx": jobsAgentQueueIndex,
    "0003_deliveries_pending_idx": deliveriesPendingIndex,
    "0004_task_outbox": taskOutbox,
  };
  return {
    getMigrations: () => Promise.resolve(migrations),
  };
}
