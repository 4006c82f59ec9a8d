/**
 * The apply step: turns the state machine's decisions into store writes and GitHub port calls.
 * Handlers guard and gather facts, the pure domain decides (`transitionTask`, routing,
 * dependencies), and this file applies, in the order the effects come:
 *
 * 1. read the task and its jobs, and ask the machine;
 * 2. write the new state to the store (optimistic: a concurrent change re-reads and re-decides,
 *    so a label and a card move arriving together still make one task and one job);
 * 3. apply the effects: queue or cancel jobs, mirror the state to labels and the board, and edit
 *    the progress comment.
 *
 * A failure in step 3 fails the inbox delivery, which is retried; the retried event finds the
 * task already moved and only re-mirrors its labels (see `startTask`).
 */
import type { RepoConfig } from "../config/repo-config.js";
import { formatCycle, formatIssueRef, type IssueRef } from "../domain/dependencies.js";
import { routeTask, type Routing } from "../domain/routing.js";
import { taskBranchName } from "../domain/task-branch.js";
import { storedIssueTitle } from "../domain/untrusted-text.js";
import { isActive, transitionTask } from "../domain/task-machine.js";
import type {
  IgnoreCode,
  RejectCode,
  TaskEffect,
  TaskEvent,
  TaskTransition,
  TriggerSource,
} from "../domain/task.js";
import type { TaskState } from "../domain/types.js";
import type { IssueComment, IssueFacts } from "../github/port.js";
import { TaskVersionConflictError, type Job, type Task, type TaskChanges } from "../store/index.js";
import { boardPriority, moveCard, type BoardLookup } from "./effects/board.js";
import { checkDependencies, tasksWaitingOn, type DependencyCheck } from "./dependencies.js";
import { mirrorLabels } from "./effects/labels.js";
import { issueOfTask, updateProgressComment } from "./effects/progress-comment.js";
import { trustedPromptText } from "./prompt-text.js";
import { knownAgents, labelNamesOf, loadRepoConfig, taskPolicyOf } from "./repo-config.js";
import type { TaskContext } from "./context.js";
import {
  AUDIT_BLOCKED,
  AUDIT_DEPENDENCIES,
  AUDIT_NOTE,
  AUDIT_ROUTED,
  latestDependencies,
  recordFacts,
  recordNote,
  type DependencyFacts,
} from "./facts.js";
import { snapshotOf } from "./snapshot.js";
import { evaluateGate } from "./gate.js";
import {
  deleteTaskBranch,
  markPullRequestReady,
  publishJobResult,
  requestTaskReview,
  type ClosedPullRequestFacts,
} from "./effects/pull-request.js";

/** Routing and prompt text, for events that start (or re-start) a task. */
export interface StartFacts {
  routing: Routing;
  promptText: string;
}

export interface TaskEventRequest {
  /** The issue as GitHub has it now; its labels are updated as effects change them. */
  issue: IssueFacts;
  config: RepoConfig;
  /** A GitHub login, or `kanbot`. */
  actor: string;
  event: TaskEvent;
  start?: StartFacts | undefined;
  /** Dependencies as just checked; recorded for the progress comment and the graph. */
  dependencies?: DependencyFacts | undefined;
  /** The issue's comments, when the caller listed them already. */
  comments?: readonly IssueComment[] | undefined;
  board: BoardLookup;
  /** The finished job whose result opens or updates the PR (`job-succeeded`). */
  job?: Job | undefined;
  /**
   * For `job-lost`: the lost job. The store's sweep already counted the lost lease and may have
   * queued the retry; the machine decides from the task as it was before the sweep.
   */
  lostJobId?: number | undefined;
  /** For `pr-merged`: the closed PR's branches, for the branch deletion rule. */
  closed?: ClosedPullRequestFacts | undefined;
}

export type TaskEventOutcome =
  | { outcome: "transition"; task: Task; from: TaskState | null; to: TaskState }
  | { outcome: "ignored"; code: IgnoreCode; reason: string; task: Task | undefined }
  | { outcome: "rejected"; code: RejectCode; reason: string; task: Task | undefined };

const MAX_ROUNDS = 3;

