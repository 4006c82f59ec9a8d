/**
 * Writes a planned change of the issue's state labels (src/domain/issue-view.ts plans it): the
 * state's label is created on first use with its colour and description, the others removed.
 */
import type { IssueFacts } from "../../github/port.js";
import type { LabelChange, LabelDefinition } from "../../domain/labels.js";
import type { TaskContext } from "../context.js";

/**
 * Carries out `change` on `issue`. Updates `issue.labels` so later effects of the same event plan
 * from the new set.
 */
export async function writeLabels(
  ctx: TaskContext,
  issue: IssueFacts,
  change: LabelChange,
  definition: LabelDefinition | undefined,
): Promise<void> {
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
  ctx.log.debug({ issue: issue.ref, ...change }, "state labels mirrored");
}
