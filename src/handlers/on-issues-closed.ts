/**
 * `issues.closed`: two things happen.
 *
 * 1. Tasks waiting on this issue look at their dependencies again; the last blocker closing
 *    queues them.
 * 2. The issue's own active task is canceled while no PR of the task is merged. A merged PR
 *    (whose `Closes #N` closed the issue) is the PR half's business: the task moves to done from
 *    the PR's own events. Closing needs no permission check: GitHub lets only the author and
 *    triagers close, and canceling is the safe direction.
 */
import { DEFAULT_REPO_CONFIG, type RepoConfig } from "../config/repo-config.js";
import { isActive } from "../domain/task-machine.js";
import { BoardLookup } from "../tasks/effects/board.js";
import { loadRepoConfig } from "../tasks/repo-config.js";
import { repoName } from "../tasks/lookup.js";
import { cancelTask, releaseDependents } from "../tasks/start.js";
import { issueRefOf, type Handler } from "./handler-context.js";

export const onIssuesClosed: Handler<"issues.closed"> = async (ctx, payload) => {
  const ref = issueRefOf(payload.repository, payload.issue.number);
  const board = new BoardLookup();

  // 1. Release dependents.
  await releaseDependents(ctx, ref, board);

  // 2. Cancel the issue's own task.
  if (payload.issue.pull_request !== undefined) return;
  const task = await ctx.store.findTask(repoName(ref), ref.number);
  if (task === undefined || !isActive(task.state)) return;
  if (
    task.prNumber !== undefined &&
    (await ctx.github.isPullRequestMerged({ ...ref, number: task.prNumber }))
  ) {
    ctx.log.info(
      { issue: ref, pr: task.prNumber },
      "issue closed with its PR merged; the PR's events decide",
    );
    return;
  }
  const loaded = await loadRepoConfig(ctx, ref);
  if (!loaded.ok)
    ctx.log.warn({ issue: ref }, "invalid .github/kanbot.yml; canceling with the defaults");
  const config: RepoConfig = loaded.ok ? loaded.config : DEFAULT_REPO_CONFIG;
  const issue = await ctx.github.getIssue(ref);
  if (issue === undefined) return;
  await cancelTask(ctx, {
    issue,
    config,
    actor: payload.sender.login,
    source: "issue-closed",
    board,
  });
};
