/**
 * The task state machine (DESIGN sections 1-2): a pure function of (task, event, now, policy)
 * that answers with the next snapshot and the effects to apply, or says why nothing happens.
 * It never throws for an event that does not fit: an illegal event is `rejected`, an expected
 * no-op (a trigger for an active task, a stale head SHA, a duplicate) is `ignored`.
 *
 * Semantics chosen where the design is silent (docs/lifecycle.md has the full table):
 * - Every job counts one attempt when it is enqueued; a new job may start only while every
 *   budget limit has room (`used < limit`), otherwise the task is blocked with the reason and the
 *   job it wanted to run is kept as its resume point.
 * - A lost lease re-queues the same job at once without using an attempt (the runner failed, not
 *   the agent); it counts toward `maxLostLeases` (whole task, not consecutive) and its lease time
 *   toward the minutes budget. The lost lease that reaches the cap blocks the task.
 * - A failed job is retried with exponential backoff while the budget allows; `fatal` failures
 *   block at once. By the agent's failure class (issue 14): `auth` blocks at once with the fix;
 *   `quota` queues the job again for the reset without an attempt; the first `transient`
 *   failures in a row spend no attempt (see `MAX_FREE_QUOTA_WAITS`, `MAX_FREE_TRANSIENT_RETRIES`).
 * - Fallback agents (issue 14 part 4): the task's jobs move along the chain of agents (the
 *   routed one, then `agents.fallback`) after `fallbackAfter` failed jobs of class `task` or
 *   `transient` in a row on one agent, or at once on `quota`, and only to an agent a runner can
 *   take now (`availableAgents`); none available: the same agent goes on. A job moved to another
 *   agent starts at once (the backoff was for the agent that failed) and is charged as its
 *   failure class says. At the end of the chain the last agent keeps the task.
 * - A person starting a blocked or canceled task again (label, card, `/kanbot run`,
 *   `/kanbot retry`, or a revise request on a blocked PR) grants a fresh budget: `used` is reset,
 *   `spent` keeps the lifetime totals. The task resumes the job it stopped at; with an open PR
 *   and no such job it re-opens the gate (`evaluate-checks`); without a PR it starts `implement`
 *   (waiting first if dependencies are open; dependencies are not consulted once a PR exists).
 * - A job that succeeded opens or updates the PR and re-evaluates the gate on its head at once
 *   (`evaluate-checks`): checks may have concluded between the push and the job's report.
 * - A person pushing to the branch of a blocked task re-opens the gate on the new head without
 *   resetting the budget. A done task never starts again (open a new issue).
 * - A passing gate on the current head while a fix-checks job is pending cancels that job (a
 *   flaky check re-run turned green) and moves to review; other check results while a job is
 *   pending are ignored, since the job will push a new head.
 *
 * Why one long file: the transitions are one table read together (every state against every
 * event); split by event group, the guards they share (`prGuard`, `staleJob`, `startJob`) and the
 * rules between them would scatter. Everything in it is pure and unit-tested per transition.
 */
import {
  addAttempt,
  addJobCost,
  addLostLease,
  describeSpentLimit,
  noBudgetUsed,
  spentLimit,
  type BudgetLimit,
  type JobCost,
} from "./budget.js";
import { backoffDelaySeconds, retryAt } from "./backoff.js";
import type {
  AgentFailureClass,
  AnsweredEvent,
  BlockCause,
  FallbackPolicy,
  CancelEvent,
  ChecksFailedEvent,
  ChecksPassedEvent,
  HeadPushedEvent,
  IgnoreCode,
  JobFailedEvent,
  JobLostEvent,
  JobNeedsInputEvent,
  JobSucceededEvent,
  RejectCode,
  ReviseRequestedEvent,
  TaskDecision,
  TaskEffect,
  TaskAgent,
  TaskEvent,
  TaskIgnored,
  TaskJob,
  TaskPolicy,
  TaskPullRequest,
  TaskRejected,
  TaskSnapshot,
  TaskTransition,
} from "./task.js";
import type { TaskState } from "./types.js";
import { code, nested, note, ownText, type NoteMarkdown } from "./progress-comment.js";
import {
  answerDueAt,
  cleanAnswer,
  cleanQuestion,
  DEFAULT_ANSWER_TIMEOUT_HOURS,
  parseQuestionInput,
  questionInstructions,
} from "./question.js";

/**
 * Decides what `event` does to `task` (null: the issue has no task yet) at time `now`.
 * Apply the returned effects in order, then store the returned snapshot.
 */
export function transitionTask(
  task: TaskSnapshot | null,
  event: TaskEvent,
  now: Date,
  policy: TaskPolicy,
): TaskDecision {
  if (task === null) return onNoTask(event, now, policy);
  switch (event.type) {
    case "triggered":
      return onTriggered(task, event.dependenciesOpen, now, policy);
    case "retry":
      return onRetry(task, event.dependenciesOpen, now, policy);
    case "dependencies-cleared":
      return onDependenciesCleared(task, now, policy);
    case "job-claimed":
      return onJobClaimed(task, event.jobId, now);
    case "job-succeeded":
      return onJobSucceeded(task, event, now);
    case "job-failed":
      return onJobFailed(task, event, now, policy);
    case "job-lost":
      return onJobLost(task, event, now, policy);
    case "checks-passed":
      return onChecksPassed(task, event, now);
    case "checks-failed":
      return onChecksFailed(task, event, now, policy);
    case "revise-requested":
      return onReviseRequested(task, event, now, policy);
    case "base-moved-with-conflict":
      return onBaseMoved(task, event.headSha, now, policy);
    case "head-pushed":
      return onHeadPushed(task, event, now);
    case "pr-merged":
      return onPrMerged(task, now, policy);
    case "pr-closed-unmerged":
      return onPrClosedUnmerged(task, now);
    case "cancel":
      return onCancel(task, event, now);
    case "needs-human":
      return onNeedsHuman(task, event.reason, now);
    case "job-needs-input":
      return onJobNeedsInput(task, event, now, policy);
    case "answered":
      return onAnswered(task, event, now, policy);
    case "question-timed-out":
      return onQuestionTimedOut(task, now, policy);
  }
}

/** True for the states in which the task has a job in the store (queued or leased). */
export function hasLiveJob(state: TaskState): boolean {
  return state === "queued" || state === "running";
}

