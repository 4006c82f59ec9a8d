/**
 * `pull_request.synchronize` on a kanbot PR by a person (kanbot's own pushes, made by its runner
 * with the installation token, are sent by kanbot's bot account and never reach a handler): the
 * PR head is the new SHA; the gate re-opens on it and waits for its checks.
 */
import { applyToTask } from "../tasks/apply.js";
import { startGateWait } from "../tasks/effects/pull-request.js";
import { configOfTask, taskOfPullRequest } from "../tasks/lookup.js";
import { repoOf } from "./gate-trigger.js";
import type { Handler } from "./handler-context.js";

export const onPullRequestSynchronize: Handler<"pull_request.synchronize"> = async (
  ctx,
  payload,
) => {
  // 1. Guard: a PR kanbot opened.
  const repo = repoOf(payload.repository);
  const pr = payload.pull_request;
  const task = await taskOfPullRequest(ctx, repo, pr.number);
  if (task === undefined) {
    ctx.log.debug({ repo, pr: pr.number }, "push to a PR that is not a kanbot task's; ignored");
    return;
  }

  // 2. Plan and apply.
  const config = await configOfTask(ctx, task);
  const headSha = pr.head.sha;
  const outcome = await applyToTask(
    ctx,
    task,
    { type: "head-pushed", headSha },
    payload.sender.login,
    {
      config,
    },
  );
  if (outcome.outcome === "transition") await startGateWait(ctx, task.id, headSha, config);
};
