/**
 * `kanbot_task.resume`: a task's outbox has owed GitHub effects for a while and no event of its
 * own came to run them (the delivery that failed gave up, or the app died after the commit).
 * Recorded by the runtime's once-a-minute sweep (src/inbox/internal-event-recorder.ts); the loop
 * runs what is owed (src/tasks/apply.ts `resumeTask`).
 */
import type { KanbotTaskPayload } from "../inbox/internal-events.js";
import { resumeTask } from "../tasks/apply.js";
import type { HandlerContext } from "./handler-context.js";

export async function onKanbotTask(ctx: HandlerContext, payload: KanbotTaskPayload): Promise<void> {
  await resumeTask(ctx, payload.taskId);
}
