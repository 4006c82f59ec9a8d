/**
 * The job store on Kysely, for SQLite and Postgres, composed of one part per consumer behind
 * the `JobStore` port:
 *
 * - tasks (./task-rows.ts);
 * - the queue (./job-queue.ts), the lease holder's calls (./job-leases.ts) and the lost-lease
 *   sweep (./lost-lease-sweep.ts), with queue wake-ups and NOTIFY (./queue-wakeups.ts);
 * - job logs (./job-logs.ts) and the audit log (./audit-log.ts);
 * - the sealed GitHub tokens of jobs until their leases end (./job-tokens.ts);
 * - runners (./runner-registry.ts) and the webhook inbox (./webhook-inbox.ts).
 *
 * The few places where the engines differ (the label-match predicate, `FOR UPDATE SKIP LOCKED`,
 * LISTEN/NOTIFY) look at `dialect`; every other query is the same on both.
 */
import type { Kysely } from "kysely";
import type { Logger } from "pino";
import { AuditLog } from "./audit-log.js";
import type { StoreDatabaseHandle } from "./database.js";
import { JobLeases } from "./job-leases.js";
import { JobLogs } from "./job-logs.js";
import { JobQueue } from "./job-queue.js";
import { JobTokenRows } from "./job-tokens.js";
import type { JobStore } from "./job-store.js";
import { sweepExpiredLeases } from "./lost-lease-sweep.js";
import { QueueWakeups } from "./queue-wakeups.js";
import { RunnerRegistry } from "./runner-registry.js";
import type { StoreDatabase } from "./schema.js";
import { insertAudit, SYSTEM_ACTOR, type StoreContext, type StorePolicy } from "./store-context.js";
import { TaskVersionConflictError } from "./errors.js";
import { insertTaskIn, TaskRows, updateTaskIn } from "./task-rows.js";
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
  JsonValue,
  JobOutcome,
  LogChunk,
  NewAuditEntry,
  NewDelivery,
  NewJob,
  NewJobToken,
  NewTask,
  QueueFilter,
  RecordDeliveryResult,
  RegisteredRunner,
  RegistrationTokenGrant,
  Runner,
  RunnerCapabilities,
  RunnerRegistration,
  RunnerUpdate,
  StoredJobToken,
  Task,
  TaskChanges,
  TaskFilter,
} from "./types.js";
import type { TaskFactChanges } from "./task-record.js";
import { WebhookInbox } from "./webhook-inbox.js";

export interface KyselyJobStoreOptions {
  now: () => Date;
  log: Logger;
  policy: StorePolicy;
}

export class KyselyJobStore implements JobStore {
  readonly #db: Kysely<StoreDatabase>;
  readonly #ctx: StoreContext;
  readonly #tasks: TaskRows;
  readonly #wakeups: QueueWakeups;
  readonly #queue: JobQueue;
  readonly #leases: JobLeases;
  readonly #logs: JobLogs;
  readonly #tokens: JobTokenRows;
  readonly #audit: AuditLog;
  readonly #runners: RunnerRegistry;
  readonly #inbox: WebhookInbox;
  #closed = false;

