/**
 * The records the job store reads and writes, in domain words. The vocabulary itself (states,
 * kinds, priorities, budgets) lives in `src/domain/types.ts`; this file only adds the shapes that
 * exist because there is a store: rows with ids, leases, deliveries, audit entries.
 */
import type {
  Budget,
  BudgetUsed,
  JobKind,
  JobStatus,
  Priority,
  TaskState,
} from "../domain/types.js";
import type { JobResult } from "./job-result.js";
import type { TaskRecordChanges, TaskRecordFacts } from "./task-record.js";

/** Any value that survives `JSON.stringify` / `JSON.parse` unchanged. */
export type JsonValue =
  string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** One issue that kanbot works on (one per repository + issue number). */
export interface Task extends TaskRecordFacts {
  id: number;
  /** `owner/name`, as GitHub's `full_name`. */
  repo: string;
  installationId: number;
  issueNumber: number;
  title: string;
  /** The issue text the prompt is built from. */
  body: string;
  state: TaskState;
  /** The agent chosen by routing; undefined until routed. */
  agent: string | undefined;
  /** `runs-on:<label>` requirements; a runner must offer every one of them. */
  requiredLabels: string[];
  priority: Priority;
  budget: Budget;
  used: BudgetUsed;
  /** GitHub login of the person whose action started the task. */
  startedBy: string | undefined;
  branch: string | undefined;
  prNumber: number | undefined;
  /** The head SHA reported by the current lease holder; the only SHA a PR may be opened from. */
  headSha: string | undefined;
  /**
   * The effects the latest transition still owes on GitHub (the outbox), as the task loop wrote
   * them (src/tasks/outbox.ts parses them); undefined when none are pending.
   */
  pendingEffects?: JsonValue | undefined;
  createdAt: Date;
  updatedAt: Date;
  /** Bumped on every change; pass it back as `expectedVersion` for optimistic concurrency. */
  version: number;
}

/** What a caller supplies to create a task. */
export interface NewTask {
  repo: string;
  installationId: number;
  issueNumber: number;
  title: string;
  body: string;
  state: TaskState;
  agent?: string;
  requiredLabels?: string[];
  /** Default 2 (P2). */
  priority?: Priority;
  budget: Budget;
  startedBy?: string;
  branch?: string;
}

/** The fields a caller may change on a task. `used` is merged field by field. */
export interface TaskChanges extends TaskRecordChanges {
  installationId?: number;
  title?: string;
  body?: string;
  state?: TaskState;
  agent?: string | null;
  requiredLabels?: string[];
  priority?: Priority;
  budget?: Budget;
  used?: Partial<BudgetUsed>;
  startedBy?: string | null;
  branch?: string | null;
  prNumber?: number | null;
  headSha?: string | null;
  /** The outbox (see `Task.pendingEffects`); null clears it. */
  pendingEffects?: JsonValue | null;
}

export interface TaskFilter {
  /** Only tasks whose outbox still owes effects. */
  pendingEffects?: boolean;
  repo?: string;
  states?: readonly TaskState[];
  limit?: number;
}

/** One attempt at a task. The lease token is never part of it: only the claimer learns it. */
export interface Job {
  id: number;
  taskId: number;
  kind: JobKind;
  /** 1 for the task's first job, then 2, 3… over every kind, retries of lost jobs included. */
  attempt: number;
  status: JobStatus;
  agent: string;
  requiredLabels: string[];
  repo: string;
  priority: Priority;
  /** Kind-specific input: failing checks' output for `fix-checks`, instructions for `revise`. */
  input: JsonValue | undefined;
  enqueuedAt: Date;
  /** The job is not handed out before this time (retry backoff). */
  notBefore: Date;
  runnerId: string | undefined;
  leaseExpiresAt: Date | undefined;
  /** Free-form phase reported with heartbeats (`setup`, `agent`, `validate`, `push`…). */
  phase: string | undefined;
  cancelRequested: boolean;
  /** What the runner reported at `complete` (parsed from the row); undefined when none. */
  result: JobResult | undefined;
  error: string | undefined;
  startedAt: Date | undefined;
  finishedAt: Date | undefined;
  /**
   * Until `until`, only `runnerId` may claim the job: an `answer` job waits briefly for the
   * runner that holds the agent's session (issue 14, part 2). Absent: any runner may.
   */
  preferredRunner?: { runnerId: string; until: Date };
}

export interface NewJob {
  taskId: number;
  kind: JobKind;
  /** Defaults to the task's agent; one of the two must be set. */
  agent?: string;
  /** Defaults to the task's required labels. */
  requiredLabels?: string[];
  /** Defaults to the task's priority. */
  priority?: Priority;
  input?: JsonValue;
  /** Defaults to now. */
  notBefore?: Date;
  /**
   * For an `answer` job: for this long after it is due, only the runner that ran the task's
   * latest `needs-input` job may claim it (that runner holds the agent's session).
   */
  preferAskingRunnerMs?: number;
  /** Who decided to queue it, for the audit log. Default `kanbot`. */
  actor?: string;
}

