/**
 * Reconciliation at start (DESIGN section 8): GitHub is the source of truth for what people
 * see. An issue that carries a kanbot state label but is unknown to the store (the database was
 * lost or restored from an older backup) is re-created in the state its label shows:
 *
 * - `waiting`: waits again (or is queued at once when its dependencies closed meanwhile);
 * - `queued`, `working`: queued with a new implement job (the old job died with the store);
 * - `checks`, `review`, `blocked`, `done`: re-created in that state, without a job; the PR half
 *   of the loop re-gates tasks in checks and review from the PR's own events.
 *
 * With `labelerOf` (who last added a label, from the issue's timeline), open issues that carry
 * the trigger label (`agent:ready`) and have no task (their `issues.labeled` delivery was lost
 * while kanbot was down, and GitHub no longer lists it for redelivery) are started as the label
 * would have started them: as the person who added it, who must have the repository's
 * `minimumPermission` (someone below it gets the label's refusal reply, once).
 */
import type { IssueRef, RepoRef } from "../domain/dependencies.js";
import { hasAtLeast, permissionRefusalMessage } from "../domain/permission.js";
import { addAttempt, noBudgetUsed } from "../domain/budget.js";
import { LABELED_STATES, stateForLabel } from "../domain/labels.js";
import { taskBranchName } from "../domain/task-branch.js";
import { storedIssueTitle } from "../domain/untrusted-text.js";
import type { TaskState } from "../domain/types.js";
import { BoardLookup } from "./effects/board.js";
import { showIssueView } from "./effects/issue-view.js";
import { labelNamesOf, loadRepoConfig, taskPolicyOf } from "./repo-config.js";
import type { TaskContext } from "./context.js";
import { AUDIT_NOTE, AUDIT_ROUTED, recordDependencies, recordHistory } from "./facts.js";
import { routingOf } from "./commit.js";
import { repoName } from "./lookup.js";
import {
  TaskVersionConflictError,
  type NewTask,
  type Task,
  type TaskChanges,
} from "../store/index.js";
import { gatherStartFacts, startTask } from "./start.js";
import type { RepoConfig } from "../config/repo-config.js";
import type { LabelNames } from "../domain/labels.js";

export interface ReconcileReport {
  repo: string;
  /** Issues re-created, with the state they got. */
  recreated: { issueNumber: number; label: string; state: TaskState }[];
  /** Issues with a state label that the store already knew. */
  known: number;
  /** Open issues with the trigger label and no task, started as their labeler (with `labelerOf`). */
  started?: { issueNumber: number; actor: string; outcome: string }[];
  /** Such issues left alone: the labeler is unknown or below `minimumPermission`. */
  notStarted?: { issueNumber: number; actor: string | undefined; why: string }[];
}

export interface ReconcileOptions {
  /**
   * Who last added `label` to the issue, or undefined when unknown. Without it, issues that
   * carry only the trigger label are not looked at.
   */
  labelerOf?: (issue: IssueRef, label: string) => Promise<string | undefined>;
}

/** Re-creates the tasks of one repository that GitHub shows but the store lost. */
export async function reconcileRepository(
  ctx: TaskContext,
  repo: RepoRef,
  options: ReconcileOptions = {},
): Promise<ReconcileReport> {
  const report: ReconcileReport = { repo: repoName(repo), recreated: [], known: 0 };
  const loaded = await loadRepoConfig(ctx, repo);
  if (!loaded.ok) {
    ctx.log.warn(
      { repo: report.repo, errors: loaded.errors.length },
      "invalid .github/kanbot.yml; repository not reconciled",
    );
    return report;
  }
  const config = loaded.config;
  const names = labelNamesOf(config);
  const issues = await ctx.github.listIssuesWithLabels(
    repo,
    LABELED_STATES.map((state) => names.states[state]),
  );
  const board = new BoardLookup();
  for (const issue of issues) {
    if (issue.isPullRequest) continue;
    if ((await ctx.store.findTask(report.repo, issue.ref.number)) !== undefined) {
      report.known++;
      continue;
    }
    const label = issue.labels.find((name) => stateForLabel(name, names) !== undefined);
    const labeled = label === undefined ? undefined : stateForLabel(label, names);
    if (label === undefined || labeled === undefined) continue;

    const facts = await gatherStartFacts(ctx, { issue, config, board });
    let state: TaskState = labeled === "running" ? "queued" : labeled;
    if (state === "waiting" && facts.dependencies.readiness.status === "ready") state = "queued";
    const { routing } = facts.start;
    const newTask: NewTask = {
      repo: report.repo,
      installationId: ctx.installationId,
      issueNumber: issue.ref.number,
      title: storedIssueTitle(issue.title),
      body: facts.start.promptText,
      state,
      agent: routing.agent.agent,
      requiredLabels: routing.runner.labels,
      priority: routing.priority.priority,
      budget: taskPolicyOf(config).budget,
      branch: taskBranchName(config.branchPrefix, issue.ref.number, issue.title),
    };
    // Created with what its state needs (a queued task's job, a blocked task's cause) in one
    // transaction: a crash in between would leave a queued task no later event queues.
    const changes = changesFor(state, label);
    let task: Task;
    if (Object.keys(changes).length === 0) {
      const created = await ctx.store.upsertTask(newTask);
      if (!created.created) continue;
      task = created.task;
    } else {
      try {
        const committed = await ctx.store.commitTransition(newTask, changes, {
          actor: "kanbot",
          ...(state === "queued" ? { enqueue: { kind: "implement" } } : {}),
        });
        task = committed.task;
      } catch (error) {
        // Another replica (or a delivery) created it meanwhile: it is known now.
        if (error instanceof TaskVersionConflictError) continue;
        throw error;
      }
    }
    const routed = routingOf({ routing });
    await ctx.store.recordTaskFacts(task.id, { routing: routed });
    await recordHistory(ctx, task.id, AUDIT_ROUTED, routed);
    await recordDependencies(ctx, task.id, facts.dependencies.facts);
    await recordHistory(ctx, task.id, AUDIT_NOTE, {
      note: `Re-created at start: the issue carried the ${label} label but kanbot had no record of the task.`,
    });
    await ctx.store.audit({
      taskId: task.id,
      actor: "kanbot",
      action: "task.reconciled",
      detail: { label, state },
    });
    await showIssueView(ctx, task, { config, issue, board, comments: facts.comments });
    report.recreated.push({ issueNumber: issue.ref.number, label, state });
    ctx.log.info(
      { repo: report.repo, issue: issue.ref.number, label, state },
      "task re-created by reconciliation",
    );
  }
  if (options.labelerOf !== undefined) {
    await startTriggeredIssues(ctx, repo, { config, names, board }, options.labelerOf, report);
  }
  return report;
}