/** Decides `event` for the issue's task and applies the decision. */
export async function applyTaskEvent(
  ctx: TaskContext,
  request: TaskEventRequest,
): Promise<TaskEventOutcome> {
  const { issue, config } = request;
  const policy = taskPolicyOf(config);
  for (let round = 1; ; round++) {
    // 1. Read and decide.
    const existing = await ctx.store.findTask(repoName(issue.ref), issue.ref.number);
    const jobs = existing === undefined ? [] : await ctx.store.listJobs(existing.id);
    const snapshot = existing === undefined ? null : snapshotFor(existing, jobs, request);
    const decision = transitionTask(snapshot, request.event, ctx.now(), policy);
    if (decision.outcome !== "transition") {
      ctx.log.info(
        {
          issue: issue.ref,
          event: request.event.type,
          outcome: decision.outcome,
          reason: decision.reason,
        },
        "task event changes nothing",
      );
      return { ...decision, task: existing };
    }

    // 2. Store.
    let task: Task | undefined;
    try {
      task = await persist(ctx, existing, decision, request);
    } catch (error) {
      if (!(error instanceof TaskVersionConflictError) || round >= MAX_ROUNDS) throw error;
    }
    if (task === undefined) {
      if (round >= MAX_ROUNDS) {
        throw new Error(
          `task for ${formatIssueRef(issue.ref)} kept changing while kanbot applied ${request.event.type}; the delivery will be retried`,
        );
      }
      ctx.log.debug({ issue: issue.ref, round }, "task changed concurrently; deciding again");
      continue;
    }
    ctx.log.info(
      {
        issue: issue.ref,
        taskId: task.id,
        event: request.event.type,
        from: decision.from,
        to: decision.to,
      },
      "task state changed",
    );

    // 3. Effects.
    const pendingGates = new Set<number>();
    for (const effect of decision.effects) {
      await applyEffect(ctx, task, effect, request, pendingGates);
    }
    // 4. A re-opened gate decides from the checks already on the head.
    const evaluate = decision.effects.find((effect) => effect.type === "evaluate-checks");
    if (evaluate !== undefined && pendingGates.has(task.id)) {
      await evaluateGate(ctx, task.id, evaluate.headSha, request.board, {
        config: request.config,
        issue: request.issue,
      });
    }
    const latest = (await ctx.store.getTask(task.id)) ?? task;
    return { outcome: "transition", task: latest, from: decision.from, to: decision.to };
  }
}

/** The machine's view of the task; for a lost job, as it was before the store's sweep. */
function snapshotFor(task: Task, jobs: readonly Job[], request: TaskEventRequest) {
  const lostJobId = request.lostJobId;
  if (lostJobId === undefined) return snapshotOf(task, jobs);
  const snapshot = snapshotOf(
    task,
    jobs.filter((job) => job.id <= lostJobId),
  );
  return {
    ...snapshot,
    used: { ...snapshot.used, lostLeases: Math.max(0, snapshot.used.lostLeases - 1) },
  };
}

/** Writes the decision; undefined when another writer got there first (decide again). */
async function persist(
  ctx: TaskContext,
  existing: Task | undefined,
  decision: TaskTransition,
  request: TaskEventRequest,
): Promise<Task | undefined> {
  const { issue, start } = request;
  const policy = taskPolicyOf(request.config);
  let task: Task;
  if (existing === undefined) {
    const created = await ctx.store.upsertTask({
      repo: repoName(issue.ref),
      installationId: ctx.installationId,
      issueNumber: issue.ref.number,
      title: storedIssueTitle(issue.title),
      body: start?.promptText ?? "",
      state: decision.to,
      ...(start === undefined
        ? {}
        : {
            agent: start.routing.agent.agent,
            requiredLabels: start.routing.runner.labels,
            priority: start.routing.priority.priority,
          }),
      budget: policy.budget,
      startedBy: request.actor,
      // Fixed once, from the config of the trigger; the runner, the PR and the cleanup use it.
      branch: taskBranchName(request.config.branchPrefix, issue.ref.number, issue.title),
    });
    if (!created.created) return undefined;
    task = await ctx.store.updateTask(
      created.task.id,
      { used: decision.task.used },
      { actor: request.actor },
    );
  } else {
    const changes: TaskChanges = {
      state: decision.to,
      used: decision.task.used,
      headSha: decision.task.pr?.headSha ?? null,
    };
    if (start !== undefined) {
      Object.assign(changes, {
        title: storedIssueTitle(issue.title),
        body: start.promptText,
        agent: start.routing.agent.agent,
        requiredLabels: start.routing.runner.labels,
        priority: start.routing.priority.priority,
        budget: policy.budget,
        startedBy: request.actor,
        installationId: ctx.installationId,
      } satisfies TaskChanges);
    }
    task = await ctx.store.updateTask(existing.id, changes, {
      expectedVersion: existing.version,
      actor: request.actor,
    });
  }
  if (start !== undefined) {
    await recordFacts(ctx, task.id, AUDIT_ROUTED, {
      agent: start.routing.agent.agent,
      reason: start.routing.agent.reason,
      priorityReason: start.routing.priority.reason,
      notes: start.routing.agent.ignored.map((ignored) => `${ignored.request}: ${ignored.reason}`),
    });
  }
  if (request.dependencies !== undefined) {
    await recordFacts(ctx, task.id, AUDIT_DEPENDENCIES, request.dependencies);
  }
  const blocker = decision.task.blocker;
  if (decision.to === "blocked" && blocker !== null) {
    await recordFacts(ctx, task.id, AUDIT_BLOCKED, {
      message: blocker.message,
      error: blocker.error,
    });
  }
  return task;
}

