/**
 * The job store's port, in domain words. One implementation (`KyselyJobStore`) serves SQLite
 * and Postgres; callers get it from `openStore` and never learn which engine is underneath.
 *
 * Times always come from the store's injected clock, never from a runner. Expected outcomes are
 * typed results or the named errors of `./errors.js` (for instance `StaleLeaseError`).
 */
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

export interface JobStore {
  // --- tasks -------------------------------------------------------------------------------

  /**
   * Creates the task for `repo` + `issueNumber`, or, if it exists, refreshes the facts GitHub
   * owns (title, body, installation id) and leaves its state, budget and history alone.
   */
  upsertTask(task: NewTask): Promise<{ task: Task; created: boolean }>;
  getTask(taskId: number): Promise<Task | undefined>;
  findTask(repo: string, issueNumber: number): Promise<Task | undefined>;
  listTasks(filter?: TaskFilter): Promise<Task[]>;
  /**
   * Applies `changes` and bumps the version. With `expectedVersion`, throws
   * `TaskVersionConflictError` when the task changed since it was read.
   */
  updateTask(
    taskId: number,
    changes: TaskChanges,
    options?: {
      expectedVersion?: number;
      actor?: string;
    },
  ): Promise<Task>;
  /**
   * Records facts an effect or a read learned (the PR opened, the check run, the gate's look,
   * the progress comment's id, the dependencies seen): not decisions, so the version and
   * `updatedAt` stay and nothing is audited.
   */
  recordTaskFacts(taskId: number, facts: TaskFactChanges): Promise<Task>;
  /**
   * A task's transition in one transaction: its `changes` (optimistic on `expectedVersion`, like
   * `updateTask`; the outbox of GitHub effects travels in them), the jobs it cancels and the job
   * it queues. Nothing of it is saved unless all of it is.
   *
   * Given a `NewTask` instead of an id, the task is created in the same transaction (its first
   * decision is never saved without it, nor it without its decision); when the issue has a task
   * already, nothing is saved and `TaskVersionConflictError` says so (decide again from it).
   */
  commitTransition(
    task: number | NewTask,
    changes: TaskChanges,
    options: {
      expectedVersion?: number;
      actor?: string;
      cancelJobs?: boolean;
      enqueue?: Omit<NewJob, "taskId">;
      /** Audit entries recorded with it (the decision's facts and timeline notes). */
      audit?: { action: string; detail: JsonValue }[];
    },
  ): Promise<{ task: Task; canceled: CancelJobResult[]; queued: Job | undefined }>;

  // --- jobs and leases ---------------------------------------------------------------------

  /** Queues a new attempt of the task; wakes waiting claimers. */
  enqueueJob(job: NewJob): Promise<Job>;
  getJob(jobId: number): Promise<Job | undefined>;
  listJobs(taskId: number): Promise<Job[]>;
  /** Jobs in hand-out order (priority, then age). */
  listQueue(filter?: QueueFilter): Promise<Job[]>;
  /**
   * Atomically leases the best eligible job for a runner (its agents include the job's agent,
   * its labels include every required label, its repository allowlist, if any, includes the
   * job's repository, the job's backoff is over, and the job is not kept for another runner:
   * `preferredRunner` until its time), or returns undefined. The lease token is
   * new for every claim: it fences out every earlier holder.
   */
  claimJob(runner: RunnerCapabilities, leaseMs: number): Promise<ClaimedJob | undefined>;
  /**
   * Milliseconds (by the store's clock) until the earliest queued job still waiting out its
   * backoff becomes claimable, or a job kept for one runner opens to all (`preferredRunner`);
   * undefined when no queued job waits. A waiting claim sleeps no longer than this, so a retry
   * is handed out when its time comes.
   */
  nextJobDueInMs(): Promise<number | undefined>;
  /** Extends a live lease; throws `StaleLeaseError` when the token no longer holds the job. */
  heartbeat(
    jobId: number,
    leaseToken: string,
    report: { phase?: string; leaseMs: number },
  ): Promise<HeartbeatResult>;
  /** Returns the job if `leaseToken` holds a live lease on it; else `StaleLeaseError`. */
  assertLease(jobId: number, leaseToken: string): Promise<Job>;
  /**
   * Records the runner's outcome. Repeating the same outcome with the same token returns the
   * finished job again; a stale token throws `StaleLeaseError`; a different outcome from the same
   * holder throws `JobAlreadyFinishedError`. With `event`, the inbox delivery that reports it
   * (`kanbot_job.finished`) is recorded in the same transaction (once per delivery id; a
   * retried completion records it if it is missing).
   */
  completeJob(
    jobId: number,
    leaseToken: string,
    outcome: JobOutcome,
    options?: { event?: NewDelivery },
  ): Promise<Job>;
  /** Cancels a queued job at once, or asks the runner holding it to stop. */
  cancelJob(jobId: number, actor?: string): Promise<CancelJobResult>;
  /** `cancelJob` for every unfinished job of a task. */
  cancelTaskJobs(taskId: number, actor?: string): Promise<CancelJobResult[]>;
  /**
   * Ends every expired lease: the job becomes `lost` (or `canceled` if a cancel was pending).
   * Nothing else: what a lost job means for its task is the task machine's `job-lost`.
   */
  endExpiredLeases(): Promise<ExpiredLeaseSweep>;
  /**
   * Calls `listener` when a job may have become claimable (enqueued or requeued), once per job,
   * in this process and, on Postgres, in every replica. Returns the unsubscribe function.
   */
  onJobQueued(listener: () => void): () => void;

