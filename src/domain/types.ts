/**
 * The vocabulary of kanbot's domain (DESIGN section 2). Pure types only: every other layer
 * (store, handlers, runner protocol) speaks in these words.
 */

/** The state of a task: exactly one at a time, mirrored to a label and a board column. */
export type TaskState =
  | "waiting"
  | "queued"
  | "running"
  | "checks"
  | "needs-input"
  | "review"
  | "done"
  | "blocked"
  | "canceled";

export const TASK_STATES = [
  "waiting",
  "queued",
  "running",
  "checks",
  "needs-input",
  "review",
  "done",
  "blocked",
  "canceled",
] as const satisfies readonly TaskState[];

/** States from which a task can still make progress without a human re-triggering it. */
export const ACTIVE_TASK_STATES = [
  "waiting",
  "queued",
  "running",
  "checks",
  "needs-input",
  "review",
] as const satisfies readonly TaskState[];

/** What a job (one attempt) asks the agent to do; `answer` resumes after a person's answer. */
export type JobKind = "implement" | "fix-checks" | "revise" | "rebase" | "answer";

export const JOB_KINDS = [
  "implement",
  "fix-checks",
  "revise",
  "rebase",
  "answer",
] as const satisfies readonly JobKind[];

/**
 * The life of one job. `queued` -> `leased` (a runner holds it) -> one of the terminal
 * outcomes. `lost` means the lease expired before the runner reported; `needs-input` means the
 * agent asked a question and stopped (its text is in the job's result).
 */
export type JobStatus =
  "queued" | "leased" | "succeeded" | "failed" | "needs-input" | "lost" | "canceled";

export const JOB_STATUSES = [
  "queued",
  "leased",
  "succeeded",
  "failed",
  "needs-input",
  "lost",
  "canceled",
] as const satisfies readonly JobStatus[];

export const TERMINAL_JOB_STATUSES = [
  "succeeded",
  "failed",
  "needs-input",
  "lost",
  "canceled",
] as const satisfies readonly JobStatus[];

/** Priority from `priority:P0`..`P3` labels or the board's Priority field; P0 is most urgent. */
export type Priority = 0 | 1 | 2 | 3;

/** The minimum repository permission a person needs to start or steer a task. */
export type Permission = "read" | "triage" | "write" | "maintain" | "admin";

export const PERMISSIONS = [
  "read",
  "triage",
  "write",
  "maintain",
  "admin",
] as const satisfies readonly Permission[];

/** Agents kanbot knows without any runner offering them. */
export const BUILT_IN_AGENTS = ["claude", "codex", "gemini", "aider", "opencode"] as const;
export type BuiltInAgent = (typeof BUILT_IN_AGENTS)[number];

/** What a task may spend over all its jobs. */
export interface Budget {
  /** Maximum number of jobs (attempts of any kind). */
  attempts: number;
  /** Maximum wall-clock minutes summed over all jobs. */
  minutes: number;
  /** Maximum agent cost in US dollars summed over all jobs. */
  usd: number;
}

/** What a task has spent so far. */
export interface BudgetUsed {
  attempts: number;
  minutes: number;
  usd: number;
  /** Jobs that ended `lost` (their runner vanished); these have their own small cap. */
  lostLeases: number;
}
