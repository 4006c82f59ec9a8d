/**
 * A budget label added to an issue (`budget:5usd`, `budget:30m`; issue 14, part 3) changes the
 * budget of the issue's task, when the person who added it has the trigger permission
 * (`minimumPermission`, the same check as a trigger's):
 *
 * 1. no task yet: nothing to change; the label counts at the task's start if the person who
 *    added it has that permission ({@link honouredBudgetLabels});
 * 2. the sender's permission is read from GitHub, never from the payload;
 * 3. below it: the label is ignored (logged only: a reply would spend the installation's write
 *    budget on every label anyone adds); the task keeps its stored budget, which is what later
 *    events read for that limit, so the label changes nothing;
 * 4. otherwise the task's stored budget takes the label's value, and its timeline says so. A job
 *    already running keeps the limits it was given; the next one gets the new budget.
 */
import { formatIssueRef, type IssueRef } from "../domain/dependencies.js";
import { parseBudgetLabel, type BudgetLabelValue } from "../domain/budget.js";
import { hasAtLeast, type PermissionLevel } from "../domain/permission.js";
import type { Permission } from "../domain/types.js";
import type { IssueFacts } from "../github/port.js";
import type { TaskContext } from "./context.js";
import { AUDIT_NOTE, recordHistory } from "./facts.js";
import { repoName } from "./lookup.js";

export type BudgetLabelOutcome = "no-task" | "ignored" | "applied";

export async function applyBudgetLabel(
  ctx: TaskContext,
  request: {
    issue: IssueRef;
    actor: string;
    label: string;
    value: BudgetLabelValue;
    minimumPermission: Permission;
  },
): Promise<BudgetLabelOutcome> {
  const { issue, actor, label, value } = request;

  // 1. A task to change.
  const task = await ctx.store.findTask(repoName(issue), issue.number);
  if (task === undefined) {
    ctx.log.info({ issue, label }, "budget label on an issue without a task; it counts at start");
    return "no-task";
  }

  // 2 + 3. Who may.
  const permission = await ctx.github.permissionOf(issue, actor);
  if (!hasAtLeast(permission, request.minimumPermission)) {
    ctx.log.info(
      { issue, label, actor, permission, required: request.minimumPermission },
      "budget label added by a person below the trigger permission; ignored",
    );
    return "ignored";
  }

  // 4. The task's budget.
  const budget = { ...task.budget, [value.limit]: value.value };
  await ctx.store.updateTask(task.id, { budget }, { actor });
  const what = value.limit === "usd" ? `$${value.value.toFixed(2)}` : `${value.value} minutes`;
  await recordHistory(
    ctx,
    task.id,
    AUDIT_NOTE,
    {
      note: `${actor} set the task's ${value.limit === "usd" ? "cost" : "time"} budget to ${what} with the label ${label}.`,
    },
    actor,
  );
  ctx.log.info(
    {
      issue: formatIssueRef(issue),
      taskId: task.id,
      label,
      limit: value.limit,
      value: value.value,
    },
    "task budget set by a label",
  );
  return "applied";
}

/**
 * The budget labels on the issue that count at a start or re-run: those the person who last
 * added them has the trigger permission, read from the issue's events (one read, only when the
 * issue carries a budget label: the common case costs no GitHub call). `trusted` is the starter,
 * whom the caller has already checked; `levels` holds the permissions already read (the
 * commenters', for the prompt text) and is filled with the new ones, so nobody is asked twice.
 * A label whose adder is unknown (a deleted account, no event listed) does not count.
 */
export async function honouredBudgetLabels(
  ctx: TaskContext,
  issue: IssueFacts,
  request: { trusted: string; minimumPermission: Permission; levels: Map<string, PermissionLevel> },
): Promise<string[]> {
  const labels = issue.labels.filter((label) => parseBudgetLabel(label) !== undefined);
  if (labels.length === 0) return [];
  const adders = await ctx.github.lastLabelers(issue.ref, labels);
  const honoured: string[] = [];
  for (const [index, label] of labels.entries()) {
    const adder = adders[index];
    if (adder === undefined) {
      ctx.log.info({ issue: issue.ref, label }, "budget label added by someone unknown; ignored");
      continue;
    }
    const login = adder.toLowerCase();
    if (login !== request.trusted.toLowerCase()) {
      let level = request.levels.get(login);
      if (level === undefined) {
        level = await ctx.github.permissionOf(issue.ref, adder);
        request.levels.set(login, level);
      }
      if (!hasAtLeast(level, request.minimumPermission)) {
        ctx.log.info(
          { issue: issue.ref, label, adder, permission: level },
          "budget label added by a person below the trigger permission; ignored at start",
        );
        continue;
      }
    }
    honoured.push(label);
  }
  return honoured;
}
