/**
 * Schema migrations, written in code and applied at open by Kysely's Migrator. Migrations are
 * append-only: never edit a released one, add the next (`0002_…`) instead.
 *
 * Why one long file: migrations are append-only and applied in order; one list in one file is
 * the schema's history, read top to bottom.
 */
import type { Kysely, Migration, MigrationProvider } from "kysely";
import { z } from "zod";
import {
  dependenciesSchema,
  routingSchema,
  taskRecordColumns,
  type TaskRecordChanges,
} from "./task-record.js";

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

/**
 * The typed task record (issue 12, src/store/task-record.ts): the facts read back until now as
 * "the newest audit entry of a kind" get columns, and the newest entry of each kind moves into
 * them. The audit entries stay, as history.
 */
const taskRecord: Migration = {
  async up(db: AnyKysely) {
    const columns: [string, "text" | "bigint" | "integer" | "double precision", unknown][] = [
      ["entered_at", "bigint", undefined],
      ["spent_attempts", "integer", 0],
      ["spent_minutes", "double precision", 0],
      ["spent_usd", "double precision", 0],
      ["spent_lost_leases", "integer", 0],
      ["pr_draft", "integer", 1],
      ["pr_url", "text", undefined],
      ["pr_node_id", "text", undefined],
      ["pr_base", "text", undefined],
      ["check_run_id", "bigint", undefined],
      ["check_run_url", "text", undefined],
      ["gate_head_sha", "text", undefined],
      ["gate_since", "bigint", undefined],
      ["gate_recheck_at", "bigint", undefined],
      ["gate_verdict", "text", undefined],
      ["gate_reason", "text", undefined],
      ["gate_no_checks", "integer", 0],
      ["gate_rerun_run_ids", "text", "[]"],
      ["gate_waiting", "text", undefined],
      ["progress_comment_id", "bigint", undefined],
      ["routing", "text", undefined],
      ["dependencies", "text", undefined],
      ["blocker_cause", "text", undefined],
      ["blocker_message", "text", undefined],
      ["blocker_error", "text", undefined],
      ["shown_column", "text", undefined],
      ["shown_comment", "text", undefined],
    ];
    // One column per statement: SQLite's ALTER TABLE adds one at a time.
    for (const [name, type, fallback] of columns) {
      await db.schema
        .alterTable("tasks")
        .addColumn(name, type, (c) =>
          fallback === undefined ? c : c.notNull().defaultTo(fallback),
        )
        .execute();
    }
    await moveAuditFacts(db);
  },
  async down(db: AnyKysely) {
    for (const name of TASK_RECORD_COLUMNS) {
      await db.schema.alterTable("tasks").dropColumn(name).execute();
    }
  },
};

const TASK_RECORD_COLUMNS = [
  "entered_at",
  "spent_attempts",
  "spent_minutes",
  "spent_usd",
  "spent_lost_leases",
  "pr_draft",
  "pr_url",
  "pr_node_id",
  "pr_base",
  "check_run_id",
  "check_run_url",
  "gate_head_sha",
  "gate_since",
  "gate_recheck_at",
  "gate_verdict",
  "gate_reason",
  "gate_no_checks",
  "gate_rerun_run_ids",
  "gate_waiting",
  "progress_comment_id",
  "routing",
  "dependencies",
  "blocker_cause",
  "blocker_message",
  "blocker_error",
  "shown_column",
  "shown_comment",
];

/** Moves the newest audit entry of each fact kind into the new columns, task by task. */
async function moveAuditFacts(db: AnyKysely): Promise<void> {
  const tasks = (await db
    .selectFrom("tasks")
    .select([
      "id",
      "state",
      "updated_at",
      "used_attempts",
      "used_minutes",
      "used_usd",
      "used_lost_leases",
    ])
    .execute()) as {
    id: number;
    state: string;
    updated_at: number | string;
    used_attempts: number;
    used_minutes: number;
    used_usd: number;
    used_lost_leases: number;
  }[];
  const entries = (await db
    .selectFrom("audit_log")
    .select(["task_id", "action", "detail"])
    .where("action", "in", Object.keys(LEGACY_FACTS))
    .where("task_id", "is not", null)
    .orderBy("id")
    .execute()) as { task_id: number | string; action: string; detail: string | null }[];
  const newest = new Map<string, unknown>();
  for (const entry of entries) {
    if (entry.detail === null) continue;
    try {
      newest.set(`${Number(entry.task_id)} ${entry.action}`, JSON.parse(entry.detail));
    } catch {
      // An unreadable entry moves nothing; the fact is learned again on the next event.
    }
  }
  for (const task of tasks) {
    const fact = (action: string) => newest.get(`${Number(task.id)} ${action}`);
    const changes: TaskRecordChanges = {
      enteredAt: new Date(Number(task.updated_at)),
      spent: {
        attempts: task.used_attempts,
        minutes: task.used_minutes,
        usd: task.used_usd,
        lostLeases: task.used_lost_leases,
      },
      // The machine takes the PR out of draft when the task reaches review.
      prDraft: !["review", "done"].includes(task.state),
      ...legacyTaskFacts(task.state, fact),
    };
    await db
      .updateTable("tasks")
      .set(taskRecordColumns(changes))
      .where("id", "=", task.id)
      .execute();
  }
}

const LEGACY_FACTS = {
  "task.routed": true,
  "task.dependencies": true,
  "task.blocked": true,
  "progress.comment": true,
  "task.pull-request": true,
  "task.gate": true,
};