/** True for the states from which a task still moves without a person starting it again. */
export function isActive(state: TaskState): boolean {
  return state !== "done" && state !== "blocked" && state !== "canceled";
}

/** The task facts the gate questions below read (the store's task row has them). */
export interface GateSubject {
  state: TaskState;
  prNumber?: number | undefined;
  headSha?: string | undefined;
}

/**
 * Whether the checks gate judges `headSha` for this task: it is the PR head the task accepted
 * last, and the task waits for checks, or has a job pending that passing checks may overtake
 * (a fix-checks job; the machine decides what a verdict then does).
 */
export function gateJudges(task: GateSubject, headSha: string): boolean {
  return task.headSha === headSha && (task.state === "checks" || hasLiveJob(task.state));
}

/**
 * Whether the task's PR waits on GitHub (checks, review) rather than on a job of its own: it is
 * active, has a PR and a head, and no job is pending that will push a new head. Only then do a
 * moved base (conflicts) and GitHub's mergeability concern it.
 */
export function prAwaitsGitHub(task: GateSubject): boolean {
  return (
    task.prNumber !== undefined &&
    task.headSha !== undefined &&
    isActive(task.state) &&
    !hasLiveJob(task.state)
  );
}

// ---------------------------------------------------------------------------------------------
// Starting and re-starting
// ---------------------------------------------------------------------------------------------

function onNoTask(event: TaskEvent, now: Date, policy: TaskPolicy): TaskDecision {
  if (event.type === "retry") {
    return rejected(
      "no-task",
      "there is no task to retry on this issue; start one with `/kanbot run`",
    );
  }
  if (event.type !== "triggered") {
    return rejected("no-task", `${event.type} does not apply: kanbot has no task for this issue`);
  }
  const task: TaskSnapshot = {
    state: "waiting",
    enteredAt: now,
    job: null,
    pr: null,
    used: noBudgetUsed(),
    spent: noBudgetUsed(),
    failures: 0,
    blocker: null,
    agent: null,
  };
  return start(task, null, event.dependenciesOpen, now, policy);
}

function onTriggered(
  task: TaskSnapshot,
  dependenciesOpen: boolean,
  now: Date,
  policy: TaskPolicy,
): TaskDecision {
  if (isActive(task.state)) {
    return ignored(
      "already-active",
      `the task is already ${describeState(task.state)}; a trigger changes nothing`,
    );
  }
  if (task.state === "done") return doneRejection("start it again");
  return rerun(task, dependenciesOpen, now, policy);
}

function onRetry(
  task: TaskSnapshot,
  dependenciesOpen: boolean,
  now: Date,
  policy: TaskPolicy,
): TaskDecision {
  if (task.state === "blocked" || task.state === "canceled") {
    return rerun(task, dependenciesOpen, now, policy);
  }
  if (task.state === "done") return doneRejection("retry it");
  if (task.state === "queued" && task.job?.notBefore) {
    return rejected(
      "illegal-transition",
      `nothing to retry: the next attempt is already queued (not before ${task.job.notBefore.toISOString()})`,
    );
  }
  return rejected(
    "illegal-transition",
    `nothing to retry: the task is ${describeState(task.state)}; retry applies to blocked or canceled tasks`,
  );
}

/** A person starts a blocked or canceled task again: fresh budget, resume where it stopped. */
function rerun(
  task: TaskSnapshot,
  dependenciesOpen: boolean,
  now: Date,
  policy: TaskPolicy,
): TaskDecision {
  const fresh: TaskSnapshot = {
    ...task,
    used: noBudgetUsed(),
    failures: 0,
    blocker: null,
    agent: routedAgent(task.agent),
  };
  if (fresh.pr === null) return start(fresh, task.state, dependenciesOpen, now, policy);
  if (fresh.job !== null) {
    return startJob(
      fresh,
      task.state,
      { ...fresh.job, id: null, notBefore: null },
      now,
      policy,
      [],
      note`Started again by a person with a fresh budget`,
    );
  }
  const headSha = fresh.pr.headSha;
  return transition(task.state, { ...fresh, state: "checks", enteredAt: now }, [
    { type: "evaluate-checks", headSha },
    ...mirror("checks", note`Started again by a person: re-checking the PR at ${short(headSha)}.`),
  ]);
}

/** Starts work without a PR: wait for dependencies, else queue `implement`. */
function start(
  task: TaskSnapshot,
  from: TaskState | null,
  dependenciesOpen: boolean,
  now: Date,
  policy: TaskPolicy,
): TaskDecision {
  const job: TaskJob = { id: null, kind: "implement", instructions: null, notBefore: null };
  if (dependenciesOpen) {
    return transition(from, { ...task, state: "waiting", enteredAt: now, job }, [
      ...mirror("waiting", note`Accepted; waiting for the issues it depends on to close.`),
    ]);
  }
  return startJob(
    task,
    from,
    job,
    now,
    policy,
    [],
    from === null ? note`Accepted` : note`Started again by a person with a fresh budget`,
  );
}

function onDependenciesCleared(task: TaskSnapshot, now: Date, policy: TaskPolicy): TaskDecision {
  if (task.state !== "waiting") {
    return illegal(task, "dependencies-cleared", "only a waiting task waits for its dependencies");
  }
  const job = task.job ?? { id: null, kind: "implement", instructions: null, notBefore: null };
  return startJob(task, "waiting", job, now, policy, [], note`Dependencies closed`);
}

/**
 * Queues `job` as a new attempt if the budget has room, else blocks the task with the spent
 * limit and keeps `job` as the point to resume from. `before` effects come first (e.g.
 * cancel-job); `cause` opens the progress comment's timeline entry.
 */
