/**
 * The job store on Kysely, for SQLite and Postgres: tasks, jobs and leases, logs, audit, queue
 * wake-ups; runners (`RunnerRegistry`) and the webhook inbox (`WebhookInbox`) are delegated. The
 * few places where the engines differ (the label-match predicate, `FOR UPDATE SKIP LOCKED`,
 * LISTEN/NOTIFY) look at `dialect`; every other query is the same on both.
 */
import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import type {
  Expression,
  ExpressionBuilder,
  Kysely,
  SqlBool,
  Transaction,
  Updateable,
} from "kysely";
import { sql } from "kysely";
import type pg from "pg";
import type { Logger } from "pino";
import {
  JobAlreadyFinishedError,
  JobNotFoundError,
  MissingAgentError,
  StaleLeaseError,
  TaskNotFoundError,
  TaskVersionConflictError,
} from "./errors.js";
import type { StoreDatabaseHandle } from "./database.js";
import type { JobStore } from "./job-store.js";
import type { StoreDialect } from "./migrations.js";
import { toAuditEntry, toJob, toJsonText, toLogChunk, toStringListText, toTask } from "./rows.js";
import { RunnerRegistry } from "./runner-registry.js";
import type { JobsTable, StoreDatabase, TasksTable } from "./schema.js";
import {
  insertAudit,
  newSecret,
  runnerActor,
  SYSTEM_ACTOR,
  truncate,
  withoutNul,
  type Db,
  type StoreContext,
  type StorePolicy,
} from "./store-context.js";
import type {
  AuditEntry,
  AuditFilter,
  CancelJobResult,
  ClaimedJob,
  Delivery,
  DeliveryFilter,
  ExpiredLeaseSweep,
  HeartbeatResult,
  Job,
  JobOutcome,
  LogChunk,
  NewAuditEntry,
  NewDelivery,
  NewJob,
  NewTask,
  QueueFilter,
  RecordDeliveryResult,
  RegisteredRunner,
  RegistrationTokenGrant,
  Runner,
  RunnerCapabilities,
  RunnerRegistration,
  RunnerUpdate,
  Task,
  TaskChanges,
  TaskFilter,
} from "./types.js";
import { WebhookInbox } from "./webhook-inbox.js";

/** Postgres channel that tells every replica a job may be claimable. */
const JOB_QUEUED_CHANNEL = "kanbot_job_queued";

export interface KyselyJobStoreOptions {
  now: () => Date;
  log: Logger;
  policy: StorePolicy;
}

export class KyselyJobStore implements JobStore {
  readonly #db: Kysely<StoreDatabase>;
  readonly #dialect: StoreDialect;
  readonly #connectListener: (() => Promise<pg.Client>) | undefined;
  readonly #now: () => Date;
  readonly #log: Logger;
  readonly #policy: StorePolicy;
  readonly #runners: RunnerRegistry;
  readonly #inbox: WebhookInbox;
  /** Identifies this store's own NOTIFYs, so its listeners are not woken twice. */
  readonly #instanceId = randomUUID();
  readonly #queueEvents = new EventEmitter();
  #listener: pg.Client | undefined;
  #listenerStarting: Promise<void> | undefined;
  #closed = false;

  constructor(handle: StoreDatabaseHandle, options: KyselyJobStoreOptions) {
    this.#db = handle.db;
    this.#dialect = handle.dialect;
    this.#connectListener = handle.connectListener;
    this.#now = options.now;
    this.#log = options.log;
    this.#policy = options.policy;
    const ctx: StoreContext = {
      db: handle.db,
      dialect: handle.dialect,
      now: () => this.#ms(),
      log: options.log,
      policy: options.policy,
    };
    this.#runners = new RunnerRegistry(ctx);
    this.#inbox = new WebhookInbox(ctx);
    this.#queueEvents.setMaxListeners(0);
  }