  // --- job tokens (sealed by src/tokens/, kept until the lease ends) -------------------------

  /** Keeps a sealed GitHub token issued for a job (the store never sees it in the clear). */
  saveJobToken(token: NewJobToken): Promise<StoredJobToken>;
  /** The job's kept tokens, oldest first. */
  listJobTokens(jobId: number): Promise<StoredJobToken[]>;
  /** Deletes these tokens; returns the ids this call deleted (another replica may have first). */
  deleteJobTokens(ids: readonly number[]): Promise<number[]>;
  /** Ids of the jobs that hold no lease any more but still have kept tokens (to revoke). */
  listJobTokenOrphans(): Promise<number[]>;

  // --- logs --------------------------------------------------------------------------------

  /** Stores chunk `seq` of a job's log; a repeated `seq` is ignored (`appended: false`). */
  appendLog(
    jobId: number,
    leaseToken: string,
    seq: number,
    text: string,
  ): Promise<{ appended: boolean }>;
  readLog(jobId: number, options?: { afterSeq?: number; limit?: number }): Promise<LogChunk[]>;

  // --- runners -----------------------------------------------------------------------------

  /** A one-time registration token for a new runner, valid for `ttlMs`. */
  createRegistrationToken(ttlMs: number): Promise<RegistrationTokenGrant>;
  /** Spends a registration token and creates the runner; `RegistrationTokenError` if invalid. */
  registerRunner(registration: RunnerRegistration): Promise<RegisteredRunner>;
  /** The unrevoked runner holding `token`, marked as seen now; undefined for unknown tokens. */
  authenticateRunner(token: string): Promise<Runner | undefined>;
  getRunner(runnerId: string): Promise<Runner | undefined>;
  listRunners(): Promise<Runner[]>;
  updateRunner(runnerId: string, update: RunnerUpdate): Promise<Runner>;
  /** The runner's token stops working at once; jobs it holds end when their leases expire. */
  revokeRunner(runnerId: string, actor?: string): Promise<Runner>;
  /** Every agent name some unrevoked runner offers (for validating repo config). */
  listOfferedAgents(): Promise<string[]>;

  // --- webhook inbox -----------------------------------------------------------------------

  /** Records a delivery once; the same `X-GitHub-Delivery` again is a `duplicate`. */
  recordDelivery(delivery: NewDelivery): Promise<RecordDeliveryResult>;
  /**
   * Hands out up to `limit` due deliveries, oldest first, at most one per ordering key and never
   * one with an older pending delivery of the same key ahead of it. Each is held for `holdMs`
   * (default 60 s) so other workers skip it; a crashed worker's hold simply runs out.
   * `excludeKeys` skips those ordering keys (the caller is still working one of them).
   * `holder` names the app replica that holds them (see `releaseDeliveryHolds`).
   */
  nextDeliveries(options: {
    limit: number;
    holdMs?: number;
    excludeKeys?: readonly string[];
    holder?: string;
  }): Promise<Delivery[]>;
  /** Extends `holder`'s holds on these pending deliveries to `holdMs` from now; how many. */
  renewDeliveryHolds(
    holder: string,
    deliveryIds: readonly string[],
    holdMs: number,
  ): Promise<number>;
  /**
   * Ends `holder`'s holds (all of them, or these deliveries'), so any worker takes them at once:
   * a starting replica releases what its earlier run held, a stopping one what it could not
   * finish. Returns how many.
   */
  releaseDeliveryHolds(holder: string, deliveryIds?: readonly string[]): Promise<number>;
  markDeliveryDone(deliveryId: string): Promise<Delivery>;
  /**
   * Schedules a retry with exponential backoff, or marks the delivery `failed` for good when it
   * ran out of attempts or `permanent` is set. A failed delivery no longer holds up its key.
   */
  markDeliveryFailed(
    deliveryId: string,
    error: string,
    options?: { permanent?: boolean },
  ): Promise<Delivery>;
  getDelivery(deliveryId: string): Promise<Delivery | undefined>;
  listDeliveries(filter?: DeliveryFilter): Promise<Delivery[]>;

  // --- audit -------------------------------------------------------------------------------

  /** Records a decision. The store records its own (claims, losses, cancels…) by itself. */
  audit(entry: NewAuditEntry): Promise<void>;
  /** Newest first. */
  listAudit(filter?: AuditFilter): Promise<AuditEntry[]>;

  /** Closes the connections. The store must not be used afterwards. */
  close(): Promise<void>;
}