function startJob(
  task: TaskSnapshot,
  from: TaskState | null,
  job: TaskJob,
  now: Date,
  policy: TaskPolicy,
  before: TaskEffect[],
  cause: NoteMarkdown,
  error: string | null = null,
): TaskDecision {
  const limit = spentLimit(policy.budget, task.used);
  if (limit !== null) {
    const message = describeSpentLimit(limit, policy.budget, task.used);
    return block(
      task,
      from,
      { ...job, id: null, notBefore: null },
      limitCause(limit),
      message,
      error,
      now,
      before,
      note`${nested(cause)}; no ${job.kind} job started: ${ownText(message)}.`,
    );
  }
  const used = addAttempt(task.used);
  const spent = addAttempt(task.spent);
  const next: TaskSnapshot = {
    ...task,
    state: "queued",
    enteredAt: now,
    job: { ...job, id: null },
    used,
    spent,
  };
  const wait = job.notBefore === null ? "" : `, not before ${job.notBefore.toISOString()}`;
  return transition(from, next, [
    ...before,
    {
      type: "enqueue-job",
      kind: job.kind,
      instructions: job.instructions,
      notBefore: job.notBefore,
      attempt: used.attempts,
      replacesLostJob: false,
    },
    ...mirror(
      "queued",
      note`${nested(cause)}; queued ${article(job.kind)} ${job.kind} job (attempt ${used.attempts} of ${policy.budget.attempts}${wait}).`,
    ),
  ]);
}

// ---------------------------------------------------------------------------------------------
// Jobs
// ---------------------------------------------------------------------------------------------

function onJobClaimed(task: TaskSnapshot, jobId: string, now: Date): TaskDecision {
  if (task.state !== "queued" || task.job === null) {
    return illegal(task, "job-claimed", "only a queued job can be claimed");
  }
  const stale = staleJob(task.job, jobId);
  if (stale) return stale;
  const job: TaskJob = { ...task.job, id: task.job.id ?? jobId };
  return transition("queued", { ...task, state: "running", enteredAt: now, job }, [
    ...mirror(
      "running",
      task.agent === null
        ? note`A runner picked up the ${job.kind} job (attempt ${task.used.attempts}).`
        : note`A runner picked up the ${job.kind} job (attempt ${task.used.attempts}, agent ${task.agent.current}).`,
    ),
  ]);
}

function onJobSucceeded(task: TaskSnapshot, event: JobSucceededEvent, now: Date): TaskDecision {
  const running = runningJob(task, event);
  if ("decision" in running) return running.decision;
  const current = running.job;
  const kind = current.kind;
  const next: TaskSnapshot = {
    ...withCost(task, event),
    state: "checks",
    enteredAt: now,
    job: null,
    failures: 0,
    agent: task.agent === null ? null : { ...task.agent, failures: 0 },
    pr: { headSha: event.headSha, draft: task.pr?.draft ?? true },
  };
  const sha = short(event.headSha);
  // The gate decides at once from the checks already on the head: the runner pushed before it
  // reported, so a fast check may have concluded before the task knew its head, and the check
  // events that arrived then found no task to wake.
  const evaluate = { type: "evaluate-checks", headSha: event.headSha } satisfies TaskEffect;
  if (task.pr === null) {
    return transition("running", next, [
      { type: "open-pr", headSha: event.headSha, draft: true },
      evaluate,
      ...mirror(
        "checks",
        note`The ${kind} job pushed ${sha}; opened a draft PR, waiting for its checks.`,
      ),
    ]);
  }
  const unchanged = task.pr.headSha === event.headSha;
  return transition("running", next, [
    { type: "update-pr", headSha: event.headSha },
    evaluate,
    ...mirror(
      "checks",
      unchanged
        ? note`The ${kind} job finished without new commits; re-checking ${sha}.`
        : note`The ${kind} job pushed ${sha}; waiting for its checks.`,
    ),
  ]);
}

function onJobFailed(
  task: TaskSnapshot,
  event: JobFailedEvent,
  now: Date,
  policy: TaskPolicy,
): TaskDecision {
  const running = runningJob(task, event);
  if ("decision" in running) return running.decision;
  const current = running.job;
  const failures = task.failures + 1;
  const failureClass = event.failureClass ?? "task";
  const step = agentAfterFailure(task.agent, failureClass, policy.fallback, event.availableAgents);
  const charged: TaskSnapshot = { ...withCost(task, event), failures, agent: step.agent };
  const job: TaskJob = { ...current, id: null, notBefore: null };
  const said =
    event.failureMessage === undefined || event.failureMessage === ""
      ? ""
      : `: ${firstLine(event.failureMessage)}`;
  // Only a person can fix it (a fatal error, or the agent CLI's sign-in): blocked at once.
  if (event.fatal || failureClass === "auth") {
    const message = event.fatal
      ? `the ${job.kind} job failed with an error only a person can fix; fix it, then comment \`/kanbot retry\``
      : `${authProblem(event)}; ${authFix(event.agentCli ?? event.agent)}, then comment \`/kanbot retry\``;
    const entry = event.fatal
      ? note`Blocked: ${ownText(message)}.`
      : note`Blocked (agent failure: auth${said}): ${ownText(message)}.`;
    return block(charged, "running", job, "needs-human", message, event.error, now, [], entry);
  }
  // The repository's prompt template is broken: no agent can run until a person fixes it.
  if (failureClass === "config") {
    const problem = firstLine(event.failureMessage ?? event.error);
    const message = `the repository's prompt template cannot be used (${problem}); fix it on the base branch, then comment \`/kanbot retry\``;
    return block(
      charged,
      "running",
      job,
      "needs-human",
      message,
      event.error,
      now,
      [],
      note`Blocked (failure: config): the repository's prompt template cannot be used (${problem}); fix it on the base branch, then comment ${code("/kanbot retry")}.`,
    );
  }
  if (failureClass === "quota" && failures <= MAX_FREE_QUOTA_WAITS && step.switched) {
    // Another agent can take the job now: no wait for this one's reset.
    return requeueFree(
      charged,
      job,
      now,
      policy,
      note`The ${job.kind} job hit its agent's usage limit (agent failure: quota${said}); no attempt spent. ${nested(step.note)}.`,
      event.error,
    );
  }
  if (failureClass === "quota" && failures <= MAX_FREE_QUOTA_WAITS) {
    const reset = quotaResetAt(event.resetAt, now);
    const notBefore = reset ?? retryAt(now, failures, policy.backoff);
    const when =
      reset === undefined
        ? "no reset time given; retrying after a backoff"
        : "the limit resets then";
    return requeueFree(
      charged,
      { ...job, notBefore },
      now,
      policy,
      note`The ${job.kind} job hit its agent's usage limit (agent failure: quota${said}); no attempt spent, it resumes at ${formatTime(notBefore)} (${when}).`,
      event.error,
    );
  }
  if (failureClass === "transient" && failures <= MAX_FREE_TRANSIENT_RETRIES) {
    const notBefore = step.switched ? null : retryAt(now, failures, policy.backoff);
    const retrying = step.switched
      ? note`. ${nested(step.note)}.`
      : note`, retrying at ${formatTime(notBefore ?? now)}.`;
    return requeueFree(
      charged,
      { ...job, notBefore },
      now,
      policy,
      note`The ${job.kind} job failed on the model API or the network (agent failure: transient${said}); no attempt spent (${failures} of ${MAX_FREE_TRANSIENT_RETRIES} in a row)${nested(retrying)}`,
      event.error,
    );
  }
  const delay = step.switched ? 0 : backoffDelaySeconds(failures, policy.backoff);
  const retry: TaskJob = {
    ...job,
    notBefore: delay > 0 ? retryAt(now, failures, policy.backoff) : null,
  };
  const classNote = failureClass === "task" ? "" : ` (agent failure: ${failureClass})`;
  const failed = note`The ${job.kind} job failed${classNote}: ${firstLine(event.error)}`;
  return startJob(
    charged,
    "running",
    retry,
    now,
    policy,
    [],
    step.note === null ? failed : note`${nested(failed)}. ${nested(step.note)}`,
    event.error,
  );
}