async function applyEffect(
  ctx: TaskContext,
  task: Task,
  effect: TaskEffect,
  request: TaskEventRequest,
  pendingGates: Set<number>,
): Promise<void> {
  switch (effect.type) {
    case "enqueue-job": {
      if (effect.replacesLostJob && request.lostJobId !== undefined) {
        const lostJobId = request.lostJobId;
        const requeued = (await ctx.store.listJobs(task.id)).find(
          (job) => job.id > lostJobId && job.status === "queued",
        );
        if (requeued !== undefined) {
          ctx.log.info(
            { taskId: task.id, jobId: requeued.id, lostJobId },
            "lost job already queued again by the lease sweep",
          );
          return;
        }
      }
      const job = await ctx.store.enqueueJob({
        taskId: task.id,
        kind: effect.kind,
        ...(effect.instructions === null ? {} : { input: effect.instructions }),
        ...(effect.notBefore === null ? {} : { notBefore: effect.notBefore }),
        actor: request.actor,
      });
      ctx.log.info(
        {
          taskId: task.id,
          jobId: job.id,
          kind: job.kind,
          agent: job.agent,
          priority: job.priority,
        },
        "job queued",
      );
      return;
    }
    case "cancel-job": {
      const results = await ctx.store.cancelTaskJobs(task.id, request.actor);
      ctx.log.info(
        {
          taskId: task.id,
          jobs: results.map((result) => ({ jobId: result.job.id, outcome: result.outcome })),
        },
        "task jobs canceled",
      );
      return;
    }
    case "set-label":
      await mirrorLabels(ctx, request.issue, effect.state, labelNamesOf(request.config));
      return;
    case "update-board":
      await moveCard(ctx, request.board, request.config, request.issue, effect.state);
      return;
    case "update-progress-comment":
      await recordNote(ctx, task.id, effect.note, request.actor);
      await updateProgressComment(ctx, task, request.config, request.comments);
      return;
    case "open-pr":
    case "update-pr":
      await publishJobResult(ctx, task, effect, request);
      return;
    case "mark-pr-ready":
      await markPullRequestReady(ctx, task);
      return;
    case "request-review":
      await requestTaskReview(ctx, task, request.config);
      return;
    case "delete-branch":
      await deleteTaskBranch(ctx, task, request.config, request.closed);
      return;
    case "evaluate-checks":
      // The gate decides now (it applies checks-passed or checks-failed itself); the effects
      // after this one are the state mirror of the transition that asked for it.
      pendingGates.add(task.id);
      return;
  }
}

// ---------------------------------------------------------------------------------------------
// What handlers call
// ---------------------------------------------------------------------------------------------

export interface StartRequest {
  issue: IssueFacts;
  config: RepoConfig;
  actor: string;
  /** `retry` for `/kanbot retry`; a trigger source otherwise. */
  source: TriggerSource | "retry";
  /** The agent named by `/kanbot run <agent>`. */
  requestedAgent?: string | undefined;
  /** The board's Priority value, when the caller already knows it (a card move). */
  boardPriority?: string | undefined;
  board: BoardLookup;
}

/**
 * A trigger (label, card, `/kanbot run`) or `/kanbot retry`: checks dependencies, routes, builds
 * the prompt text from trusted text only and applies `triggered` / `retry`. A trigger for an
 * active task is a no-op, apart from taking the trigger label off again.
 */
