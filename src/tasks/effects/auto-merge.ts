/**
 * Auto-merge (optional, `merge.auto`, off by default) and the mergeability re-check it and the
 * conflict check need while GitHub still computes whether a PR merges cleanly. Called by the
 * loop when a task reaches review (../apply.ts) and by the review and mergeability handlers.
 */
import type { RepoConfig } from "../../config/repo-config.js";
import { decideAutoMerge, type AutoMergeDecision } from "../../domain/merge-policy.js";
import { hasAtLeast } from "../../domain/permission.js";
import {
  GATE_MERGEABILITY_ACTION,
  KANBOT_GATE_EVENT,
  mergeabilityDeliveryId,
  mergeabilityOrderingKey,
  type MergeabilityRecheckPayload,
} from "../../inbox/internal-events.js";
import type { JsonValue, Task } from "../../store/index.js";
import type { TaskContext } from "../context.js";
import { AUDIT_NOTE, recordHistory } from "../facts.js";
import { showIssueView } from "./issue-view.js";
import { issueOfTask } from "./progress-comment.js";

/** What started an auto-merge attempt. */
export type AutoMergeTrigger =
  { kind: "gate-passed" } | { kind: "approved"; reviewer: string } | { kind: "mergeability-known" };

/** What an auto-merge attempt did. */
export type AutoMergeResult =
  | { kind: "skipped"; reason: string }
  | { kind: "refused"; decision: Extract<AutoMergeDecision, { merge: false }> }
  /** GitHub is still computing whether the PR merges cleanly: ask again later. */
  | { kind: "mergeability-unknown" }
  | { kind: "merged"; sha: string; approvedBy: string[] }
  | { kind: "not-mergeable"; message: string }
  | { kind: "head-moved"; message: string };

/**
 * Merges the task's PR when `merge.auto` is on, the gate passed on its head (with checks), it is
 * out of draft, GitHub says it merges cleanly, nobody's latest review requests changes, and
 * someone other than the person who started the task (and other than kanbot) approved the head.
 * Called when the gate passes and when a review approves. The merge names the head SHA, so a
 * push in between makes GitHub refuse it (409) instead of merging unchecked code. GitHub's 405
 * (branch rules not met, conflicts) is reported on the progress comment. The merge itself moves
 * nothing: `pull_request.closed` (merged) makes the task done.
 */
