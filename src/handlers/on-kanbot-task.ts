/**
 * `kanbot_task.question-timeout`: a `needs-input` task's question passed its deadline (the same
 * sweep records it from the task record's `questionDueAt`); the machine blocks the task with a
 * reminder, or ignores the event when the task moved on or the deadline moved.
 *
 * `kanbot_task.resume`: a task's outbox has owed GitHub effects for a while and no event of its
 * own came to run them (the delivery that failed gave up, or the app died after the commit).
 * Recorded by the runtime's once-a-minute sweep (src/inbox/internal-event-recorder.ts); the loop
 * runs what is owed (src/tasks/apply.ts `resumeTask`).
 */
import { QUESTION_TIMEOUT_ACTION, type KanbotTaskPayload } from "../inbox/internal-events.js";
import { applyToTask, resumeTask } from "../tasks/apply.js";
import type { HandlerContext } from "./handler-context.js";

export async function onKanbotTask(ctx: HandlerContext, payload: KanbotTaskPayload): Promise<void> {
  if (payload.action !== QUESTION_TIMEOUT_ACTION) {
    await resumeTask(ctx, payload.taskId);
    return;
  }
  const task = await ctx.store.getTask(payload.taskId);
  if (task === undefined) {
    ctx.log.warn({ taskId: payload.taskId }, "question timeout for a task that is gone; dropped");
    return;
  }
  const outcome = await applyToTask(ctx, task, { type: "question-timed-out" }, "kanbot");
  if (outcome.outcome !== "transition") {
    ctx.log.info({ taskId: task.id, reason: outcome.reason }, "question timeout changed nothing");
  }
}
