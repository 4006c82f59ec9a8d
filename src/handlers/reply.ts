/**
 * Short replies to a person whose request changed nothing (`/kanbot retry` on an active task, a
 * trigger on a done task): what happened and what to do.
 */
import type { IssueRef } from "../domain/dependencies.js";
import { redactText } from "../domain/redaction.js";
import type { TaskEventOutcome } from "../tasks/request.js";
import type { HandlerContext } from "./handler-context.js";

/** Replies when the outcome is a rejection; ignored outcomes (no-ops) get no reply. */
export async function replyIfRejected(
  ctx: HandlerContext,
  issue: IssueRef,
  login: string,
  outcome: TaskEventOutcome,
): Promise<void> {
  if (outcome.outcome !== "rejected") return;
  await ctx.github.createComment(
    issue,
    redactText(`@${login} kanbot did nothing: ${outcome.reason}.`),
  );
}
