/**
 * `kanbot_job.claimed|finished|lost`: kanbot's own inbox events for a runner's job (recorded by
 * src/inbox/internal-events.ts from the runner API's hooks). The task follows: running, the PR
 * opened or updated, a retry, or blocked (src/tasks/job-events.ts).
 */
import type { KanbotJobPayload } from "../inbox/internal-events.js";
import { applyJobEvent } from "../tasks/job-events.js";
import type { HandlerContext } from "./handler-context.js";

export async function onKanbotJob(ctx: HandlerContext, payload: KanbotJobPayload): Promise<void> {
  await applyJobEvent(ctx, payload.action, payload.jobId);
}