/** The agent after a failed job, whether it changed, and what the progress comment says. */
type AgentStep =
  | { agent: TaskAgent; switched: true; note: NoteMarkdown }
  | {
      agent: TaskAgent | null;
      switched: false;
      /** One sentence (without its full stop), or null when there is nothing to say. */
      note: NoteMarkdown | null;
    };

/**
 * The chain of agents a task's jobs move along: the routed agent, then the fallback agents in
 * order, each once (names compare case-insensitively).
 */
export function fallbackChain(routed: string, fallback: readonly string[]): string[] {
  const chain: string[] = [];
  for (const agent of [routed, ...fallback]) {
    if (!chain.some((known) => known.toLowerCase() === agent.toLowerCase())) chain.push(agent);
  }
  return chain;
}

/**
 * Fallback (issue 14 part 4): `task` and `transient` failures count against the agent; at
 * `fallbackAfter` in a row, or at once on `quota`, the next job goes to the first later agent in
 * the chain that a runner can take now. None: the same agent goes on (and the note says why).
 */
function agentAfterFailure(
  agent: TaskAgent | null,
  failureClass: AgentFailureClass,
  policy: FallbackPolicy,
  available: readonly string[] | undefined,
): AgentStep {
  if (agent === null) return { agent, switched: false, note: null };
  const counted = failureClass === "task" || failureClass === "transient";
  const failures = agent.failures + (counted ? 1 : 0);
  const stay: TaskAgent = { ...agent, failures };
  const wanted = failureClass === "quota" || (counted && failures >= policy.after);
  const chain = fallbackChain(agent.routed, policy.agents);
  if (!wanted || chain.length < 2) return { agent: stay, switched: false, note: null };
  const at = chain.findIndex((name) => name.toLowerCase() === agent.current.toLowerCase());
  const later = at < 0 ? chain.slice(1) : chain.slice(at + 1);
  if (later.length === 0) {
    return {
      agent: stay,
      switched: false,
      note: note`${agent.current} is the last agent in ${code("agents.fallback")} and keeps the task`,
    };
  }
  const online = (available ?? []).map((name) => name.toLowerCase());
  const next = later.find((name) => online.includes(name.toLowerCase()));
  if (next === undefined) {
    return {
      agent: stay,
      switched: false,
      note: note`No runner online offers the fallback agent${later.length === 1 ? "" : "s"} ${later.join(", ")}, so ${agent.current} goes on`,
    };
  }
  const why =
    failureClass === "quota"
      ? `${agent.current} hit its usage limit`
      : `${agent.current} failed ${failures} job${failures === 1 ? "" : "s"} in a row (agents.fallbackAfter: ${policy.after})`;
  const whyNote =
    failureClass === "quota"
      ? note`${agent.current} hit its usage limit`
      : note`${agent.current} failed ${failures} job${failures === 1 ? "" : "s"} in a row (${code("agents.fallbackAfter")}: ${policy.after})`;
  return {
    agent: { routed: agent.routed, current: next, failures: 0, reason: `fallback: ${why}` },
    switched: true,
    note: note`Fallback: ${nested(whyNote)}; the next job goes to ${next}, on the same branch, with the earlier attempts in its prompt`,
  };
}

/** The routed agent again, with no failures counted (a person started the task again). */
function routedAgent(agent: TaskAgent | null): TaskAgent | null {
  return agent === null
    ? null
    : { routed: agent.routed, current: agent.routed, failures: 0, reason: null };
}

/**
 * Quota waits and transient failures in a row that spend no attempt; past them, a failure of
 * either class spends one as any other (so an error wrongly classified cannot retry forever).
 * `failures` (consecutive failed jobs) counts them; a success resets it.
 */
export const MAX_FREE_QUOTA_WAITS = 10;
export const MAX_FREE_TRANSIENT_RETRIES = 3;
/** The reset time a runner reports is kept within these bounds of the app's clock. */
export const QUOTA_WAIT_BOUNDS = { minSeconds: 60, maxSeconds: 7 * 24 * 3600 } as const;

/** The reset time within bounds; undefined when none was given (the backoff applies). */
export function quotaResetAt(resetAt: Date | undefined, now: Date): Date | undefined {
  if (resetAt === undefined || Number.isNaN(resetAt.getTime())) return undefined;
  const min = now.getTime() + QUOTA_WAIT_BOUNDS.minSeconds * 1000;
  const max = now.getTime() + QUOTA_WAIT_BOUNDS.maxSeconds * 1000;
  return new Date(Math.min(max, Math.max(min, resetAt.getTime())));
}

/**
 * Queues the same job again without spending an attempt (quota, transient), unless time or cost
 * is spent: the attempts limit is not consulted, as for a lost lease.
 */
function requeueFree(
  task: TaskSnapshot,
  job: TaskJob,
  now: Date,
  policy: TaskPolicy,
  cause: NoteMarkdown,
  error: string,
): TaskDecision {
  const limit = spentLimit(policy.budget, { ...task.used, attempts: 0 });
  if (limit !== null) {
    const message = describeSpentLimit(limit, policy.budget, task.used);
    return block(
      task,
      "running",
      { ...job, notBefore: null },
      limitCause(limit),
      message,
      error,
      now,
      [],
      note`${nested(cause)} Not queued: ${ownText(message)}.`,
    );
  }
  return transition("running", { ...task, state: "queued", enteredAt: now, job }, [
    {
      type: "enqueue-job",
      kind: job.kind,
      instructions: job.instructions,
      notBefore: job.notBefore,
      attempt: task.used.attempts,
      replacesLostJob: false,
    },
    ...mirror("queued", cause),
  ]);
}

