/**
 * `kanbot_gate.mergeability`: GitHub answered `mergeable: null` (still computing) when kanbot
 * needed to know whether a PR merges cleanly, so kanbot asks again (recorded by
 * `scheduleMergeabilityRecheck`, src/tasks/effects/pull-request.ts). While GitHub still
 * computes, this handler throws and the inbox retries the delivery with its backoff, a bounded
 * number of times. Once known:
 *
 * - `conflict` (the base moved): a conflicting PR gets a `rebase` job, as on `push`;
 * - `auto-merge`: the PR is merged if everything else allows it (`autoMergeIfReady`).
 *
 * A task that moved on (another head, no longer waiting for checks or review) drops it. On the
 * inbox's last attempt (`ctx.deliveryAttempt.final`), a PR GitHub still has not computed is not
 * failed once more (it would only be logged): the progress comment says so and what the
 * maintainer can do.
 */
import { prAwaitsGitHub } from "../domain/task-machine.js";
import { issueOfTask } from "../tasks/effects/progress-comment.js";
import { applyToTask } from "../tasks/apply.js";
import { autoMergeIfReady, noteOnProgress } from "../tasks/effects/auto-merge.js";
import { configOfTask } from "../tasks/lookup.js";
import type { MergeabilityRecheckPayload } from "../inbox/internal-events.js";
import type { HandlerContext } from "./handler-context.js";

/** Thrown while GitHub still computes mergeability: the inbox retries the delivery later. */
export class MergeabilityPendingError extends Error {
  override readonly name = "MergeabilityPendingError";
}

export async function onKanbotMergeability(
  ctx: HandlerContext,
  payload: MergeabilityRecheckPayload,
): Promise<void> {
  // 1. Guard: the task still has this head and an open PR.
  const task = await ctx.store.getTask(payload.taskId);
  if (task?.headSha !== payload.headSha || task.prNumber === undefined || !prAwaitsGitHub(task)) {
    ctx.log.info(
      { taskId: payload.taskId, headSha: payload.headSha, state: task?.state },
      "the task moved on; mergeability re-check dropped",
    );
    return;
  }
  const config = await configOfTask(ctx, task);
  // GitHub was asked once before the re-check was recorded, then once per attempt.
  const asks = (ctx.deliveryAttempt?.number ?? 1) + 1;
  /** Still computing: retried, or on the last attempt told on the progress comment. */
  const stillUnknown = async (): Promise<void> => {
    if (ctx.deliveryAttempt?.final !== true) {
      throw new MergeabilityPendingError(
        `GitHub is still computing whether pull request #${task.prNumber} merges cleanly; asking again later`,
      );
    }
    ctx.log.warn(
      { taskId: task.id, pr: task.prNumber, purpose: payload.purpose, asks },
      "GitHub never computed mergeability; the maintainer is told",
    );
    const asked = `GitHub never finished computing whether pull request #${task.prNumber} merges cleanly, though kanbot asked ${asks} times, so`;
    await noteOnProgress(
      ctx,
      task,
      config,
      payload.purpose === "auto-merge"
        ? `${asked} auto-merge was not done. Merge it by hand once GitHub shows it can be merged, or approve it again to have kanbot try again.`
        : `${asked} kanbot could not tell whether it conflicts with the moved base branch. If GitHub shows a conflict, resolve it by hand or comment "/kanbot rebase onto the base branch".`,
    );
  };

  // 2. Auto-merge: the effect reads the PR itself.
  if (payload.purpose === "auto-merge") {
    const result = await autoMergeIfReady(ctx, task, config, { kind: "mergeability-known" });
    if (result.kind === "mergeability-unknown") await stillUnknown();
    return;
  }

  // 3. Conflict with the moved base: a rebase job.
  const pr = await ctx.pulls.getPullRequest({ ...issueOfTask(task), number: task.prNumber });
  if (pr === undefined || pr.state !== "open" || pr.head.sha !== payload.headSha) {
    ctx.log.info({ taskId: task.id, pr: task.prNumber }, "PR closed or moved; not re-checked");
    return;
  }
  if (pr.mergeable === null) {
    await stillUnknown();
    return;
  }
  if (pr.mergeable !== false && pr.mergeableState !== "dirty") {
    ctx.log.info({ taskId: task.id, pr: task.prNumber }, "PR merges cleanly with the moved base");
    return;
  }
  await applyToTask(
    ctx,
    task,
    { type: "base-moved-with-conflict", headSha: pr.head.sha },
    "kanbot",
    {
      config,
    },
  );
}
