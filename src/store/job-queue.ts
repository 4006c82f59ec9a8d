/**
 * The job queue: jobs are queued per task attempt, handed out by priority then age to a runner
 * that offers what they need (the claim takes a lease), and canceled. What a lease holder does
 * afterwards is in ./job-leases.ts; how expired leases end is in ./lost-lease-sweep.ts.
 */
import type { Expression, SqlBool, Transaction, Updateable } from "kysely";
import { sql } from "kysely";
import { auditJob } from "./audit-log.js";
import { JobNotFoundError, MissingAgentError, TaskNotFoundError } from "./errors.js";
import { selectJob } from "./lease-fence.js";
import type { QueueWakeups } from "./queue-wakeups.js";
import { toJob, toJsonText, toStringListText } from "./rows.js";
import type { JobsTable, StoreDatabase } from "./schema.js";
import {
  insertAudit,
  newSecret,
  runnerActor,
  SYSTEM_ACTOR,
  type StoreContext,
} from "./store-context.js";
import type {
  CancelJobResult,
  ClaimedJob,
  Job,
  NewJob,
  QueueFilter,
  RunnerCapabilities,
} from "./types.js";

export class JobQueue {
  readonly #ctx: StoreContext;
  readonly #wakeups: QueueWakeups;

  constructor(ctx: StoreContext, wakeups: QueueWakeups) {
    this.#ctx = ctx;
    this.#wakeups = wakeups;
  }

  async enqueueJob(job: NewJob): Promise<Job> {
    const now = this.#ctx.now();
    const queued = await this.#ctx.db.transaction().execute((trx) => this.enqueueIn(trx, now, job));
    this.#wakeups.emit();
    return queued;
  }

  /**
   * Queues `job` inside the caller's transaction (the caller emits the wake-up after its
   * commit, with `wakeClaims`).
   */
  async enqueueIn(trx: Transaction<StoreDatabase>, now: number, job: NewJob): Promise<Job> {
    await revokeCanceledLeases(trx, now, job.taskId, job.actor ?? SYSTEM_ACTOR);
    const inserted = await insertJob(trx, now, job);
    await auditJob(trx, now, inserted, {
      actor: job.actor ?? SYSTEM_ACTOR,
      action: "job.enqueued",
      detail: { kind: inserted.kind, attempt: inserted.attempt, agent: inserted.agent },
    });
    await this.#wakeups.notifyQueued(trx, inserted.id);
    return inserted;
  }

  /** Wakes one waiting claim in this process (after a commit that queued a job). */
  wakeClaims(): void {
    this.#wakeups.emit();
  }

