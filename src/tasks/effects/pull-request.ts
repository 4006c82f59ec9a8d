/**
 * The pull-request effects of the state machine (issue 5 items 1, 3 and 5), applied through the
 * pull-request port:
 *
 * - `open-pr` / `update-pr`: the draft PR from the task branch (title from the issue, body with
 *   the agent's summary, acceptance criteria, attempts, time, cost and `Closes #N`), and a
 *   `kanbot` check run on the head SHA the current lease holder reported, with the job's result
 *   and the tail of its log. Both are linked from the progress comment.
 * - `mark-pr-ready`, `request-review`: once the gate passed.
 * - `delete-branch`: after a merge, when the merge policy allows it.
 *
 * Auto-merge and the mergeability re-check are in ./auto-merge.ts. Effects never apply events
 * themselves: what follows from them (the gate's verdict, an auto-merge) is fed back by the loop
 * (../apply.ts).
 */
import type { RepoConfig } from "../../config/repo-config.js";
import type { RepoRef } from "../../domain/dependencies.js";
import { decideClosedPullRequest, decideReviewers } from "../../domain/merge-policy.js";
import {
  pullRequestTitle,
  renderCheckRunOutput,
  renderPullRequestBody,
  type ValidationResult,
} from "../../domain/pull-request-body.js";
import type { OpenPrEffect, UpdatePrEffect } from "../../domain/task.js";
import type { Job, Task, TaskPullRequestRecord } from "../../store/index.js";
import { issueOfTask } from "./progress-comment.js";
import { baseBranchOf, branchOf } from "../lookup.js";
import type { ClosedPullRequestFacts, TaskEventRequest } from "../request.js";
import type { TaskContext } from "../context.js";
import { AUDIT_NOTE, AUDIT_PULL_REQUEST, recordGate, recordHistory } from "../facts.js";

/** What a finished job reported (the runner's `complete` body, without status and error). */
export interface JobResult {
  headSha: string | undefined;
  summary: string | null;
  validation: ValidationResult[];
  minutes: number;
  usd: number;
}

/** How many bytes of the job's log the check run shows at most (its tail). */
const LOG_TAIL_CHARACTERS = 60_000;

/** The runner's reported result of `job`, with time and cost. */
export function jobResultOf(job: Job): JobResult {
  // `job.result` was validated with the protocol's schema at `complete` and parsed once more
  // where the store read the row (src/store/job-result.ts): only the arithmetic is left here.
  const result = job.result;
  const seconds =
    result?.durationSeconds ??
    (job.startedAt !== undefined && job.finishedAt !== undefined
      ? (job.finishedAt.getTime() - job.startedAt.getTime()) / 1000
      : 0);
  return {
    headSha: result?.headSha,
    summary: result?.summary ?? null,
    validation: (result?.validation ?? []).map((entry) => ({
      command: entry.command,
      passed: entry.passed,
      exitCode: entry.exitCode,
    })),
    minutes: Math.round((seconds / 60) * 100) / 100,
    usd: result?.costUsd ?? 0,
  };
}

/**
 * `open-pr` / `update-pr`: the PR (created as a draft, or its title and body refreshed) and a
 * `kanbot` check run with the job's result on the new head.
 */
export async function publishJobResult(
  ctx: TaskContext,
  task: Task,
  effect: OpenPrEffect | UpdatePrEffect,
  request: Pick<TaskEventRequest, "config" | "issue" | "job">,
): Promise<void> {
  const { config, issue } = request;
  const job = request.job;
  if (job === undefined) {
    ctx.log.warn({ taskId: task.id, effect: effect.type }, "no job result to publish; skipped");
    return;
  }
  const repo: RepoRef = { owner: issue.ref.owner, repo: issue.ref.repo };
  const result = jobResultOf(job);
  const branch = branchOf(task, config);
  // The record as the store holds it now (the PR and the comment id effects recorded).
  const record = (await ctx.store.getTask(task.id)) ?? task;
  const known = record.pullRequest;

  // 1. The PR: title and body from the issue and what the task spent.
  const commentId = record.progressCommentId;
  const title = pullRequestTitle({
    issue: issue.ref,
    title: issue.title,
    pullRequestRepo: repo,
    stripAgentPrefix: config.agents.titlePrefix,
  });
  const body = renderPullRequestBody({
    issue: issue.ref,
    pullRequestRepo: repo,
    taskId: task.id,
    summary: result.summary,
    issueBody: issue.body,
    spent: task.used,
    budget: task.budget,
    agent: task.agent,
    progressUrl:
      commentId === undefined || issue.htmlUrl === ""
        ? undefined
        : `${issue.htmlUrl}#issuecomment-${commentId}`,
  });
  let facts: TaskPullRequestRecord;
  // A PR the task already has is updated, whichever effect asked: an `open-pr` run again (from
  // the outbox, after a failure) finds the PR it opened instead of opening another.
  if (known !== undefined) {
    await ctx.pulls.updatePullRequest({ ...repo, number: known.number }, { title, body });
    facts = known;
    ctx.log.info({ taskId: task.id, pr: known.number }, "pull request updated");
  } else {
    const base = await baseBranchOf(ctx, repo, config);
    const created = await ctx.pulls.createDraftPullRequest(repo, {
      head: branch,
      base,
      title,
      body,
    });
    const pr = created.pullRequest;
    if (!created.created) await ctx.pulls.updatePullRequest(pr.ref, { title, body });
    facts = {
      number: pr.ref.number,
      url: pr.htmlUrl,
      nodeId: pr.nodeId,
      base: pr.base.ref,
    };
    ctx.log.info(
      { taskId: task.id, pr: pr.ref.number, created: created.created },
      "draft pull request opened",
    );
  }

  // 2. The `kanbot` check run on the head, with the result and the log tail.
  const chunks = await ctx.store.readLog(job.id);
  const log = chunks.map((chunk) => chunk.text).join("");
  const output = renderCheckRunOutput({
    job: {
      kind: job.kind,
      attempt: job.attempt,
      outcome: "succeeded",
      agent: job.agent,
      minutes: result.minutes,
      usd: result.usd,
      summary: result.summary,
    },
    validation: result.validation,
    log: log.length > LOG_TAIL_CHARACTERS ? log.slice(-LOG_TAIL_CHARACTERS) : log,
    issue: issue.ref,
    pullRequestRepo: repo,
  });
  const run = await ctx.pulls.createCheckRun(repo, {
    name: "kanbot",
    headSha: effect.headSha,
    status: "completed",
    conclusion: output.conclusion,
    output: {
      title: output.title,
      summary: output.summary,
      ...(output.text === null ? {} : { text: output.text }),
    },
    externalId: String(job.id),
    completedAt: ctx.now().toISOString(),
  });

  // 3. The task record: the PR, its head and the check run the progress comment links.
  const checkRun = { id: run.id, url: run.htmlUrl };
  await ctx.store.updateTask(task.id, {
    pullRequest: facts,
    checkRun,
    branch,
    headSha: effect.headSha,
  });
  Object.assign(task, {
    prNumber: facts.number,
    pullRequest: facts,
    checkRun,
    branch,
    headSha: effect.headSha,
  });
  if (known === undefined) await recordHistory(ctx, task.id, AUDIT_PULL_REQUEST, facts);
  await startGateWait(ctx, task.id, effect.headSha, config);
}

