/**
 * What the runner side of a job means for its task (issue 5 items 1 and 2), applied from the
 * inbox (src/inbox/internal-events.ts records the runner API's hooks):
 *
 * - claimed: the task is `running` (label `agent:working`, board In progress);
 * - succeeded: `job-succeeded` from the head SHA this job's lease holder reported (the store
 *   accepted the completion only with the current lease token), which opens or updates the PR;
 * - failed: `job-failed` with the runner's real error text and the agent's failure class (auth,
 *   quota, transient, task; issue 14) with the CLI's own message and a quota's reset time, the
 *   job's agent and the runner's name (for the fix an auth failure needs), and the agents a runner
 *   online could take the task with (for a fallback agent, issue 14 part 4): the machine decides
 *   (blocked at once, a wait without an attempt, or a retry with backoff while the budget
 *   allows);
 * - needs-input: `job-needs-input` with the agent's question (redacted at `complete`): the task
 *   waits for a person's answer (no attempt spent), the question posted on the issue;
 * - lost: `job-lost`: queued again, or `blocked` when the repository's lost-lease limit or the
 *   budget is reached (the store's sweep only marked the job lost).
 */
import type { JobFailedEvent } from "../domain/task.js";
import type { Job, Task } from "../store/index.js";
import { applyToTask } from "./apply.js";
import { availableAgents } from "./plan.js";
import { jobResultOf } from "./effects/pull-request.js";
import type { TaskEventOutcome } from "./request.js";
import type { TaskContext } from "./context.js";

export type JobEventAction = "claimed" | "finished" | "lost";

/** Applies what happened to job `jobId` to its task. */
export async function applyJobEvent(
  ctx: TaskContext,
  action: JobEventAction,
  jobId: number,
): Promise<TaskEventOutcome | undefined> {
  const job = await ctx.store.getJob(jobId);
  const task = job === undefined ? undefined : await ctx.store.getTask(job.taskId);
  if (job === undefined || task === undefined) {
    ctx.log.warn({ jobId, action }, "job or task gone; job event dropped");
    return undefined;
  }
  const actor = `runner:${job.runnerId ?? "unknown"}`;
  switch (action) {
    case "claimed":
      return applyToTask(ctx, task, { type: "job-claimed", jobId: String(job.id) }, actor);
    case "finished":
      return finished(ctx, task, job, actor);
    case "lost":
      return lost(ctx, task, job);
  }
}

async function finished(
  ctx: TaskContext,
  task: Task,
  job: Job,
  actor: string,
): Promise<TaskEventOutcome | undefined> {
  const result = jobResultOf(job);
  // A claim whose event was not applied yet (it is, in order, unless it was dropped): the
  // machine only accepts a result for a running job.
  if (task.state === "queued" && job.status !== "canceled") {
    await applyToTask(ctx, task, { type: "job-claimed", jobId: String(job.id) }, actor);
  }
  switch (job.status) {
    case "succeeded": {
      if (result.headSha === undefined) {
        ctx.log.warn({ jobId: job.id }, "succeeded job without a head SHA; treated as failed");
        return applyToTask(
          ctx,
          task,
          failedEvent(job, "the runner reported no head SHA", undefined),
          actor,
        );
      }
      return applyToTask(
        ctx,
        task,
        {
          type: "job-succeeded",
          jobId: String(job.id),
          headSha: result.headSha,
          minutes: result.minutes,
          usd: result.usd,
        },
        actor,
        { job },
      );
    }
    case "needs-input":
      // The agent asked a question and stopped: the question is in the result (redacted).
      return applyToTask(
        ctx,
        task,
        {
          type: "job-needs-input",
          jobId: String(job.id),
          question: job.result?.question ?? "",
          ...(job.result?.summary !== undefined ? { summary: job.result.summary } : {}),
          minutes: result.minutes,
          usd: result.usd,
        },
        actor,
      );
    case "failed": {
      const runner =
        job.runnerId === undefined ? undefined : await ctx.store.getRunner(job.runnerId);
      // Where a fallback agent could run now (issue 14 part 4): the machine moves only to one.
      const available = availableAgents(await ctx.store.listRunners(), task, ctx.now());
      return applyToTask(
        ctx,
        task,
        { ...failedEvent(job, job.error, runner?.name), availableAgents: available },
        actor,
      );
    }
    default:
      ctx.log.info({ jobId: job.id, status: job.status }, "job ended without a result to apply");
      return undefined;
  }
}

function failedEvent(
  job: Job,
  error: string | undefined,
  runner: string | undefined,
): JobFailedEvent {
  const result = jobResultOf(job);
  // The runner's classification (src/protocol/jobs.ts `FailedOutcome`), absent from older runners.
  const reported = job.result;
  return {
    type: "job-failed",
    jobId: String(job.id),
    error:
      error === undefined || error.trim() === ""
        ? "the runner reported a failure without an error text; see the job log"
        : error,
    minutes: result.minutes,
    usd: result.usd,
    fatal: false,
    ...(reported?.failureClass !== undefined ? { failureClass: reported.failureClass } : {}),
    ...(reported?.failureMessage !== undefined ? { failureMessage: reported.failureMessage } : {}),
    ...(reported?.resetAt !== undefined ? { resetAt: new Date(reported.resetAt) } : {}),
    agent: job.agent,
    ...(reported?.agentCli !== undefined ? { agentCli: reported.agentCli } : {}),
    ...(runner !== undefined ? { runner } : {}),
  };
}

async function lost(ctx: TaskContext, task: Task, job: Job): Promise<TaskEventOutcome | undefined> {
  const held =
    job.startedAt !== undefined && job.finishedAt !== undefined
      ? (job.finishedAt.getTime() - job.startedAt.getTime()) / 60_000
      : 0;
  // The machine decides alone: a retry under the repository's `budget.lostLeases` (queued by the
  // loop, once), or blocked past it. A task that moved on (done, canceled) rejects the event,
  // so a job of a finished task is never queued again.
  return applyToTask(
    ctx,
    task,
    { type: "job-lost", jobId: String(job.id), minutes: Math.round(held * 100) / 100 },
    "kanbot",
  );
}
