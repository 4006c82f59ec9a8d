/**
 * `issues.labeled` with the trigger label (`agent:ready` by default): start the task, or re-run
 * a blocked or canceled one. A trigger for an active task is a no-op (the trigger label is
 * taken off again).
 */
import { DEFAULT_TRIGGER_LABEL, sameLabel } from "../domain/labels.js";
import { BoardLookup } from "../services/board-service.js";
import { loadRepoConfig, reportInvalidConfig } from "../services/repo-config-service.js";
import { startTask } from "../services/task-service.js";
import { authorize } from "./authorize.js";
import { issueRefOf, type Handler } from "./handler-context.js";
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
  const loaded = await loadRepoConfig(ctx, ref);
  const trigger = loaded.ok ? loaded.config.labels.trigger : DEFAULT_TRIGGER_LABEL;
  if (!sameLabel(label, trigger)) {
    ctx.log.debug({ issue: ref, label }, "not the trigger label; nothing to do");
    return;
  }

  // 2. Who may, and a usable config.
  const actor = payload.sender.login;
  const minimum = loaded.ok ? loaded.config.minimumPermission : "write";
  if (!(await authorize(ctx, ref, actor, minimum, "start"))) return;
  if (!loaded.ok) {
    await reportInvalidConfig(ctx, ref, loaded.errors);
    return;
  }
  const issue = await ctx.github.getIssue(ref);
  if (issue === undefined || issue.state === "closed") {
    ctx.log.info({ issue: ref }, "issue gone or closed; trigger ignored");
    return;
  }

  // 3. Plan and apply.
  const outcome = await startTask(ctx, {
    issue,
    config: loaded.config,
    actor,
    source: "label",
    board: new BoardLookup(),
  });
  await replyIfRejected(ctx, ref, actor, outcome);
};