export async function startTask(
  ctx: TaskContext,
  request: StartRequest,
): Promise<TaskEventOutcome> {
  const { issue, config } = request;
  const names = labelNamesOf(config);

  // 1. A cheap no-op check before asking GitHub about dependencies and comments.
  const existing = await ctx.store.findTask(repoName(issue.ref), issue.ref.number);
  if (existing !== undefined) {
    const event: TaskEvent =
      request.source === "retry"
        ? { type: "retry", dependenciesOpen: false }
        : { type: "triggered", source: request.source, dependenciesOpen: false };
    const preview = transitionTask(
      snapshotOf(existing, await ctx.store.listJobs(existing.id)),
      event,
      ctx.now(),
      taskPolicyOf(config),
    );
    if (preview.outcome !== "transition") {
      if (isActive(existing.state)) await mirrorLabels(ctx, issue, existing.state, names);
      ctx.log.info(
        { issue: issue.ref, state: existing.state, reason: preview.reason },
        "trigger changes nothing",
      );
      return { ...preview, task: existing };
    }
  }

  // 2. Facts: dependencies, trusted prompt text, routing.
  const facts = await gatherStartFacts(ctx, {
    issue,
    config,
    board: request.board,
    requestedAgent: request.requestedAgent,
    boardPriority: request.boardPriority,
  });
  const { dependencies, comments } = facts;

  // 3. Decide and apply.
  const dependenciesOpen = dependencies.readiness.status !== "ready";
  const outcome = await applyTaskEvent(ctx, {
    issue,
    config,
    actor: request.actor,
    event:
      request.source === "retry"
        ? { type: "retry", dependenciesOpen }
        : { type: "triggered", source: request.source, dependenciesOpen },
    start: facts.start,
    dependencies: dependencies.facts,
    comments,
    board: request.board,
  });

  // 4. A cycle: every task on it is told, naming the cycle.
  if (outcome.outcome === "transition" && dependencies.readiness.status === "cycle") {
    await blockCycle(ctx, dependencies.readiness.cycle, issue, config, request.board);
  }
  return outcome;
}

export interface StartFactsRequest {
  issue: IssueFacts;
  config: RepoConfig;
  board: BoardLookup;
  requestedAgent?: string | undefined;
  boardPriority?: string | undefined;
}

export interface GatheredStartFacts {
  dependencies: DependencyCheck;
  comments: IssueComment[];
  start: StartFacts;
}

/** Dependencies, the issue's comments, the trusted prompt text and the routing decision. */
export async function gatherStartFacts(
  ctx: TaskContext,
  request: StartFactsRequest,
): Promise<GatheredStartFacts> {
  const { issue, config } = request;
  const dependencies = await checkDependencies(ctx, issue);
  const comments = await ctx.github.listComments(issue.ref);
  const text = await trustedPromptText(ctx, issue, comments, config.minimumPermission);
  const priorityFromBoard =
    request.boardPriority ??
    (issue.labels.some((label) => /^priority:/i.test(label))
      ? undefined
      : await boardPriority(ctx, request.board, config, issue));
  const routing = routeTask({
    issue: { title: issue.title, body: issue.body, labels: issue.labels },
    rules: {
      defaultAgent: config.agents.default,
      keywordRules: config.agents.rules,
      useLabels: config.agents.useLabels,
      titlePrefix: config.agents.titlePrefix,
      runnerLabels: config.agents.runsOn,
    },
    knownAgents: await knownAgents(ctx),
    requestedAgent: request.requestedAgent,
    boardPriority: priorityFromBoard ?? null,
  });
  return { dependencies, comments, start: { routing, promptText: text } };
}