  #ms(): number {
    return this.#now().getTime();
  }

  // --- tasks -------------------------------------------------------------------------------

  async upsertTask(task: NewTask): Promise<{ task: Task; created: boolean }> {
    const now = this.#ms();
    return this.#db.transaction().execute(async (trx) => {
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
          version: 1,
          created_at: now,
          updated_at: now,
        })
        .onConflict((oc) => oc.columns(["repo", "issue_number"]).doNothing())
        .returningAll()
        .executeTakeFirst();
      if (inserted) {
        await insertAudit(trx, now, {
          taskId: inserted.id,
          actor: task.startedBy ?? SYSTEM_ACTOR,
          action: "task.created",
          detail: { repo: task.repo, issueNumber: task.issueNumber, state: task.state },
        });
        return { task: toTask(inserted), created: true };
      }
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
    const row = await this.#db
      .selectFrom("tasks")
      .selectAll()
      .where("id", "=", taskId)
      .executeTakeFirst();
    return row && toTask(row);
  }

  async findTask(repo: string, issueNumber: number): Promise<Task | undefined> {
    const row = await selectTask(this.#db, repo, issueNumber).executeTakeFirst();
    return row && toTask(row);
  }

  async listTasks(filter: TaskFilter = {}): Promise<Task[]> {
    const { repo, states, limit } = filter;
    const rows = await this.#db
      .selectFrom("tasks")
      .selectAll()
      .$if(repo !== undefined, (qb) => qb.where("repo", "=", repo ?? ""))
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
    const now = this.#ms();
    const columns = taskColumns(changes);
    return this.#db.transaction().execute(async (trx) => {
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
    });
  }

  // --- jobs --------------------------------------------------------------------------------

  async enqueueJob(job: NewJob): Promise<Job> {
    const now = this.#ms();
    const queued = await this.#db.transaction().execute(async (trx) => {
      const inserted = await this.#insertJob(trx, now, job);
      await auditJob(trx, now, inserted, {
        actor: job.actor ?? SYSTEM_ACTOR,
        action: "job.enqueued",
        detail: { kind: inserted.kind, attempt: inserted.attempt, agent: inserted.agent },
      });
      await this.#notifyQueued(trx, inserted.id);
      return inserted;
    });
    this.#queueEvents.emit("queued");
    return queued;
  }

  /** Inserts a job with the task's next attempt number (the task row is the sequence). */
  async #insertJob(trx: Transaction<StoreDatabase>, now: number, job: NewJob): Promise<Job> {
    const task = await trx
      .updateTable("tasks")
      .set((eb) => ({ last_attempt: eb("last_attempt", "+", 1) }))
      .where("id", "=", job.taskId)
      .returningAll()
      .executeTakeFirst();
    if (!task) throw new TaskNotFoundError(job.taskId);
    const agent = job.agent ?? task.agent;
    if (agent === null) throw new MissingAgentError(job.taskId);
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
        not_before: job.notBefore?.getTime() ?? now,
        cancel_requested: 0,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toJob(row);
  }

  async getJob(jobId: number): Promise<Job | undefined> {
    const row = await selectJob(this.#db, jobId).executeTakeFirst();
    return row && toJob(row);
  }

  async listJobs(taskId: number): Promise<Job[]> {
    const rows = await this.#db
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
    const rows = await this.#db
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
  async claimJob(runner: RunnerCapabilities, leaseMs: number): Promise<ClaimedJob | undefined> {
    if (runner.agents.length === 0) return undefined;
    const now = this.#ms();
    const leaseToken = newSecret("kbl_");
    const leaseExpiresAt = now + leaseMs;
    const claimed = await this.#db.transaction().execute(async (trx) => {
      const candidate = trx
        .selectFrom("jobs as candidate")
        .select("candidate.id")
        .where("candidate.status", "=", "queued")
        .where("candidate.not_before", "<=", now)
        .where("candidate.agent", "in", [...runner.agents])
        .$if(runner.repos.length > 0, (qb) => qb.where("candidate.repo", "in", [...runner.repos]))
        .where(this.#labelsOfferedBy(runner.labels))
        .orderBy("candidate.priority")
        .orderBy("candidate.enqueued_at")
        .orderBy("candidate.id")
        .limit(1)
        .$if(this.#dialect === "postgres", (qb) => qb.forUpdate().skipLocked());
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
    this.#log.debug({ jobId: claimed.id, runnerId: runner.runnerId }, "job claimed");
    return { job: toJob(claimed), leaseToken, leaseExpiresAt: new Date(leaseExpiresAt) };
  }

  /** True when every required label of the candidate job is among `labels`. */
  #labelsOfferedBy(labels: readonly string[]): Expression<SqlBool> {
    const required = sql.ref("candidate.required_labels");
    if (this.#dialect === "postgres") {
      return sql<SqlBool>`${required}::jsonb <@ ${toStringListText(labels)}::jsonb`;
    }
    if (labels.length === 0) {
      return sql<SqlBool>`json_array_length(${required}) = 0`;
    }
    return sql<SqlBool>`not exists (select 1 from json_each(${required}) as required_label
      where required_label.value not in (${sql.join([...labels])}))`;
  }

  /** The job's row, selected only while `leaseToken` holds a live lease on it. */
  #holdsLease(db: Db, jobId: number, leaseToken: string, now: number) {
    return db.selectFrom("jobs").where(liveLease(jobId, leaseToken, now));
  }

  async #staleOrMissing(jobId: number): Promise<Error> {
    const exists = await this.#db
      .selectFrom("jobs")
      .select("id")
      .where("id", "=", jobId)
      .executeTakeFirst();
    return exists ? new StaleLeaseError(jobId) : new JobNotFoundError(jobId);
  }

  async heartbeat(
    jobId: number,
    leaseToken: string,
    report: { phase?: string; leaseMs: number },
  ): Promise<HeartbeatResult> {
    const now = this.#ms();
    const row = await this.#db
      .updateTable("jobs")
      .set({
        lease_expires_at: now + report.leaseMs,
        ...(report.phase !== undefined ? { phase: report.phase } : {}),
      })
      .where(liveLease(jobId, leaseToken, now))
      .returning(["cancel_requested", "lease_expires_at"])
      .executeTakeFirst();
    if (!row) {
      this.#log.info({ jobId }, "heartbeat with a stale lease rejected");
      throw await this.#staleOrMissing(jobId);
    }
    return {
      canceled: row.cancel_requested !== 0,
      leaseExpiresAt: new Date(row.lease_expires_at ?? now + report.leaseMs),
    };
  }

  async assertLease(jobId: number, leaseToken: string): Promise<Job> {
    const row = await this.#holdsLease(this.#db, jobId, leaseToken, this.#ms())
      .selectAll()
      .executeTakeFirst();
    if (!row) throw await this.#staleOrMissing(jobId);
    return toJob(row);
  }

  async completeJob(jobId: number, leaseToken: string, outcome: JobOutcome): Promise<Job> {
    const now = this.#ms();
    const result = toJsonText(outcome.result);
    const error = outcome.error === undefined ? null : truncate(withoutNul(outcome.error));
    return this.#db.transaction().execute(async (trx) => {
      const row = await trx
        .updateTable("jobs")
        .set({ status: outcome.status, result, error, finished_at: now })
        .where(liveLease(jobId, leaseToken, now))
        .returningAll()
        .executeTakeFirst();
      if (row) {
        await insertAudit(trx, now, {
          taskId: row.task_id,
          jobId,
          actor: row.runner_id ? runnerActor(row.runner_id) : SYSTEM_ACTOR,
          action: "job.finished",
          detail: { status: outcome.status },
        });
        return toJob(row);
      }
      const current = await selectJob(trx, jobId).executeTakeFirst();
      if (!current) throw new JobNotFoundError(jobId);
      const finishedByThisLease =
        current.lease_token === leaseToken &&
        (current.status === "succeeded" ||
          current.status === "failed" ||
          current.status === "canceled") &&
        current.finished_at !== null;
      if (!finishedByThisLease) {
        this.#log.info({ jobId }, "completion with a stale lease rejected");
        throw new StaleLeaseError(jobId);
      }
      if (
        current.status === outcome.status &&
        current.result === result &&
        current.error === error
      ) {
        return toJob(current); // a retried completion: same answer, no change
      }
      throw new JobAlreadyFinishedError(jobId, toJob(current).status);
    });
  }

  async cancelJob(jobId: number, actor: string = SYSTEM_ACTOR): Promise<CancelJobResult> {
    const now = this.#ms();
    return this.#db.transaction().execute((trx) => this.#cancelJob(trx, jobId, actor, now));
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
    const now = this.#ms();
    return this.#db.transaction().execute(async (trx) => {
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
    });
  }

  async requeueExpiredLeases(): Promise<ExpiredLeaseSweep> {
    const now = this.#ms();
    const sweep: ExpiredLeaseSweep = { lost: [], requeued: [], exhausted: [], canceled: [] };
    await this.#db.transaction().execute(async (trx) => {
      const ended = await trx
        .updateTable("jobs")
        .set({
          status: sql<string>`case when cancel_requested = 0 then 'lost' else 'canceled' end`,
          error: "the lease expired: the runner stopped sending heartbeats",
          finished_at: now,
        })
        .where("status", "=", "leased")
        .where("lease_expires_at", "<=", now)
        .returningAll()
        .execute();
      ended.sort((a, b) => a.id - b.id);
      for (const row of ended) {
        const job = toJob(row);
        if (job.status === "canceled") {
          sweep.canceled.push(job);
          await auditJob(trx, now, job, {
            actor: SYSTEM_ACTOR,
            action: "job.canceled",
            detail: {
              reason: "lease expired after a cancel request",
              runnerId: job.runnerId ?? null,
            },
          });
          continue;
        }
        sweep.lost.push(job);
        const task = await trx
          .updateTable("tasks")
          .set((eb) => ({
            used_lost_leases: eb("used_lost_leases", "+", 1),
            version: eb("version", "+", 1),
            updated_at: now,
          }))
          .where("id", "=", job.taskId)
          .returning(["used_lost_leases"])
          .executeTakeFirstOrThrow();
        this.#log.warn({ jobId: job.id, runnerId: job.runnerId }, "lease expired");
        const exhausted = task.used_lost_leases > this.#policy.maxLostLeases;
        await auditJob(trx, now, job, {
          actor: SYSTEM_ACTOR,
          action: "job.lost",
          detail: {
            runnerId: job.runnerId ?? null,
            lostLeases: task.used_lost_leases,
            retried: !exhausted,
          },
        });
        if (exhausted) {
          sweep.exhausted.push(job);
          continue;
        }
        const retry = await this.#insertJob(trx, now, {
          taskId: job.taskId,
          kind: job.kind,
          agent: job.agent,
          requiredLabels: job.requiredLabels,
          priority: job.priority,
          ...(job.input !== undefined ? { input: job.input } : {}),
        });
        sweep.requeued.push(retry);
        await auditJob(trx, now, retry, {
          actor: SYSTEM_ACTOR,
          action: "job.enqueued",
          detail: { kind: retry.kind, attempt: retry.attempt, retryOf: job.id },
        });
      }
      for (const retry of sweep.requeued) await this.#notifyQueued(trx, retry.id);
    });
    // One wake-up per job: a waiting claim is woken per wake-up (src/api/queue-signal.ts).
    for (const _retry of sweep.requeued) this.#queueEvents.emit("queued");
    return sweep;
  }

  // --- queue wake-ups ----------------------------------------------------------------------

  onJobQueued(listener: () => void): () => void {
    this.#queueEvents.on("queued", listener);
    if (this.#dialect === "postgres") this.#startListener();
    return () => {
      this.#queueEvents.off("queued", listener);
    };
  }

  /**
   * Postgres: NOTIFY is delivered when the transaction commits, to every replica. The payload
   * names the job so that several in one transaction are not folded into one.
   */
  async #notifyQueued(trx: Transaction<StoreDatabase>, jobId: number): Promise<void> {
    if (this.#dialect !== "postgres") return;
    const payload = `${this.#instanceId}:${jobId}`;
    await sql`select pg_notify(${JOB_QUEUED_CHANNEL}, ${payload})`.execute(trx);
  }

  #startListener(): void {
    if (this.#listener || this.#listenerStarting || this.#closed || !this.#connectListener) return;
    const connect = this.#connectListener;
    this.#listenerStarting = (async () => {
      try {
        const client = await connect();
        client.on("notification", (message) => {
          const sender = message.payload?.split(":")[0];
          if (message.channel === JOB_QUEUED_CHANNEL && sender !== this.#instanceId) {
            this.#queueEvents.emit("queued");
          }
        });
        client.on("error", (error) => {
          this.#log.warn({ err: error }, "queue listener connection lost");
          this.#listener = undefined;
          void client.end().catch(() => undefined);
          if (!this.#closed) setTimeout(() => this.#startListener(), 1_000).unref();
        });
        await client.query(`listen ${JOB_QUEUED_CHANNEL}`);
        if (this.#closed) {
          await client.end();
          return;
        }
        this.#listener = client;
      } catch (error) {
        this.#log.warn({ err: error }, "queue listener could not connect");
        if (!this.#closed) setTimeout(() => this.#startListener(), 1_000).unref();
      } finally {
        this.#listenerStarting = undefined;
      }
    })();
  }

  // --- logs --------------------------------------------------------------------------------

  async appendLog(
    jobId: number,
    leaseToken: string,
    seq: number,
    text: string,
  ): Promise<{ appended: boolean }> {
    const now = this.#ms();
    // One statement: the chunk is written only while the lease is live, and once per seq.
    const inserted = await this.#db
      .insertInto("log_chunks")
      .columns(["job_id", "seq", "text", "received_at"])
      .expression(
        this.#holdsLease(this.#db, jobId, leaseToken, now).select((eb) => [
          "id",
          eb.val(seq).as("seq"),
          eb.val(withoutNul(text)).as("text"),
          eb.val(now).as("received_at"),
        ]),
      )
      .onConflict((oc) => oc.columns(["job_id", "seq"]).doNothing())
      .executeTakeFirst();
    if ((inserted.numInsertedOrUpdatedRows ?? 0n) > 0n) return { appended: true };
    const live = await this.#holdsLease(this.#db, jobId, leaseToken, now)
      .select("id")
      .executeTakeFirst();
    if (!live) throw await this.#staleOrMissing(jobId);
    return { appended: false };
  }

  async readLog(
    jobId: number,
    options: { afterSeq?: number; limit?: number } = {},
  ): Promise<LogChunk[]> {
    const { afterSeq, limit } = options;
    const rows = await this.#db
      .selectFrom("log_chunks")
      .selectAll()
      .where("job_id", "=", jobId)
      .$if(afterSeq !== undefined, (qb) => qb.where("seq", ">", afterSeq ?? 0))
      .orderBy("seq")
      .$if(limit !== undefined, (qb) => qb.limit(limit ?? 0))
      .execute();
    return rows.map(toLogChunk);
  }

  // --- runners (RunnerRegistry) ------------------------------------------------------------

  createRegistrationToken(ttlMs: number): Promise<RegistrationTokenGrant> {
    return this.#runners.createRegistrationToken(ttlMs);
  }
  registerRunner(registration: RunnerRegistration): Promise<RegisteredRunner> {
    return this.#runners.registerRunner(registration);
  }
  authenticateRunner(token: string): Promise<Runner | undefined> {
    return this.#runners.authenticateRunner(token);
  }
  getRunner(runnerId: string): Promise<Runner | undefined> {
    return this.#runners.getRunner(runnerId);
  }
  listRunners(): Promise<Runner[]> {
    return this.#runners.listRunners();
  }
  updateRunner(runnerId: string, update: RunnerUpdate): Promise<Runner> {
    return this.#runners.updateRunner(runnerId, update);
  }
  revokeRunner(runnerId: string, actor?: string): Promise<Runner> {
    return this.#runners.revokeRunner(runnerId, actor);
  }
  listOfferedAgents(): Promise<string[]> {
    return this.#runners.listOfferedAgents();
  }

  // --- webhook inbox (WebhookInbox) --------------------------------------------------------

  recordDelivery(delivery: NewDelivery): Promise<RecordDeliveryResult> {
    return this.#inbox.recordDelivery(delivery);
  }
  nextDeliveries(options: {
    limit: number;
    holdMs?: number;
    excludeKeys?: readonly string[];
  }): Promise<Delivery[]> {
    return this.#inbox.nextDeliveries(options);
  }
  markDeliveryDone(deliveryId: string): Promise<Delivery> {
    return this.#inbox.markDeliveryDone(deliveryId);
  }
  markDeliveryFailed(
    deliveryId: string,
    error: string,
    options?: { permanent?: boolean },
  ): Promise<Delivery> {
    return this.#inbox.markDeliveryFailed(deliveryId, error, options);
  }
  getDelivery(deliveryId: string): Promise<Delivery | undefined> {
    return this.#inbox.getDelivery(deliveryId);
  }
  listDeliveries(filter?: DeliveryFilter): Promise<Delivery[]> {
    return this.#inbox.listDeliveries(filter);
  }

  // --- audit -------------------------------------------------------------------------------

  async audit(entry: NewAuditEntry): Promise<void> {
    await insertAudit(this.#db, this.#ms(), entry);
  }

  async listAudit(filter: AuditFilter = {}): Promise<AuditEntry[]> {
    const { taskId, jobId, action, limit } = filter;
    const rows = await this.#db
      .selectFrom("audit_log")
      .selectAll()
      .$if(taskId !== undefined, (qb) => qb.where("task_id", "=", taskId ?? 0))
      .$if(jobId !== undefined, (qb) => qb.where("job_id", "=", jobId ?? 0))
      .$if(action !== undefined, (qb) => qb.where("action", "=", action ?? ""))
      .orderBy("id", "desc")
      .$if(limit !== undefined, (qb) => qb.limit(limit ?? 0))
      .execute();
    return rows.map(toAuditEntry);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#queueEvents.removeAllListeners();
    await this.#listenerStarting;
    const listener = this.#listener;
    this.#listener = undefined;
    if (listener) await listener.end().catch(() => undefined);
    await this.#db.destroy();
  }
}

/** The task of an issue. */
function selectTask(db: Db, repo: string, issueNumber: number) {
  return db
    .selectFrom("tasks")
    .selectAll()
    .where("repo", "=", repo)
    .where("issue_number", "=", issueNumber);
}

function selectJob(db: Db, jobId: number) {
  return db.selectFrom("jobs").selectAll().where("id", "=", jobId);
}

/**
 * A live lease on a job: it is leased, by this token, and the lease has not run out by the
 * store's clock. Every call a lease holder makes is fenced by this predicate.
 */
function liveLease(jobId: number, leaseToken: string, now: number) {
  return (eb: ExpressionBuilder<StoreDatabase, "jobs">) =>
    eb.and([
      eb("id", "=", jobId),
      eb("status", "=", "leased"),
      eb("lease_token", "=", leaseToken),
      eb("lease_expires_at", ">", now),
    ]);
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

/** Records a decision about a job (and so about its task). */
function auditJob(
  db: Db,
  now: number,
  job: Pick<Job, "id" | "taskId">,
  entry: Omit<NewAuditEntry, "taskId" | "jobId">,
): Promise<void> {
  return insertAudit(db, now, { taskId: job.taskId, jobId: job.id, ...entry });
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
  return columns;
}
