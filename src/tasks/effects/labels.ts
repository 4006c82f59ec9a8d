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
  await ensureStateLabel(ctx, issue, change, definition);
  for (const label of change.remove) await ctx.github.removeLabel(issue.ref, label);
  if (change.add.length > 0) await ctx.github.addLabels(issue.ref, change.add);
  labelsWritten(ctx, issue, change);
}

/** Creates the state's label in the repository before its first use (once per process). */
export async function ensureStateLabel(
  ctx: TaskContext,
  issue: IssueFacts,
  change: LabelChange,
  definition: LabelDefinition | undefined,
): Promise<void> {
  if (change.add.length === 0 || definition === undefined) return;
  const key = `${issue.ref.owner}/${issue.ref.repo}:${definition.name}`.toLowerCase();
  if (ctx.ensuredLabels.has(key)) return;
  await ctx.github.ensureLabels(issue.ref, [definition]);
  ctx.ensuredLabels.add(key);
}

/** Records a written change in `issue.labels`, so later effects of the event plan from it. */
export function labelsWritten(ctx: TaskContext, issue: IssueFacts, change: LabelChange): void {
  const removed = new Set(change.remove.map((label) => label.toLowerCase()));
  issue.labels = [
    ...issue.labels.filter((label) => !removed.has(label.toLowerCase())),
    ...change.add,
  ];
  ctx.log.debug({ issue: issue.ref, ...change }, "state labels mirrored");
}
