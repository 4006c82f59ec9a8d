/**
 * `pull_request_review.submitted` on a kanbot PR:
 *
 * - changes requested, by a person with the required permission: a `revise` job on the same
 *   branch whose instructions carry the review's body and each line comment (path, line, text).
 *   Line comments by people below the permission are left out; kanbot's own reviews never count.
 * - approved: with `merge.auto` on, the PR is merged when the gate passed on its head and the
 *   approval is not from the person who started the task (src/domain/merge-policy.ts).
 */
import type { PermissionLevel } from "../domain/permission.js";
import { planRevise, type ReviewLineComment } from "../domain/review-request.js";
import { applyToTask } from "../tasks/apply.js";
import { autoMergeIfReady, scheduleMergeabilityRecheck } from "../tasks/effects/auto-merge.js";
import { configOfTask, taskOfPullRequest } from "../tasks/lookup.js";
import { authorize } from "./authorize.js";
import { repoOf } from "./gate-trigger.js";
import { issueRefOf, type Handler } from "./handler-context.js";
import { replyIfRejected } from "./reply.js";

export const onPullRequestReviewSubmitted: Handler<"pull_request_review.submitted"> = async (
  ctx,
  payload,
) => {
  // 1. Guard: changes requested (or an approval) on a kanbot PR, by a person allowed to steer.
  const review = payload.review;
  const state = review.state.toLowerCase();
  if (state !== "changes_requested" && state !== "approved") {
    ctx.log.debug({ state: review.state }, "review neither requests changes nor approves; ignored");
    return;
  }
  const repo = repoOf(payload.repository);
  const where = issueRefOf(payload.repository, payload.pull_request.number);
  const task = await taskOfPullRequest(ctx, repo, where.number);
  if (task === undefined) {
    ctx.log.debug({ pr: where }, "review on a PR that is not a kanbot task's; ignored");
    return;
  }
  const reviewer = review.user?.login ?? payload.sender.login;
  if (reviewer.toLowerCase() === ctx.botLogin.toLowerCase()) return;
  const config = await configOfTask(ctx, task);
  if (state === "approved") {
    if (!config.merge.auto) {
      ctx.log.debug({ pr: where }, "approval; auto-merge is off (merge.auto)");
      return;
    }
    const result = await autoMergeIfReady(ctx, task, config, { kind: "approved", reviewer });
    if (result.kind === "mergeability-unknown") {
      await scheduleMergeabilityRecheck(ctx, task, "auto-merge", `review-${review.id}`);
    }
    return;
  }
  if (!(await authorize(ctx, where, reviewer, config.minimumPermission, "steer"))) return;

  // 2. Plan: the review's text and line comments from trusted people.
  const comments = await ctx.pulls.listReviewComments(where, review.id);
  const permissions: Record<string, PermissionLevel> = { [reviewer]: config.minimumPermission };
  for (const author of new Set(comments.map((comment) => comment.author))) {
    if (author in permissions || author.toLowerCase() === ctx.botLogin.toLowerCase()) continue;
    permissions[author] = await ctx.github.permissionOf(repo, author);
  }
  const decision = planRevise(
    {
      type: "review",
      state: review.state,
      body: review.body,
      author: reviewer,
      comments: comments.map((comment): ReviewLineComment => ({
        id: comment.id,
        path: comment.path,
        line: comment.line,
        startLine: comment.startLine,
        side: comment.side ?? null,
        body: comment.body,
        author: comment.author,
      })),
    },
    { botLogin: ctx.botLogin, trust: { permissions, minimum: config.minimumPermission } },
  );
  if (decision.outcome === "ignored") {
    ctx.log.info({ pr: where, code: decision.code, reason: decision.reason }, "review ignored");
    return;
  }

  // 3. Apply.
  const outcome = await applyToTask(
    ctx,
    task,
    { type: "revise-requested", source: "review", instructions: decision.instructions },
    reviewer,
    { config },
  );
  await replyIfRejected(ctx, where, reviewer, outcome);
};