/** What went wrong, in words: the agent and the runner when known. */
function authProblem(event: JobFailedEvent): string {
  const cli =
    event.agentCli === undefined || event.agentCli === event.agent
      ? ""
      : ` (${plainName(event.agentCli)})`;
  const agent =
    event.agent === undefined ? "the agent" : `the agent ${plainName(event.agent)}${cli}`;
  const runner = event.runner === undefined ? "its runner" : `runner ${plainName(event.runner)}`;
  return `${agent} is not signed in to its model API on ${runner} (its CLI refused the credentials)`;
}

/** How to sign each built-in agent's CLI in (on the runner, as the runner's user). */
const AUTH_FIXES: Record<string, string> = {
  claude:
    "run `claude auth login` (or `claude setup-token`) there, or set `ANTHROPIC_API_KEY` in the runner's environment",
  codex:
    "run `codex login` there, or set `OPENAI_API_KEY` (or `CODEX_API_KEY`) in the runner's environment",
  gemini:
    "set `GEMINI_API_KEY` in the runner's environment, or run `gemini` there once and sign in with Google",
  opencode:
    "run `opencode auth login` there, or set the provider's API key (e.g. `ANTHROPIC_API_KEY`, `OPENAI_API_KEY`) in the runner's environment",
  aider:
    "set the model provider's API key (e.g. `ANTHROPIC_API_KEY`, `OPENAI_API_KEY`) in the runner's environment",
};

/** The fix for an agent's `auth` failure; a command agent gets the general advice. */
export function authFix(agent: string | undefined): string {
  return (
    (agent === undefined ? undefined : AUTH_FIXES[agent]) ??
    "sign the agent's CLI in on the runner, or set its API key in the runner's environment (and list it under the agent's `credentials` in kanbot-runner.yml)"
  );
}

