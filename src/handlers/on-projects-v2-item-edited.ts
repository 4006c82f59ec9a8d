/**
 * `projects_v2_item.edited`: an issue's card moved to the trigger column (`Ready` by default)
 * starts the task, like the trigger label. The event carries no repository (DESIGN section 5),
 * so the item is resolved to its issue first, then that repository's config is read, and the
 * move counts only when the config names this project.
 */
import { BoardLookup } from "../services/board-service.js";
import { loadRepoConfig } from "../services/repo-config-service.js";
import { startTask } from "../services/task-service.js";
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
  if (!loaded.ok) {
    ctx.log.warn({ issue: ref }, "invalid .github/kanbot.yml; card move ignored");
    return;
  }
  const config = loaded.config;
  if (
    config.board.project !== resolved.project.number ||
    config.board.project === undefined ||
    resolved.project.owner.toLowerCase() !== ref.owner.toLowerCase()
  ) {
    ctx.log.debug(
      { issue: ref, project: resolved.project },
      "project not named in the repository's config; ignored",
    );
    return;
  }
  const column = resolved.values[config.board.statusField];
  if (column?.trim().toLowerCase() !== config.board.triggerColumn.trim().toLowerCase()) {
    ctx.log.debug({ issue: ref, column }, "card not in the trigger column; ignored");
    return;
  }

  // 2. Who may.
  const actor = payload.sender.login;
  if (!(await authorize(ctx, ref, actor, config.minimumPermission, "start"))) return;
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