/** Blocks every waiting task on `cycle` with the cycle named in its progress comment. */
async function blockCycle(
  ctx: TaskContext,
  cycle: IssueRef[],
  current: IssueFacts,
  currentConfig: RepoConfig,
  board: BoardLookup,
): Promise<void> {
  const reason = `this issue is on a dependency cycle (${formatCycle(cycle)}), so none of these tasks can start; remove one of these dependencies, then add the trigger label again`;
  ctx.log.warn({ cycle: formatCycle(cycle) }, "dependency cycle found; tasks on it are blocked");
  for (const ref of cycle) {
    const task = await ctx.store.findTask(repoName(ref), ref.number);
    if (task === undefined || task.state !== "waiting") continue;
    const isCurrent =
      formatIssueRef(ref).toLowerCase() === formatIssueRef(current.ref).toLowerCase();
    const issue = isCurrent ? current : await ctx.github.getIssue(ref);
    if (issue === undefined) continue;
    const config = isCurrent ? currentConfig : await configOrWarn(ctx, ref);
    if (config === undefined) continue;
    const known = await latestDependencies(ctx, task.id);
    await applyTaskEvent(ctx, {
      issue,
      config,
      actor: "kanbot",
      event: { type: "needs-human", reason },
      dependencies: { blockers: known?.blockers ?? [], cycle, unknown: known?.unknown ?? [] },
      board,
    });
  }
}

export interface StopRequest {
  issue: IssueFacts;
  config: RepoConfig;
  actor: string;
  source: "command" | "label-removed" | "issue-closed";
  board: BoardLookup;
}

/** `/kanbot cancel`, a removed state label, or the issue closed by a person. */
export async function cancelTask(
  ctx: TaskContext,
  request: StopRequest,
): Promise<TaskEventOutcome> {
  return applyTaskEvent(ctx, {
    issue: request.issue,
    config: request.config,
    actor: request.actor,
    event: { type: "cancel", source: request.source },
    board: request.board,
  });
}

/** `/kanbot status`: re-renders the progress comment from the store. */
export async function refreshStatus(
  ctx: TaskContext,
  issue: IssueFacts,
  config: RepoConfig,
): Promise<TaskEventOutcome> {
  const task = await ctx.store.findTask(repoName(issue.ref), issue.ref.number);
  if (task === undefined) {
    return {
      outcome: "rejected",
      code: "no-task",
      reason:
        "kanbot has no task for this issue; start one with the trigger label or `/kanbot run`",
      task,
    };
  }
  await updateProgressComment(ctx, task, config);
  return { outcome: "ignored", code: "duplicate", reason: "status refreshed", task };
}

/**
 * An issue closed: every waiting task that recorded it as a blocker looks at its dependencies
 * again, and is queued when none is open any more.
 */
export async function releaseDependents(
  ctx: TaskContext,
  closed: IssueRef,
  board: BoardLookup,
): Promise<number> {
  const waiting = await tasksWaitingOn(ctx, closed);
  let released = 0;
  for (const task of waiting) {
    const ref = issueOfTask(task);
    const config = await configOrWarn(ctx, ref);
    const issue = config === undefined ? undefined : await ctx.github.getIssue(ref);
    if (config === undefined || issue === undefined) continue;
    const check: DependencyCheck = await checkDependencies(ctx, issue);
    if (check.readiness.status === "ready") {
      const outcome = await applyTaskEvent(ctx, {
        issue,
        config,
        actor: "kanbot",
        event: { type: "dependencies-cleared" },
        dependencies: check.facts,
        board,
      });
      if (outcome.outcome === "transition") released++;
      continue;
    }
    if (check.readiness.status === "cycle") {
      await recordFacts(ctx, task.id, AUDIT_DEPENDENCIES, check.facts);
      await blockCycle(ctx, check.readiness.cycle, issue, config, board);
      continue;
    }
    await recordFacts(ctx, task.id, AUDIT_DEPENDENCIES, check.facts);
    await recordFacts(ctx, task.id, AUDIT_NOTE, {
      note: `${formatIssueRef(closed)} closed; still waiting on ${check.facts.blockers.map(formatIssueRef).join(", ")}.`,
    });
    await updateProgressComment(ctx, task, config);
  }
  ctx.log.info(
    { closed, waiting: waiting.length, released },
    "dependents of a closed issue re-checked",
  );
  return released;
}

async function configOrWarn(ctx: TaskContext, ref: IssueRef): Promise<RepoConfig | undefined> {
  const loaded = await loadRepoConfig(ctx, ref);
  if (loaded.ok) return loaded.config;
  ctx.log.warn(
    { repo: repoName(ref), errors: loaded.errors.length },
    "invalid .github/kanbot.yml; task left as it is",
  );
  return undefined;
}

/** `owner/name`, as the store keys tasks. */
export function repoName(ref: { owner: string; repo: string }): string {
  return `${ref.owner}/${ref.repo}`;
}