/** What a runner offers; sent with every claim. */
export interface RunnerCapabilities {
  runnerId: string;
  agents: readonly string[];
  labels: readonly string[];
  /** `owner/name` allowlist; empty means every repository. */
  repos: readonly string[];
}

/** A job handed to a runner, with the fencing token that proves the runner still holds it. */
export interface ClaimedJob {
  job: Job;
  leaseToken: string;
  leaseExpiresAt: Date;
}

export interface HeartbeatResult {
  /** True once someone asked to cancel the job: the runner should stop and report `canceled`. */
  canceled: boolean;
  leaseExpiresAt: Date;
}

/** What a runner reports when it finishes a job. */
export interface JobOutcome {
  status: "succeeded" | "failed" | "needs-input" | "canceled";
  /** A `JobResult`, or JSON that is read back as one (fields that do not fit are left out). */
  result?: JobResult | JsonValue;
  error?: string;
}

export type CancelJobResult =
  /** The job was queued and will never be handed out. */
  | { outcome: "canceled"; job: Job }
  /** A runner holds the job; its next heartbeat answers `canceled: true`. */
  | { outcome: "cancel-requested"; job: Job }
  /** The job had already finished; nothing changed. */
  | { outcome: "already-finished"; job: Job };

/** What `endExpiredLeases` did; every list holds the jobs as they are after the sweep. */
export interface ExpiredLeaseSweep {
  /**
   * Jobs whose lease expired, now `lost`. Nothing is queued for them here: the task machine's
   * `job-lost` decides between a retry and blocked.
   */
  lost: Job[];
  /** Jobs whose lease expired after a cancel was requested: ended `canceled`. */
  canceled: Job[];
}

export interface QueueFilter {
  /** Default: `queued` and `leased`. */
  statuses?: readonly JobStatus[];
  repo?: string;
  agent?: string;
  taskId?: number;
  runnerId?: string;
  limit?: number;
}

export interface LogChunk {
  jobId: number;
  seq: number;
  text: string;
  receivedAt: Date;
}

/** A registered workstation runner. Its token is stored only as a SHA-256 hash. */
export interface Runner {
  id: string;
  name: string;
  agents: string[];
  labels: string[];
  repos: string[];
  registeredAt: Date;
  lastSeenAt: Date | undefined;
  revokedAt: Date | undefined;
}

export interface RunnerRegistration {
  /** The one-time registration token an admin handed out. */
  registrationToken: string;
  name: string;
  agents: readonly string[];
  labels: readonly string[];
  repos: readonly string[];
}

export interface RegisteredRunner {
  runner: Runner;
  /** The long-lived runner token, returned once and stored only hashed. */
  token: string;
}

export interface RegistrationTokenGrant {
  /** Shown once to the admin; stored only hashed. */
  token: string;
  expiresAt: Date;
}

export interface RunnerUpdate {
  name?: string;
  agents?: readonly string[];
  labels?: readonly string[];
  repos?: readonly string[];
}

/**
 * Processing state of a webhook delivery in the inbox; `invalid`: its payload does not fit its
 * event (src/handlers/payload-schemas.ts), so it is kept for the record and never handed out.
 */
export type DeliveryStatus = "pending" | "done" | "failed" | "invalid";

/** A webhook delivery recorded in the inbox (DESIGN section 8). */
export interface Delivery {
  /** The `X-GitHub-Delivery` header. */
  deliveryId: string;
  event: string;
  action: string | undefined;
  installationId: number | undefined;
  payload: JsonValue;
  /** Deliveries with the same key are handed out one at a time, oldest first (`owner/repo#12`). */
  orderingKey: string;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: Date;
  lastError: string | undefined;
  receivedAt: Date;
  processedAt: Date | undefined;
}

export interface NewDelivery {
  deliveryId: string;
  event: string;
  action?: string;
  installationId?: number;
  payload: JsonValue;
  orderingKey: string;
  /** Why the payload does not fit its event: recorded as `invalid` with this as `lastError`. */
  invalid?: string;
}

export type RecordDeliveryResult =
  { outcome: "inserted"; delivery: Delivery } | { outcome: "duplicate"; delivery: Delivery };

export interface DeliveryFilter {
  statuses?: readonly DeliveryStatus[];
  orderingKey?: string;
  limit?: number;
}

export interface AuditEntry {
  id: number;
  at: Date;
  taskId: number | undefined;
  jobId: number | undefined;
  /** `kanbot`, `runner:<id>` or a GitHub login. */
  actor: string;
  /** A dotted verb such as `job.claimed`, `task.state-changed`. */
  action: string;
  detail: JsonValue | undefined;
}

export interface NewAuditEntry {
  taskId?: number;
  jobId?: number;
  actor: string;
  action: string;
  detail?: JsonValue;
}

export interface AuditFilter {
  taskId?: number;
  jobId?: number;
  action?: string;
  limit?: number;
}

/**
 * A GitHub token issued for a job, as the store keeps it until the job's lease ends: sealed by
 * src/tokens/ (the store never sees the token in the clear).
 */
export interface StoredJobToken {
  id: number;
  jobId: number;
  sealed: string;
  expiresAt: Date;
  createdAt: Date;
}

export interface NewJobToken {
  jobId: number;
  sealed: string;
  expiresAt: Date;
}
