/**
 * The job calls of the runner API: claim (long-poll), heartbeat, job token, log and complete.
 * Every call after the claim carries the lease token the claim returned: it is a fencing token,
 * and a call with a stale one is answered 409 (`stale-lease`).
 */
import { z } from "zod";
import {
  AgentName,
  CommitSha,
  JobId,
  LeaseToken,
  PROTOCOL_BOUNDS,
  RepoFullName,
  RepoOwner,
  RepoShortName,
  RunnerLabel,
  Timestamp,
} from "./common.js";
import { FailureClass, JobKind } from "./vocabulary.js";

// ---------------------------------------------------------------------------------------------
// Claim
// ---------------------------------------------------------------------------------------------

/**
 * The runner's capabilities come from its registration; a claim may narrow them (only these
 * agents, labels or repositories this time) and say how many jobs it can take now.
 */
export const ClaimRequest = z.object({
  /** Only jobs for these agents (each must be one the runner registered). Default: all of them. */
  agents: z.array(AgentName).max(64).optional(),
  /** Offer only these labels (each must be one the runner registered). Default: all of them. */
  labels: z.array(RunnerLabel).max(64).optional(),
  /** Only these repositories (within the registered allowlist, if any). Default: the allowlist. */
  repos: z.array(RepoFullName).max(1000).optional(),
  /** Jobs the runner could start now; 0 answers 204 at once. */
  freeSlots: z.number().int().min(0).max(1000).optional(),
  /** Wait at most this long for a job (the app caps it at its claim timeout). */
  waitSeconds: z.number().int().min(0).max(600).optional(),
});
export type ClaimRequest = z.infer<typeof ClaimRequest>;

/** The repository a job works on. */
export const JobRepository = z.object({
  /** `owner/name`. */
  fullName: RepoFullName,
  owner: RepoOwner,
  name: RepoShortName,
  /** HTTPS clone URL on the app's GitHub (github.com or a GitHub Enterprise Server). */
  cloneUrl: z.url(),
  /** The issue's page, for links in logs. */
  htmlUrl: z.url(),
});
export type JobRepository = z.infer<typeof JobRepository>;

/** The issue the prompt is built from, as far as the app stores it. */
export const JobIssue = z.object({
  number: z.number().int().positive().max(PROTOCOL_BOUNDS.int32),
  title: z.string(),
  /**
   * The issue body without hidden HTML comments, followed by the comments of people trusted to
   * steer the task (untrusted people's comments are never in it).
   */
  body: z.string(),
  /** Trusted comments kept apart from the body (empty when they are part of `body`). */
  comments: z.array(z.object({ author: z.string(), body: z.string() })),
  /** Items of the body's "Acceptance criteria" / "Done when" section. */
  acceptanceCriteria: z.array(z.string()),
  url: z.url(),
});
export type JobIssue = z.infer<typeof JobIssue>;

/** How the runner prepares the worktree and checks the agent's work (`.github/kanbot.yml`). */
export const JobWorkspace = z.object({
  /** Branch to start from and that the PR targets; null means the repository's default branch. */
  baseBranch: z.string().min(1).nullable(),
  /** The task branch to push (`kanbot/<issue>-<slug>`); follow-up jobs continue it. */
  branch: z.string().min(1),
  /**
   * Start from the existing task branch (follow-up jobs: fix-checks, revise, rebase) rather than
   * creating it from the base.
   */
  continueBranch: z.boolean(),
  setupCommands: z.array(z.string()),
  /** Git-ignored files copied into the worktree from the runner's local copy. */
  copyFiles: z.array(z.string()),
  validationCommands: z.array(z.string()),
  /** Extra agent rounds with the failure output when validation fails. */
  validationRounds: z.number().int().min(0).max(PROTOCOL_BOUNDS.int32),
  /** Path patterns the agent may not change. */
  forbiddenPaths: z.array(z.string()),
});
export type JobWorkspace = z.infer<typeof JobWorkspace>;

/** What the job may still spend: the task's budget minus what earlier jobs used. */
export const JobLimits = z.object({
  /** Wall-clock minutes left for this job (the runner stops the agent after them). */
  maxMinutes: z.number().min(0),
  /** Agent cost in US dollars left for this job. */
  maxUsd: z.number().min(0),
  /** Largest log the app stores for the job; later output is dropped behind a marker. */
  maxLogBytes: z.number().int().positive(),
  /** Largest request body the app accepts (split log uploads below it). */
  maxBodyBytes: z.number().int().positive(),
});
export type JobLimits = z.infer<typeof JobLimits>;

/**
 * One earlier job of the task, for the next agent's prompt (issue 14 part 4: a fallback agent
 * learns what the agents before it did). Its texts are the runners' reports, untrusted.
 */
export const JobAttempt = z.object({
  /** The job's attempt number. */
  attempt: z.number().int().positive().max(PROTOCOL_BOUNDS.int32),
  kind: JobKind,
  agent: AgentName,
  outcome: z.enum(["succeeded", "failed", "lost", "canceled", "needs-input"]),
  /** For a failed job: its failure class (`task` when the runner gave none). */
  failureClass: FailureClass.optional(),
  /** One line: the CLI's message, else the start of the error; a success's summary start. */
  message: z.string().max(2_000).optional(),
});
export type JobAttempt = z.infer<typeof JobAttempt>;

