/**
 * `projects_v2_item.edited`: an issue's card moved to the trigger column (`Ready` by default)
 * starts the task, like the trigger label. The event carries no repository (DESIGN section 5),
 * so the item is resolved to its issue first, then that repository's config is read, and the
 * move counts only when the config names this project. An invalid config is reported on the
 * issue as on the label path, but only once for the same problems.
 */
import { BoardLookup } from "../tasks/effects/board.js";
import { classifyCardMove } from "../domain/board-trigger.js";
import { loadRepoConfig, reportInvalidConfigOnce } from "../tasks/repo-config.js";
import { startTask } from "../tasks/start.js";
import { authorize } from "./authorize.js";
import type { Handler } from "./handler-context.js";
import { replyIfRejected } from "./reply.js";

export const onProjectsV2ItemEdited: Handler<"projects_v2_item.edited"> = async (ctx, payload) => {
  // 1. Guard: an issue's single-select field changed.
  const item = payload.projects_v2_item;
  if (item.content_type !== "Issue") {
    ctx.log.debug(
      { item: item.node_id, type: item.content_type },
      "board item is not an issue; ignored",
    );
    return;
  }
  const change = (payload.changes as { field_value?: { field_type?: string } } | undefined)
    ?.field_value;
  if (
    change !== undefined &&
    change.field_type !== undefined &&
    change.field_type !== "single_select"
  ) {
    ctx.log.debug({ item: item.node_id }, "not a single-select change; ignored");
    return;
  }
  if (item.node_id === undefined) return;
  const resolved = await ctx.github.resolveProjectItem(item.node_id);
  if (resolved?.issue === undefined) {
    ctx.log.info({ item: item.node_id }, "board item gone or not an issue; ignored");
    return;
  }
  const ref = resolved.issue;
  const loaded = await loadRepoConfig(ctx, ref);
  const move = classifyCardMove(loaded.ok ? loaded.config.board : loaded.board, resolved, ref);
  if (!move.trigger) {
    ctx.log.debug(
      { issue: ref, project: resolved.project, column: move.column },
      move.reason === "other-project"
        ? "project not named in the repository's config; ignored"
        : "card not in the trigger column; ignored",
    );
    return;
  }

  // 2. Who may, and a usable config (an invalid one is reported once per set of problems:
  // every edit of a card that sits in Ready sends this event again).
  const actor = payload.sender.login;
  const minimum = loaded.ok ? loaded.config.minimumPermission : "write";
  if (!(await authorize(ctx, ref, actor, minimum, "start"))) return;
  if (!loaded.ok) {
    await reportInvalidConfigOnce(ctx, ref, loaded.errors);
    return;
  }
  const config = loaded.config;
  const issue = await ctx.github.getIssue(ref);
  if (issue === undefined || issue.state === "closed") return;

  // 3. Plan and apply.
  const outcome = await startTask(ctx, {
    issue,
    config,
    actor,
    source: "card",
    boardPriority: resolved.values[config.board.priorityField],
    board: new BoardLookup(),
  });
  await replyIfRejected(ctx, ref, actor, outcome);
};
