/**
 * Mirrors a task's state to the issue's labels: the state's label (created on first use with its
 * colour and description), no trigger label, no other state label.
 */
import type { IssueFacts } from "../../github/port.js";
import {
  isEmptyLabelChange,
  planLabelChange,
  stateLabelDefinition,
  type LabelNames,
} from "../../domain/labels.js";
import type { TaskState } from "../../domain/types.js";
import type { TaskContext } from "../context.js";

/**
 * Brings `issue`'s labels to `state`, planning from the labels it carries now. Updates
 * `issue.labels` so later effects of the same event plan from the new set.
 */
export async function mirrorLabels(
  ctx: TaskContext,
  issue: IssueFacts,
  state: TaskState,
  names: LabelNames,
): Promise<void> {
  const change = planLabelChange(issue.labels, state, names);
  if (isEmptyLabelChange(change)) return;
  const definition = stateLabelDefinition(state, names);
  const repoKey = `${issue.ref.owner}/${issue.ref.repo}`.toLowerCase();
  if (change.add.length > 0 && definition !== undefined) {
    const key = `${repoKey}:${definition.name.toLowerCase()}`;
    if (!ctx.ensuredLabels.has(key)) {
      await ctx.github.ensureLabels(issue.ref, [definition]);
      ctx.ensuredLabels.add(key);
    }
  }
  for (const label of change.remove) await ctx.github.removeLabel(issue.ref, label);
  if (change.add.length > 0) await ctx.github.addLabels(issue.ref, change.add);
  const removed = new Set(change.remove.map((label) => label.toLowerCase()));
  issue.labels = [
    ...issue.labels.filter((label) => !removed.has(label.toLowerCase())),
    ...change.add,
  ];
  ctx.log.debug({ issue: issue.ref, state, ...change }, "state labels mirrored");
}
