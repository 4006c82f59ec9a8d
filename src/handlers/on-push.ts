/**
 * `push` to a base branch: each open kanbot PR into it that now conflicts (GitHub's `mergeable`
 * false, `mergeable_state` dirty) gets a `rebase` job, within the budget. A PR whose
 * mergeability GitHub is still computing (`mergeable: null`) is asked about again through the
 * inbox (`kanbot_gate.mergeability`, retried with backoff until GitHub knows).
 */
import { prAwaitsGitHub } from "../domain/task-machine.js";
import { applyToTask } from "../tasks/apply.js";
import { scheduleMergeabilityRecheck } from "../tasks/effects/auto-merge.js";
import { configOfTask } from "../tasks/lookup.js";
import type { Handler } from "./handler-context.js";

export const onPush: Handler<"push"> = async (ctx, payload) => {
  // 1. Guard: a branch moved forward, and kanbot has open PRs in the repository.
  if (!payload.ref.startsWith("refs/heads/") || payload.deleted) return;
  const branch = payload.ref.slice("refs/heads/".length);
  const [owner = "", name = ""] = payload.repository.full_name.split("/");
  const repo = { owner, repo: name };
  const tasks = (await ctx.store.listTasks({ repo: `${repo.owner}/${repo.repo}` })).filter(
    prAwaitsGitHub,
  );
  if (tasks.length === 0) {
    ctx.log.debug({ repo, branch }, "no open kanbot PR in the repository; push ignored");
    return;
  }

  // 2. Each PR into this branch: does it conflict now?
  for (const task of tasks) {
    const base = task.pullRequest?.base ?? payload.repository.default_branch;
    if (base !== branch || task.prNumber === undefined) continue;
    const pr = await ctx.pulls.getPullRequest({ ...repo, number: task.prNumber });
    if (pr === undefined || pr.state !== "open" || pr.head.sha !== task.headSha) {
      ctx.log.info({ taskId: task.id, pr: task.prNumber }, "PR closed or moved; not re-checked");
      continue;
    }
    const conflicts = pr.mergeable === false || pr.mergeableState === "dirty";
    if (!conflicts) {
      if (pr.mergeable === null) {
        await scheduleMergeabilityRecheck(ctx, task, "conflict", payload.after);
      } else ctx.log.debug({ taskId: task.id, pr: task.prNumber }, "PR still merges cleanly");
      continue;
    }

    // 3. Apply: a rebase job.
    await applyToTask(
      ctx,
      task,
      { type: "base-moved-with-conflict", headSha: pr.head.sha },
      payload.sender?.login ?? "kanbot",
      { config: await configOfTask(ctx, task) },
    );
  }
};