/** A claimed job: everything the runner needs to work it. */
export const JobDescription = z.object({
  id: JobId,
  taskId: z.number().int().positive().max(PROTOCOL_BOUNDS.id),
  kind: JobKind,
  /** 1 for the task's first job, then 2, 3… */
  attempt: z.number().int().positive().max(PROTOCOL_BOUNDS.int32),
  agent: AgentName,
  repository: JobRepository,
  issue: JobIssue,
  workspace: JobWorkspace,
  /**
   * Kind-specific input as the app queued it: failing checks' output for `fix-checks`, review
   * comments or instructions for `revise`, `{ question, answer, answeredBy, summary, askedBy }`
   * for `answer` (the agent's question is untrusted, the answer a trusted person's); null when
   * there is none.
   */
  input: z.json().nullable(),
  limits: JobLimits,
  /** The task's earlier jobs that ended, oldest first (at most 10, the newest); absent: none. */
  history: z.array(JobAttempt).max(50).optional(),
  /**
   * For an `answer` job claimed by the runner that ran the asking job: the agent CLI's session
   * to continue (that runner keeps its files). Absent: start a fresh session.
   */
  resume: z.object({ sessionId: z.string().min(1).max(200) }).optional(),
});
export type JobDescription = z.infer<typeof JobDescription>;

/** The lease on a claimed job. */
export const Lease = z.object({
  /** The fencing token: send it with every call about this job. */
  token: LeaseToken,
  expiresAt: Timestamp,
  /** The lease's length; heartbeat well within it (a third of it is a good interval). */
  durationSeconds: z.number().positive(),
});
export type Lease = z.infer<typeof Lease>;

/** 200 answer of a claim (a 204 with no body means no job came within the wait). */
export const ClaimResponse = z.object({
  job: JobDescription,
  lease: Lease,
});
export type ClaimResponse = z.infer<typeof ClaimResponse>;

// ---------------------------------------------------------------------------------------------
// Heartbeat
// ---------------------------------------------------------------------------------------------

export const JobPhase = z.string().regex(/^[a-z][a-z0-9-]{0,39}$/, {
  error:
    "expected a phase such as setup, agent, validate or push (lower-case, at most 40 characters)",
});
export type JobPhase = z.infer<typeof JobPhase>;

export const HeartbeatRequest = z.object({
  leaseToken: LeaseToken,
  /** What the runner is doing now: `setup`, `agent`, `validate`, `push`… */
  phase: JobPhase.optional(),
});
export type HeartbeatRequest = z.infer<typeof HeartbeatRequest>;

export const HeartbeatResponse = z.object({
  leaseExpiresAt: Timestamp,
  /** Someone canceled the job: stop the agent and complete it as `canceled`. */
  canceled: z.boolean(),
});
export type HeartbeatResponse = z.infer<typeof HeartbeatResponse>;

// ---------------------------------------------------------------------------------------------
// Job token
// ---------------------------------------------------------------------------------------------

export const JobTokenRequest = z.object({
  leaseToken: LeaseToken,
});
export type JobTokenRequest = z.infer<typeof JobTokenRequest>;

/**
 * An installation token for the job's one repository with `contents: write`. Never log it or
 * write it to disk; the app revokes it when the lease ends.
 */
export const JobTokenResponse = z.object({
  token: z.string().min(1),
  expiresAt: Timestamp,
  repository: RepoFullName,
  permissions: z.record(z.string(), z.string()),
});
export type JobTokenResponse = z.infer<typeof JobTokenResponse>;

// ---------------------------------------------------------------------------------------------
// Log
// ---------------------------------------------------------------------------------------------

export const LogChunk = z.object({
  /** The chunk's number: 0, 1, 2… per job. A number sent again is ignored (retries are safe). */
  seq: z.number().int().min(0).max(PROTOCOL_BOUNDS.logSeq),
  text: z.string(),
});
export type LogChunk = z.infer<typeof LogChunk>;

export const AppendLogRequest = z.object({
  leaseToken: LeaseToken,
  chunks: z
    .array(LogChunk)
    .min(1, { error: "expected at least one chunk" })
    .max(1000)
    .refine((chunks) => new Set(chunks.map((chunk) => chunk.seq)).size === chunks.length, {
      error: "expected each seq at most once per request",
    }),
});
export type AppendLogRequest = z.infer<typeof AppendLogRequest>;

export const AppendLogResponse = z.object({
  /** Sequence numbers stored now. */
  appended: z.array(z.number().int()),
  /** Sequence numbers the app already had (a retried upload). */
  duplicates: z.array(z.number().int()),
  /** Sequence numbers dropped because the job's log reached its size limit. */
  dropped: z.array(z.number().int()),
  /** Whether the job's log reached its size limit (later chunks are dropped). */
  truncated: z.boolean(),
});
export type AppendLogResponse = z.infer<typeof AppendLogResponse>;

