/**
 * The task state machine's data: what it knows about a task (the snapshot), what can happen to
 * it (events), what it asks the edges to do (effects) and its answer (a decision). The machine
 * itself is in task-machine.ts; docs/lifecycle.md draws it.
 */
import type { NoteMarkdown } from "./progress-comment.js";
import type { BackoffPolicy } from "./backoff.js";
import type { Budget, BudgetUsed, JobKind, TaskState } from "./types.js";

// ---------------------------------------------------------------------------------------------
// Snapshot
// ---------------------------------------------------------------------------------------------

/**
 * The task's current job: live in the store while the task is `queued` or `running`; only
 * planned while `waiting` (enqueued when the dependencies close); the job to resume while
 * `blocked` or `canceled` (null there means "re-open the gate" when a PR exists, else
 * "implement"); null in `checks`, `review` and `done`.
 */
export interface TaskJob {
  /**
   * The store's id of the job, once known (recorded from `job-claimed`, or set by the caller
   * after applying `enqueue-job`). When both this and an event's `jobId` are known and differ,
   * the event is about an older job and is ignored.
   */
  id: string | null;
  kind: JobKind;
  /** What the agent is asked beyond the issue: the failing checks (fix-checks) or the
   * reviewer's request (revise). */
  instructions: string | null;
  /** Earliest time a runner may claim the job (a retry's backoff); null: at once. */
  notBefore: Date | null;
}

/** The task's open pull request, as far as the machine needs to know it. */
export interface TaskPullRequest {
  /** The head SHA the app accepted last (from the current lease holder or a person's push).
   * Check and conflict events about any other SHA are stale and ignored. */
  headSha: string;
  /** Draft until its checks first pass. A PR once marked ready stays ready. */
  draft: boolean;
}

/** Why a task is blocked. */
export type BlockCause =
  | "attempts-spent"
  | "minutes-spent"
  | "usd-spent"
  | "lost-leases"
  | "needs-human"
  | "question-unanswered";

export const BLOCK_CAUSES = [
  "attempts-spent",
  "minutes-spent",
  "usd-spent",
  "lost-leases",
  "needs-human",
  "question-unanswered",
] as const satisfies readonly BlockCause[];

export interface TaskBlocker {
  cause: BlockCause;
  /** What happened and what to do next, for the progress comment. */
  message: string;
  /** The real error text of the job or check that stopped the task, when there is one. */
  error: string | null;
}

/**
 * Which agent the task's jobs go to (issue 14 part 4, fallback agents). The chain is the routed
 * agent, then `agents.fallback` in order (without the routed one); the task moves along it and
 * never back, until a person starts it again (routing then chooses afresh).
 */
export interface TaskAgent {
  /** The agent routing chose at the task's last start: first in the chain. */
  routed: string;
  /** The agent the next job goes to: `routed`, or a fallback agent. */
  current: string;
  /** Failed jobs of class `task` or `transient` of `current` in a row (since it took over or
   * last succeeded); at `fallbackAfter` the next job goes to the next agent. */
  failures: number;
  /** Why `current` runs instead of `routed`, for people; null while they are the same. */
  reason: string | null;
}

/** Everything the machine needs to know about one task (one per issue). */
export interface TaskSnapshot {
  state: TaskState;
  /** When the task entered its current state (the app's clock). */
  enteredAt: Date;
  job: TaskJob | null;
  /** Present once the first job succeeded and the PR was opened; null again after it is
   * closed unmerged. Always present in `checks`, `review` and `done`. */
  pr: TaskPullRequest | null;
  /** Spent since the task was last started by a person: counts against the budget. */
  used: BudgetUsed;
  /** Spent over the task's whole life: shown in the progress comment and the PR body. */
  spent: BudgetUsed;
  /** Consecutive failed jobs; drives the retry backoff. Reset by a success or a re-run. */
  failures: number;
  /** Set exactly while the task is `blocked`. */
  blocker: TaskBlocker | null;
  /** The agent of the task's jobs; null before routing (a new task: the start facts route it). */
  agent: TaskAgent | null;
}

