/**
 * The one sticky progress comment per task: rendered from the store (task, newest job, the
 * facts in the audit trail), found again by its hidden marker among comments written by
 * kanbot's bot account, edited in place, never duplicated.
 */
import {
  findProgressComment,
  renderProgressComment,
  type ProgressView,
} from "../../domain/progress-comment.js";
import { formatIssueRef, type IssueRef } from "../../domain/dependencies.js";
import type { IssueComment } from "../../github/port.js";
import type { RepoConfig } from "../../config/repo-config.js";
import type { Task } from "../../store/index.js";
import { labelNamesOf } from "../repo-config.js";
import type { TaskContext } from "../context.js";
import { stateLabel } from "../../domain/labels.js";
import {
  AUDIT_PROGRESS_COMMENT,
  latestBlocked,
  latestDependencies,
  latestGate,
  latestPullRequest,
  latestRouting,
  progressCommentId,
  recordFacts,
  timeline,
} from "../facts.js";

/** The issue a task belongs to. */
export function issueOfTask(task: Task): IssueRef {
  const [owner = "", repo = ""] = task.repo.split("/");
  return { owner, repo, number: task.issueNumber };
}

/** The progress view of a task, from the store alone. */
export async function progressView(
  ctx: TaskContext,
  task: Task,
  config: RepoConfig,
): Promise<ProgressView> {
  const [jobs, routing, dependencies, blocked, notes, pullRequest, gate] = await Promise.all([
    ctx.store.listJobs(task.id),
    latestRouting(ctx, task.id),
    latestDependencies(ctx, task.id),
    latestBlocked(ctx, task.id),
    timeline(ctx, task.id),
    latestPullRequest(ctx, task.id),
    latestGate(ctx, task.id),
  ]);
  const job = [...jobs].sort((a, b) => b.id - a.id)[0];
  // The runner by the name it registered with (`kanbot runners list`), not its id.
  const runner =
    job?.status === "leased" && job.runnerId !== undefined
      ? ((await ctx.store.getRunner(job.runnerId))?.name ?? job.runnerId)
      : undefined;
  const viewNotes = [...(routing?.notes ?? [])];
  for (const ref of dependencies?.unknown ?? []) {
    viewNotes.push(`${formatIssueRef(ref)} could not be looked up, so it does not block this task`);
  }
  return {
    issue: issueOfTask(task),
    state: task.state,
    stateLabel: stateLabel(task.state, labelNamesOf(config)),
    agent:
      task.agent === undefined
        ? undefined
        : { name: task.agent, reason: routing?.reason ?? "stored" },
    runner,
    // The attempt as the budget counts it: a job queued again after a lost lease keeps its
    // attempt, and a fresh budget starts from one (a job's own number keeps counting).
    job:
      job === undefined || task.used.attempts === 0
        ? undefined
        : { kind: job.kind, attempt: task.used.attempts },
    budget: { used: task.used, limit: task.budget },
    waitingOn: task.state === "waiting" ? dependencies?.blockers : undefined,
    cycle: dependencies?.cycle ?? undefined,
    error: task.state === "blocked" ? (blocked?.error ?? blocked?.message) : undefined,
    // What a pending gate waits for on the current head (edited in by src/tasks/gate.ts).
    checks:
      task.state === "checks" &&
      gate?.verdict === "pending" &&
      gate.headSha === task.headSha &&
      typeof gate.waiting === "string"
        ? { headSha: gate.headSha, waiting: gate.waiting }
        : undefined,
    ...(pullRequest === undefined
      ? {}
      : {
          links: {
            pullRequest: pullRequest.url,
            ...(pullRequest.checkRunUrl === null ? {} : { checkRun: pullRequest.checkRunUrl }),
          },
        }),
    notes: viewNotes,
    timeline: notes,
  };
}

/**
 * Renders the progress comment and edits it, or creates it when the issue has none. The
 * comment's id is remembered in the audit trail; without it the issue's comments are searched
 * for the marker (`comments`, when the caller already listed them, saves a request).
 */
export async function updateProgressComment(
  ctx: TaskContext,
  task: Task,
  config: RepoConfig,
  comments?: readonly IssueComment[],
): Promise<void> {
  const issue = issueOfTask(task);
  const body = renderProgressComment(await progressView(ctx, task, config));
  let commentId = await progressCommentId(ctx, task.id);
  if (commentId === undefined) {
    const listed = comments ?? (await ctx.github.listComments(issue));
    const found = findProgressComment(
      listed.map((comment) => ({ ...comment, user: { login: comment.author } })),
      { issue, botLogin: ctx.botLogin },
    );
    commentId = found?.id;
    if (commentId !== undefined) {
      await recordFacts(ctx, task.id, AUDIT_PROGRESS_COMMENT, { commentId });
    }
  }
  if (commentId !== undefined) {
    await ctx.github.updateComment(issue, commentId, body);
    ctx.log.debug({ issue, commentId }, "progress comment edited");
    return;
  }
  const created = await ctx.github.createComment(issue, body);
  await recordFacts(ctx, task.id, AUDIT_PROGRESS_COMMENT, { commentId: created.id });
  ctx.log.info({ issue, commentId: created.id }, "progress comment created");
}