  async getJob(jobId: number): Promise<Job | undefined> {
    const row = await selectJob(this.#ctx.db, jobId).executeTakeFirst();
    return row && toJob(row);
  }

  async listJobs(taskId: number): Promise<Job[]> {
    const rows = await this.#ctx.db
      .selectFrom("jobs")
      .selectAll()
      .where("task_id", "=", taskId)
      .orderBy("attempt")
      .execute();
    return rows.map(toJob);
  }

  async listQueue(filter: QueueFilter = {}): Promise<Job[]> {
    const statuses = filter.statuses ?? ["queued", "leased"];
    if (statuses.length === 0) return [];
    const { repo, agent, taskId, runnerId, limit } = filter;
    const rows = await this.#ctx.db
      .selectFrom("jobs")
      .selectAll()
      .where("status", "in", [...statuses])
      .$if(repo !== undefined, (qb) => qb.where("repo", "=", repo ?? ""))
      .$if(agent !== undefined, (qb) => qb.where("agent", "=", agent ?? ""))
      .$if(taskId !== undefined, (qb) => qb.where("task_id", "=", taskId ?? 0))
      .$if(runnerId !== undefined, (qb) => qb.where("runner_id", "=", runnerId ?? ""))
      .orderBy("priority")
      .orderBy("enqueued_at")
      .orderBy("id")
      .$if(limit !== undefined, (qb) => qb.limit(limit ?? 0))
      .execute();
    return rows.map(toJob);
  }

  /**
   * SQLite: one `UPDATE … WHERE id = (SELECT … LIMIT 1) RETURNING *` inside a `BEGIN IMMEDIATE`
   * transaction (one writer at a time across processes). Postgres: the same UPDATE with the
   * sub-select `FOR UPDATE SKIP LOCKED`, so concurrent claimers take different rows instead of
   * queueing behind one. The outer `status = 'queued'` re-check makes a double lease impossible
   * even if the engine re-evaluates the row after a wait.
   */
  async nextJobDueInMs(): Promise<number | undefined> {
    const now = this.#ctx.now();
    const waiting = await this.#ctx.db
      .selectFrom("jobs")
      .select((eb) => eb.fn.min("not_before").as("due"))
      .where("status", "=", "queued")
      .where("not_before", ">", now)
      .executeTakeFirst();
    // A job kept for the runner that holds its session opens to every runner at `prefer_until`.
    const kept = await this.#ctx.db
      .selectFrom("jobs")
      .select((eb) => eb.fn.min("prefer_until").as("due"))
      .where("status", "=", "queued")
      .where("prefer_until", ">", now)
      .executeTakeFirst();
    const dues = [waiting?.due, kept?.due]
      .filter((due) => due !== null && due !== undefined)
      .map(Number);
    return dues.length === 0 ? undefined : Math.min(...dues) - now;
  }

  async claimJob(runner: RunnerCapabilities, leaseMs: number): Promise<ClaimedJob | undefined> {
    if (runner.agents.length === 0) return undefined;
    const now = this.#ctx.now();
    const leaseToken = newSecret("kbl_");
    const leaseExpiresAt = now + leaseMs;
    const claimed = await this.#ctx.db.transaction().execute(async (trx) => {
      const candidate = trx
        .selectFrom("jobs as candidate")
        .select("candidate.id")
        .where("candidate.status", "=", "queued")
        .where("candidate.not_before", "<=", now)
        .where((eb) =>
          eb.or([
            eb("candidate.preferred_runner_id", "is", null),
            eb("candidate.preferred_runner_id", "=", runner.runnerId),
            eb("candidate.prefer_until", "<=", now),
          ]),
        )
        .where("candidate.agent", "in", [...runner.agents])
        .$if(runner.repos.length > 0, (qb) => qb.where("candidate.repo", "in", [...runner.repos]))
        .where(this.#labelsOfferedBy(runner.labels))
        .orderBy("candidate.priority")
        .orderBy("candidate.enqueued_at")
        .orderBy("candidate.id")
        .limit(1)
        .$if(this.#ctx.dialect === "postgres", (qb) => qb.forUpdate().skipLocked());
      const row = await trx
        .updateTable("jobs")
        .set({
          status: "leased",
          lease_token: leaseToken,
          lease_expires_at: leaseExpiresAt,
          runner_id: runner.runnerId,
          phase: null,
          started_at: now,
        })
        .where("id", "=", candidate)
        .where("status", "=", "queued")
        .returningAll()
        .executeTakeFirst();
      if (!row) return undefined;
      await insertAudit(trx, now, {
        taskId: row.task_id,
        jobId: row.id,
        actor: runnerActor(runner.runnerId),
        action: "job.claimed",
        detail: { attempt: row.attempt, leaseExpiresAt },
      });
      return row;
    });
    if (!claimed) return undefined;
    this.#ctx.log.debug({ jobId: claimed.id, runnerId: runner.runnerId }, "job claimed");
    return { job: toJob(claimed), leaseToken, leaseExpiresAt: new Date(leaseExpiresAt) };
  }

  /** True when every required label of the candidate job is among `labels`. */
  #labelsOfferedBy(labels: readonly string[]): Expression<SqlBool> {
    const required = sql.ref("candidate.required_labels");
    if (this.#ctx.dialect === "postgres") {
      return sql<SqlBool>`${required}::jsonb <@ ${toStringListText(labels)}::jsonb`;
    }
    if (labels.length === 0) {
      return sql<SqlBool>`json_array_length(${required}) = 0`;
    }
    return sql<SqlBool>`not exists (select 1 from json_each(${required}) as required_label
      where required_label.value not in (${sql.join([...labels])}))`;
  }

  async cancelJob(jobId: number, actor: string = SYSTEM_ACTOR): Promise<CancelJobResult> {
    const now = this.#ctx.now();
    return this.#ctx.db.transaction().execute((trx) => this.#cancelJob(trx, jobId, actor, now));
  }

  async #cancelJob(
    trx: Transaction<StoreDatabase>,
    jobId: number,
    actor: string,
    now: number,
  ): Promise<CancelJobResult> {
    // A queued job ends at once; a leased one is only marked, and its runner learns of the
    // request from the answer to its next heartbeat.
    const canceled = await changeJobIn(
      trx,
      now,
      { jobId, status: "queued", changes: { status: "canceled", finished_at: now } },
      { actor, action: "job.canceled" },
    );
    if (canceled) return { outcome: "canceled", job: canceled };
    const requested = await changeJobIn(
      trx,
      now,
      { jobId, status: "leased", changes: { cancel_requested: 1 } },
      { actor, action: "job.cancel-requested" },
    );
    if (requested) return { outcome: "cancel-requested", job: requested };
    const current = await selectJob(trx, jobId).executeTakeFirst();
    if (!current) throw new JobNotFoundError(jobId);
    return { outcome: "already-finished", job: toJob(current) };
  }

  async cancelTaskJobs(taskId: number, actor: string = SYSTEM_ACTOR): Promise<CancelJobResult[]> {
    const now = this.#ctx.now();
    return this.#ctx.db
      .transaction()
      .execute((trx) => this.cancelTaskJobsIn(trx, now, taskId, actor));
  }

  /** Cancels every live job of the task inside the caller's transaction. */
  async cancelTaskJobsIn(
    trx: Transaction<StoreDatabase>,
    now: number,
    taskId: number,
    actor: string,
  ): Promise<CancelJobResult[]> {
    const open = await trx
      .selectFrom("jobs")
      .select("id")
      .where("task_id", "=", taskId)
      .where("status", "in", ["queued", "leased"])
      .orderBy("id")
      .execute();
    const results: CancelJobResult[] = [];
    for (const { id } of open) {
      results.push(await this.#cancelJob(trx, id, actor, now));
    }
    return results;
  }
}

