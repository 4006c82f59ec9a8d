/**
 * `issues.unlabeled`: a person removing the label of the task's current state cancels the task
 * (a job already running is asked to stop; the runner learns it from its heartbeat).
 */
import { DEFAULT_REPO_CONFIG } from "../config/repo-config.js";
import { stateForLabel } from "../domain/labels.js";
import { BoardLookup } from "../tasks/effects/board.js";
import { labelNamesOf, loadRepoConfig } from "../tasks/repo-config.js";
import { repoName } from "../tasks/lookup.js";
import { cancelTask } from "../tasks/start.js";
import { authorize } from "./authorize.js";
import { issueRefOf, type Handler } from "./handler-context.js";

export const onIssuesUnlabeled: Handler<"issues.unlabeled"> = async (ctx, payload) => {
  // 1. Guard: only the label of the state the task is in counts.
  const label = payload.label?.name;
  if (label === undefined || payload.issue.pull_request !== undefined) return;
  const ref = issueRefOf(payload.repository, payload.issue.number);
  const task = await ctx.store.findTask(repoName(ref), ref.number);
  if (task === undefined) {
    ctx.log.debug({ issue: ref, label }, "no task for this issue; label removal ignored");
    return;
  }
  const loaded = await loadRepoConfig(ctx, ref);
  const config = loaded.ok ? loaded.config : DEFAULT_REPO_CONFIG;
  if (stateForLabel(label, labelNamesOf(config)) !== task.state) {
    ctx.log.debug({ issue: ref, label, state: task.state }, "not the current state label; ignored");
    return;
  }

  // 2. Who may.
  const actor = payload.sender.login;
  if (!(await authorize(ctx, ref, actor, config.minimumPermission, "cancel"))) return;
  const issue = await ctx.github.getIssue(ref);
  if (issue === undefined) return;

  // 3. Plan and apply.
  await cancelTask(ctx, {
    issue,
    config,
    actor,
    source: "label-removed",
    board: new BoardLookup(),
  });
};
