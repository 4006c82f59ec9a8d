/**
 * The job effects of the state machine: `enqueue-job` (a job in the store's queue, which wakes
 * a waiting claim) and `cancel-job` (every live job of the task: queued ones are dropped, a
 * leased one is told to stop at its next heartbeat).
 */
import type { EnqueueJobEffect } from "../../domain/task.js";
import type { Task } from "../../store/index.js";
import type { TaskContext } from "../context.js";
import type { TaskEventRequest } from "../request.js";

export async function enqueueJob(
  ctx: TaskContext,
  task: Task,
  effect: EnqueueJobEffect,
  request: Pick<TaskEventRequest, "actor" | "lostJobId">,
): Promise<void> {
  if (effect.replacesLostJob && request.lostJobId !== undefined) {
    const lostJobId = request.lostJobId;
    const requeued = (await ctx.store.listJobs(task.id)).find(
      (job) => job.id > lostJobId && job.status === "queued",
    );
    if (requeued !== undefined) {
      ctx.log.info(
        { taskId: task.id, jobId: requeued.id, lostJobId },
        "lost job already queued again by the lease sweep",
      );
      return;
    }
  }
  const job = await ctx.store.enqueueJob({
    taskId: task.id,
    kind: effect.kind,
    ...(effect.instructions === null ? {} : { input: effect.instructions }),
    ...(effect.notBefore === null ? {} : { notBefore: effect.notBefore }),
    actor: request.actor,
  });
  ctx.log.info(
    { taskId: task.id, jobId: job.id, kind: job.kind, agent: job.agent, priority: job.priority },
    "job queued",
  );
}

export async function cancelJobs(ctx: TaskContext, task: Task, actor: string): Promise<void> {
  const results = await ctx.store.cancelTaskJobs(task.id, actor);
  ctx.log.info(
    {
      taskId: task.id,
      jobs: results.map((result) => ({ jobId: result.job.id, outcome: result.outcome })),
    },
    "task jobs canceled",
  );
}