/** A name that is safe inside kanbot's own text (no backticks to open a code span). */
function plainName(name: string): string {
  return name.replace(/[`\n]/g, "");
}

function formatTime(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, "Z");
}

function onJobLost(
  task: TaskSnapshot,
  event: JobLostEvent,
  now: Date,
  policy: TaskPolicy,
): TaskDecision {
  // A job is lost from `running`, or from `queued` when the lost job is the task's queued one:
  // it was handed to a runner but its claim was never applied (the app died between the lease
  // and recording the claim), and is decided the same way.
  const unappliedClaim = task.state === "queued" && task.job?.id === event.jobId;
  if ((task.state !== "running" && !unappliedClaim) || task.job === null) {
    return illegal(task, "job-lost", "no job of this task holds a lease");
  }
  const from = task.state;
  const stale = staleJob(task.job, event.jobId);
  if (stale) return stale;
  const cost: JobCost = { minutes: event.minutes, usd: 0 };
  const charged: TaskSnapshot = {
    ...task,
    used: addLostLease(addJobCost(task.used, cost)),
    spent: addLostLease(addJobCost(task.spent, cost)),
  };
  const job: TaskJob = { ...task.job, id: null, notBefore: null };
  const lost = charged.used.lostLeases;
  if (lost >= policy.maxLostLeases) {
    const message = `the ${job.kind} job lost its runner ${lost} times (the lease expired each time); check the runners' logs, then comment \`/kanbot retry\``;
    return block(
      charged,
      from,
      job,
      "lost-leases",
      message,
      null,
      now,
      [],
      note`Blocked: ${ownText(message)}.`,
    );
  }
  // The attempts limit is not consulted: a lost lease does not use an attempt. Time and cost are.
  const limit = spentLimit(policy.budget, { ...charged.used, attempts: 0 });
  if (limit !== null) {
    const message = describeSpentLimit(limit, policy.budget, charged.used);
    return block(
      charged,
      from,
      job,
      limitCause(limit),
      message,
      null,
      now,
      [],
      note`The ${job.kind} job lost its runner; ${ownText(message)}.`,
    );
  }
  return transition(from, { ...charged, state: "queued", enteredAt: now, job }, [
    {
      type: "enqueue-job",
      kind: job.kind,
      instructions: job.instructions,
      notBefore: null,
      attempt: charged.used.attempts,
      replacesLostJob: true,
    },
    ...mirror(
      "queued",
      note`The ${job.kind} job lost its runner (lease expired, ${lost} of ${policy.maxLostLeases}); queued it again.`,
    ),
  ]);
}

// ---------------------------------------------------------------------------------------------
// The pull request: checks, review, conflicts, pushes, merge and close
// ---------------------------------------------------------------------------------------------

function onChecksPassed(task: TaskSnapshot, event: ChecksPassedEvent, now: Date): TaskDecision {
  const pr = prGuard(task, "checks-passed", event.headSha);
  if (isDecision(pr)) return pr;
  if (task.state === "review")
    return ignored("duplicate", "the checks already passed on this head");
  if (task.state === "needs-input") return waitingForAnswer("checks-passed");
  if (hasLiveJob(task.state) && task.job?.kind !== "fix-checks") {
    return ignored(
      "job-in-progress",
      `a ${task.job?.kind ?? "new"} job will push a new head; the gate re-opens on it`,
    );
  }
  const before: TaskEffect[] = hasLiveJob(task.state)
    ? [
        {
          type: "cancel-job",
          reason: `the checks passed on ${short(pr.headSha)} before the fix-checks job finished`,
        },
      ]
    : [];
  return transition(
    task.state,
    { ...task, state: "review", enteredAt: now, job: null, pr: { ...pr, draft: false } },
    [
      ...before,
      ...(pr.draft ? [{ type: "mark-pr-ready" } satisfies TaskEffect] : []),
      { type: "request-review" },
      ...mirror(
        "review",
        note`The checks passed on ${short(pr.headSha)}; the PR is ready for review.`,
      ),
    ],
  );
}

function onChecksFailed(
  task: TaskSnapshot,
  event: ChecksFailedEvent,
  now: Date,
  policy: TaskPolicy,
): TaskDecision {
  const guard = prGuard(task, "checks-failed", event.headSha);
  if (isDecision(guard)) return guard;
  if (task.state === "needs-input") return waitingForAnswer("checks-failed");
  if (hasLiveJob(task.state)) {
    return ignored(
      "job-in-progress",
      `a ${task.job?.kind ?? "new"} job is already pending for this PR`,
    );
  }
  const job: TaskJob = {
    id: null,
    kind: "fix-checks",
    instructions: event.summary,
    notBefore: null,
  };
  return startJob(
    task,
    task.state,
    job,
    now,
    policy,
    [],
    note`Checks failed on ${short(event.headSha)}`,
    event.summary,
  );
}

function onReviseRequested(
  task: TaskSnapshot,
  event: ReviseRequestedEvent,
  now: Date,
  policy: TaskPolicy,
): TaskDecision {
  const guard = prGuard(task, "revise-requested", null, true);
  if (isDecision(guard)) return guard;
  if (task.state === "needs-input") {
    return rejected(
      "illegal-transition",
      "the agent asked a question on the issue and waits for its answer; answer it there first (a plain comment or `/kanbot answer …`), then ask for changes once the work is pushed",
    );
  }
  if (hasLiveJob(task.state)) {
    return rejected(
      "job-in-progress",
      `a ${task.job?.kind ?? "new"} job is ${task.state === "queued" ? "queued" : "running"}; ask again once it has pushed`,
    );
  }
  const job: TaskJob = {
    id: null,
    kind: "revise",
    instructions: event.instructions,
    notBefore: null,
  };
  const by =
    event.source === "review" ? "A review requested changes" : "A person asked for changes";
  if (task.state === "blocked") {
    const fresh: TaskSnapshot = {
      ...task,
      used: noBudgetUsed(),
      failures: 0,
      blocker: null,
      agent: routedAgent(task.agent),
    };
    return startJob(
      fresh,
      "blocked",
      job,
      now,
      policy,
      [],
      note`${by}; started again with a fresh budget`,
    );
  }
  return startJob(task, task.state, job, now, policy, [], note`${by}`);
}

function onBaseMoved(
  task: TaskSnapshot,
  headSha: string,
  now: Date,
  policy: TaskPolicy,
): TaskDecision {
  const guard = prGuard(task, "base-moved-with-conflict", headSha);
  if (isDecision(guard)) return guard;
  if (task.state === "needs-input") return waitingForAnswer("base-moved-with-conflict");
  if (hasLiveJob(task.state)) {
    return ignored(
      "job-in-progress",
      `a ${task.job?.kind ?? "new"} job is pending; conflicts are checked again on its head`,
    );
  }
  const job: TaskJob = { id: null, kind: "rebase", instructions: null, notBefore: null };
  return startJob(
    task,
    task.state,
    job,
    now,
    policy,
    [],
    note`The base branch moved and ${short(headSha)} conflicts with it`,
  );
}

function onHeadPushed(task: TaskSnapshot, event: HeadPushedEvent, now: Date): TaskDecision {
  if (task.state === "done") return doneRejection("push to it");
  if (task.pr === null) return noPr(task, "head-pushed");
  if (task.pr.headSha === event.headSha)
    return ignored("duplicate", "the PR head is already at this SHA");
  const pr = { ...task.pr, headSha: event.headSha };
  const sha = short(event.headSha);
  switch (task.state) {
    case "canceled":
      return transition("canceled", { ...task, pr }, []);
    case "queued":
    case "running":
      return transition(task.state, { ...task, pr }, [
        {
          type: "update-progress-comment",
          note: note`A person pushed ${sha}; the ${task.job?.kind ?? "pending"} job builds on it.`,
        },
      ]);
    case "checks":
      return transition("checks", { ...task, pr }, [
        {
          type: "update-progress-comment",
          note: note`A person pushed ${sha}; waiting for its checks.`,
        },
      ]);
    case "needs-input":
      return transition("needs-input", { ...task, pr }, [
        {
          type: "update-progress-comment",
          note: note`A person pushed ${sha}; the answer job builds on it once the question is answered.`,
        },
      ]);
    default:
      // review, blocked: a person's push re-opens the gate on the new head (budget unchanged).
      return transition(
        task.state,
        { ...task, state: "checks", enteredAt: now, pr, job: null, blocker: null },
        [...mirror("checks", note`A person pushed ${sha}; waiting for its checks.`)],
      );
  }
}

function onPrMerged(task: TaskSnapshot, now: Date, policy: TaskPolicy): TaskDecision {
  if (task.state === "done") return ignored("duplicate", "the task is already done");
  if (task.pr === null) return noPr(task, "pr-merged");
  return transition(
    task.state,
    { ...task, state: "done", enteredAt: now, job: null, blocker: null },
    [
      ...cancelLiveJob(task, "the PR was merged"),
      ...mirror("done", note`The PR was merged; done.`),
      ...(policy.deleteBranchOnMerge ? [{ type: "delete-branch" } satisfies TaskEffect] : []),
    ],
  );
}

function onPrClosedUnmerged(task: TaskSnapshot, now: Date): TaskDecision {
  if (task.state === "done") return doneRejection("close its PR");
  if (task.pr === null) return noPr(task, "pr-closed-unmerged");
  const next: TaskSnapshot = { ...task, state: "canceled", pr: null, job: null, blocker: null };
  if (task.state === "canceled") {
    return transition("canceled", next, [
      { type: "update-progress-comment", note: note`The PR was closed without merging.` },
    ]);
  }
  return transition(task.state, { ...next, enteredAt: now }, [
    ...cancelLiveJob(task, "the PR was closed without merging"),
    ...mirror(
      "canceled",
      note`The PR was closed without merging; canceled. Add the trigger label to start over.`,
    ),
  ]);
}

// ---------------------------------------------------------------------------------------------
// People stopping the task, and errors only people can fix
// ---------------------------------------------------------------------------------------------

const CANCEL_NOTES: Record<CancelEvent["source"], NoteMarkdown> = {
  command: note`Canceled by ${code("/kanbot cancel")}.`,
  "label-removed": note`Canceled: the state label was removed.`,
  "issue-closed": note`Canceled: the issue was closed.`,
};

function onCancel(task: TaskSnapshot, event: CancelEvent, now: Date): TaskDecision {
  if (task.state === "canceled") return ignored("duplicate", "the task is already canceled");
  if (task.state === "done") return doneRejection("cancel it");
  const job =
    hasLiveJob(task.state) && task.job ? { ...task.job, id: null, notBefore: null } : task.job;
  return transition(
    task.state,
    { ...task, state: "canceled", enteredAt: now, job, blocker: null },
    [
      ...cancelLiveJob(task, "canceled by a person"),
      ...mirror("canceled", CANCEL_NOTES[event.source]),
    ],
  );
}

function onNeedsHuman(task: TaskSnapshot, reason: string, now: Date): TaskDecision {
  if (!isActive(task.state)) {
    return illegal(task, "needs-human", "the task is not active");
  }
  const job =
    hasLiveJob(task.state) && task.job ? { ...task.job, id: null, notBefore: null } : task.job;
  return block(
    task,
    task.state,
    job,
    "needs-human",
    reason,
    null,
    now,
    cancelLiveJob(task, "the task needs a person"),
    note`Blocked: ${reason}`,
  );
}

// ---------------------------------------------------------------------------------------------
// Questions to humans (issue 14, part 2)
// ---------------------------------------------------------------------------------------------

/**
 * The agent asked a question and stopped: the task waits for a person's answer, with the
 * `answer` job planned (the question in its instructions). No attempt is spent: the job that
 * asked counted one when it was queued, and the answer job goes on under it. Its time and cost
 * count as for any job.
 */
function onJobNeedsInput(
  task: TaskSnapshot,
  event: JobNeedsInputEvent,
  now: Date,
  policy: TaskPolicy,
): TaskDecision {
  const running = runningJob(task, event);
  if ("decision" in running) return running.decision;
  const current = running.job;
  const question = cleanQuestion(event.question);
  const charged = withCost(task, { minutes: event.minutes, usd: event.usd });
  const asked = current.kind;
  const job: TaskJob = {
    id: null,
    kind: "answer",
    instructions: questionInstructions({
      question: question === "" ? "(the agent wrote an empty question)" : question,
      ...(event.summary !== undefined ? { summary: event.summary } : {}),
      askedBy: asked,
    }),
    notBefore: null,
  };
  const due = answerDueAt(now, policy.answerTimeoutHours ?? DEFAULT_ANSWER_TIMEOUT_HOURS);
  const until = due === undefined ? "" : ` (until ${formatTime(due)}, then blocked)`;
  return transition(
    "running",
    { ...charged, state: "needs-input", enteredAt: now, job, failures: 0 },
    [
      { type: "post-question", jobId: event.jobId, question: question },
      ...mirror(
        "needs-input",
        note`The ${asked} job stopped with a question for a person (no attempt spent); waiting for an answer on the issue${until}.`,
      ),
    ],
  );
}

/** Whether the task waits for an answer: `needs-input`, or blocked because nobody answered. */
export function waitsForAnswer(task: Pick<TaskSnapshot, "state" | "blocker">): boolean {
  return (
    task.state === "needs-input" ||
    (task.state === "blocked" && task.blocker?.cause === "question-unanswered")
  );
}

/**
 * A person with the trigger permission answered: the `answer` job is queued on the same branch
 * with the question and the answer. From `needs-input` it spends no attempt (the asking job's
 * covers it; time and cost are still checked); a task blocked for want of an answer starts again
 * with a fresh budget, as any person's restart does.
 */
function onAnswered(
  task: TaskSnapshot,
  event: AnsweredEvent,
  now: Date,
  policy: TaskPolicy,
): TaskDecision {
  if (!waitsForAnswer(task) || task.job?.kind !== "answer") {
    return rejected(
      "illegal-transition",
      `there is no question to answer: the task is ${describeState(task.state)}`,
    );
  }
  const answer = cleanAnswer(event.answer);
  if (answer === "") {
    return rejected(
      "illegal-transition",
      "the answer is empty; write it after `/kanbot answer`, or as a plain comment",
    );
  }
  const asked = parseQuestionInput(task.job.instructions) ?? {
    question: "(the question was not kept)",
  };
  const job: TaskJob = {
    id: null,
    kind: "answer",
    instructions: questionInstructions({ ...asked, answer, answeredBy: event.author }),
    notBefore: null,
  };
  if (task.state === "blocked") {
    const fresh: TaskSnapshot = { ...task, used: noBudgetUsed(), failures: 0, blocker: null };
    return startJob(
      fresh,
      "blocked",
      job,
      now,
      policy,
      [],
      note`${event.author} answered the agent's question; started again with a fresh budget`,
    );
  }
  const limit = spentLimit(policy.budget, { ...task.used, attempts: 0 });
  if (limit !== null) {
    const message = describeSpentLimit(limit, policy.budget, task.used);
    return block(
      task,
      "needs-input",
      job,
      limitCause(limit),
      message,
      null,
      now,
      [],
      note`${event.author} answered the agent's question; no answer job started: ${ownText(message)}.`,
    );
  }
  return transition("needs-input", { ...task, state: "queued", enteredAt: now, job }, [
    {
      type: "enqueue-job",
      kind: "answer",
      instructions: job.instructions,
      notBefore: null,
      attempt: task.used.attempts,
      replacesLostJob: false,
    },
    ...mirror(
      "queued",
      note`${event.author} answered the agent's question; queued an answer job on the same branch (attempt ${task.used.attempts} of ${policy.budget.attempts}, no attempt spent).`,
    ),
  ]);
}

/**
 * Nobody answered within `answerTimeoutHours`: the task is blocked with a reminder (posted
 * again on the issue). An answer still resumes it; `/kanbot retry` lets the agent go on without.
 */
function onQuestionTimedOut(task: TaskSnapshot, now: Date, policy: TaskPolicy): TaskDecision {
  if (task.state !== "needs-input") {
    return illegal(task, "question-timed-out", "only a task waiting for an answer times out");
  }
  const hours = policy.answerTimeoutHours ?? DEFAULT_ANSWER_TIMEOUT_HOURS;
  const due = answerDueAt(task.enteredAt, hours);
  if (due === undefined || due.getTime() > now.getTime()) {
    return ignored(
      "not-due",
      due === undefined
        ? "the question waits without end (`questions.answerTimeoutHours: 0`)"
        : `the question is due at ${formatTime(due)}`,
    );
  }
  const message = `nobody who may steer this task answered the agent's question within ${hours} hours; answer it on the issue (a plain comment or \`/kanbot answer …\`) to resume, or comment \`/kanbot retry\` to let the agent go on without an answer`;
  const asked = parseQuestionInput(task.job?.instructions ?? null);
  const blocked = block(
    task,
    "needs-input",
    task.job,
    "question-unanswered",
    message,
    null,
    now,
    [],
    note`Blocked: ${ownText(message)}.`,
  );
  return {
    ...blocked,
    effects: [
      {
        type: "post-question",
        jobId: `reminder-${task.enteredAt.getTime()}`,
        question: asked?.question ?? "(the question was not kept)",
        reminder: true,
      },
      ...blocked.effects,
    ],
  };
}

function waitingForAnswer(type: TaskEvent["type"]): TaskIgnored {
  return ignored(
    "job-in-progress",
    `${type} waits: the agent asked a question and the answer job will push a new head`,
  );
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

function block(
  task: TaskSnapshot,
  from: TaskState | null,
  job: TaskJob | null,
  cause: BlockCause,
  message: string,
  error: string | null,
  now: Date,
  before: TaskEffect[],
  note: NoteMarkdown,
): TaskTransition {
  const next: TaskSnapshot = {
    ...task,
    state: "blocked",
    enteredAt: now,
    job,
    blocker: { cause, message, error },
  };
  return transition(from, next, [...before, ...mirror("blocked", note)]);
}

/** The label, the board (unless canceled: the card stays) and the progress comment. */
function mirror(state: TaskState, note: NoteMarkdown): TaskEffect[] {
  const effects: TaskEffect[] = [{ type: "set-label", state }];
  if (state !== "canceled") effects.push({ type: "update-board", state });
  effects.push({ type: "update-progress-comment", note });
  return effects;
}

function cancelLiveJob(task: TaskSnapshot, reason: string): TaskEffect[] {
  return hasLiveJob(task.state) ? [{ type: "cancel-job", reason }] : [];
}

/**
 * Rejections and stale-SHA answers shared by every event about the task's PR; on success, the
 * PR. A blocked task accepts only what `allowBlocked` says (a person's revise request).
 */
function prGuard(
  task: TaskSnapshot,
  type: TaskEvent["type"],
  headSha: string | null,
  allowBlocked = false,
): TaskPullRequest | TaskRejected | TaskIgnored {
  if (task.state === "done")
    return rejected("illegal-transition", `${type} does not apply: the task is done`);
  if (task.pr === null) return noPr(task, type);
  if (task.state === "canceled") {
    return illegal(task, type, "start it again with the trigger label or `/kanbot run`");
  }
  if (task.state === "blocked" && !allowBlocked) {
    return illegal(
      task,
      type,
      "a blocked task waits for a person: `/kanbot retry`, a push or a review",
    );
  }
  if (headSha !== null && headSha !== task.pr.headSha) {
    return ignored(
      "stale-sha",
      `${type} is about ${short(headSha)}, but the PR head is ${short(task.pr.headSha)}`,
    );
  }
  return task.pr;
}

function isDecision(value: TaskPullRequest | TaskDecision): value is TaskDecision {
  return "outcome" in value;
}

/**
 * The running job an event about a job is for: rejected when no job of the task is running,
 * ignored when the event is about an earlier job (the success, failure and question handlers).
 */
function runningJob(
  task: TaskSnapshot,
  event: { type: TaskEvent["type"]; jobId: string },
): { job: TaskJob } | { decision: TaskRejected | TaskIgnored } {
  if (task.state !== "running" || task.job === null) {
    return { decision: illegal(task, event.type, "no job of this task is running") };
  }
  const stale = staleJob(task.job, event.jobId);
  return stale ? { decision: stale } : { job: task.job };
}

function staleJob(job: TaskJob, jobId: string): TaskIgnored | null {
  if (job.id === null || job.id === jobId) return null;
  return ignored(
    "stale-job",
    `the event is about job ${jobId}, but the task's current job is ${job.id}`,
  );
}

function withCost(task: TaskSnapshot, cost: JobCost): TaskSnapshot {
  return { ...task, used: addJobCost(task.used, cost), spent: addJobCost(task.spent, cost) };
}

function limitCause(limit: BudgetLimit): BlockCause {
  switch (limit) {
    case "attempts":
      return "attempts-spent";
    case "minutes":
      return "minutes-spent";
    case "usd":
      return "usd-spent";
  }
}

function transition(
  from: TaskState | null,
  task: TaskSnapshot,
  effects: TaskEffect[],
): TaskTransition {
  return { outcome: "transition", from, to: task.state, task, effects };
}

function ignored(code: IgnoreCode, reason: string): TaskIgnored {
  return { outcome: "ignored", code, reason };
}

function rejected(code: RejectCode, reason: string): TaskRejected {
  return { outcome: "rejected", code, reason };
}

function illegal(task: TaskSnapshot, type: TaskEvent["type"], why: string): TaskRejected {
  return rejected(
    "illegal-transition",
    `${type} does not apply while the task is ${describeState(task.state)}: ${why}`,
  );
}

function noPr(task: TaskSnapshot, type: TaskEvent["type"]): TaskRejected {
  return rejected(
    "no-pull-request",
    `${type} does not apply: the task (${task.state}) has no open PR`,
  );
}

function doneRejection(action: string): TaskRejected {
  return rejected(
    "illegal-transition",
    `the task is done (its PR was merged), so kanbot will not ${action}; open a new issue for follow-up work`,
  );
}

const STATE_WORDS: Record<TaskState, string> = {
  waiting: "waiting for its dependencies",
  queued: "queued",
  running: "running",
  checks: "waiting for its PR's checks",
  "needs-input": "waiting for an answer to the agent's question",
  review: "in review",
  done: "done",
  blocked: "blocked",
  canceled: "canceled",
};

/** The state in words for reasons and notes ("the task is in review"). */
export function describeState(state: TaskState): string {
  return STATE_WORDS[state];
}

function article(word: string): string {
  return /^[aeiou]/.test(word) ? "an" : "a";
}

function short(sha: string): string {
  return sha.slice(0, 7);
}

function firstLine(text: string): string {
  const line = text.split("\n", 1)[0]?.trim() ?? "";
  return line.length > 200 ? `${line.slice(0, 197)}...` : line;
}
