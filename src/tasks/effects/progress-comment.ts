/**
 * The one sticky progress comment per task: rendered from the store (the task record, its newest
 * job, its timeline notes), found again by its hidden marker among comments written by
 * kanbot's bot account, edited in place, never duplicated.
 */
import { findProgressComment, type ProgressView } from "../../domain/progress-comment.js";
import { formatIssueRef, type IssueRef } from "../../domain/dependencies.js";
import type { IssueComment } from "../../github/port.js";
import type { RepoConfig } from "../../config/repo-config.js";
import type { Task } from "../../store/index.js";
import { labelNamesOf } from "../repo-config.js";
import type { TaskContext } from "../context.js";
import { stateLabel } from "../../domain/labels.js";
import { timeline } from "../facts.js";

/** The issue a task belongs to. */
export function issueOfTask(task: Task): IssueRef {
  const [owner = "", repo = ""] = task.repo.split("/");
  return { owner, repo, number: task.issueNumber };
}

/** The progress view of a task record, with its jobs and timeline from the store. */
export async function progressView(
  ctx: TaskContext,
  task: Task,
  config: RepoConfig,
): Promise<ProgressView> {
  const [jobs, notes] = await Promise.all([ctx.store.listJobs(task.id), timeline(ctx, task.id)]);
  const { routing, dependencies, blocker, pullRequest, checkRun, gate } = task;
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
        : // A fallback agent says why it took over from the routed one (issue 14 part 4).
          { name: task.agent, reason: routing?.fallbackReason ?? routing?.reason ?? "stored" },
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
    error: task.state === "blocked" ? (blocker?.error ?? blocker?.message) : undefined,
    // What a pending gate waits for on the current head (edited in by src/tasks/gate.ts).
    checks:
      task.state === "checks" &&
      gate?.verdict === "pending" &&
      gate.headSha === task.headSha &&
      gate.waiting !== null
        ? { headSha: gate.headSha, waiting: gate.waiting }
        : undefined,
    ...(pullRequest === undefined
      ? {}
      : {
          links: {
            pullRequest: pullRequest.url,
            ...(checkRun?.url == null ? {} : { checkRun: checkRun.url }),
          },
        }),
    notes: viewNotes,
    timeline: notes,
  };
}

/**
 * The progress comment kanbot wrote on the task's issue: its id is remembered in the task record;
 * without it the issue's comments are searched for the marker (`comments`, when the caller already
 * listed them, saves a request). Undefined when the issue has none yet. `nodeId` is given when the
 * listing carried it.
 */
export async function findProgressCommentOf(
  ctx: TaskContext,
  record: Task,
  comments?: readonly IssueComment[],
): Promise<{ id: number; nodeId?: string | undefined } | undefined> {
  if (record.progressCommentId !== undefined) return { id: record.progressCommentId };
  const issue = issueOfTask(record);
  const listed = comments ?? (await ctx.github.listComments(issue));
  const found = findProgressComment(
    listed.map((comment) => ({ ...comment, user: { login: comment.author } })),
    { issue, botLogin: ctx.botLogin },
  );
  if (found === undefined) return undefined;
  await ctx.store.recordTaskFacts(record.id, { progressCommentId: found.id });
  return { id: found.id, nodeId: listed.find((comment) => comment.id === found.id)?.nodeId };
}

/**
 * Writes the progress comment's `body`: edits the comment, or creates it when the issue has none
 * (see {@link findProgressCommentOf}). Answers the comment as GitHub does after the write.
 */
export async function writeProgressComment(
  ctx: TaskContext,
  record: Task,
  body: string,
  comments?: readonly IssueComment[],
): Promise<IssueComment> {
  const issue = issueOfTask(record);
  const commentId = (await findProgressCommentOf(ctx, record, comments))?.id;
  if (commentId !== undefined) {
    const edited = await ctx.github.updateComment(issue, commentId, body);
    ctx.log.debug({ issue, commentId }, "progress comment edited");
    return edited;
  }
  const created = await ctx.github.createComment(issue, body);
  await ctx.store.recordTaskFacts(record.id, { progressCommentId: created.id });
  ctx.log.info({ issue, commentId: created.id }, "progress comment created");
  return created;
}
