/**
 * Records kanbot's own events in the durable inbox (their names, payloads and keys:
 * ./internal-events.ts): a runner claimed, finished or lost a job (the runner API's hooks), and
 * a gate whose no-checks wait ended. Each is a delivery keyed like the issue's own webhooks, so
 * it is worked in order with them, retried with backoff when GitHub fails, and never lost by a
 * crash after the runner got its answer. The delivery id is derived from the job (or the gate's
 * head and deadline), so a repeated hook records it once.
 */
import type { Logger } from "pino";
import type { ExpiredLeaseSweep, Job, JobStore, JsonValue, Task } from "../store/index.js";
import {
  GATE_RECHECK_ACTION,
  KANBOT_GATE_EVENT,
  KANBOT_TASK_EVENT,
  TASK_RESUME_ACTION,
  QUESTION_TIMEOUT_ACTION,
  gateRecheckDeliveryId,
  questionTimeoutDeliveryId,
  issueOrderingKey,
  jobEventDelivery,
  taskResumeDeliveryId,
  type KanbotGatePayload,
  type KanbotJobAction,
  type KanbotTaskPayload,
} from "./internal-events.js";

/** How long a task's outbox may go without progress before the sweep resumes it. */
export const OUTBOX_STALE_MS = 60_000;

/** The runner API's hooks (`createRunnerApi({ events })`) and the gate timer's tick. */
export interface InternalEvents {
  jobClaimed(job: Job): Promise<void>;
  jobFinished(job: Job): Promise<void>;
  leasesExpired(sweep: ExpiredLeaseSweep): Promise<void>;
  /** Records a re-evaluation for each task in `checks` whose gate deadline passed; returns how
   * many were newly recorded (one already in the inbox for the same head and deadline is not). */
  recheckGates(): Promise<number>;
  /**
   * Records a resume for each task whose outbox has owed effects for `staleMs` without progress
   * (its apply failed, or the app died, and no event of its own came since); returns how many
   * were newly recorded.
   */
  resumeOutboxes(staleMs?: number): Promise<number>;
  /**
   * Records a timeout for each `needs-input` task whose question passed its deadline (the task
   * record's `questionDueAt`); returns how many were newly recorded.
   */
  expireQuestions(): Promise<number>;
}

export function createInternalEvents(options: {
  store: JobStore;
  log: Logger;
  now: () => Date;
  wake: () => void;
}): InternalEvents {
  const { store, log } = options;

  async function recordJob(job: Job, action: KanbotJobAction): Promise<void> {
    const task = await store.getTask(job.taskId);
    if (task === undefined) {
      log.warn({ jobId: job.id, action }, "job event for a task that no longer exists; dropped");
      return;
    }
    const delivery = jobEventDelivery(job.id, task, action);
    const result = await store.recordDelivery(delivery);
    log.debug(
      { deliveryId: delivery.deliveryId, action, outcome: result.outcome },
      "internal event recorded",
    );
    options.wake();
  }

  async function record(
    deliveryId: string,
    event: string,
    action: string,
    task: Task,
    payload: Record<string, unknown>,
  ): Promise<boolean> {
    const result = await store.recordDelivery({
      deliveryId,
      event,
      action,
      installationId: task.installationId,
      payload: JSON.parse(JSON.stringify(payload)) as JsonValue,
      orderingKey: issueOrderingKey(task.repo, task.issueNumber),
    });
    log.debug({ deliveryId, event, action, outcome: result.outcome }, "internal event recorded");
    options.wake();
    return result.outcome === "inserted";
  }

  return {
    jobClaimed: (job) => recordJob(job, "claimed"),
    jobFinished: (job) => recordJob(job, "finished"),
    async leasesExpired(sweep) {
      for (const job of sweep.lost) await recordJob(job, "lost");
    },
    async resumeOutboxes(staleMs = OUTBOX_STALE_MS) {
      const now = options.now().getTime();
      let queued = 0;
      for (const task of await store.listTasks({ pendingEffects: true })) {
        if (now - task.updatedAt.getTime() < staleMs) continue;
        const payload: KanbotTaskPayload = {
          action: TASK_RESUME_ACTION,
          taskId: task.id,
          repository: { full_name: task.repo },
          installation: { id: task.installationId },
        };
        const inserted = await record(
          taskResumeDeliveryId(task.id, task.version),
          KANBOT_TASK_EVENT,
          TASK_RESUME_ACTION,
          task,
          { ...payload },
        );
        if (inserted) queued++;
      }
      if (queued > 0) log.info({ queued }, "tasks with owed effects resumed");
      return queued;
    },
    async expireQuestions() {
      const now = options.now().getTime();
      let queued = 0;
      for (const task of await store.listTasks({ states: ["needs-input"] })) {
        const due = task.questionDueAt;
        if (due === undefined || due.getTime() > now) continue;
        const payload: KanbotTaskPayload = {
          action: QUESTION_TIMEOUT_ACTION,
          taskId: task.id,
          repository: { full_name: task.repo },
          installation: { id: task.installationId },
        };
        const inserted = await record(
          questionTimeoutDeliveryId(task.id, due.toISOString()),
          KANBOT_TASK_EVENT,
          QUESTION_TIMEOUT_ACTION,
          task,
          { ...payload },
        );
        if (inserted) queued++;
      }
      if (queued > 0) log.info({ queued }, "unanswered questions timed out");
      return queued;
    },
    async recheckGates() {
      const now = options.now();
      let queued = 0;
      for (const task of await store.listTasks({ states: ["checks"] })) {
        if (task.headSha === undefined) continue;
        const gate = task.gate;
        if (gate?.recheckAt == null || gate.headSha !== task.headSha) continue;
        if (gate.recheckAt.getTime() > now.getTime()) continue;
        const payload: KanbotGatePayload = {
          action: GATE_RECHECK_ACTION,
          taskId: task.id,
          headSha: task.headSha,
          repository: { full_name: task.repo },
          installation: { id: task.installationId },
        };
        // Recorded once per head and deadline: a sweep that runs again before the delivery
        // was worked (or while the inbox retries it) finds it there and counts nothing new.
        const inserted = await record(
          gateRecheckDeliveryId(task.id, task.headSha, gate.recheckAt.toISOString()),
          KANBOT_GATE_EVENT,
          GATE_RECHECK_ACTION,
          task,
          { ...payload },
        );
        if (inserted) queued++;
      }
      if (queued > 0) log.info({ queued }, "gate re-evaluations queued");
      return queued;
    },
  };
}