// ---------------------------------------------------------------------------------------------
// Complete
// ---------------------------------------------------------------------------------------------

/** One validation command's result. */
export const ValidationResult = z.object({
  command: z.string().max(10_000),
  exitCode: z
    .number()
    .int()
    .min(PROTOCOL_BOUNDS.exitCodeMin)
    .max(PROTOCOL_BOUNDS.exitCodeMax)
    .nullable(),
  passed: z.boolean(),
  /** At most 31 days. */
  durationSeconds: z.number().min(0).max(PROTOCOL_BOUNDS.durationSeconds),
  /** The end of its output (redacted by the runner). */
  outputTail: z.string().max(20_000).optional(),
});
export type ValidationResult = z.infer<typeof ValidationResult>;

const Spend = {
  /** Agent cost in US dollars, when the CLI reports it; at most 10,000. */
  costUsd: z.number().min(0).max(PROTOCOL_BOUNDS.costUsd).optional(),
  /** Wall-clock seconds the job took on the runner; at most 31 days. */
  durationSeconds: z.number().min(0).max(PROTOCOL_BOUNDS.durationSeconds).optional(),
  /** The agent CLI's session id, for a follow-up job on the same branch. */
  sessionId: z.string().max(200).optional(),
};

export const SucceededOutcome = z.object({
  status: z.literal("succeeded"),
  /** The commit pushed to the task branch: the only SHA the app opens or updates a PR from. */
  headSha: CommitSha,
  /** The agent's account of what it did, for the PR body. */
  summary: z.string().max(65_536),
  validation: z.array(ValidationResult).max(100).default([]),
  ...Spend,
});
export type SucceededOutcome = z.infer<typeof SucceededOutcome>;

export const FailedOutcome = z.object({
  status: z.literal("failed"),
  /** What went wrong, for the issue's progress comment. */
  error: z.string().min(1, { error: "expected a description of the failure" }).max(65_536),
  /** Work in progress pushed before stopping, if any. */
  headSha: CommitSha.optional(),
  summary: z.string().max(65_536).optional(),
  validation: z.array(ValidationResult).max(100).default([]),
  /**
   * Why the agent failed, by kind (runner/agents/failure-class.ts); absent (older runners, or a
   * failure outside the agent) is `task`.
   */
  failureClass: FailureClass.optional(),
  /** The CLI behind the agent (its adapter: `claude`, `codex`…), for the fix of an auth failure. */
  agentCli: AgentName.optional(),
  /** The agent CLI's own message behind the class (redacted like `error`; one line). */
  failureMessage: z.string().max(2_000).optional(),
  /**
   * For `quota`: when the limit resets, as the CLI said. The app waits until then, within bounds
   * it sets from its own clock (src/domain/task-machine.ts).
   */
  resetAt: Timestamp.optional(),
  ...Spend,
});
export type FailedOutcome = z.infer<typeof FailedOutcome>;

/** Longest question an agent may ask (characters); the runner cuts a longer one. */
export const QUESTION_MAX_CHARS = 4_000;

/**
 * The agent asked a question and stopped (it wrote `.kanbot/question.md`, which is never
 * committed); nothing was pushed. The app posts the question on the issue and waits for a
 * person's answer; no attempt is spent.
 */
export const NeedsInputOutcome = z.object({
  status: z.literal("needs-input"),
  /** The agent's question as it wrote it (redacted by the app; untrusted text). */
  question: z.string().min(1, { error: "expected the agent's question" }).max(QUESTION_MAX_CHARS),
  /** The agent's last message before it asked, for the answer job's prompt. */
  summary: z.string().max(65_536).optional(),
  ...Spend,
});
export type NeedsInputOutcome = z.infer<typeof NeedsInputOutcome>;

export const CanceledOutcome = z.object({
  status: z.literal("canceled"),
  /** Why the runner stopped (the app's cancel, a shutdown…). */
  reason: z.string().max(2_000).optional(),
  /** Work in progress pushed before stopping, if any. */
  headSha: CommitSha.optional(),
  ...Spend,
});
export type CanceledOutcome = z.infer<typeof CanceledOutcome>;

export const JobOutcome = z.discriminatedUnion("status", [
  SucceededOutcome,
  FailedOutcome,
  NeedsInputOutcome,
  CanceledOutcome,
]);
export type JobOutcome = z.infer<typeof JobOutcome>;
export type JobOutcomeInput = z.input<typeof JobOutcome>;

export const CompleteJobRequest = z.object({
  leaseToken: LeaseToken,
  outcome: JobOutcome,
});
export type CompleteJobRequest = z.infer<typeof CompleteJobRequest>;
export type CompleteJobRequestInput = z.input<typeof CompleteJobRequest>;

export const CompleteJobResponse = z.object({
  jobId: JobId,
  status: z.enum(["succeeded", "failed", "needs-input", "canceled"]),
  finishedAt: Timestamp,
});
export type CompleteJobResponse = z.infer<typeof CompleteJobResponse>;
