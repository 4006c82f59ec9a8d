/**
 * Task rows: one per issue kanbot works on, with its state, budget and what it used. Every
 * change bumps the row's version (the callers' optimistic lock) and is audited with it.
 */
import type { Transaction, Updateable } from "kysely";
import { sql } from "kysely";
import { TaskNotFoundError, TaskVersionConflictError } from "./errors.js";
import { toStringListText, toTask } from "./rows.js";
import { taskRecordColumns, type TaskFactChanges } from "./task-record.js";
import type { StoreDatabase, TasksTable } from "./schema.js";
import { insertAudit, SYSTEM_ACTOR, type Db, type StoreContext } from "./store-context.js";
import type { NewTask, Task, TaskChanges, TaskFilter } from "./types.js";

export class TaskRows {
  readonly #ctx: StoreContext;

  constructor(ctx: StoreContext) {
    this.#ctx = ctx;
  }

  async upsertTask(task: NewTask): Promise<{ task: Task; created: boolean }> {
    const now = this.#ctx.now();
    return this.#ctx.db.transaction().execute(async (trx) => {
      const inserted = await insertTaskIn(trx, now, task);
      if (inserted) return { task: inserted, created: true };
      // Only the facts GitHub owns are refreshed, and only when they changed (the version
      // guards the caller's optimistic reads, so it must not move for nothing).
      const refreshed = await trx
        .updateTable("tasks")
        .set((eb) => ({
          title: task.title,
          body: task.body,
          installation_id: task.installationId,
          version: eb("version", "+", 1),
          updated_at: now,
        }))
        .where("repo", "=", task.repo)
        .where("issue_number", "=", task.issueNumber)
        .where((eb) =>
          eb.or([
            eb("title", "!=", task.title),
            eb("body", "!=", task.body),
            eb("installation_id", "!=", task.installationId),
          ]),
        )
        .returningAll()
        .executeTakeFirst();
      const row =
        refreshed ?? (await selectTask(trx, task.repo, task.issueNumber).executeTakeFirstOrThrow());
      return { task: toTask(row), created: false };
    });
  }

  async getTask(taskId: number): Promise<Task | undefined> {
    const row = await this.#ctx.db
      .selectFrom("tasks")
      .selectAll()
      .where("id", "=", taskId)
      .executeTakeFirst();
    return row && toTask(row);
  }

  async findTask(repo: string, issueNumber: number): Promise<Task | undefined> {
    const row = await selectTask(this.#ctx.db, repo, issueNumber).executeTakeFirst();
    return row && toTask(row);
  }

  async listTasks(filter: TaskFilter = {}): Promise<Task[]> {
    const { repo, states, limit, pendingEffects } = filter;
    const rows = await this.#ctx.db
      .selectFrom("tasks")
      .selectAll()
      .$if(repo !== undefined, (qb) => qb.where("repo", "=", repo ?? ""))
      .$if(pendingEffects === true, (qb) => qb.where("pending_effects", "is not", null))
      .$if(states !== undefined, (qb) =>
        states && states.length > 0
          ? qb.where("state", "in", [...states])
          : qb.where(sql.lit(false)),
      )
      .orderBy("id")
      .$if(limit !== undefined, (qb) => qb.limit(limit ?? 0))
      .execute();
    return rows.map(toTask);
  }

  async updateTask(
    taskId: number,
    changes: TaskChanges,
    options: { expectedVersion?: number; actor?: string } = {},
  ): Promise<Task> {
    const now = this.#ctx.now();
    return this.#ctx.db
      .transaction()
      .execute((trx) => updateTaskIn(trx, now, taskId, changes, options));
  }

  async recordTaskFacts(taskId: number, facts: TaskFactChanges): Promise<Task> {
    const columns = taskRecordColumns(facts);
    if (Object.keys(columns).length === 0) {
      const task = await this.getTask(taskId);
      if (task === undefined) throw new TaskNotFoundError(taskId);
      return task;
    }
    const row = await this.#ctx.db
      .updateTable("tasks")
      .set(columns)
      .where("id", "=", taskId)
      .returningAll()
      .executeTakeFirst();
    if (!row) throw new TaskNotFoundError(taskId);
    return toTask(row);
  }
}