/** The inputs from configuration (`.github/kanbot.yml` and app settings). */
export interface TaskPolicy {
  budget: Budget;
  /** Lost leases allowed before the task is blocked; the one that reaches it blocks. */
  maxLostLeases: number;
  backoff: BackoffPolicy;
  /** Delete the task branch once its PR is merged. */
  deleteBranchOnMerge: boolean;
  /** Fallback agents (`agents.fallback`, `agents.fallbackAfter`). */
  fallback: FallbackPolicy;
  /**
   * Hours a `needs-input` task waits for an answer before it is blocked (`questions.
   * answerTimeoutHours`); 0 waits without end. Absent: `DEFAULT_ANSWER_TIMEOUT_HOURS`.
   */
  answerTimeoutHours?: number;
}

/** When and where a task's jobs move to another agent (issue 14 part 4). */
export interface FallbackPolicy {
  /** The agents to try after the routed one, in order; empty: no fallback. */
  agents: readonly string[];
  /** Failed jobs of class `task` or `transient` in a row on one agent before the next takes over. */
  after: number;
}

/** `agents.fallbackAfter` when the repository does not set it. */
export const DEFAULT_FALLBACK_AFTER = 2;

export const DEFAULT_MAX_LOST_LEASES = 3;

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

/** Where a trigger came from: the `agent:ready` label, the card moved to Ready, `/kanbot run`. */
export type TriggerSource = "label" | "card" | "command";

/** Where a cancel came from: `/kanbot cancel`, the state label removed by a person, or the
 * issue closed by a person while no PR of the task is merged (the handler checks that). */
export type CancelSource = "command" | "label-removed" | "issue-closed";

/** Where a revise request came from: a review with changes requested, or `/kanbot <text>` on
 * the PR. */
export type ReviseSource = "review" | "command";

/** A person started the task, or started a blocked or canceled task again. */
export interface TriggeredEvent {
  type: "triggered";
  source: TriggerSource;
  /** Whether any dependency of the issue is still open (only consulted before a PR exists). */
  dependenciesOpen: boolean;
}

/** `/kanbot retry`: start a blocked or canceled task again. */
export interface RetryEvent {
  type: "retry";
  dependenciesOpen: boolean;
}

/** The last open dependency of a waiting task closed. */
export interface DependenciesClearedEvent {
  type: "dependencies-cleared";
}

/** A runner claimed the task's queued job. */
export interface JobClaimedEvent {
  type: "job-claimed";
  jobId: string;
}

/** The current lease holder reported success and pushed `headSha`. */
export interface JobSucceededEvent {
  type: "job-succeeded";
  jobId: string;
  headSha: string;
  minutes: number;
  usd: number;
}

/**
 * Why a failed agent run failed, as the runner classified it (runner/agents/failure-class.ts;
 * `FAILURE_CLASSES` in src/protocol/vocabulary.ts is the wire copy):
 * - `auth`: the agent CLI is not signed in or its key is refused: blocked at once, with the fix;
 * - `quota`: a usage or rate limit: queued again until the reset, no attempt spent;
 * - `transient`: the model API or the network failed: retried with backoff, no attempt spent
 *   for the first few in a row;
 * - `task`: anything else: an attempt, retried with backoff while the budget allows;
 * - `config`: the repository's prompt template (`.github/kanbot/prompt.md`) does not parse or
 *   render: blocked at once with the template's line, like an invalid `.github/kanbot.yml`.
 */
export type AgentFailureClass = "auth" | "quota" | "transient" | "task" | "config";

export const AGENT_FAILURE_CLASSES = [
  "auth",
  "quota",
  "transient",
  "task",
  "config",
] as const satisfies readonly AgentFailureClass[];

/** The current lease holder reported failure (agent error, validation still failing, timeout). */
export interface JobFailedEvent {
  type: "job-failed";
  jobId: string;
  /** The real error text, shown to maintainers when the task ends blocked. */
  error: string;
  minutes: number;
  usd: number;
  /** True when retrying cannot help and only a person can fix it (e.g. the change touches
   * `.github/workflows/`, which the app may not push). */
  fatal: boolean;
  /** The agent's failure class from the runner; absent (an older runner): `task`. */
  failureClass?: AgentFailureClass | undefined;
  /** The agent CLI's own message behind the class (one line). */
  failureMessage?: string | undefined;
  /** For `quota`: when the CLI said the limit resets. */
  resetAt?: Date | undefined;
  /** The job's agent (`claude`, `codex`…), for the fix an `auth` failure needs. */
  agent?: string | undefined;
  /** The CLI behind the agent (the runner's adapter: `claude`…), when the runner said. */
  agentCli?: string | undefined;
  /** The runner's name, for the same. */
  runner?: string | undefined;
  /**
   * Agents a runner could take the task's next job with now: offered by a runner that is not
   * revoked, was seen lately, serves the repository and has the task's labels (the app's view;
   * src/tasks/job-events.ts). A fallback goes only to one of these; absent: none.
   */
  availableAgents?: readonly string[] | undefined;
}

