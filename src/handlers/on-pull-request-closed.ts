/**
 * `pull_request.closed` on a kanbot PR: merged -> `done` (board Done, the task branch deleted
 * when `merge.deleteBranch` and the merge policy allow; the issue closing through `Closes #N`
 * is part of it, not a cancel); closed without merge -> `canceled` (the branch is kept for a
 * retry).
 */
import { decideClosedPullRequest } from "../domain/merge-policy.js";
import { applyToTask } from "../tasks/apply.js";
import { configOfTask, taskOfPullRequest } from "../tasks/lookup.js";
import { repoOf } from "./gate-trigger.js";
import type { Handler } from "./handler-context.js";

export const onPullRequestClosed: Handler<"pull_request.closed"> = async (ctx, payload) => {
  // 1. Guard: a PR kanbot opened.
  const repo = repoOf(payload.repository);
  const pr = payload.pull_request;
  const task = await taskOfPullRequest(ctx, repo, pr.number);
  if (task === undefined) {
    ctx.log.debug({ repo, pr: pr.number }, "closed PR is not a kanbot task's; ignored");
    return;
  }

  // 2. Plan.
  const config = await configOfTask(ctx, task);
  const closed = {
    headBranch: pr.head.ref,
    baseBranch: pr.base.ref,
    defaultBranch: payload.repository.default_branch,
    sameRepository: pr.head.repo?.full_name === payload.repository.full_name,
  };
  const decision = decideClosedPullRequest({
    merged: pr.merged === true,
    deleteBranch: config.merge.deleteBranch,
    branchPrefix: config.branchPrefix,
    otherOpenPullRequests: 0,
    ...closed,
  });
  ctx.log.info(
    { taskId: task.id, pr: pr.number, outcome: decision.outcome, branch: decision.reason },
    "kanbot PR closed",
  );

  // 3. Apply.
  await applyToTask(ctx, task, { type: decision.event }, payload.sender.login, {
    config,
    closed,
  });
};