/** Changes a task inside the caller's transaction (optimistic on `expectedVersion`), audited. */
export async function updateTaskIn(
  trx: Transaction<StoreDatabase>,
  now: number,
  taskId: number,
  changes: TaskChanges,
  options: { expectedVersion?: number; actor?: string } = {},
): Promise<Task> {
  const columns = taskColumns(changes);
  const row = await trx
    .updateTable("tasks")
    .set((eb) => ({ ...columns, version: eb("version", "+", 1), updated_at: now }))
    .where("id", "=", taskId)
    .$if(options.expectedVersion !== undefined, (qb) =>
      qb.where("version", "=", options.expectedVersion ?? 0),
    )
    .returningAll()
    .executeTakeFirst();
  if (!row) {
    const current = await trx
      .selectFrom("tasks")
      .select("version")
      .where("id", "=", taskId)
      .executeTakeFirst();
    if (!current) throw new TaskNotFoundError(taskId);
    throw new TaskVersionConflictError(taskId, options.expectedVersion ?? 0, current.version);
  }
  // Ticking an effect off the outbox is bookkeeping, not a decision: the audit log keeps only
  // the changes that are.
  const keys = Object.keys(changes);
  if (keys.length === 1 && keys[0] === "pendingEffects") return toTask(row);
  await insertAudit(trx, now, {
    taskId,
    actor: options.actor ?? SYSTEM_ACTOR,
    action: changes.state !== undefined ? "task.state-changed" : "task.updated",
    detail: {
      fields: Object.keys(changes).sort(),
      ...(changes.state !== undefined ? { state: changes.state } : {}),
    },
  });
  return toTask(row);
}

/**
 * Inserts the task of an issue with its `task.created` audit entry, inside `trx`; undefined when
 * the issue has a task already (nothing is written then).
 */
export async function insertTaskIn(
  trx: Transaction<StoreDatabase>,
  now: number,
  task: NewTask,
): Promise<Task | undefined> {
  const inserted = await trx
    .insertInto("tasks")
    .values({
      repo: task.repo,
      installation_id: task.installationId,
      issue_number: task.issueNumber,
      title: task.title,
      body: task.body,
      state: task.state,
      agent: task.agent ?? null,
      required_labels: toStringListText(task.requiredLabels ?? []),
      priority: task.priority ?? 2,
      budget_attempts: task.budget.attempts,
      budget_minutes: task.budget.minutes,
      budget_usd: task.budget.usd,
      used_attempts: 0,
      used_minutes: 0,
      used_usd: 0,
      used_lost_leases: 0,
      started_by: task.startedBy ?? null,
      branch: task.branch ?? null,
      pr_number: null,
      head_sha: null,
      last_attempt: 0,
      pending_effects: null,
      version: 1,
      entered_at: now,
      created_at: now,
      updated_at: now,
    })
    .onConflict((oc) => oc.columns(["repo", "issue_number"]).doNothing())
    .returningAll()
    .executeTakeFirst();
  if (!inserted) return undefined;
  await insertAudit(trx, now, {
    taskId: inserted.id,
    actor: task.startedBy ?? SYSTEM_ACTOR,
    action: "task.created",
    detail: { repo: task.repo, issueNumber: task.issueNumber, state: task.state },
  });
  return toTask(inserted);
}

/** The task of an issue. */
function selectTask(db: Db, repo: string, issueNumber: number) {
  return db
    .selectFrom("tasks")
    .selectAll()
    .where("repo", "=", repo)
    .where("issue_number", "=", issueNumber);
}

/** Task changes as column values; `used` is merged field by field. */
function taskColumns(changes: TaskChanges): Updateable<TasksTable> {
  const columns: Updateable<TasksTable> = {};
  if (changes.installationId !== undefined) columns.installation_id = changes.installationId;
  if (changes.title !== undefined) columns.title = changes.title;
  if (changes.body !== undefined) columns.body = changes.body;
  if (changes.state !== undefined) columns.state = changes.state;
  if (changes.agent !== undefined) columns.agent = changes.agent;
  if (changes.requiredLabels !== undefined) {
    columns.required_labels = toStringListText(changes.requiredLabels);
  }
  if (changes.priority !== undefined) columns.priority = changes.priority;
  if (changes.budget !== undefined) {
    columns.budget_attempts = changes.budget.attempts;
    columns.budget_minutes = changes.budget.minutes;
    columns.budget_usd = changes.budget.usd;
  }
  const used = changes.used ?? {};
  if (used.attempts !== undefined) columns.used_attempts = used.attempts;
  if (used.minutes !== undefined) columns.used_minutes = used.minutes;
  if (used.usd !== undefined) columns.used_usd = used.usd;
  if (used.lostLeases !== undefined) columns.used_lost_leases = used.lostLeases;
  if (changes.startedBy !== undefined) columns.started_by = changes.startedBy;
  if (changes.branch !== undefined) columns.branch = changes.branch;
  if (changes.prNumber !== undefined) columns.pr_number = changes.prNumber;
  if (changes.headSha !== undefined) columns.head_sha = changes.headSha;
  if (changes.pendingEffects !== undefined) {
    columns.pending_effects =
      changes.pendingEffects === null ? null : JSON.stringify(changes.pendingEffects);
  }
  return { ...columns, ...taskRecordColumns(changes) };
}
