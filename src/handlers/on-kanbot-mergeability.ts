/**
 * `kanbot_gate.mergeability`: GitHub answered `mergeable: null` (still computing) when kanbot
 * needed to know whether a PR merges cleanly, so kanbot asks again (recorded by
 * `scheduleMergeabilityRecheck`, src/services/pull-request-service.ts). While GitHub still
 * computes, this handler throws and the inbox retries the delivery with its backoff, a bounded
 * number of times. Once known:
 *
 * - `conflict` (the base moved): a conflicting PR gets a `rebase` job, as on `push`;
 * - `auto-merge`: the PR is merged if everything else allows it (`autoMergeIfReady`).
 *
 * A task that moved on (another head, no longer waiting for checks or review) drops it.
 */
import { isActive } from "../domain/task-machine.js";
import { issueOfTask } from "../services/progress-service.js";
import {
  applyToTask,
  autoMergeIfReady,
  configOfTask,
  type MergeabilityRecheckPayload,
} from "../services/pull-request-service.js";
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
  if (
    task?.headSha !== payload.headSha ||
    task.prNumber === undefined ||
    !isActive(task.state) ||
    task.state === "queued" ||
    task.state === "running"
  ) {
    ctx.log.info(
      { taskId: payload.taskId, headSha: payload.headSha, state: task?.state },
      "the task moved on; mergeability re-check dropped",
    );
    return;
  }
  const config = await configOfTask(ctx, task);
  const pending = () =>
    new MergeabilityPendingError(
      `GitHub is still computing whether pull request #${task.prNumber} merges cleanly; asking again later`,
    );

  // 2. Auto-merge: the service reads the PR itself.
  if (payload.purpose === "auto-merge") {
    const result = await autoMergeIfReady(ctx, task, config, { kind: "mergeability-known" });
    if (result.kind === "mergeability-unknown") throw pending();
    return;
  }

  // 3. Conflict with the moved base: a rebase job.
  const pr = await ctx.pulls.getPullRequest({ ...issueOfTask(task), number: task.prNumber });
  if (pr === undefined || pr.state !== "open" || pr.head.sha !== payload.headSha) {
    ctx.log.info({ taskId: task.id, pr: task.prNumber }, "PR closed or moved; not re-checked");
    return;
  }
  if (pr.mergeable === null) throw pending();
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