/**
 * The current lease holder reported that the agent asked a question and stopped (it wrote
 * `.kanbot/question.md`); nothing was pushed.
 */
export interface JobNeedsInputEvent {
  type: "job-needs-input";
  jobId: string;
  /** The agent's question (untrusted; cleaned and capped by the machine). */
  question: string;
  /** The agent's last message before it asked, when it gave one. */
  summary?: string | undefined;
  minutes: number;
  usd: number;
}

/**
 * A person with the trigger permission answered the question of a `needs-input` task (a plain
 * comment or `/kanbot answer …`), or of a task blocked because nobody answered in time.
 */
export interface AnsweredEvent {
  type: "answered";
  answer: string;
  /** The login of the person who answered. */
  author: string;
}

/** The question of a `needs-input` task waited `answerTimeoutHours` without an answer. */
export interface QuestionTimedOutEvent {
  type: "question-timed-out";
}

/** The job's lease expired before its runner reported (the runner died or lost the network). */
export interface JobLostEvent {
  type: "job-lost";
  jobId: string;
  /** Minutes the lease was held, by the app's clock. */
  minutes: number;
}

/** Every required check passed on `headSha` (decided by the gate). */
export interface ChecksPassedEvent {
  type: "checks-passed";
  headSha: string;
}

/** A required check failed on `headSha`. */
export interface ChecksFailedEvent {
  type: "checks-failed";
  headSha: string;
  /** The failing checks' names, conclusions, output and log tails, for the fix-checks prompt. */
  summary: string;
}

/** A reviewer requested changes, or a person commented `/kanbot <instructions>` on the PR. */
export interface ReviseRequestedEvent {
  type: "revise-requested";
  source: ReviseSource;
  instructions: string;
}

/** The base branch moved and the PR at `headSha` no longer merges cleanly. */
export interface BaseMovedWithConflictEvent {
  type: "base-moved-with-conflict";
  headSha: string;
}

/** Someone other than kanbot pushed to the task branch; the PR head is now `headSha`. */
export interface HeadPushedEvent {
  type: "head-pushed";
  headSha: string;
}

/** The task's PR was merged. */
export interface PrMergedEvent {
  type: "pr-merged";
}

/** The task's PR was closed without merging. */
export interface PrClosedUnmergedEvent {
  type: "pr-closed-unmerged";
}

/** A person stopped the task. */
export interface CancelEvent {
  type: "cancel";
  source: CancelSource;
}

/** An error only a person can fix (missing permission, branch protection refuses the push,
 * invalid config, a dependency cycle...). */
export interface NeedsHumanEvent {
  type: "needs-human";
  reason: string;
}

export type TaskEvent =
  | TriggeredEvent
  | RetryEvent
  | DependenciesClearedEvent
  | JobClaimedEvent
  | JobSucceededEvent
  | JobFailedEvent
  | JobNeedsInputEvent
  | JobLostEvent
  | ChecksPassedEvent
  | ChecksFailedEvent
  | ReviseRequestedEvent
  | BaseMovedWithConflictEvent
  | HeadPushedEvent
  | PrMergedEvent
  | PrClosedUnmergedEvent
  | CancelEvent
  | NeedsHumanEvent
  | AnsweredEvent
  | QuestionTimedOutEvent;

export type TaskEventType = TaskEvent["type"];

export const TASK_EVENT_TYPES = [
  "triggered",
  "retry",
  "dependencies-cleared",
  "job-claimed",
  "job-succeeded",
  "job-failed",
  "job-needs-input",
  "job-lost",
  "checks-passed",
  "checks-failed",
  "revise-requested",
  "base-moved-with-conflict",
  "head-pushed",
  "pr-merged",
  "pr-closed-unmerged",
  "cancel",
  "needs-human",
  "answered",
  "question-timed-out",
] as const satisfies readonly TaskEventType[];

// ---------------------------------------------------------------------------------------------
// Effects (apply them in the order given)
// ---------------------------------------------------------------------------------------------

