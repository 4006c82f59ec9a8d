/**
 * The database tables as Kysely sees them. Shared by both dialects: times are epoch
 * milliseconds (bigint), booleans are 0/1 integers and lists/objects are JSON text, so rows
 * read the same from SQLite and Postgres.
 */
import type { Generated } from "kysely";

export interface TasksTable {
  id: Generated<number>;
  repo: string;
  installation_id: number;
  issue_number: number;
  title: string;
  body: string;
  state: string;
  agent: string | null;
  /** JSON array of strings. */
  required_labels: string;
  priority: number;
  budget_attempts: number;
  budget_minutes: number;
  budget_usd: number;
  used_attempts: number;
  used_minutes: number;
  used_usd: number;
  used_lost_leases: number;
  started_by: string | null;
  branch: string | null;
  pr_number: number | null;
  head_sha: string | null;
  /** The attempt number of the task's latest job (a per-task sequence). */
  last_attempt: number;
  /**
   * The outbox: JSON of the GitHub effects the latest transition still owes (src/tasks/outbox.ts),
   * written with the state they follow from; null once they ran.
   */
  pending_effects: string | null;
  // The typed task record (src/store/task-record.ts, migration 0005_task_record).
  /** Null in rows older than the column: read as updated_at. */
  entered_at: number | null;
  spent_attempts: Generated<number>;
  spent_minutes: Generated<number>;
  spent_usd: Generated<number>;
  spent_lost_leases: Generated<number>;
  /** 0/1. */
  pr_draft: Generated<number>;
  pr_url: string | null;
  pr_node_id: string | null;
  pr_base: string | null;
  check_run_id: number | null;
  check_run_url: string | null;
  gate_head_sha: string | null;
  gate_since: number | null;
  gate_recheck_at: number | null;
  gate_verdict: string | null;
  gate_reason: string | null;
  /** 0/1. */
  gate_no_checks: Generated<number>;
  /** JSON array of workflow run ids. */
  gate_rerun_run_ids: Generated<string>;
  gate_waiting: string | null;
  progress_comment_id: number | null;
  /** JSON (TaskRouting). */
  routing: string | null;
  /** JSON (TaskDependencies). */
  dependencies: string | null;
  blocker_cause: string | null;
  blocker_message: string | null;
  blocker_error: string | null;
  shown_column: string | null;
  shown_comment: string | null;
  /** When a `needs-input` task's question is due (ms since the epoch); null otherwise. */
  question_due_at: number | null;
  version: number;
  created_at: number;
  updated_at: number;
}

export interface JobsTable {
  id: Generated<number>;
  task_id: number;
  kind: string;
  attempt: number;
  status: string;
  agent: string;
  /** JSON array of strings. */
  required_labels: string;
  repo: string;
  priority: number;
  /** JSON or null. */
  input: string | null;
  enqueued_at: number;
  not_before: number;
  lease_token: string | null;
  lease_expires_at: number | null;
  runner_id: string | null;
  phase: string | null;
  cancel_requested: number;
  /** JSON or null. */
  result: string | null;
  error: string | null;
  started_at: number | null;
  finished_at: number | null;
  /** Until `prefer_until`, only this runner may claim the job (it holds the agent's session). */
  preferred_runner_id: string | null;
  prefer_until: number | null;
}

export interface RunnersTable {
  id: string;
  name: string;
  /** SHA-256 hex of the runner token. */
  token_hash: string;
  /** JSON arrays of strings. */
  agents: string;
  labels: string;
  repos: string;
  registered_at: number;
  last_seen_at: number | null;
  revoked_at: number | null;
}

export interface RegistrationTokensTable {
  /** SHA-256 hex of the one-time token. */
  token_hash: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
  runner_id: string | null;
}

export interface LogChunksTable {
  job_id: number;
  seq: number;
  text: string;
  received_at: number;
}

export interface DeliveriesTable {
  id: Generated<number>;
  delivery_id: string;
  event: string;
  action: string | null;
  installation_id: number | null;
  /** JSON. */
  payload: string;
  ordering_key: string;
  status: string;
  attempts: number;
  next_attempt_at: number;
  /** Set while a worker holds the delivery; a crashed worker's hold simply runs out. */
  locked_until: number | null;
  /** The app replica holding the delivery while `locked_until` runs (migration 0006). */
  locked_by: string | null;
  last_error: string | null;
  received_at: number;
  processed_at: number | null;
}

export interface AuditLogTable {
  id: Generated<number>;
  at: number;
  task_id: number | null;
  job_id: number | null;
  actor: string;
  action: string;
  /** JSON or null. */
  detail: string | null;
}

/** A job's GitHub token, sealed by src/tokens/ (migration 0007); kept until the lease ends. */
export interface JobTokensTable {
  id: Generated<number>;
  job_id: number;
  /** The token encrypted with AES-256-GCM; the store never sees it in the clear. */
  sealed: string;
  expires_at: number;
  created_at: number;
}

export interface StoreDatabase {
  tasks: TasksTable;
  jobs: JobsTable;
  runners: RunnersTable;
  registration_tokens: RegistrationTokensTable;
  log_chunks: LogChunksTable;
  deliveries: DeliveriesTable;
  audit_log: AuditLogTable;
  job_tokens: JobTokensTable;
}
