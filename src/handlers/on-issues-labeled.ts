/**
 * `issues.labeled` with the trigger label (`agent:ready` by default): start the task, or re-run
 * a blocked or canceled one. A trigger for an active task is a no-op (the trigger label is
 * taken off again). A budget label (`budget:5usd`, `budget:30m`) sets the task's budget when its
 * sender has the trigger permission, and is ignored otherwise (src/tasks/budget-label.ts).
 *
 * The reads a start needs (the actor's permission, the issue, its dependencies and comments) are
 * begun together with the config read, so they overlap (src/tasks/issue-reads.ts); the issue
 * comes from the payload when it is fresh enough (./payload-issue.ts). Writes still wait for the
 * permission check: a person below it gets the refusal reply and nothing else.
 */
import { parseBudgetLabel } from "../domain/budget.js";
import { DEFAULT_TRIGGER_LABEL, sameLabel } from "../domain/labels.js";
import { applyBudgetLabel } from "../tasks/budget-label.js";
import { BoardLookup } from "../tasks/effects/board.js";
import { prefetchIssueReads, type PrefetchedReads } from "../tasks/issue-reads.js";
import { loadRepoConfig, reportInvalidConfig } from "../tasks/repo-config.js";
import { startTask } from "../tasks/start.js";
import { authorize } from "./authorize.js";
import { issueRefOf, type Handler, type HandlerContext } from "./handler-context.js";
import { freshPayloadIssue } from "./payload-issue.js";
import { replyIfRejected } from "./reply.js";

export const onIssuesLabeled: Handler<"issues.labeled"> = async (ctx, payload) => {
  // 1. Guard.
  const label = payload.label?.name;
  if (label === undefined) return;
  if (payload.issue.pull_request !== undefined) {
    ctx.log.debug({ label }, "label on a pull request; kanbot triggers on issues only");
    return;
  }
  const ref = issueRefOf(payload.repository, payload.issue.number);
  const actor = payload.sender.login;
  const fresh = freshPayloadIssue(ctx, ref, payload.issue);
  const begin = (): PrefetchedReads =>
    prefetchIssueReads(ctx.github, ref, { actor, issue: fresh === undefined });
  // The default trigger label is the usual case: its reads start with the config's. Any other
  // label waits for the config to say whether it is the trigger, so that the labels kanbot does
  // not act on cost one read, as before.
  let reads = sameLabel(label, DEFAULT_TRIGGER_LABEL) ? begin() : undefined;
  try {
    const loaded = await loadRepoConfig(ctx, ref);
    const trigger = loaded.ok ? loaded.config.labels.trigger : DEFAULT_TRIGGER_LABEL;
    if (!sameLabel(label, trigger)) {
      const budget = parseBudgetLabel(label);
      if (budget !== undefined && loaded.ok) {
        await applyBudgetLabel(ctx, {
          issue: ref,
          actor,
          label,
          value: budget,
          minimumPermission: loaded.config.minimumPermission,
        });
        return;
      }
      ctx.log.debug({ issue: ref, label }, "not the trigger label; nothing to do");
      return;
    }
    reads ??= begin();
    const read: HandlerContext = { ...ctx, github: reads.port };

    // 2. Who may, and a usable config.
    const minimum = loaded.ok ? loaded.config.minimumPermission : "write";
    if (!(await authorize(read, ref, actor, minimum, "start"))) return;
    if (!loaded.ok) {
      await reportInvalidConfig(read, ref, loaded.errors);
      return;
    }
    const issue = fresh ?? (await read.github.getIssue(ref));
    if (issue === undefined || issue.state === "closed") {
      ctx.log.info({ issue: ref }, "issue gone or closed; trigger ignored");
      return;
    }

    // 3. Plan and apply.
    const outcome = await startTask(read, {
      issue,
      config: loaded.config,
      actor,
      source: "label",
      board: new BoardLookup(),
    });
    await replyIfRejected(read, ref, actor, outcome);
  } finally {
    await reads?.settle();
  }
};