/** Put a new job in the queue. */
export interface EnqueueJobEffect {
  type: "enqueue-job";
  kind: JobKind;
  instructions: string | null;
  /** Earliest claim time (a retry's backoff); null: at once. */
  notBefore: Date | null;
  /** The attempt number this job counts as (1-based, against `budget.attempts`). */
  attempt: number;
  /** True when this re-queues a job whose lease was lost: it does not use an attempt. If the
   * store already re-queued the lost job itself, the applier treats this effect as done. */
  replacesLostJob: boolean;
}

/** Cancel the task's queued or leased job (and revoke its tokens; the runner learns it from
 * its next heartbeat). */
export interface CancelJobEffect {
  type: "cancel-job";
  reason: string;
}

/** Make the issue carry exactly the label of `state` and not the trigger label. For
 * `canceled` that means removing every state label. */
export interface SetLabelEffect {
  type: "set-label";
  state: TaskState;
}

/** Move the card to the column mapped to `state`. Never emitted for `canceled`
 * (the card stays where it is). */
export interface UpdateBoardEffect {
  type: "update-board";
  state: TaskState;
}

/** Re-render the sticky progress comment from the new snapshot, adding `note` to its
 * timeline. */
export interface UpdateProgressCommentEffect {
  type: "update-progress-comment";
  note: NoteMarkdown;
}

/** Open the task's PR from the branch at `headSha` (`Closes #N` in the body). */
export interface OpenPrEffect {
  type: "open-pr";
  headSha: string;
  draft: boolean;
}

/** Refresh the PR (body: summary, attempts, time, cost) after a follow-up job pushed
 * `headSha`. */
export interface UpdatePrEffect {
  type: "update-pr";
  headSha: string;
}

/** Take the PR out of draft. */
export interface MarkPrReadyEffect {
  type: "mark-pr-ready";
}

/** Request a review (from the person who started the task, or as configured). */
export interface RequestReviewEffect {
  type: "request-review";
}

/** Delete the task branch. */
export interface DeleteBranchEffect {
  type: "delete-branch";
}

/**
 * Post the agent's question on the issue (once per job: the comment carries a marker), saying
 * who can answer and how.
 */
export interface PostQuestionEffect {
  type: "post-question";
  /** The job that asked (for the marker); for a reminder, `reminder-<time it was asked>`. */
  jobId: string;
  question: string;
  /** A reminder: nobody answered in time and the task is blocked. */
  reminder?: boolean;
}

/** Ask the gate to decide now from the checks already on `headSha` (no new check event will
 * come because the head did not change). */
export interface EvaluateChecksEffect {
  type: "evaluate-checks";
  headSha: string;
}

export type TaskEffect =
  | EnqueueJobEffect
  | CancelJobEffect
  | SetLabelEffect
  | UpdateBoardEffect
  | UpdateProgressCommentEffect
  | OpenPrEffect
  | UpdatePrEffect
  | MarkPrReadyEffect
  | RequestReviewEffect
  | DeleteBranchEffect
  | EvaluateChecksEffect
  | PostQuestionEffect;

export type TaskEffectType = TaskEffect["type"];

// ---------------------------------------------------------------------------------------------
// Decisions
// ---------------------------------------------------------------------------------------------

/** The event moves the task (possibly to the same state with new facts). */
export interface TaskTransition {
  outcome: "transition";
  /** null when the event created the task. */
  from: TaskState | null;
  to: TaskState;
  task: TaskSnapshot;
  effects: TaskEffect[];
}

/**
 * The event is expected and deliberately changes nothing: a trigger for an active task, an
 * event about a stale head SHA or an older job, a duplicate, or a check result while a job
 * that will push a new head is pending.
 */
export type IgnoreCode =
  "already-active" | "stale-sha" | "stale-job" | "duplicate" | "job-in-progress" | "not-due";

export interface TaskIgnored {
  outcome: "ignored";
  code: IgnoreCode;
  reason: string;
}

/**
 * The event is not legal in the task's state. Nothing happens; the handler logs the reason and,
 * when a person asked, may reply with it.
 */
export type RejectCode = "no-task" | "no-pull-request" | "job-in-progress" | "illegal-transition";

export interface TaskRejected {
  outcome: "rejected";
  code: RejectCode;
  reason: string;
}

export type TaskDecision = TaskTransition | TaskIgnored | TaskRejected;