const legacyPullRequest = z.object({
  number: z.number().int(),
  url: z.string(),
  nodeId: z.string(),
  base: z.string(),
  checkRunId: z.number().int().nullable().optional(),
  checkRunUrl: z.string().nullable().optional(),
});
const legacyGate = z.object({
  headSha: z.string(),
  since: z.string(),
  recheckAt: z.string().nullable().optional(),
  verdict: z.enum(["pending", "passed", "failed", "waiting"]),
  reason: z.string(),
  noChecks: z.boolean().optional(),
  rerunRunIds: z.array(z.number().int()).optional(),
  waiting: z.string().nullable().optional(),
});
const legacyBlocked = z.object({ message: z.string(), error: z.string().nullable().optional() });
const legacyComment = z.object({ commentId: z.number().int() });

/** The typed facts of one task from its newest legacy audit entries (what does not parse stays
 * unset). */
function legacyTaskFacts(state: string, fact: (action: string) => unknown): TaskRecordChanges {
  const changes: TaskRecordChanges = {};
  const routing = routingSchema.safeParse(fact("task.routed"));
  if (routing.success) changes.routing = routing.data;
  const dependencies = dependenciesSchema.safeParse(fact("task.dependencies"));
  if (dependencies.success) changes.dependencies = dependencies.data;
  const comment = legacyComment.safeParse(fact("progress.comment"));
  if (comment.success) changes.progressCommentId = comment.data.commentId;
  const pr = legacyPullRequest.safeParse(fact("task.pull-request"));
  if (pr.success) {
    const { checkRunId, checkRunUrl, ...pullRequest } = pr.data;
    changes.pullRequest = pullRequest;
    if (checkRunId != null) changes.checkRun = { id: checkRunId, url: checkRunUrl ?? null };
  }
  const gate = legacyGate.safeParse(fact("task.gate"));
  if (gate.success) {
    changes.gate = {
      headSha: gate.data.headSha,
      since: new Date(gate.data.since),
      recheckAt: gate.data.recheckAt == null ? null : new Date(gate.data.recheckAt),
      verdict: gate.data.verdict,
      reason: gate.data.reason,
      noChecks: gate.data.noChecks === true,
      rerunRunIds: gate.data.rerunRunIds ?? [],
      waiting: gate.data.waiting ?? null,
    };
  }
  if (state === "blocked") {
    const blocked = legacyBlocked.safeParse(fact("task.blocked"));
    // The cause was never recorded: "needs-human" is what a blocked task asks for.
    changes.blocker = blocked.success
      ? { cause: "needs-human", message: blocked.data.message, error: blocked.data.error ?? null }
      : { cause: "needs-human", message: "blocked before kanbot kept the reason", error: null };
  }
  return changes;
}

/**
 * Inbox holds belong to a live process (issue 13): who holds a delivery (`locked_by`, the app
 * replica's id), so a starting replica releases its own earlier run's holds at once and renews
 * the ones it works on.
 */
const deliveryHolder: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable("deliveries").addColumn("locked_by", "text").execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.alterTable("deliveries").dropColumn("locked_by").execute();
  },
};

/**
 * Job tokens revocable by any replica (issue 13): the GitHub tokens issued for a job, sealed
 * (AES-256-GCM, src/tokens/token-seal.ts), kept until the job's lease ends, so whichever replica
 * sees the lease end revokes them. They go with their job.
 */
function jobTokens(dialect: StoreDialect): Migration {
  return {
    async up(db: AnyKysely) {
      await db.schema
        .createTable("job_tokens")
        .addColumn("id", dialect === "sqlite" ? "integer" : "bigserial", (c) =>
          dialect === "sqlite" ? c.primaryKey().autoIncrement() : c.primaryKey(),
        )
        .addColumn("job_id", "bigint", (c) => c.notNull().references("jobs.id").onDelete("cascade"))
        .addColumn("sealed", "text", (c) => c.notNull())
        .addColumn("expires_at", "bigint", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex("job_tokens_job_idx")
        .on("job_tokens")
        .columns(["job_id"])
        .execute();
    },
    async down(db: AnyKysely) {
      await db.schema.dropTable("job_tokens").ifExists().execute();
    },
  };
}

/**
 * Questions to humans (issue 14, part 2): when a `needs-input` task's question is due. The
 * once-a-minute sweep blocks the tasks whose question passed it (src/inbox/internal-event-recorder.ts).
 */
const questionDue: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable("tasks").addColumn("question_due_at", "bigint").execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.alterTable("tasks").dropColumn("question_due_at").execute();
  },
};

/**
 * Answer jobs prefer the runner that asked (issue 14, part 2): that runner holds the agent's
 * session (its `agent-home/<task>` folder), so for `prefer_until` only it may claim the job;
 * after that any runner may, and starts a fresh session with the summary.
 */
const preferredRunner: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable("jobs").addColumn("preferred_runner_id", "text").execute();
    await db.schema.alterTable("jobs").addColumn("prefer_until", "bigint").execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.alterTable("jobs").dropColumn("prefer_until").execute();
    await db.schema.alterTable("jobs").dropColumn("preferred_runner_id").execute();
  },
};

/** The store's migrations for one dialect, in the order they apply. */
export function storeMigrations(dialect: StoreDialect): MigrationProvider {
  const migrations: Record<string, Migration> = {
    "0001_initial": initialSchema(dialect),
    "0002_jobs_agent_queue_idx": jobsAgentQueueIndex,
    "0003_deliveries_pending_idx": deliveriesPendingIndex,
    "0004_task_outbox": taskOutbox,
    "0005_task_record": taskRecord,
    "0006_delivery_holder": deliveryHolder,
    "0007_job_tokens": jobTokens(dialect),
    "0008_question_due": questionDue,
    "0009_preferred_runner": preferredRunner,
  };
  return {
    getMigrations: () => Promise.resolve(migrations),
  };
}