/**
 * Starts the open issues that carry the trigger label and have no task, as the person who added
 * the label, through the usual start (`startTask`, source `label`) once their permission is
 * checked as the label handler checks it.
 */
async function startTriggeredIssues(
  ctx: TaskContext,
  repo: RepoRef,
  repoFacts: { config: RepoConfig; names: LabelNames; board: BoardLookup },
  labelerOf: (issue: IssueRef, label: string) => Promise<string | undefined>,
  report: ReconcileReport,
): Promise<void> {
  const { config, names, board } = repoFacts;
  const started: NonNullable<ReconcileReport["started"]> = [];
  const notStarted: NonNullable<ReconcileReport["notStarted"]> = [];
  const issues = await ctx.github.listIssuesWithLabels(repo, [names.trigger]);
  for (const issue of issues) {
    if (issue.isPullRequest || issue.state !== "open") continue;
    if ((await ctx.store.findTask(report.repo, issue.ref.number)) !== undefined) continue;
    const actor = await labelerOf(issue.ref, names.trigger);
    if (actor === undefined) {
      notStarted.push({ issueNumber: issue.ref.number, actor, why: "labeler unknown" });
      ctx.log.warn(
        { repo: report.repo, issue: issue.ref.number, label: names.trigger },
        "issue carries the trigger label but has no task, and who added the label is unknown; add the label again to start it",
      );
      continue;
    }
    const permission = await ctx.github.permissionOf(issue.ref, actor);
    if (!hasAtLeast(permission, config.minimumPermission)) {
      notStarted.push({
        issueNumber: issue.ref.number,
        actor,
        why: `${actor} has ${permission}, below ${config.minimumPermission}`,
      });
      ctx.log.info(
        { repo: report.repo, issue: issue.ref.number, actor, permission },
        "trigger label added by someone below the required permission; not started",
      );
      // The reply the label would have had, once: a refusal the label path already posted (or
      // an earlier start posted) is not repeated at every start.
      const refusal = permissionRefusalMessage({
        login: actor,
        actual: permission,
        required: config.minimumPermission,
        action: "start",
      });
      const comments = await ctx.github.listComments(issue.ref);
      if (!comments.some((comment) => comment.body === refusal)) {
        await ctx.github.createComment(issue.ref, refusal);
      }
      continue;
    }
    const outcome = await startTask(ctx, { issue, config, actor, source: "label", board });
    started.push({ issueNumber: issue.ref.number, actor, outcome: outcome.outcome });
    ctx.log.info(
      { repo: report.repo, issue: issue.ref.number, actor, outcome: outcome.outcome },
      "task started by reconciliation: the issue carried the trigger label and had no task",
    );
  }
  report.started = started;
  report.notStarted = notStarted;
}

/** What a task re-created in `state` needs besides its state. */
function changesFor(state: TaskState, label: string): TaskChanges {
  if (state === "queued") {
    const used = addAttempt(noBudgetUsed());
    return { used, spent: used };
  }
  if (state === "blocked") {
    return {
      blocker: {
        cause: "needs-human",
        message: `the issue carried the ${label} label when kanbot re-created the task; start it again when it is ready`,
        error: null,
      },
    };
  }
  return {};
}