/** Records that the gate waits for checks on `headSha` from now, until the no-checks wait. */
export async function startGateWait(
  ctx: TaskContext,
  taskId: number,
  headSha: string,
  config: RepoConfig,
): Promise<void> {
  const now = ctx.now();
  await recordGate(ctx, taskId, {
    headSha,
    since: now,
    recheckAt: new Date(now.getTime() + config.checks.startDeadlineMinutes * 60_000),
    verdict: "waiting",
    reason: "waiting for the first checks on the head",
    noChecks: false,
    rerunRunIds: [],
    waiting: null,
  });
}

/** `mark-pr-ready`: takes the PR out of draft (GraphQL; already ready is fine). */
export async function markPullRequestReady(ctx: TaskContext, task: Task): Promise<void> {
  const record = (await ctx.store.getTask(task.id)) ?? task;
  let nodeId = record.pullRequest?.nodeId;
  if (nodeId === undefined && task.prNumber !== undefined) {
    const pr = await ctx.pulls.getPullRequest({ ...issueOfTask(task), number: task.prNumber });
    nodeId = pr?.nodeId;
  }
  if (nodeId === undefined) {
    ctx.log.warn({ taskId: task.id }, "no pull request to mark ready; skipped");
    return;
  }
  await ctx.pulls.markReadyForReview(nodeId);
  ctx.log.info({ taskId: task.id, pr: task.prNumber }, "pull request marked ready for review");
}

/** `request-review`: from the person who started the task (configurable). */
export async function requestTaskReview(
  ctx: TaskContext,
  task: Task,
  config: RepoConfig,
): Promise<void> {
  if (task.prNumber === undefined) return;
  const decision = decideReviewers({
    starter: task.startedBy ?? null,
    requestFromStarter: config.review.requestFromStarter,
    botLogin: ctx.botLogin,
    prAuthor: ctx.botLogin,
  });
  if (decision.users.length === 0) {
    ctx.log.info({ taskId: task.id, skipped: decision.skipped }, "nobody to request a review from");
    return;
  }
  const pr = { ...issueOfTask(task), number: task.prNumber };
  const outcome = await ctx.pulls.requestReviewers(pr, decision.users);
  if (outcome.kind === "refused") {
    ctx.log.warn(
      { taskId: task.id, reviewers: outcome.reviewers, message: outcome.message },
      "GitHub refused the review request",
    );
    await recordHistory(ctx, task.id, AUDIT_NOTE, {
      note: `GitHub refused to request a review from ${outcome.reviewers.map((login) => `@${login}`).join(", ")}: ${outcome.message}`,
    });
    return;
  }
  ctx.log.info({ taskId: task.id, reviewers: outcome.reviewers }, "review requested");
}

/** `delete-branch`: after a merge, when the merge policy says the branch is kanbot's to delete. */
export async function deleteTaskBranch(
  ctx: TaskContext,
  task: Task,
  config: RepoConfig,
  closed: ClosedPullRequestFacts | undefined,
): Promise<void> {
  const repo = issueOfTask(task);
  const headBranch = closed?.headBranch ?? branchOf(task, config);
  const defaultBranch = closed?.defaultBranch ?? (await ctx.github.defaultBranch(repo));
  const decision = decideClosedPullRequest({
    merged: true,
    deleteBranch: config.merge.deleteBranch,
    headBranch,
    baseBranch: closed?.baseBranch ?? config.baseBranch ?? defaultBranch,
    defaultBranch,
    branchPrefix: config.branchPrefix,
    sameRepository: closed?.sameRepository ?? true,
    otherOpenPullRequests: 0,
  });
  if (!decision.deleteBranch) {
    ctx.log.info({ taskId: task.id, branch: headBranch, reason: decision.reason }, "branch kept");
    return;
  }
  const deleted = await ctx.pulls.deleteBranch(repo, headBranch);
  ctx.log.info({ taskId: task.id, branch: headBranch, deleted }, "task branch deleted");
}