/**
 * A canceled job of the task may still hold its lease: its runner learns of the cancel only at
 * its next heartbeat, and could still push. Before a new job of the task is queued (a re-run
 * right after `/kanbot cancel`), such a lease ends here, in the enqueue's transaction, so the new
 * job is the task's only live one: the old runner's next heartbeat, token request or completion
 * is refused (the lease fence), and it stops without pushing.
 */
async function revokeCanceledLeases(
  trx: Transaction<StoreDatabase>,
  now: number,
  taskId: number,
  actor: string,
): Promise<Job[]> {
  const rows = await trx
    .updateTable("jobs")
    .set({
      status: "canceled",
      finished_at: now,
      error: "canceled; its lease was revoked when the task was started again",
    })
    .where("task_id", "=", taskId)
    .where("status", "=", "leased")
    .where("cancel_requested", "=", 1)
    .returningAll()
    .execute();
  const revoked = rows.map(toJob);
  for (const job of revoked) {
    await auditJob(trx, now, job, {
      actor,
      action: "job.canceled",
      detail: {
        reason: "lease revoked: the task was started again",
        runnerId: job.runnerId ?? null,
      },
    });
  }
  return revoked;
}

/** Inserts a job with the task's next attempt number (the task row is the sequence). */
export async function insertJob(
  trx: Transaction<StoreDatabase>,
  now: number,
  job: NewJob,
): Promise<Job> {
  const task = await trx
    .updateTable("tasks")
    .set((eb) => ({ last_attempt: eb("last_attempt", "+", 1) }))
    .where("id", "=", job.taskId)
    .returningAll()
    .executeTakeFirst();
  if (!task) throw new TaskNotFoundError(job.taskId);
  const agent = job.agent ?? task.agent;
  if (agent === null) throw new MissingAgentError(job.taskId);
  const notBefore = job.notBefore?.getTime() ?? now;
  const preferred =
    job.kind === "answer" && job.preferAskingRunnerMs !== undefined && job.preferAskingRunnerMs > 0
      ? await askingRunner(trx, task.id)
      : undefined;
  const row = await trx
    .insertInto("jobs")
    .values({
      task_id: task.id,
      kind: job.kind,
      attempt: task.last_attempt,
      status: "queued",
      agent,
      required_labels: job.requiredLabels
        ? toStringListText(job.requiredLabels)
        : task.required_labels,
      repo: task.repo,
      priority: job.priority ?? task.priority,
      input: toJsonText(job.input),
      enqueued_at: now,
      not_before: notBefore,
      cancel_requested: 0,
      ...(preferred === undefined
        ? {}
        : {
            preferred_runner_id: preferred,
            prefer_until: notBefore + (job.preferAskingRunnerMs ?? 0),
          }),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toJob(row);
}

/** The runner that ran the task's latest `needs-input` job (it holds the agent's session). */
async function askingRunner(
  trx: Transaction<StoreDatabase>,
  taskId: number,
): Promise<string | undefined> {
  const asker = await trx
    .selectFrom("jobs")
    .select("runner_id")
    .where("task_id", "=", taskId)
    .where("status", "=", "needs-input")
    .orderBy("id", "desc")
    .limit(1)
    .executeTakeFirst();
  return asker?.runner_id ?? undefined;
}

/**
 * Changes a job only while it has the given status, and records `audit` with the change; the
 * changed job, or undefined when the job is not (or no longer) in that status.
 */
async function changeJobIn(
  trx: Transaction<StoreDatabase>,
  now: number,
  change: { jobId: number; status: "queued" | "leased"; changes: Updateable<JobsTable> },
  audit: { actor: string; action: string },
): Promise<Job | undefined> {
  const row = await trx
    .updateTable("jobs")
    .set(change.changes)
    .where("id", "=", change.jobId)
    .where("status", "=", change.status)
    .returningAll()
    .executeTakeFirst();
  if (!row) return undefined;
  const job = toJob(row);
  await auditJob(trx, now, job, audit);
  return job;
}
