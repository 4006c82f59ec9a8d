/**
 * What handlers ask of the task loop beyond a plain event: starting a task (a trigger or
 * `/kanbot retry`: dependencies, routing, the trusted prompt text), stopping it, re-showing its
 * status, and releasing the tasks that waited on an issue that closed. Each gathers its facts
 * and hands one event to the loop (./apply.ts).
 */
import type { RepoConfig } from "../config/repo-config.js";
import { formatCycle, formatIssueRef, type IssueRef } from "../domain/dependencies.js";
import { routeTask } from "../domain/routing.js";
import { isActive, transitionTask } from "../domain/task-machine.js";
import type { TaskEvent, TriggerSource } from "../domain/task.js";
import type { PermissionLevel } from "../domain/permission.js";
import type { IssueComment, IssueFacts } from "../github/port.js";
import { applyTaskEvent } from "./apply.js";
import { honouredBudgetLabels } from "./budget-label.js";
import type { TaskContext } from "./context.js";
import { checkDependencies, tasksWaitingOn, type DependencyCheck } from "./dependencies.js";
import { boardPriority, type BoardLookup } from "./effects/board.js";
import { showIssueView } from "./effects/issue-view.js";
import { issueOfTask } from "./effects/progress-comment.js";
import { AUDIT_NOTE, recordDependencies, recordHistory } from "./facts.js";
import { repoName } from "./lookup.js";
import { trustedPromptText } from "./prompt-text.js";
import { knownAgents, loadRepoConfig, taskPolicyOf } from "./repo-config.js";
import { noTask, type StartFacts, type TaskEventOutcome } from "./request.js";
import { snapshotOf } from "./snapshot.js";

export interface StartRequest {
  issue: IssueFacts;
  config: RepoConfig;
  /** Who starts the task; every caller has checked that they have the trigger permission. */
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
      if (isActive(existing.state)) {
        await showIssueView(ctx, existing, { config, issue, comment: false });
      }
      ctx.log.info(
        { issue: issue.ref, state: existing.state, reason: preview.reason },
        "trigger changes nothing",
      );
      return { ...preview, task: existing };
    }
  }

  // 2. Facts: dependencies, trusted prompt text, routing, the budget labels that count.
  const levels = new Map<string, PermissionLevel>();
  const facts = await gatherStartFacts(ctx, {
    issue,
    config,
    board: request.board,
    requestedAgent: request.requestedAgent,
    boardPriority: request.boardPriority,
    levels,
  });
  const { dependencies, comments } = facts;
  const budgetLabels = await honouredBudgetLabels(ctx, issue, {
    trusted: request.actor,
    minimumPermission: config.minimumPermission,
    levels,
  });

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
    start: { ...facts.start, budgetLabels },
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
  /** The permissions read (lower-case login → level), filled as the commenters' are read. */
  levels?: Map<string, PermissionLevel> | undefined;
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
  const text = await trustedPromptText(
    ctx,
    issue,
    comments,
    config.minimumPermission,
    request.levels,
  );
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
    const known = task.dependencies;
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
    return noTask();
  }
  // A person asked to see it: written even when kanbot wrote the same body last.
  await showIssueView(ctx, task, { config, force: true });
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
      await recordDependencies(ctx, task.id, check.facts);
      await blockCycle(ctx, check.readiness.cycle, issue, config, board);
      continue;
    }
    await recordDependencies(ctx, task.id, check.facts);
    await recordHistory(ctx, task.id, AUDIT_NOTE, {
      note: `${formatIssueRef(closed)} closed; still waiting on ${check.facts.blockers.map(formatIssueRef).join(", ")}.`,
    });
    await showIssueView(ctx, task, { config });
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