export async function autoMergeIfReady(
  ctx: TaskContext,
  task: Task,
  config: RepoConfig,
  trigger: AutoMergeTrigger,
): Promise<AutoMergeResult> {
  const skip = (reason: string): AutoMergeResult => {
    ctx.log.debug({ taskId: task.id, trigger: trigger.kind, reason }, "auto-merge skipped");
    return { kind: "skipped", reason };
  };
  if (!config.merge.auto) return skip("auto-merge is off (merge.auto)");
  if (task.state !== "review") return skip(`the task is ${task.state}, not in review`);
  if (task.prNumber === undefined || task.headSha === undefined) return skip("no pull request");
  const ref = { ...issueOfTask(task), number: task.prNumber };
  const pr = await ctx.pulls.getPullRequest(ref);
  if (pr === undefined || pr.state !== "open") return skip("the pull request is not open");
  const gate = (await ctx.store.getTask(task.id))?.gate;
  const reviews = await ctx.pulls.listReviews(ref);
  const decision = decideAutoMerge({
    enabled: true,
    method: config.merge.method,
    gate: {
      verdict: gate?.verdict === "passed" ? "passed" : "pending",
      noChecks: gate?.noChecks === true,
      headSha: gate?.headSha ?? "",
    },
    headSha: pr.head.sha === task.headSha ? task.headSha : pr.head.sha,
    draft: pr.draft,
    mergeable: pr.mergeable,
    starter: task.startedBy ?? null,
    prAuthor: pr.author,
    botLogin: ctx.botLogin,
    reviews: reviews.flatMap((review) =>
      review.submittedAt === null
        ? []
        : [
            {
              id: review.id,
              author: review.author,
              state: review.state,
              submittedAt: new Date(review.submittedAt),
              commitId: review.commitId,
            },
          ],
    ),
  });
  if (!decision.merge) {
    ctx.log.info(
      { taskId: task.id, trigger: trigger.kind, code: decision.code, reason: decision.reason },
      "auto-merge not now",
    );
    if (decision.code === "not-mergeable" && pr.mergeable === null) {
      return { kind: "mergeability-unknown" };
    }
    // A person who just approved learns why nothing happened; a passing gate without an
    // approval yet is the normal case and says nothing.
    if (trigger.kind === "approved" && decision.code !== "disabled") {
      await noteOnProgress(ctx, task, config, `Auto-merge not done: ${decision.reason}.`);
    }
    return { kind: "refused", decision };
  }
  // Approvals count only from people who may steer kanbot (as branch protection counts only
  // approvals from people with write access).
  const trusted: string[] = [];
  for (const login of decision.approvedBy) {
    if (hasAtLeast(await ctx.github.permissionOf(ref, login), config.minimumPermission)) {
      trusted.push(login);
    }
  }
  if (trusted.length === 0) {
    const reason = `no approval by someone with ${config.minimumPermission} permission (${decision.approvedBy.map((login) => `@${login}`).join(", ")} may not)`;
    ctx.log.info(
      { taskId: task.id, approvedBy: decision.approvedBy, reason },
      "auto-merge not now: no approver has the required permission",
    );
    if (trigger.kind === "approved") {
      await noteOnProgress(ctx, task, config, `Auto-merge not done: ${reason}.`);
    }
    return { kind: "refused", decision: { merge: false, code: "no-approval", reason } };
  }
  const outcome = await ctx.pulls.merge(ref, {
    method: decision.method,
    expectedHeadSha: pr.head.sha,
  });
  switch (outcome.kind) {
    case "merged":
      ctx.log.info({ taskId: task.id, pr: ref.number, sha: outcome.sha }, "auto-merged");
      await noteOnProgress(
        ctx,
        task,
        config,
        `Auto-merged (${decision.method}): ${decision.reason}.`,
      );
      return { kind: "merged", sha: outcome.sha, approvedBy: trusted };
    case "not-mergeable":
      await noteOnProgress(
        ctx,
        task,
        config,
        `Auto-merge refused by GitHub: ${outcome.message}. Merge it by hand once that is resolved.`,
      );
      return { kind: "not-mergeable", message: outcome.message };
    case "head-moved":
      ctx.log.info(
        { taskId: task.id, pr: ref.number, message: outcome.message },
        "head moved before the auto-merge; the gate re-opens on the new head",
      );
      return { kind: "head-moved", message: outcome.message };
  }
}

/**
 * GitHub answers `mergeable: null` while it computes whether a PR merges cleanly (the read
 * itself starts the computation). This records a `kanbot_gate.mergeability` delivery that asks
 * again: its handler throws while GitHub still computes, so the inbox retries it with its backoff
 * (2 s, 4 s, 8 s… up to `KANBOT_INBOX_MAX_ATTEMPTS`, then gives up, logged). Its ordering key is
 * the task's own key plus `/mergeability`, so a retry never holds up the issue's other events.
 * One delivery per task, head, purpose and `cause` (the base SHA or the triggering delivery).
 */
export async function scheduleMergeabilityRecheck(
  ctx: TaskContext,
  task: Task,
  purpose: MergeabilityRecheckPayload["purpose"],
  cause: string,
): Promise<void> {
  if (task.headSha === undefined) return;
  const payload: MergeabilityRecheckPayload = {
    action: GATE_MERGEABILITY_ACTION,
    taskId: task.id,
    headSha: task.headSha,
    purpose,
    repository: { full_name: task.repo },
    installation: { id: task.installationId },
  };
  const deliveryId = mergeabilityDeliveryId(task.id, task.headSha, purpose, cause);
  const result = await ctx.store.recordDelivery({
    deliveryId,
    event: KANBOT_GATE_EVENT,
    action: GATE_MERGEABILITY_ACTION,
    installationId: task.installationId,
    payload: JSON.parse(JSON.stringify(payload)) as JsonValue,
    orderingKey: mergeabilityOrderingKey(task.repo, task.issueNumber),
  });
  ctx.log.info(
    { taskId: task.id, purpose, deliveryId, outcome: result.outcome },
    "GitHub is still computing mergeability; asking again through the inbox",
  );
}

/** Records a timeline note and shows it on the progress comment at once. */
export async function noteOnProgress(
  ctx: TaskContext,
  task: Task,
  config: RepoConfig,
  note: string,
): Promise<void> {
  await recordHistory(ctx, task.id, AUDIT_NOTE, { note });
  await showIssueView(ctx, task, { config });
}