  constructor(handle: StoreDatabaseHandle, options: KyselyJobStoreOptions) {
    this.#db = handle.db;
    this.#ctx = {
      db: handle.db,
      dialect: handle.dialect,
      now: () => options.now().getTime(),
      log: options.log,
      policy: options.policy,
    };
    this.#wakeups = new QueueWakeups({
      dialect: handle.dialect,
      connectListener: handle.connectListener,
      log: options.log,
    });
    this.#tasks = new TaskRows(this.#ctx);
    this.#queue = new JobQueue(this.#ctx, this.#wakeups);
    this.#leases = new JobLeases(this.#ctx);
    this.#logs = new JobLogs(this.#ctx);
    this.#tokens = new JobTokenRows(this.#ctx);
    this.#audit = new AuditLog(this.#ctx);
    this.#runners = new RunnerRegistry(this.#ctx);
    this.#inbox = new WebhookInbox(this.#ctx);
  }

  // --- tasks (TaskRows) --------------------------------------------------------------------

  upsertTask(task: NewTask): Promise<{ task: Task; created: boolean }> {
    return this.#tasks.upsertTask(task);
  }
  getTask(taskId: number): Promise<Task | undefined> {
    return this.#tasks.getTask(taskId);
  }
  findTask(repo: string, issueNumber: number): Promise<Task | undefined> {
    return this.#tasks.findTask(repo, issueNumber);
  }
  listTasks(filter?: TaskFilter): Promise<Task[]> {
    return this.#tasks.listTasks(filter);
  }
  updateTask(
    taskId: number,
    changes: TaskChanges,
    options?: { expectedVersion?: number; actor?: string },
  ): Promise<Task> {
    return this.#tasks.updateTask(taskId, changes, options);
  }
  recordTaskFacts(taskId: number, facts: TaskFactChanges): Promise<Task> {
    return this.#tasks.recordTaskFacts(taskId, facts);
  }
  commitTransition(
    target: number | NewTask,
    changes: TaskChanges,
    options: {
      expectedVersion?: number;
      actor?: string;
      cancelJobs?: boolean;
      enqueue?: Omit<NewJob, "taskId">;
      /** Audit entries recorded with it (the decision's facts and timeline notes). */
      audit?: { action: string; detail: JsonValue }[];
    },
  ): Promise<{ task: Task; canceled: CancelJobResult[]; queued: Job | undefined }> {
    const now = this.#ctx.now();
    const actor = options.actor ?? SYSTEM_ACTOR;
    return this.#db
      .transaction()
      .execute(async (trx) => {
        let taskId: number;
        let expectedVersion = options.expectedVersion;
        if (typeof target === "number") {
          taskId = target;
        } else {
          const created = await insertTaskIn(trx, now, target);
          if (created === undefined) {
            const existing = await trx
              .selectFrom("tasks")
              .select(["id", "version"])
              .where("repo", "=", target.repo)
              .where("issue_number", "=", target.issueNumber)
              .executeTakeFirstOrThrow();
            throw new TaskVersionConflictError(Number(existing.id), 0, existing.version);
          }
          taskId = created.id;
          expectedVersion = created.version;
        }
        const task = await updateTaskIn(trx, now, taskId, changes, { ...options, expectedVersion });
        for (const entry of options.audit ?? []) {
          await insertAudit(trx, now, { taskId, actor, ...entry });
        }
        const canceled =
          options.cancelJobs === true
            ? await this.#queue.cancelTaskJobsIn(trx, now, taskId, actor)
            : [];
        const queued =
          options.enqueue === undefined
            ? undefined
            : await this.#queue.enqueueIn(trx, now, { ...options.enqueue, taskId, actor });
        return { task, canceled, queued };
      })
      .then((committed) => {
        if (committed.queued !== undefined) this.#queue.wakeClaims();
        return committed;
      });
  }

  // --- jobs (JobQueue, JobLeases, the lost-lease sweep) ------------------------------------

  enqueueJob(job: NewJob): Promise<Job> {
    return this.#queue.enqueueJob(job);
  }
  getJob(jobId: number): Promise<Job | undefined> {
    return this.#queue.getJob(jobId);
  }
  listJobs(taskId: number): Promise<Job[]> {
    return this.#queue.listJobs(taskId);
  }
  listQueue(filter?: QueueFilter): Promise<Job[]> {
    return this.#queue.listQueue(filter);
  }
  claimJob(runner: RunnerCapabilities, leaseMs: number): Promise<ClaimedJob | undefined> {
    return this.#queue.claimJob(runner, leaseMs);
  }
  nextJobDueInMs(): Promise<number | undefined> {
    return this.#queue.nextJobDueInMs();
  }
  cancelJob(jobId: number, actor?: string): Promise<CancelJobResult> {
    return this.#queue.cancelJob(jobId, actor);
  }
  cancelTaskJobs(taskId: number, actor?: string): Promise<CancelJobResult[]> {
    return this.#queue.cancelTaskJobs(taskId, actor);
  }
  heartbeat(
    jobId: number,
    leaseToken: string,
    report: { phase?: string; leaseMs: number },
  ): Promise<HeartbeatResult> {
    return this.#leases.heartbeat(jobId, leaseToken, report);
  }
  assertLease(jobId: number, leaseToken: string): Promise<Job> {
    return this.#leases.assertLease(jobId, leaseToken);
  }
  completeJob(
    jobId: number,
    leaseToken: string,
    outcome: JobOutcome,
    options?: { event?: NewDelivery },
  ): Promise<Job> {
    return this.#leases.completeJob(jobId, leaseToken, outcome, options);
  }
  endExpiredLeases(): Promise<ExpiredLeaseSweep> {
    return sweepExpiredLeases(this.#ctx);
  }
  onJobQueued(listener: () => void): () => void {
    return this.#wakeups.onJobQueued(listener);
  }

  // --- job tokens (JobTokenRows) ----------------------------------------------------------

  saveJobToken(token: NewJobToken): Promise<StoredJobToken> {
    return this.#tokens.saveJobToken(token);
  }
  listJobTokens(jobId: number): Promise<StoredJobToken[]> {
    return this.#tokens.listJobTokens(jobId);
  }
  deleteJobTokens(ids: readonly number[]): Promise<number[]> {
    return this.#tokens.deleteJobTokens(ids);
  }
  listJobTokenOrphans(): Promise<number[]> {
    return this.#tokens.listJobTokenOrphans();
  }

  // --- logs (JobLogs) ----------------------------------------------------------------------

  appendLog(
    jobId: number,
    leaseToken: string,
    seq: number,
    text: string,
  ): Promise<{ appended: boolean }> {
    return this.#logs.appendLog(jobId, leaseToken, seq, text);
  }
  readLog(jobId: number, options?: { afterSeq?: number; limit?: number }): Promise<LogChunk[]> {
    return this.#logs.readLog(jobId, options);
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
    holder?: string;
  }): Promise<Delivery[]> {
    return this.#inbox.nextDeliveries(options);
  }
  renewDeliveryHolds(
    holder: string,
    deliveryIds: readonly string[],
    holdMs: number,
  ): Promise<number> {
    return this.#inbox.renewDeliveryHolds(holder, deliveryIds, holdMs);
  }
  releaseDeliveryHolds(holder: string, deliveryIds?: readonly string[]): Promise<number> {
    return this.#inbox.releaseDeliveryHolds(holder, deliveryIds);
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

  // --- audit (AuditLog) --------------------------------------------------------------------

  audit(entry: NewAuditEntry): Promise<void> {
    return this.#audit.audit(entry);
  }
  listAudit(filter?: AuditFilter): Promise<AuditEntry[]> {
    return this.#audit.listAudit(filter);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#wakeups.close();
    await this.#db.destroy();
  }
}
